"""PipelineSettings -> KFP v2 PipelineSpec YAML, via TFX's KubeflowV2DagRunner.

The DAG comes from `create_pipeline`, as for local runs. TFX's output is
then adjusted for open-source Kubeflow Pipelines 2.x:

- schema 2.1.0, whose constants KFP's driver reads (it rejects 2.0.0's);
- no Resolver node (KFP's backend cannot run resolver executors);
- runtime parameters with their defaults in the spec itself (TFX puts them
  only into a PipelineJob wrapper that KFP does not read);
- ExampleGen never cached: KFP does not run TFX's pre-cache-check driver,
  so a cached ExampleGen would reuse stale examples after frames change;
- the pipeline root as the spec's default, and optional environment
  variables and Kubernetes secrets for every task.
"""

import dataclasses
import logging

import yaml
from tfx import version as tfx_version
from tfx.components import FileBasedExampleGen
from tfx.orchestration import data_types
from tfx.orchestration.kubeflow.v2 import kubeflow_v2_dag_runner as v2_runner

from components import features
from pipeline.config import PipelineSettings
from pipeline.pipeline import create_pipeline

logger = logging.getLogger(__name__)

# Every task's container command; see kubeflow/entrypoint.py.
ENTRYPOINT = ("python", "-m", "kubeflow.entrypoint")
URI_SCHEMES = ("gs://", "s3://")


@dataclasses.dataclass(frozen=True)
class SecretEnv:
    """A Kubernetes secret key exposed to every task as a variable."""

    secret: str
    key: str
    variable: str

    @classmethod
    def parse(cls, text: str) -> "SecretEnv":
        """Reads `SECRET:KEY=VARIABLE`.

        Raises:
          ValueError: naming the text when it has another form.
        """
        secret, _, rest = text.partition(":")
        key, _, variable = rest.partition("=")
        if not (secret and key and variable):
            raise ValueError(
                "Expected a secret variable as SECRET:KEY=VARIABLE, e.g. "
                "mlpipeline-minio-artifact:accesskey=AWS_ACCESS_KEY_ID, "
                f"received {text!r}."
            )
        return cls(secret=secret, key=key, variable=variable)


@dataclasses.dataclass(frozen=True)
class ContainerOptions:
    """How every task's container runs.

    Attributes:
      image: the component image (built from kubeflow/Dockerfile).
      env: plain environment variables, name -> value.
      secret_env: variables read from Kubernetes secrets.
    """

    image: str
    env: tuple[tuple[str, str], ...] = ()
    secret_env: tuple[SecretEnv, ...] = ()

    def __post_init__(self):
        if not self.image or any(c.isspace() for c in self.image):
            raise ValueError(
                "Expected a container image reference such as "
                f"registry.example.com/team/pipeline:1.0, received "
                f"{self.image!r}."
            )


def compile_spec(
    settings: PipelineSettings,
    container: ContainerOptions,
    *,
    label_spec: features.LabelSpec | None = None,
) -> list[dict]:
    """Builds the PipelineSpec (and platform spec) documents.

    Args:
      settings: the run's settings; paths should be object-storage URIs
        that every pod can read.
      container: image and environment of every task.
      label_spec: labels to train; read from the data when None.

    Returns:
      The PipelineSpec as a dict, followed by a Kubernetes platform spec
      when `container.secret_env` is not empty.
    """
    _warn_local_paths(settings)
    dag = create_pipeline(
        settings,
        label_spec=label_spec,
        runtime_parameters=True,
        baseline_resolver=False,
    )
    runner = v2_runner.KubeflowV2DagRunner(
        v2_runner.KubeflowV2DagRunnerConfig(
            default_image=container.image,
            default_commands=list(ENTRYPOINT),
            use_pipeline_spec_2_1=True,
        )
    )
    spec = runner.run(dag, write_out=False)["pipelineSpec"]

    _set_parameter_defaults(spec, _runtime_parameters(dag))
    for node in dag.components:
        if isinstance(node, FileBasedExampleGen):
            spec["root"]["dag"]["tasks"][node.id]["cachingOptions"] = {
                "enableCache": False
            }
    spec["defaultPipelineRoot"] = settings.root
    _set_env(spec, container.env)
    documents = [spec]
    if container.secret_env:
        documents.append(_platform_spec(spec, container.secret_env))
    return documents


def write_spec(documents: list[dict], path: str) -> None:
    """Writes the documents as one YAML file, byte-identical for equal input.

    A `.yaml` file that the kfp client uploads and the Kubeflow UI imports.
    """
    spec = documents[0]
    header = [
        "# PIPELINE DEFINITION",
        f"# Name: {spec['pipelineInfo']['name']}",
        "# Compiled by kubeflow/runner.py from create_pipeline with "
        f"tfx-{tfx_version.__version__}.",
    ]
    parameters = spec["root"].get("inputDefinitions", {}).get("parameters")
    if parameters:
        header.append("# Runtime parameters: " + ", ".join(sorted(parameters)))
    body = yaml.safe_dump_all(documents, sort_keys=True, width=80)
    with open(path, "w", encoding="utf-8") as f:
        f.write("\n".join(header) + "\n" + body)
    logger.info("Wrote the pipeline spec to %s.", path)


def _warn_local_paths(settings: PipelineSettings) -> None:
    paths = {
        "--image-dir": settings.image_dir,
        "--labels": settings.labels_csv,
        "--model-basedir": settings.model_basedir,
        "--pipeline-root": settings.root,
        "--schema": settings.schema_path,
    }
    for option, path in paths.items():
        if path and not path.startswith(URI_SCHEMES):
            logger.warning(
                "%s %s is not an object-storage URI (%s); every pod must "
                "see it at this path, e.g. on a mounted volume.",
                option,
                path,
                ", ".join(URI_SCHEMES),
            )


def _runtime_parameters(dag) -> dict[str, str]:
    defaults = {}
    for node in dag.components:
        for value in node.exec_properties.values():
            if isinstance(value, data_types.RuntimeParameter):
                defaults[value.name] = value.default
    return defaults


def _set_parameter_defaults(spec: dict, defaults: dict[str, str]) -> None:
    declared = spec["root"].get("inputDefinitions", {}).get("parameters", {})
    if set(declared) != set(defaults):
        raise RuntimeError(
            f"Expected runtime parameters {sorted(defaults)} in the compiled "
            f"spec, found {sorted(declared)}."
        )
    for name, default in defaults.items():
        declared[name]["defaultValue"] = default
        declared[name]["isOptional"] = True


def _containers(spec: dict) -> dict[str, dict]:
    executors = spec["deploymentSpec"]["executors"]
    return {
        label: executor["container"]
        for label, executor in executors.items()
        if "container" in executor
    }


def _set_env(spec: dict, env: tuple[tuple[str, str], ...]) -> None:
    if not env:
        return
    variables = [{"name": name, "value": value} for name, value in env]
    for container in _containers(spec).values():
        container["env"] = variables


def _platform_spec(spec: dict, secret_env: tuple[SecretEnv, ...]) -> dict:
    by_secret: dict[str, list[dict]] = {}
    for item in secret_env:
        by_secret.setdefault(item.secret, []).append(
            {"secretKey": item.key, "envVar": item.variable}
        )
    config = {
        "secretAsEnv": [
            {"secretName": name, "keyToEnv": keys}
            for name, keys in sorted(by_secret.items())
        ]
    }
    executors = {label: config for label in sorted(_containers(spec))}
    return {
        "platforms": {
            "kubernetes": {"deploymentSpec": {"executors": executors}}
        }
    }
