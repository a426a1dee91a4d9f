"""create_pipeline: PipelineSettings -> the one TFX DAG, for every runner."""

import os

from tfx import v1 as tfx

from components import features
from components.evaluator import config as eval_config
from components.example_gen import component as example_gen
from components.example_gen import options
from components.model_report.component import ModelReport
from components.validation_gate.component import ValidationGate
from pipeline.config import PipelineSettings

PREPROCESSING_FN = "components.transform.preprocessing.preprocessing_fn"
RUN_FN = "components.trainer.task.run_fn"


def create_pipeline(
    settings: PipelineSettings,
    *,
    label_spec: features.LabelSpec | None = None,
    metadata_connection_config=None,
) -> tfx.dsl.Pipeline:
    """Assembles ingestion, validation, Transform, training, evaluation, push.

    Args:
      settings: the run's settings.
      label_spec: labels to train; read from the data when None.
      metadata_connection_config: ML Metadata connection; None lets the
        runner choose (Kubeflow provides its own).

    Returns:
      The TFX pipeline, named after the model.
    """
    spec = label_spec or settings.label_spec()
    nodes = _ingest_and_validate(settings, spec)
    examples, schema = nodes["examples"], nodes["schema"]

    transform = tfx.components.Transform(
        examples=examples,
        schema=schema,
        preprocessing_fn=PREPROCESSING_FN,
        custom_config={
            "image_size": settings.image_size,
            "label_spec": spec.to_json(),
        },
    )
    transform.add_upstream_node(nodes["gate"])
    trainer = tfx.components.Trainer(
        run_fn=RUN_FN,
        examples=transform.outputs["transformed_examples"],
        transform_graph=transform.outputs["transform_graph"],
        schema=schema,
        train_args=tfx.proto.TrainArgs(splits=["train"]),
        eval_args=tfx.proto.EvalArgs(splits=["eval"]),
        custom_config=_trainer_config(settings, spec),
    )
    evaluate = _evaluate(settings, spec, examples, schema, trainer)
    pusher = tfx.components.Pusher(
        model=trainer.outputs["model"],
        model_blessing=evaluate["evaluator"].outputs["blessing"],
        push_destination=tfx.proto.PushDestination(
            filesystem=tfx.proto.PushDestination.Filesystem(
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
    return tfx.dsl.Pipeline(
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


def _ingest_and_validate(settings: PipelineSettings, spec) -> dict:
    layout = options.LABELS_CSV if settings.labels_csv else options.CLASS_DIRS
    gen_class = (
        example_gen.LabelsCsvExampleGen
        if settings.labels_csv
        else example_gen.ClassDirExampleGen
    )
    gen = gen_class(
        image_dir=settings.image_dir,
        settings=options.IngestSettings(
            layout=layout,
            label_spec=spec,
            labels_csv=settings.labels_csv or "",
            max_side=settings.max_side,
        ),
        eval_fraction=settings.split,
    )
    examples = gen.outputs["examples"]
    statistics = tfx.components.StatisticsGen(examples=examples)
    if settings.schema_path:
        schema_gen = tfx.components.ImportSchemaGen(
            schema_file=settings.schema_path
        )
    else:
        schema_gen = tfx.components.SchemaGen(
            statistics=statistics.outputs["statistics"],
            infer_feature_shape=True,
        )
    schema = schema_gen.outputs["schema"]
    validator = tfx.components.ExampleValidator(
        statistics=statistics.outputs["statistics"], schema=schema
    )
    gate = ValidationGate(anomalies=validator.outputs["anomalies"])
    return {
        "examples": examples,
        "schema": schema,
        "gate": gate,
        "components": [gen, statistics, schema_gen, validator, gate],
    }


def _trainer_config(settings: PipelineSettings, spec) -> dict:
    return {
        "label_spec": spec.to_json(),
        "image_size": settings.image_size,
        "backbone": settings.backbone,
        "weights": settings.weights,
        "epochs": settings.epochs,
        "batch_size": settings.batch_size,
        "seed": settings.seed,
    }


def _evaluate(settings, spec, examples, schema, trainer) -> dict:
    baseline = tfx.dsl.Resolver(
        strategy_class=tfx.dsl.experimental.LatestBlessedModelStrategy,
        model=tfx.dsl.Channel(type=tfx.types.standard_artifacts.Model),
        model_blessing=tfx.dsl.Channel(
            type=tfx.types.standard_artifacts.ModelBlessing
        ),
    ).with_id("latest_blessed_model_resolver")
    evaluator = tfx.components.Evaluator(
        examples=examples,
        model=trainer.outputs["model"],
        baseline_model=baseline.outputs["model"],
        schema=schema,
        eval_config=eval_config.eval_config(
            spec, min_auc=settings.min_auc, max_auc_drop=settings.max_auc_drop
        ),
        example_splits=["eval"],
    )
    return {"baseline": baseline, "evaluator": evaluator}


def _beam_args(settings: PipelineSettings) -> tuple[str, ...]:
    defaults = ["--runner=DirectRunner"]
    given = {arg.split("=", 1)[0] for arg in settings.beam_args}
    kept = [a for a in defaults if a.split("=", 1)[0] not in given]
    return (*kept, *settings.beam_args)


def metadata_path(settings: PipelineSettings) -> str:
    """The local SQLite ML Metadata file of a pipeline."""
    return os.path.join(settings.root, "metadata.sqlite")
