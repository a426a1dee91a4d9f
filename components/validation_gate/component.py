"""ValidationGate: ExampleAnomalies -> nothing, or a failed run.

ExampleValidator only records anomalies; this component fails the run on
any of them, before Transform and training start.
"""

import logging
import os

import tensorflow as tf
from tensorflow_metadata.proto.v0 import anomalies_pb2
from tfx.dsl.component.experimental.annotations import InputArtifact
from tfx.dsl.component.experimental.decorators import component
from tfx.types import artifact_utils, standard_artifacts

logger = logging.getLogger(__name__)

_ANOMALIES_FILE = "SchemaDiff.pb"  # Written by ExampleValidator per split.


class DataValidationError(RuntimeError):
    """The examples do not match the schema."""


def read_anomalies(anomalies_uri: str, split: str) -> anomalies_pb2.Anomalies:
    """The anomalies ExampleValidator wrote for one split."""
    path = os.path.join(anomalies_uri, f"Split-{split}", _ANOMALIES_FILE)
    anomalies = anomalies_pb2.Anomalies()
    with tf.io.gfile.GFile(path, "rb") as f:
        anomalies.ParseFromString(f.read())
    return anomalies


def describe(anomalies: anomalies_pb2.Anomalies) -> list[str]:
    """One line per anomaly: the feature and what is wrong with it."""
    lines = []
    for feature, info in sorted(anomalies.anomaly_info.items()):
        reasons = "; ".join(r.description for r in info.reason)
        lines.append(f"feature {feature!r}: {reasons or info.description}")
    for reason in anomalies.dataset_anomaly_info.reason:
        lines.append(f"dataset: {reason.description}")
    return lines


@component
def ValidationGate(
    anomalies: InputArtifact[standard_artifacts.ExampleAnomalies],
) -> None:
    """Raises DataValidationError listing every anomaly of every split."""
    problems = []
    splits = artifact_utils.decode_split_names(anomalies.split_names)
    for split in splits:
        problems.extend(
            f"[{split}] {line}"
            for line in describe(read_anomalies(anomalies.uri, split))
        )
    if problems:
        raise DataValidationError(
            "The examples do not match the schema; fix the data or update "
            "the schema, then rerun:\n  " + "\n  ".join(problems)
        )
    logger.info("No anomalies in splits %s.", splits)
