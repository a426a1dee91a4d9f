"""create_pipeline: PipelineSettings -> the one TFX DAG, for every runner."""

import json
import os

from google.protobuf import json_format
from tfx.components import (
    Evaluator,
    ExampleValidator,
    Pusher,
    SchemaGen,
    StatisticsGen,
    Trainer,
    Transform,
)
from tfx.components.schema_gen.import_schema_gen.component import (
    ImportSchemaGen,
)
from tfx.dsl.components.common.resolver import Resolver
from tfx.orchestration import data_types
from tfx.orchestration.pipeline import Pipeline
from tfx.proto import pusher_pb2, trainer_pb2
from tfx.types import channel, standard_artifacts

from components import features
from components.evaluator import baseline
from components.evaluator import config as eval_config
from components.example_gen import component as example_gen
from components.example_gen import options
from components.model_report.component import ModelReport
from components.validation_gate.component import ValidationGate
from pipeline.config import PipelineSettings

PREPROCESSING_FN = "components.transform.preprocessing.preprocessing_fn"
RUN_FN = "components.trainer.task.run_fn"

# Beam's in-process batch runner. `DirectRunner` ends up on it too, but
# since Beam 2.68 it first tries Prism, a separate runner it downloads from
# GitHub: a second or more lost per Beam component where that is blocked,
# and a different runner (other workers, other memory) where it is not.
LOCAL_RUNNER = "FnApiRunner"
IN_PROCESS_RUNNERS = frozenset({"fnapirunner", "directrunner", "direct"})
# Unless one of these Beam flags is given, TFX builds an sdist of itself
# before every Beam component (about 2 s each on 2 cores) for remote
# workers to install. An in-process runner installs nothing, so it gets a
# container image flag that it ignores.
DEPENDENCY_FLAGS = (
    "--extra_package",
    "--extra_packages",
    "--setup_file",
    "--requirements_file",
    "--sdk_container_image",
    "--worker_harness_container_image",
)
NO_PACKAGE_FLAG = "--sdk_container_image"
NO_PACKAGE_VALUE = "unused-by-the-direct-runner"

# Runtime parameters (Kubeflow): a run may change these without recompiling.
IMAGE_DIR_PARAMETER = "image_dir"  # ExampleGen input_base.
INGEST_CONFIG_PARAMETER = "ingest_config"  # ExampleGen custom_config JSON.
TRAINER_CONFIG_PARAMETER = "trainer_config"  # Trainer custom_config JSON.


def create_pipeline(
    settings: PipelineSettings,
    *,
    label_spec: features.LabelSpec | None = None,
    metadata_connection_config=None,
    runtime_parameters: bool = False,
    baseline_resolver: bool = True,
) -> Pipeline:
    """Assembles ingestion, validation, Transform, training, evaluation, push.

    Args:
      settings: the run's settings.
      label_spec: labels to train; read from the data when None.
      metadata_connection_config: ML Metadata connection; None lets the
        runner choose (Kubeflow provides its own).
      runtime_parameters: whether the image folder, the ExampleGen
        settings and the Trainer settings are runtime parameters (named by
        the `*_PARAMETER` constants, defaulting to `settings`) instead of
        constants. Defaults to False.
      baseline_resolver: whether the Evaluator compares with the latest
        blessed model through a Resolver node; without it only absolute
        thresholds apply. Kubeflow Pipelines (open source) cannot run
        Resolver nodes. Defaults to True.

    Returns:
      The TFX pipeline, named after the model.
    """
    spec = label_spec or settings.label_spec()
    nodes = _ingest_and_validate(settings, spec, runtime_parameters)
    examples, schema = nodes["examples"], nodes["schema"]

    # Transform only builds the graph, without reading the data; the
    # Trainer applies it to raw examples batch by batch, as serving does.
    # Materialised float pixels took 20x the disk of the raw images at
    # 128 px and a full pass; StatisticsGen already covers the raw data.
    # See docs/benchmarks.md.
    transform = Transform(
        examples=examples,
        schema=schema,
        preprocessing_fn=PREPROCESSING_FN,
        materialize=False,
        disable_statistics=True,
        custom_config={
            "image_size": settings.image_size,
            "label_spec": spec.to_json(),
        },
    )
    transform.add_upstream_node(nodes["gate"])
    trainer = Trainer(
        run_fn=RUN_FN,
        examples=examples,
        transform_graph=transform.outputs["transform_graph"],
        schema=schema,
        train_args=trainer_pb2.TrainArgs(splits=["train"]),
        eval_args=trainer_pb2.EvalArgs(splits=["eval"]),
        custom_config=_trainer_config(settings, spec, runtime_parameters),
    )
    evaluate = _evaluate(
        settings, spec, examples, schema, trainer, baseline_resolver
    )
    pusher = Pusher(
        model=trainer.outputs["model"],
        model_blessing=evaluate["evaluator"].outputs["blessing"],
        push_destination=pusher_pb2.PushDestination(
            filesystem=pusher_pb2.PushDestination.Filesystem(
                base_directory=settings.serving_dir
            )
        ),
    )
    report = ModelReport(
        examples=examples,
        model=trainer.outputs["model"],
        evaluation=evaluate["evaluator"].outputs["evaluation"],
        blessing=evaluate["evaluator"].outputs["blessing"],
        pushed_model=pusher.outputs["pushed_model"],
    )
    return Pipeline(
        pipeline_name=settings.model_name,
        pipeline_root=settings.root,
        components=[
            *nodes["components"],
            transform,
            trainer,
            *evaluate.values(),
            pusher,
            report,
        ],
        enable_cache=True,
        metadata_connection_config=metadata_connection_config,
        beam_pipeline_args=list(_beam_args(settings)),
    )


