"""PipelineSettings: one typed, validated description of a pipeline run."""

import dataclasses
import os
import re

from components import features
from components.evaluator import config as eval_config
from components.example_gen import ingest, options, sources
from components.trainer import model as model_lib
from components.transform import preprocessing

# Kubeflow Pipelines accepts only these pipeline names.
MODEL_NAME_PATTERN = re.compile(r"^[a-z0-9][a-z0-9-]{0,127}$")
WEIGHTS_CHOICES = ("imagenet", "none")


@dataclasses.dataclass(frozen=True)
class PipelineSettings:
    """Everything one pipeline run needs; see `run_local.py --help`.

    Attributes:
      image_dir: folder of images (class subfolders, or files named by CSV).
      model_name: lowercase letters, digits and dashes; also the pipeline
        name on Kubeflow.
      model_basedir: pushed models go to `<model_basedir>/<model_name>/`.
      labels_csv: labels CSV for a multi-label model; None for class dirs.
      epochs, seed, split, image_size, batch_size: training settings.
      positive_class: class a binary model scores; None for the second in
        sorted order.
      backbone, weights: model architecture and its initial weights.
      pipeline_root: where artifacts go; None for
        `<model_basedir>/_pipelines/<model_name>`.
      schema_path: curated schema file; None to infer one with SchemaGen.
      min_auc, max_auc_drop: blessing thresholds, per label.
      max_side: longest image side kept at ingestion.
      strict: fail ingestion on any skipped file instead of reporting it.
      skip_missing: skip CSV rows naming missing files instead of failing.
      group_by: regex on relative paths; files with the same match (or
        first capture group) share a split. '' splits file by file.
      beam_args: extra Apache Beam pipeline arguments.
    """

    image_dir: str
    model_name: str
    model_basedir: str
    labels_csv: str | None = None
    epochs: int = 50
    seed: int = 42
    split: float = 0.2
    positive_class: str | None = None
    image_size: int = preprocessing.DEFAULT_IMAGE_SIZE
    batch_size: int = 32
    backbone: str = model_lib.SMALL_CNN
    weights: str = "imagenet"
    pipeline_root: str | None = None
    schema_path: str | None = None
    min_auc: float = eval_config.DEFAULT_MIN_AUC
    max_auc_drop: float = eval_config.DEFAULT_MAX_AUC_DROP
    max_side: int = ingest.DEFAULT_MAX_SIDE
    strict: bool = False
    skip_missing: bool = False
    group_by: str = ""
    beam_args: tuple[str, ...] = ()

    def __post_init__(self):
        if not MODEL_NAME_PATTERN.match(self.model_name):
            raise ValueError(
                "Expected --model-name of lowercase letters, digits and "
                "dashes, starting with a letter or digit (a Kubeflow "
                f"pipeline name), received {self.model_name!r}; e.g. "
                f"{suggest_model_name(self.model_name)!r}."
            )
        if self.epochs < 1:
            raise ValueError(f"Expected epochs >= 1, received {self.epochs}.")
        if not 0.0 < self.split < 1.0:
            raise ValueError(f"Expected 0 < split < 1, received {self.split}.")
        if self.image_size < 32:
            raise ValueError(
                f"Expected image_size >= 32, received {self.image_size}."
            )
        if not 0.0 <= self.min_auc <= 1.0:
            raise ValueError(
                f"Expected 0 <= min_auc <= 1, received {self.min_auc}."
            )
        if not 0.0 <= self.max_auc_drop <= 1.0:
            raise ValueError(
                f"Expected 0 <= max_auc_drop <= 1, received "
                f"{self.max_auc_drop}."
            )
        if self.max_side < 16:
            raise ValueError(
                f"Expected max_side >= 16, received {self.max_side}."
            )
        if self.batch_size < 1:
            raise ValueError(
                f"Expected batch_size >= 1, received {self.batch_size}."
            )
        if self.backbone not in model_lib.BACKBONES:
            raise ValueError(
                f"Expected backbone in {model_lib.BACKBONES}, received "
                f"{self.backbone!r}."
            )
        if self.weights not in WEIGHTS_CHOICES and not os.path.isfile(
            self.weights
        ):
            raise ValueError(
                f"Expected weights in {WEIGHTS_CHOICES} or an existing "
                f"weights file, received {self.weights!r}."
            )
        if self.labels_csv and self.positive_class:
            raise ValueError(
                "--positive-class applies to class directories, not to a "
                "labels CSV."
            )
        if self.skip_missing and not self.labels_csv:
            raise ValueError("--skip-missing applies to a labels CSV only.")
        if self.skip_missing and self.strict:
            raise ValueError(
                "--skip-missing and --strict contradict each other: strict "
                "fails on every skipped file. Choose one."
            )
        options.check_group_pattern(self.group_by)

    @property
    def root(self) -> str:
        """The pipeline root, derived unless given."""
        return self.pipeline_root or os.path.join(
            self.model_basedir, "_pipelines", self.model_name
        )

    @property
    def serving_dir(self) -> str:
        """Where the Pusher writes model versions."""
        return os.path.join(self.model_basedir, self.model_name)

    def label_spec(self) -> features.LabelSpec:
        """Reads the labels from the CSV header or the class directories."""
        if self.labels_csv:
            return features.csv_spec(sources.read_csv_header(self.labels_csv))
        return features.class_dir_spec(
            sources.list_classes(self.image_dir),
            positive_class=self.positive_class,
        )


def suggest_model_name(name: str) -> str:
    """A Kubeflow-safe form of `name`: `Hotdog_Model` -> `hotdog-model`."""
    return re.sub(r"[^a-z0-9]+", "-", name.lower()).strip("-")[:128] or "model"
