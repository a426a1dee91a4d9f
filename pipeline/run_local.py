"""Runs the pipeline on this machine: folders in, a pushed model out.

LocalDagRunner with a SQLite ML Metadata store and Beam's in-process runner.
"""

import os
import sys

# Keras 2 must be chosen before TensorFlow is imported (see components).
os.environ.setdefault("TF_USE_LEGACY_KERAS", "1")
sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

import logging  # noqa: E402
import re  # noqa: E402
import warnings  # noqa: E402

import click  # noqa: E402

logger = logging.getLogger(__name__)


def run(settings) -> dict:
    """Runs the whole DAG locally and returns the run's model report.

    Raises:
      RuntimeError: when a component fails; the message says which.
    """
    from tfx.orchestration import metadata
    from tfx.orchestration.local.local_dag_runner import LocalDagRunner

    from pipeline import summary
    from pipeline.pipeline import create_pipeline, metadata_path

    os.makedirs(settings.root, exist_ok=True)
    logger.info(
        "Running pipeline %s on %s; artifacts in %s.",
        settings.model_name,
        settings.image_dir,
        settings.root,
    )
    dag = create_pipeline(
        settings,
        metadata_connection_config=(
            metadata.sqlite_metadata_connection_config(metadata_path(settings))
        ),
    )
    LocalDagRunner().run(dag)
    return summary.latest_report(settings)


@click.command(context_settings={"help_option_names": ["-h", "--help"]})
@click.option(
    "-i",
    "--image-dir",
    required=True,
    type=click.Path(exists=True, file_okay=False),
    help="Folder of images: one subfolder per class (nested "
    "folders allowed), or the folder --labels names files in.",
)
@click.option(
    "--model-name",
    required=True,
    help="Model and pipeline name: lowercase letters, digits and "
    "dashes (a Kubeflow pipeline name), e.g. 'pentagram-detector'. "
    "Other names are refused with a suggested form.",
)
@click.option(
    "--model-basedir",
    default="models",
    show_default=True,
    help="Models are pushed to <model-basedir>/<model-name>/<version>/.",
)
@click.option(
    "--labels",
    "labels_csv",
    default=None,
    type=click.Path(exists=True, dir_okay=False),
    help="labels.csv with a 'filename' column (relative to "
    "--image-dir) and 0/1 '*_visible' columns: trains a "
    "multi-label model. Default: class directories.",
)
@click.option(
    "--epochs",
    default=50,
    show_default=True,
    type=int,
    help="Passes over the training split.",
)
@click.option(
    "--seed",
    default=42,
    show_default=True,
    type=int,
    help="Random seed for weights and shuffling.",
)
@click.option(
    "--split",
    default=0.2,
    show_default=True,
    type=float,
    help="Fraction of images held out for evaluation; the split "
    "is a hash of each file's relative path, stable across runs.",
)
@click.option(
    "--positive-class",
    default=None,
    help="With two class directories, the class the model scores. "
    "Default: the second class in sorted order.",
)
@click.option(
    "--image-size",
    default=150,
    show_default=True,
    type=int,
    help="Side in pixels that images are resized to (at least 32).",
)
@click.option(
    "--batch-size",
    default=32,
    show_default=True,
    type=int,
    help="Training batch size.",
)
@click.option(
    "--backbone",
    default="small_cnn",
    show_default=True,
    type=click.Choice(["small_cnn", "mobilenet_v2"]),
    help="small_cnn trains from scratch and is fast on CPU; "
    "mobilenet_v2 is a frozen Keras application base.",
)
@click.option(
    "--weights",
    default="imagenet",
    show_default=True,
    help="Initial weights of an application backbone: 'imagenet' "
    "(downloaded by Keras), 'none', or a local weights file.",
)
@click.option(
    "--pipeline-root",
    default=None,
    help="Where artifacts and the metadata store go. Default: "
    "<model-basedir>/_pipelines/<model-name>.",
)
@click.option(
    "--schema",
    "schema_path",
    default=None,
    type=click.Path(exists=True, dir_okay=False),
    help="Curated schema (schema.pbtxt, e.g. from schemas/) to "
    "validate against. Default: inferred by SchemaGen.",
)
@click.option(
    "--min-auc",
    default=0.5,
    show_default=True,
    type=float,
    help="Bless only if every label's eval AUC is at least this.",
)
@click.option(
    "--max-auc-drop",
    default=0.05,
    show_default=True,
    type=float,
    help="Bless only if no label's AUC falls more than this below "
    "the latest blessed model (ignored on the first run).",
)
@click.option(
    "--max-side",
    default=1024,
    show_default=True,
    type=int,
    help="Larger images are downscaled to this side at ingestion.",
)
@click.option(
    "--strict",
    is_flag=True,
    help="Fail ingestion if any image is skipped (undecodable, bad link, "
    "missing), listing them all. Default: skip, warn and report them.",
)
@click.option(
    "--skip-missing",
    is_flag=True,
    help="With --labels: skip and report CSV rows that name files that "
    "do not exist. Default: fail, listing them.",
)
@click.option(
    "--group-by",
    default="",
    help="Regex on each image's path relative to --image-dir; images "
    "with the same match (or first capture group) share a split, e.g. "
    "'([^/]+)/[^/]+$' keeps each folder together. A 'group' column in "
    "--labels does the same. Default: split image by image.",
)
@click.option(
    "--beam-arg",
    "beam_args",
    multiple=True,
    help="Extra Apache Beam argument, repeatable, e.g. "
    "--beam-arg=--direct_num_workers=2. Default runner: "
    "FnApiRunner (Beam's in-process runner).",
)
@click.option("--verbose", is_flag=True, help="Log every component's INFO.")
def main(verbose: bool, **options) -> None:
    """Trains, evaluates and pushes a symbol-visibility model locally."""
    _configure_logging(verbose)
    from pipeline import summary
    from pipeline.config import PipelineSettings

    options["beam_args"] = tuple(options["beam_args"])
    try:
        settings = PipelineSettings(**options)
        settings.label_spec()
    except ValueError as e:
        raise click.UsageError(str(e)) from e
    try:
        report = run(settings)
    except Exception as e:
        if verbose:
            raise
        logger.debug("Pipeline failed.", exc_info=True)
        raise click.ClickException(
            f"{type(e).__name__}: {e}\n(rerun with --verbose for the traceback)"
        ) from e
    click.echo(summary.format_report(report))


_FAILED = re.compile(r"Execution \d+ failed\.")


def _configure_logging(verbose: bool) -> None:
    """Our INFO lines always; TensorFlow, Beam and TFX chatter on --verbose."""
    logging.basicConfig(
        level=logging.INFO if verbose else logging.WARNING,
        format="%(levelname)s %(name)s: %(message)s",
    )
    for name in ("pipeline", "components", "__main__"):
        logging.getLogger(name).setLevel(logging.INFO)
    if not verbose:
        os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
        warnings.filterwarnings("ignore")
        # Filter at the handler: TFX resets the levels of its own loggers.
        for handler in logging.getLogger().handlers:
            handler.addFilter(_ours_or_errors)


def _ours_or_errors(record: logging.LogRecord) -> bool:
    ours = record.name.split(".")[0] in ("pipeline", "components", "__main__")
    if ours:
        return True
    # TFX logs "Execution 7 failed." before raising; the error that follows
    # says which component failed and why.
    return record.levelno >= logging.ERROR and not _FAILED.fullmatch(
        record.getMessage()
    )


if __name__ == "__main__":
    main()
