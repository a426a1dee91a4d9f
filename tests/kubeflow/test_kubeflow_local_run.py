"""The compiled spec runs: its own container commands, in dependency order.

No cluster here: `local_run` stands in for Kubeflow's driver and launcher,
and each task runs as a local process with the command and arguments from
the spec, the image's environment (kubeflow/Dockerfile) and this checkout
importable, as it is in the image.
"""

import json
import os
import sys

import pytest
from kubeflow_testlib import REPO, compile_to, csv_settings

from kubeflow import entrypoint, local_run, parameters, runner


def _spec(tasks: dict, executors: dict | None = None) -> dict:
    return {
        "root": {"dag": {"tasks": tasks}},
        "components": {
            name: {"executorLabel": f"{name}_executor"} for name in tasks
        },
        "deploymentSpec": {"executors": executors or {}},
    }


def test_task_order_puts_every_task_after_its_dependencies(specs):
    spec = parameters.read_spec(specs["labels_csv"])

    order = local_run.task_order(spec)

    tasks = spec["root"]["dag"]["tasks"]
    for position, name in enumerate(order):
        for dependency in tasks[name].get("dependentTasks", []):
            assert order.index(dependency) < position
    assert order[0] == "LabelsCsvExampleGen"
    assert order[-1] == "ModelReport"


def test_task_order_names_the_tasks_of_a_cycle():
    spec = _spec(
        {"a": {"dependentTasks": ["b"]}, "b": {"dependentTasks": ["a"]}}
    )

    with pytest.raises(ValueError, match=r"cycle among \['a', 'b'\]"):
        local_run.task_order(spec)


def test_run_spec_refuses_a_resolver_task(tmp_path):
    spec = _spec(
        {"resolve": {"componentRef": {"name": "resolve"}}},
        {"resolve_executor": {"resolver": {"outputArtifactQueries": {}}}},
    )

    with pytest.raises(ValueError, match="'resolver' executor"):
        local_run.run_spec(spec, str(tmp_path))


def test_image_env_reads_the_dockerfile_keras_switch():
    env = local_run.image_env(runner.DOCKERFILE)

    assert env["TF_USE_LEGACY_KERAS"] == "1"


def test_dockerfile_installs_this_project_on_python_3_10():
    with open(runner.DOCKERFILE, encoding="utf-8") as f:
        text = f.read()
    with open(os.path.join(REPO, ".python-version"), encoding="utf-8") as f:
        python = f.read().strip()

    assert f"FROM python:{python}-slim" in text
    for package in ("components", "pipeline", "kubeflow"):
        assert f"COPY {package}/ {package}/" in text
    assert "-c constraints.txt" in text


def test_entrypoint_needs_tensorflow_io_only_for_s3(monkeypatch):
    monkeypatch.setitem(sys.modules, "tensorflow_io", None)

    entrypoint.load_filesystems(["--uri", "gs://bucket/root"])
    with pytest.raises(RuntimeError, match="s3:// URIs.*tensorflow-io"):
        entrypoint.load_filesystems(["--uri", "s3://bucket/root"])


@pytest.mark.e2e
def test_local_run_of_the_spec_blesses_and_pushes_a_model(data_root, tmp_path):
    # Compiled for 2 epochs; the run asks for 1 through a runtime parameter.
    settings = csv_settings(
        data_root, epochs=2, model_basedir=str(tmp_path / "models")
    )
    spec = parameters.read_spec(compile_to(settings, tmp_path / "spec.yaml"))
    values = parameters.run_parameters(spec, parameters.RunChanges(epochs=1))
    # The Keras switch must come from the image, not from this process.
    env = {k: v for k, v in os.environ.items() if k != "TF_USE_LEGACY_KERAS"}
    env.update(local_run.image_env(runner.DOCKERFILE), PYTHONPATH=REPO)

    results = local_run.run_spec(
        spec, str(tmp_path / "root"), values=values, env=env
    )

    assert list(results) == local_run.task_order(spec)
    (blessing,) = results["Evaluator"].artifacts["blessing"]
    (pushed,) = results["Pusher"].artifacts["pushed_model"]
    assert blessing["metadata"]["blessed"] == 1
    assert pushed["metadata"]["pushed"] == 1
    destination = pushed["metadata"]["pushed_destination"]
    assert destination.startswith(settings.serving_dir)
    assert os.path.isfile(os.path.join(destination, "saved_model.pb"))
    with open(os.path.join(destination, "model.json")) as f:
        report = json.load(f)
    with open(os.path.join(destination, "training.json")) as f:
        training = json.load(f)
    assert report["blessed"] is True
    assert report["labels"] == ["pentagram", "star"]
    assert training["epochs"] == 1
    assert local_run.push_summary(results) == f"Pushed to: {destination}"
