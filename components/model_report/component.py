"""ModelReport: examples, model, evaluation, blessing, push -> model.json.

Writes `model.json` (labels, positive class, image size, backbone, metrics
per label on the eval split, blessing, example counts) into the pushed
model version directory, and the same report, with where the model went or
why it did not, into its own `report` artifact.
"""

import json
import logging
import math
import os

import tensorflow as tf
import tensorflow_model_analysis as tfma
from tfx.dsl.component.experimental.annotations import (
    InputArtifact,
    OutputArtifact,
)
from tfx.dsl.component.experimental.decorators import component
from tfx.types import standard_artifacts
from tfx.types.artifact import Artifact

from components import features
from components.trainer import task

logger = logging.getLogger(__name__)

REPORT_FILE = "report.json"


class ModelReportArtifact(Artifact):
    """The JSON report of one pipeline run's model."""

    # Kubeflow (TFX's KFP v2 compiler) needs `<package>.<Class>` and imports
    # the class by that name in each container; see components/__init__.py.
    TYPE_NAME = "components.ModelReportArtifact"


def overall_metrics(
    evaluation_uri: str, spec: features.LabelSpec
) -> dict[str, dict[str, float]]:
    """Metrics of the whole eval split, keyed by label, then metric name."""
    metrics: dict[str, dict[str, float]] = {}
    for slice_metrics in tfma.load_metrics(evaluation_uri):
        if slice_metrics.slice_key.single_slice_keys:
            continue
        for entry in slice_metrics.metric_keys_and_values:
            key = entry.key
            if key.is_diff:
                continue
            label = key.output_name or spec.labels[0]
            if key.sub_key.HasField("class_id"):
                label = spec.labels[key.sub_key.class_id.value]
            value = entry.value.double_value.value
            # Undefined metrics (precision with no positive predictions) are
            # NaN, which JSON cannot hold: record them as null.
            value = value if math.isfinite(value) else None
            metrics.setdefault(label, {})[key.name] = value
    return metrics


def blessing_failures(
    evaluation_uri: str, spec: features.LabelSpec
) -> list[str]:
    """Why TFMA did not bless the model: one line per failed threshold."""
    result = tfma.load_validation_result(evaluation_uri)
    lines = []
    for failure in result.metric_validations_per_slice:
        for item in failure.failures:
            lines.append(_failure_line(item, spec))
    return lines


def _failure_line(failure, spec: features.LabelSpec) -> str:
    key = failure.metric_key
    label = key.output_name or spec.labels[0]
    if key.sub_key.HasField("class_id"):
        label = spec.labels[key.sub_key.class_id.value]
    value = failure.metric_value.double_value.value
    if key.is_diff:
        bound = failure.metric_threshold.change_threshold.absolute.value
        return f"{label} {key.name} changed by {value:+.3f}, limit {bound:+.3f}"
    bound = failure.metric_threshold.value_threshold.lower_bound.value
    return f"{label} {key.name} {value:.3f} is below {bound:.3f}"


def build_report(examples_uri, model_uri, evaluation_uri, blessed) -> dict:
    """The model.json content, from the run's artifacts."""
    with tf.io.gfile.GFile(
        os.path.join(examples_uri, features.INGESTION_REPORT_FILE)
    ) as f:
        ingestion = json.load(f)
    info_path = os.path.join(
        model_uri, "Format-Serving", task.TRAINING_INFO_FILE
    )
    with tf.io.gfile.GFile(info_path) as f:
        training = json.load(f)
    spec = features.LabelSpec(
        **{
            k: tuple(v) if isinstance(v, list) else v
            for k, v in training["label_spec"].items()
        }
    )
    return {
        "kind": spec.kind,
        "labels": list(spec.labels),
        "classes": list(spec.classes),
        "positive_class": spec.positive_class,
        "label_features": list(spec.label_features),
        "image_size": training["image_size"],
        "backbone": training["backbone"],
        "weights": training["weights"],
        "epochs": training["epochs"],
        "signatures": {
            features.SERVING_SIGNATURE: features.IMAGE_BYTES_INPUT,
            features.EXAMPLES_SIGNATURE: features.EXAMPLES_INPUT,
        },
        "metrics": overall_metrics(evaluation_uri, spec),
        "blessed": blessed,
        "blessing_failures": []
        if blessed
        else blessing_failures(evaluation_uri, spec),
        "examples": ingestion["splits"],
        "skipped_images": len(ingestion["skipped"]),
    }


@component
def ModelReport(
    examples: InputArtifact[standard_artifacts.Examples],
    model: InputArtifact[standard_artifacts.Model],
    evaluation: InputArtifact[standard_artifacts.ModelEvaluation],
    blessing: InputArtifact[standard_artifacts.ModelBlessing],
    pushed_model: InputArtifact[standard_artifacts.PushedModel],
    report: OutputArtifact[ModelReportArtifact],
) -> None:
    """Writes model.json beside the pushed model and the run's report."""
    blessed = bool(blessing.get_int_custom_property("blessed"))
    content = build_report(examples.uri, model.uri, evaluation.uri, blessed)
    pushed = bool(pushed_model.get_int_custom_property("pushed"))
    destination = pushed_model.get_string_custom_property("pushed_destination")
    if pushed:
        path = os.path.join(destination, features.MODEL_METADATA_FILE)
        _write_json(path, dict(content, version=os.path.basename(destination)))
        logger.info("Wrote %s.", path)
    content["pushed_to"] = destination if pushed else None
    _write_json(os.path.join(report.uri, REPORT_FILE), content)


def _write_json(path: str, content: dict) -> None:
    with tf.io.gfile.GFile(path, "w") as f:
        json.dump(content, f, indent=2, sort_keys=True)
