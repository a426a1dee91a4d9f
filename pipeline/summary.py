"""Reads a run's ModelReport from ML Metadata and formats it for people."""

import json
import os

from ml_metadata import metadata_store
from tfx.orchestration import metadata

from components.model_report.component import REPORT_FILE, ModelReportArtifact
from pipeline.config import PipelineSettings

_SHOWN_METRICS = (
    ("example_count", "n", "{:.0f}"),
    ("auc", "AUC", "{:.3f}"),
    ("binary_accuracy", "acc", "{:.3f}"),
    ("precision", "prec", "{:.3f}"),
    ("recall", "recall", "{:.3f}"),
    ("false_positives", "FP", "{:.0f}"),
    ("false_negatives", "FN", "{:.0f}"),
)


def latest_report(settings: PipelineSettings) -> dict:
    """The report of the newest run of a local pipeline.

    Raises:
      RuntimeError: if the pipeline has not produced a report yet.
    """
    from pipeline.pipeline import metadata_path

    config = metadata.sqlite_metadata_connection_config(metadata_path(settings))
    store = metadata_store.MetadataStore(config)
    reports = store.get_artifacts_by_type(ModelReportArtifact.TYPE_NAME)
    if not reports:
        raise RuntimeError(
            f"No model report in {metadata_path(settings)}: the pipeline "
            "did not reach its last step."
        )
    newest = max(reports, key=lambda a: (a.create_time_since_epoch, a.id))
    with open(os.path.join(newest.uri, REPORT_FILE)) as f:
        return json.load(f)


def format_report(report: dict) -> str:
    """A few lines: examples, metrics per label, blessing, push."""
    lines = ["", "Examples per split:"]
    for split, counts in sorted(report["examples"].items()):
        per_label = ", ".join(
            f"{k}={v}" for k, v in sorted(counts.items()) if k != "_total"
        )
        lines.append(f"  {split}: {counts.get('_total', 0)} ({per_label})")
    if report.get("skipped_images"):
        lines.append(f"  skipped images: {report['skipped_images']}")

    lines.append("Evaluation on the eval split:")
    header = "  {:<16}".format("label") + "".join(
        f"{short:>8}" for _, short, _ in _SHOWN_METRICS
    )
    lines.append(header)
    for label, metrics in sorted(report["metrics"].items()):
        cells = "".join(
            f"{_cell(metrics.get(name), fmt):>8}"
            for name, _, fmt in _SHOWN_METRICS
        )
        lines.append(f"  {label:<16}{cells}")

    lines.append(f"Blessed: {'yes' if report['blessed'] else 'no'}")
    for failure in report.get("blessing_failures", []):
        lines.append(f"  {failure}")
    if report.get("pushed_to"):
        lines.append(f"Pushed to: {report['pushed_to']}")
    else:
        lines.append("Not pushed: the model was not blessed.")
    return "\n".join(lines)


def _cell(value: float | None, fmt: str) -> str:
    """A metric for the table; '-' where it is undefined or missing."""
    return "-" if value is None else fmt.format(value)
