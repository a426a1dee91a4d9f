"""The compiled KFP v2 spec: what kfp reads, and the DAG it describes."""

import json
import subprocess
import sys

import pytest
import yaml
from click.testing import CliRunner
from google.protobuf import json_format
from kfp import components as kfp_components
from kfp.client import client as kfp_client_module
from kfp.pipeline_spec import pipeline_spec_pb2
from kubeflow_testlib import (
    IMAGE,
    REPO,
    class_dir_settings,
    compile_to,
    csv_settings,
)

from kubeflow import compiler, runner
from pipeline.pipeline import (
    IMAGE_DIR_PARAMETER,
    INGEST_CONFIG_PARAMETER,
    TRAINER_CONFIG_PARAMETER,
    create_pipeline,
)

# Tasks every layout has besides its ExampleGen.
TASKS = {
    "StatisticsGen",
    "SchemaGen",
    "ExampleValidator",
    "ValidationGate",
    "Transform",
    "Trainer",
    "Evaluator",
    "Pusher",
    "ModelReport",
}
GENERATORS = {
    "class_dirs": "ClassDirExampleGen",
    "labels_csv": "LabelsCsvExampleGen",
}


def _load(path) -> dict:
    with open(path, encoding="utf-8") as f:
        return yaml.safe_load(f)


def _tasks(spec: dict) -> dict:
    return spec["root"]["dag"]["tasks"]


def _trainer_config(path) -> dict:
    """The Trainer settings a compiled spec passes by default."""
    declared = _load(path)["root"]["inputDefinitions"]["parameters"]
    return json.loads(declared[TRAINER_CONFIG_PARAMETER]["defaultValue"])


@pytest.mark.parametrize("layout", ["class_dirs", "labels_csv"])
def test_compile_spec_parses_into_the_pipeline_spec_proto(specs, layout):
    spec = _load(specs[layout])

    proto = json_format.ParseDict(spec, pipeline_spec_pb2.PipelineSpec())

    assert proto.schema_version == "2.1.0"
    assert proto.pipeline_info.name == spec["pipelineInfo"]["name"]


@pytest.mark.parametrize("layout", ["class_dirs", "labels_csv"])
def test_compile_spec_loads_with_the_kfp_client_loader(specs, layout):
    document = kfp_client_module._extract_pipeline_yaml(specs[layout])
    component = kfp_components.load_component_from_file(specs[layout])

    assert set(document.pipeline_spec.root.dag.tasks) == {
        GENERATORS[layout],
        *TASKS,
    }
    assert set(component.component_spec.inputs) == {
        IMAGE_DIR_PARAMETER,
        INGEST_CONFIG_PARAMETER,
        TRAINER_CONFIG_PARAMETER,
    }


@pytest.mark.parametrize(
    "layout, settings",
    [("class_dirs", class_dir_settings), ("labels_csv", csv_settings)],
)
def test_compile_spec_has_the_dag_of_create_pipeline(
    specs, data_root, layout, settings
):
    dag = create_pipeline(
        settings(data_root), runtime_parameters=True, baseline_resolver=False
    )
    tasks = _tasks(_load(specs[layout]))

    edges = {
        name: set(task.get("dependentTasks", []))
        for name, task in tasks.items()
    }

    assert edges == {
        node.id: {upstream.id for upstream in node.upstream_nodes}
        for node in dag.components
    }
    assert edges[GENERATORS[layout]] == set()
    assert edges["Pusher"] >= {"Evaluator", "Trainer"}


def test_compile_spec_runs_every_task_in_the_image_through_the_entrypoint(
    specs,
):
    spec = _load(specs["labels_csv"])

    containers = [
        executor["container"]
        for executor in spec["deploymentSpec"]["executors"].values()
    ]

    assert len(containers) == len(_tasks(spec))
    for container in containers:
        assert container["image"] == IMAGE
        assert container["command"] == list(compiler.ENTRYPOINT)
        assert "--runner=FnApiRunner" in container["args"]


def test_compile_spec_has_no_resolver_and_no_legacy_constants(specs):
    text = open(specs["labels_csv"], encoding="utf-8").read()
    spec = yaml.safe_load(text)

    kinds = {
        kind
        for executor in spec["deploymentSpec"]["executors"].values()
        for kind in executor
    }

    assert kinds == {"container"}
    assert "constantValue" not in text
    assert "latest_blessed_model_resolver" not in text


def test_compile_spec_declares_runtime_parameters_with_defaults(
    specs, data_root
):
    spec = _load(specs["labels_csv"])
    declared = spec["root"]["inputDefinitions"]["parameters"]
    tasks = _tasks(spec)

    trainer_config = json.loads(
        declared[TRAINER_CONFIG_PARAMETER]["defaultValue"]
    )
    ingest_config = json.loads(
        declared[INGEST_CONFIG_PARAMETER]["defaultValue"]
    )

    assert declared[IMAGE_DIR_PARAMETER]["defaultValue"] == str(
        data_root / "labels_csv"
    )
    assert trainer_config["epochs"] == 1
    assert ingest_config["custom_config"]["value"]["labels_csv"] == str(
        data_root / "labels_csv" / "labels.csv"
    )
    assert all(d["isOptional"] for d in declared.values())
    gen_inputs = tasks["LabelsCsvExampleGen"]["inputs"]["parameters"]
    assert gen_inputs["input_base"] == {
        "componentInputParameter": IMAGE_DIR_PARAMETER
    }
    assert gen_inputs["custom_config"] == {
        "componentInputParameter": INGEST_CONFIG_PARAMETER
    }
    trainer_inputs = tasks["Trainer"]["inputs"]["parameters"]
    assert trainer_inputs["custom_config"] == {
        "componentInputParameter": TRAINER_CONFIG_PARAMETER
    }


