"""ExampleGen components for class-dir and labels-CSV image layouts.

Both read every image below `input_base` and write TFRecords (uncompressed) of
tf.Example (image bytes, relative filename, labels) split by a hash of the
filename, plus an ingestion report.
"""

import logging

import tensorflow as tf
import tensorflow_data_validation as tfdv
from tensorflow_metadata.proto.v0 import schema_pb2
from tfx.components import FileBasedExampleGen
from tfx.dsl.components.base import executor_spec
from tfx.orchestration import data_types
from tfx.proto import example_gen_pb2

from components import features
from components.example_gen import driver, executor, options

logger = logging.getLogger(__name__)

SPLIT_BUCKETS = 100  # Hash buckets: --split is honoured to 1 %.


class ImageExampleGen(FileBasedExampleGen):
    """Turns an image folder into labelled, split tf.Example TFRecords."""

    EXECUTOR_SPEC = executor_spec.BeamExecutorSpec(executor.Executor)
    DRIVER_CLASS = driver.RecursiveFingerprintDriver

    def __init__(
        self,
        *,
        image_dir: str | data_types.RuntimeParameter,
        settings: options.IngestSettings | data_types.RuntimeParameter,
        eval_fraction: float = 0.2,
    ):
        """Declares the component.

        Args:
          image_dir: folder (or object-storage URI) holding the images, or
            a runtime parameter with it.
          settings: layout, labels and image limits, or a runtime parameter
            with their `custom_config` JSON.
          eval_fraction: share of examples in the `eval` split, in (0, 1).
            Defaults to 0.2.
        """
        partition = _partition_feature(settings)
        if isinstance(settings, options.IngestSettings):
            settings = settings.to_custom_config()
        super().__init__(
            input_base=image_dir,
            input_config=example_gen_pb2.Input(
                splits=[example_gen_pb2.Input.Split(name="all", pattern="*")]
            ),
            output_config=split_config(eval_fraction, partition=partition),
            custom_config=settings,
        )


def _partition_feature(settings) -> str:
    """The split's hash feature, from the settings or a parameter default.

    A run that turns grouping on through a runtime parameter whose default
    had it off is refused by the executor, naming the cause.
    """
    if isinstance(settings, data_types.RuntimeParameter):
        if not isinstance(settings.default, str):
            return features.FILENAME_KEY
        settings = options.from_custom_config(settings.default)
        try:
            return settings.partition_feature()
        except tf.errors.OpError as e:
            # Compiling for a cluster where the CSV is not readable here.
            logger.warning(
                "Cannot read %s to look for a group column (%s); the split "
                "hashes filenames, and a CSV with groups stops the run.",
                settings.labels_csv,
                e.message,
            )
            return features.FILENAME_KEY
    return settings.partition_feature()


def split_config(
    eval_fraction: float, *, partition: str = features.FILENAME_KEY
) -> example_gen_pb2.Output:
    """Train/eval split by a hash of one feature, stable across runs.

    A file keeps its split when others are added or removed: the hash is of
    its own relative filename, or of its group when files are grouped.

    Args:
      eval_fraction: share of examples in the `eval` split.
      partition: the feature hashed: `filename`, or `split_key` when files
        are grouped. Defaults to `filename`.

    Raises:
      ValueError: unless 0 < eval_fraction < 1 at 1 % resolution.
    """
    eval_buckets = round(eval_fraction * SPLIT_BUCKETS)
    if not 0 < eval_buckets < SPLIT_BUCKETS:
        raise ValueError(
            "Expected a split (eval fraction) between 0.01 and 0.99, "
            f"received {eval_fraction}."
        )
    return example_gen_pb2.Output(
        split_config=example_gen_pb2.SplitConfig(
            splits=[
                example_gen_pb2.SplitConfig.Split(
                    name=options.TRAIN_SPLIT,
                    hash_buckets=SPLIT_BUCKETS - eval_buckets,
                ),
                example_gen_pb2.SplitConfig.Split(
                    name=options.EVAL_SPLIT, hash_buckets=eval_buckets
                ),
            ],
            partition_feature_name=partition,
        )
    )


def statistics_options() -> tfdv.StatsOptions:
    """StatisticsGen options: the image feature counts as bytes.

    Without this, image bytes get string statistics (top values, lengths)
    that say nothing and can flood logs and anomaly reports.
    """
    schema = schema_pb2.Schema()
    image = schema.feature.add(name=features.IMAGE_KEY, type=schema_pb2.BYTES)
    image.image_domain.SetInParent()
    return tfdv.StatsOptions(schema=schema)


class ClassDirExampleGen(ImageExampleGen):
    """ExampleGen for `<image_dir>/<class>/**/<image>` layouts."""


class LabelsCsvExampleGen(ImageExampleGen):
    """ExampleGen for an image folder plus a labels CSV."""
