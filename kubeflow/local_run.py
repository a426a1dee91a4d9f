"""Compiled spec -> its tasks run here, each as its own container command.

A stand-in for Kubeflow's driver and launcher, to check a compiled spec
without a cluster: tasks run in dependency order as local processes, each
with the command and arguments the spec gives its container, where `{{$}}`
becomes the ExecutorInput JSON that KFP would pass (parameters resolved
from constants and runtime parameters, input artifacts from upstream
tasks' executor outputs, output URIs under `root`). As on open-source KFP,
pre-cache-check hooks do not run, and there is no caching.

What it does not show: image contents, Kubernetes, object storage access,
ML Metadata, and KFP's own parameter and artifact handling.
"""

import dataclasses
import json
import logging
import os
import subprocess
import sys
import time

from google.protobuf import json_format
from kfp.pipeline_spec import pipeline_spec_pb2

from kubeflow import parameters as run_params

logger = logging.getLogger(__name__)

EXECUTOR_INPUT_PLACEHOLDER = "{{$}}"
OUTPUT_FILE = "executor_output.json"
LOG_FILE = "task.log"
PUSHED_MODEL_KEY = "pushed_model"  # The Pusher's output.


@dataclasses.dataclass(frozen=True)
class TaskResult:
    """One finished task: its output artifacts and how long it took."""

    name: str
    artifacts: dict  # Output key -> list of RuntimeArtifact dicts.
    seconds: float


class TaskFailedError(RuntimeError):
    """A task's process exited with an error."""


def task_order(spec: dict) -> list[str]:
    """Task names so that every task follows the tasks it depends on.

    Raises:
      ValueError: naming the tasks of a dependency cycle or a missing task.
    """
    tasks = spec["root"]["dag"]["tasks"]
    remaining = {
        name: set(task.get("dependentTasks", []))
        for name, task in tasks.items()
    }
    missing = set().union(*remaining.values()) - set(remaining)
    if missing:
        raise ValueError(f"Tasks depend on undefined tasks {sorted(missing)}.")
    order = []
    while remaining:
        ready = sorted(n for n, deps in remaining.items() if not deps)
        if not ready:
            raise ValueError(f"Dependency cycle among {sorted(remaining)}.")
        for name in ready:
            order.append(name)
            del remaining[name]
        for deps in remaining.values():
            deps.difference_update(ready)
    return order


def run_spec(
    spec: dict,
    root: str,
    *,
    values: dict[str, str] | None = None,
    env: dict[str, str] | None = None,
) -> dict[str, TaskResult]:
    """Runs every task of a compiled spec on this machine.

    Args:
      spec: the PipelineSpec dict (see `parameters.read_spec`).
      root: local folder for artifacts, executor outputs and task logs.
      values: runtime parameter values that differ from the defaults.
      env: environment of the task processes; defaults to this process's.

    Returns:
      Task name -> result, in the order the tasks ran.

    Raises:
      TaskFailedError: naming the task and its log file.
      ValueError: for a task that is not a container task.
    """
    parameters = {**run_params.defaults(spec), **(values or {})}
    results: dict[str, TaskResult] = {}
    for name in task_order(spec):
        logger.info("Running task %s.", name)
        results[name] = _run_task(spec, name, parameters, results, root, env)
        logger.info("Task %s finished in %.1f s.", name, results[name].seconds)
    return results


def _run_task(spec, name, parameters, results, root, env) -> TaskResult:
    task = spec["root"]["dag"]["tasks"][name]
    component = spec["components"][task["componentRef"]["name"]]
    executor = spec["deploymentSpec"]["executors"][component["executorLabel"]]
    if "container" not in executor:
        kind = next(iter(executor), "unknown")
        raise ValueError(
            f"Task {name} uses a {kind!r} executor; only container tasks "
            "run here (and on open-source Kubeflow Pipelines)."
        )
    task_dir = os.path.join(root, name)
    os.makedirs(task_dir, exist_ok=True)
    executor_input = _executor_input(
        task, component, parameters, results, task_dir
    )
    command = _command(executor["container"], executor_input)

    started = time.monotonic()
    log_path = os.path.join(task_dir, LOG_FILE)
    with open(log_path, "w", encoding="utf-8") as log:
        code = subprocess.call(
            command, stdout=log, stderr=subprocess.STDOUT, env=env, cwd=task_dir
        )
    if code != 0:
        raise TaskFailedError(
            f"Task {name} exited with code {code}; its log is {log_path}:\n"
            + _tail(log_path)
        )
    artifacts = _read_outputs(executor_input)
    return TaskResult(name, artifacts, time.monotonic() - started)