def test_compile_spec_caches_every_task_but_the_example_gen(specs):
    tasks = _tasks(_load(specs["class_dirs"]))

    caching = {
        name: task.get("cachingOptions", {}).get("enableCache", False)
        for name, task in tasks.items()
    }

    assert caching.pop("ClassDirExampleGen") is False
    assert all(caching.values())


def test_compile_spec_defaults_the_pipeline_root_to_settings(specs, data_root):
    spec = _load(specs["class_dirs"])

    assert spec["defaultPipelineRoot"] == str(
        data_root / "models" / "_pipelines" / "kfp-classes"
    )


def test_compile_spec_is_byte_identical_for_the_same_input(
    specs, data_root, tmp_path
):
    again = compile_to(csv_settings(data_root), tmp_path / "again.yaml")

    with open(specs["labels_csv"], "rb") as first, open(again, "rb") as second:
        assert first.read() == second.read()


def test_compile_cli_writes_the_same_bytes_in_a_new_process(
    specs, data_root, tmp_path
):
    settings = class_dir_settings(data_root)
    output = tmp_path / "cli.yaml"
    command = [
        sys.executable,
        "kubeflow/runner.py",
        "compile",
        f"--image-dir={settings.image_dir}",
        f"--model-name={settings.model_name}",
        f"--model-basedir={settings.model_basedir}",
        "--epochs=1",
        "--image-size=32",
        "--batch-size=16",
        "--min-auc=0",
        f"--image={IMAGE}",
        f"--output={output}",
    ]

    subprocess.run(command, cwd=REPO, check=True, capture_output=True)

    with open(specs["class_dirs"], "rb") as first:
        assert output.read_bytes() == first.read()


def test_compile_env_and_secrets_reach_every_task(data_root, tmp_path):
    path = compile_to(
        csv_settings(data_root),
        tmp_path / "env.yaml",
        env=(("S3_ENDPOINT", "minio-service.kubeflow:9000"),),
        secret_env=(
            compiler.SecretEnv.parse(
                "mlpipeline-minio-artifact:accesskey=AWS_ACCESS_KEY_ID"
            ),
        ),
    )

    document = kfp_client_module._extract_pipeline_yaml(path)

    deployment = json_format.MessageToDict(
        document.pipeline_spec.deployment_spec
    )
    # KFP's backend reads the deployment spec as this proto.
    json_format.ParseDict(
        deployment, pipeline_spec_pb2.PipelineDeploymentConfig()
    )
    executors = deployment["executors"]
    platform = json_format.MessageToDict(document.platform_spec)
    secret_executors = platform["platforms"]["kubernetes"]["deploymentSpec"][
        "executors"
    ]
    assert set(secret_executors) == set(executors)
    for label, executor in executors.items():
        assert executor["container"]["env"] == [
            {"name": "S3_ENDPOINT", "value": "minio-service.kubeflow:9000"}
        ]
        assert secret_executors[label]["secretAsEnv"] == [
            {
                "secretName": "mlpipeline-minio-artifact",
                "keyToEnv": [
                    {"secretKey": "accesskey", "envVar": "AWS_ACCESS_KEY_ID"}
                ],
            }
        ]


def test_runner_compile_takes_labels_from_a_local_csv(data_root, tmp_path):
    output = tmp_path / "labels.yaml"
    args = [
        "compile",
        f"--image-dir={tmp_path / 'not-here'}",
        f"--labels={tmp_path / 'not-here' / 'labels.csv'}",
        f"--labels-from={data_root / 'labels_csv' / 'labels.csv'}",
        "--model-name=unread",
        f"--model-basedir={tmp_path / 'models'}",
        f"--image={IMAGE}",
        f"--output={output}",
    ]

    result = CliRunner().invoke(runner.main, args)

    assert result.exit_code == 0, result.output
    trainer = _trainer_config(output)
    assert json.loads(trainer["label_spec"])["labels"] == ["pentagram", "star"]


def test_secret_env_parse_names_the_expected_form():
    with pytest.raises(ValueError, match=r"SECRET:KEY=VARIABLE.*'nokey'"):
        compiler.SecretEnv.parse("nokey")


@pytest.mark.parametrize(
    "command",
    [
        [],
        ["compile"],
        ["submit"],
        ["schedule"],
        ["unschedule"],
        ["schedules"],
        ["local-run"],
    ],
)
def test_runner_help_describes_every_command(command):
    result = CliRunner().invoke(runner.main, [*command, "--help"])

    assert result.exit_code == 0, result.output
    assert "Usage:" in result.output


def test_runner_compile_takes_classes_when_data_is_unreadable(tmp_path):
    output = tmp_path / "classes.yaml"
    args = [
        "compile",
        f"--image-dir={tmp_path / 'not-here'}",
        "--model-name=unread",
        f"--model-basedir={tmp_path / 'models'}",
        "--classes=stop, go",
        f"--image={IMAGE}",
        f"--output={output}",
    ]

    result = CliRunner().invoke(runner.main, args)

    assert result.exit_code == 0, result.output
    trainer = _trainer_config(output)
    assert json.loads(trainer["label_spec"])["classes"] == ["go", "stop"]


def test_runner_compile_says_how_to_give_labels_it_cannot_read(tmp_path):
    args = [
        "compile",
        f"--image-dir={tmp_path / 'not-here'}",
        "--model-name=unread",
        f"--model-basedir={tmp_path / 'models'}",
        f"--image={IMAGE}",
        f"--output={tmp_path / 'x.yaml'}",
    ]

    result = CliRunner().invoke(runner.main, args)

    assert result.exit_code == 2
    assert "--classes" in result.output
    assert "--labels-from" in result.output