def _ingest_and_validate(settings: PipelineSettings, spec, runtime) -> dict:
    layout = options.LABELS_CSV if settings.labels_csv else options.CLASS_DIRS
    gen_class = (
        example_gen.LabelsCsvExampleGen
        if settings.labels_csv
        else example_gen.ClassDirExampleGen
    )
    ingest = options.IngestSettings(
        layout=layout,
        label_spec=spec,
        labels_csv=settings.labels_csv or "",
        max_side=settings.max_side,
        strict=settings.strict,
        skip_missing=settings.skip_missing,
        group_pattern=settings.group_by,
    )
    image_dir, ingest_config = settings.image_dir, ingest
    if runtime:
        image_dir = _parameter(IMAGE_DIR_PARAMETER, image_dir)
        ingest_config = _parameter(
            INGEST_CONFIG_PARAMETER,
            json_format.MessageToJson(
                ingest.to_custom_config(),
                indent=None,
                preserving_proto_field_name=True,
                sort_keys=True,
            ),
        )
    gen = gen_class(
        image_dir=image_dir,
        settings=ingest_config,
        eval_fraction=settings.split,
    )
    examples = gen.outputs["examples"]
    statistics = StatisticsGen(
        examples=examples, stats_options=example_gen.statistics_options()
    )
    if settings.schema_path:
        schema_gen = ImportSchemaGen(schema_file=settings.schema_path)
    else:
        schema_gen = SchemaGen(
            statistics=statistics.outputs["statistics"],
            infer_feature_shape=True,
        )
    schema = schema_gen.outputs["schema"]
    validator = ExampleValidator(
        statistics=statistics.outputs["statistics"], schema=schema
    )
    gate = ValidationGate(anomalies=validator.outputs["anomalies"])
    return {
        "examples": examples,
        "schema": schema,
        "gate": gate,
        "components": [gen, statistics, schema_gen, validator, gate],
    }


def _trainer_config(settings: PipelineSettings, spec, runtime):
    config = {
        "label_spec": spec.to_json(),
        "image_size": settings.image_size,
        "backbone": settings.backbone,
        "weights": settings.weights,
        "epochs": settings.epochs,
        "batch_size": settings.batch_size,
        "seed": settings.seed,
    }
    if not runtime:
        return config
    return _parameter(
        TRAINER_CONFIG_PARAMETER, json.dumps(config, sort_keys=True)
    )


def _parameter(name: str, default: str):
    return data_types.RuntimeParameter(name=name, ptype=str, default=default)


def _evaluate(settings, spec, examples, schema, trainer, with_baseline):
    nodes, baseline_model = {}, None
    if with_baseline:
        # Leaves this run's model out: an unchanged rerun then resolves the
        # same baseline as the first run, so evaluation and push stay cached.
        nodes["baseline"] = Resolver(
            strategy_class=baseline.LatestBlessedOtherModelStrategy,
            **{
                baseline.MODEL_KEY: channel.Channel(
                    type=standard_artifacts.Model
                ),
                baseline.BLESSING_KEY: channel.Channel(
                    type=standard_artifacts.ModelBlessing
                ),
                baseline.CANDIDATE_KEY: trainer.outputs["model"],
            },
        ).with_id("latest_blessed_model_resolver")
        baseline_model = nodes["baseline"].outputs[baseline.MODEL_KEY]
    nodes["evaluator"] = Evaluator(
        examples=examples,
        model=trainer.outputs["model"],
        baseline_model=baseline_model,
        schema=schema,
        eval_config=eval_config.eval_config(
            spec, min_auc=settings.min_auc, max_auc_drop=settings.max_auc_drop
        ),
        example_splits=["eval"],
    )
    return nodes


def _beam_args(settings: PipelineSettings) -> tuple[str, ...]:
    given = dict(_flag(arg) for arg in settings.beam_args)
    defaults = {} if "--runner" in given else {"--runner": LOCAL_RUNNER}
    runner = given.get("--runner", LOCAL_RUNNER).lower()
    local = runner in IN_PROCESS_RUNNERS
    if local and not set(given) & set(DEPENDENCY_FLAGS):
        defaults[NO_PACKAGE_FLAG] = NO_PACKAGE_VALUE
    kept = [f"{name}={value}" for name, value in defaults.items()]
    return (*kept, *settings.beam_args)


def _flag(arg: str) -> tuple[str, str]:
    name, _, value = arg.partition("=")
    return name, value


def metadata_path(settings: PipelineSettings) -> str:
    """The local SQLite ML Metadata file of a pipeline."""
    return os.path.join(settings.root, "metadata.sqlite")