def _executor_input(task, component, parameters, results, task_dir) -> dict:
    inputs = task.get("inputs", {})
    parameter_values = {
        key: _parameter_value(key, spec, parameters)
        for key, spec in inputs.get("parameters", {}).items()
    }
    input_artifacts = {
        key: {"artifacts": _upstream(key, spec, results)}
        for key, spec in inputs.get("artifacts", {}).items()
    }
    outputs = component.get("outputDefinitions", {}).get("artifacts", {})
    output_artifacts = {
        key: {
            "artifacts": [
                {
                    "name": f"{task['taskInfo']['name']}/{key}",
                    "type": definition["artifactType"],
                    "uri": _output_uri(task_dir, key),
                    "metadata": {},
                }
            ]
        }
        for key, definition in outputs.items()
    }
    executor_input = {
        "inputs": {
            "parameterValues": parameter_values,
            "artifacts": input_artifacts,
        },
        "outputs": {
            "artifacts": output_artifacts,
            "outputFile": os.path.join(task_dir, OUTPUT_FILE),
        },
    }
    # Parsing checks the input as KFP's launcher would build it.
    json_format.ParseDict(executor_input, pipeline_spec_pb2.ExecutorInput())
    return executor_input


def _parameter_value(key: str, spec: dict, parameters: dict):
    if "componentInputParameter" in spec:
        return parameters[spec["componentInputParameter"]]
    runtime = spec.get("runtimeValue", {})
    if "constant" in runtime:
        return runtime["constant"]
    raise ValueError(
        f"Input parameter {key!r} has neither a runtime parameter nor a "
        f"constant (KFP 2.x reads only `constant`): {spec}."
    )


def _upstream(key: str, spec: dict, results: dict) -> list[dict]:
    source = spec["taskOutputArtifact"]
    producer = results[source["producerTask"]]
    artifacts = producer.artifacts.get(source["outputArtifactKey"])
    if not artifacts:
        raise ValueError(
            f"Input {key!r} expects output {source['outputArtifactKey']!r} "
            f"of task {source['producerTask']}, which wrote none."
        )
    return artifacts


def _output_uri(task_dir: str, key: str) -> str:
    uri = os.path.join(task_dir, key)
    # Object stores have no folders; locally, executors expect one.
    os.makedirs(uri, exist_ok=True)
    return uri


def _command(container: dict, executor_input: dict) -> list[str]:
    text = json.dumps(executor_input, sort_keys=True)
    command = [*container.get("command", []), *container.get("args", [])]
    resolved = [
        arg.replace(EXECUTOR_INPUT_PLACEHOLDER, text) for arg in command
    ]
    unresolved = [arg for arg in resolved if "{{$" in arg]
    if unresolved:
        raise ValueError(
            f"Unsupported placeholders in the container command: {unresolved}"
        )
    # The image's `python`; here, the interpreter with this project's deps.
    if resolved and resolved[0] == "python":
        resolved[0] = sys.executable
    return resolved


def _read_outputs(executor_input: dict) -> dict:
    path = executor_input["outputs"]["outputFile"]
    with open(path, encoding="utf-8") as f:
        output = json.load(f)
    declared = executor_input["outputs"]["artifacts"]
    artifacts = {}
    for key, written in output.get("artifacts", {}).items():
        artifact_type = declared[key]["artifacts"][0]["type"]
        artifacts[key] = [
            {**artifact, "type": artifact_type}
            for artifact in written.get("artifacts", [])
        ]
    return artifacts


def _tail(path: str, lines: int = 30) -> str:
    with open(path, encoding="utf-8", errors="replace") as f:
        return "".join(f.readlines()[-lines:])


def push_summary(results: dict[str, TaskResult]) -> str:
    """Where the Pusher put the model, or that it did not push."""
    for result in results.values():
        for artifact in result.artifacts.get(PUSHED_MODEL_KEY, []):
            metadata = artifact.get("metadata", {})
            if metadata.get("pushed"):
                return f"Pushed to: {metadata.get('pushed_destination')}"
            return "Not pushed: the model was not blessed."
    return "No task pushed a model."


def image_env(dockerfile: str) -> dict[str, str]:
    """The `ENV NAME=value` settings of a Dockerfile, in order.

    Local runs use them so that tasks see the environment of the image.
    """
    found = {}
    with open(dockerfile, encoding="utf-8") as f:
        for line in f:
            words = line.split()
            if len(words) < 2 or words[0] != "ENV":
                continue
            for word in words[1:]:
                name, sep, value = word.partition("=")
                if sep:
                    found[name] = value.strip('"')
    return found
