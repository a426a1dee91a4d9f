"""Feature, label and signature names shared by every DAG node."""

import dataclasses
import json
import re

# Raw tf.Example features written by the ExampleGens.
IMAGE_KEY = "image"  # Encoded image bytes (JPEG or PNG), upright 8-bit RGB.
FILENAME_KEY = "filename"  # Path relative to the image directory.
CLASS_NAME_KEY = "class_name"  # Class directory name (class-dir layout).
LABEL_KEY = "label"  # Class index into LabelSpec.classes (class-dir layout).
LABEL_SUFFIX = "_visible"  # CSV label columns: `pentagram_visible`.
CSV_FILENAME_COLUMN = "filename"

# Serving signatures of the exported model.
SERVING_SIGNATURE = "serving_default"
EXAMPLES_SIGNATURE = "serving_examples"
IMAGE_BYTES_INPUT = "image_bytes"
EXAMPLES_INPUT = "examples"

# Extra files written beside standard artifact payloads.
INGESTION_REPORT_FILE = "ingestion_report.json"
MODEL_METADATA_FILE = "model.json"

BINARY = "binary"
MULTICLASS = "multiclass"
MULTILABEL = "multilabel"
_KINDS = (BINARY, MULTICLASS, MULTILABEL)
_OUTPUT_NAME = re.compile(r"^[a-z0-9][a-z0-9_]*$")


def output_name(label: str) -> str:
    """Turns a class or label name into a model output name.

    Args:
      label: a class directory name or a CSV label such as `Stop Sign`.

    Returns:
      The name lowercased, with every run of other characters than letters
      and digits replaced by one underscore, e.g. `stop_sign`.

    Raises:
      ValueError: if nothing usable is left of the name.
    """
    name = re.sub(r"[^a-z0-9]+", "_", label.lower()).strip("_")
    if not name:
        raise ValueError(
            f"Cannot derive a model output name from label {label!r}: "
            "expected at least one letter or digit."
        )
    return name


@dataclasses.dataclass(frozen=True)
class LabelSpec:
    """What the model predicts, and from which raw features.

    Attributes:
      kind: `binary` (one sigmoid scoring `classes[1]`), `multiclass` (one
        softmax over `classes`) or `multilabel` (one sigmoid per label).
      classes: class names in label-index order (class-dir layouts only);
        for binary models the positive class is last.
      labels: output names, one per model output (binary, multilabel) or one
        per class (multiclass).
      label_features: the raw feature holding each output's label, aligned
        with `labels` (binary and multilabel).
    """

    kind: str
    labels: tuple[str, ...]
    classes: tuple[str, ...] = ()
    label_features: tuple[str, ...] = ()

    def __post_init__(self):
        if self.kind not in _KINDS:
            raise ValueError(
                f"Expected kind in {_KINDS}, received kind={self.kind!r}."
            )
        if not self.labels:
            raise ValueError("Expected at least one label, received none.")
        bad = [n for n in self.labels if not _OUTPUT_NAME.match(n)]
        if bad:
            raise ValueError(
                f"Output names must match {_OUTPUT_NAME.pattern}, "
                f"received {bad}."
            )
        if len(set(self.labels)) != len(self.labels):
            raise ValueError(
                f"Output names must be unique, received {list(self.labels)}."
            )
        if self.kind != MULTICLASS and len(self.label_features) != len(
            self.labels
        ):
            raise ValueError(
                "Expected one label feature per output, received "
                f"labels={list(self.labels)} and "
                f"label_features={list(self.label_features)}."
            )

    @property
    def positive_class(self) -> str | None:
        """The class a binary model scores, or None for other kinds."""
        return self.classes[-1] if self.kind == BINARY else None

    @property
    def output_names(self) -> tuple[str, ...]:
        """Keras model outputs: one per label, or one softmax `classes`."""
        if self.kind == MULTICLASS:
            return ("classes",)
        return self.labels

    def to_json(self) -> str:
        return json.dumps(dataclasses.asdict(self), sort_keys=True)

    @classmethod
    def from_json(cls, text: str) -> "LabelSpec":
        fields = json.loads(text)
        return cls(
            **{
                k: tuple(v) if isinstance(v, list) else v
                for k, v in fields.items()
            }
        )


def class_dir_spec(
    classes: list[str], *, positive_class: str | None = None
) -> LabelSpec:
    """The LabelSpec of a class-directory layout.

    Args:
      classes: the top-level class directory names, at least two.
      positive_class: for two classes, the class the model scores. Defaults
        to the second class in sorted order.

    Returns:
      A binary spec for two classes, a multiclass spec for more.

    Raises:
      ValueError: for fewer than two classes or an unknown positive class.
    """
    ordered = sorted(classes)
    if len(ordered) < 2:
        raise ValueError(
            "Expected at least two class directories, received "
            f"{ordered or 'none'}."
        )
    if positive_class is not None and positive_class not in ordered:
        raise ValueError(
            f"--positive-class {positive_class!r} is not one of the classes "
            f"{ordered}."
        )
    if positive_class is not None and len(ordered) > 2:
        raise ValueError(
            "--positive-class applies to two classes only, received "
            f"{len(ordered)} classes: {ordered}."
        )
    if len(ordered) > 2:
        names = tuple(output_name(c) for c in ordered)
        return LabelSpec(kind=MULTICLASS, labels=names, classes=tuple(ordered))

    positive = positive_class or ordered[1]
    negative = ordered[0] if positive == ordered[1] else ordered[1]
    return LabelSpec(
        kind=BINARY,
        labels=(output_name(positive),),
        classes=(negative, positive),
        label_features=(LABEL_KEY,),
    )


def csv_spec(header: list[str]) -> LabelSpec:
    """The LabelSpec of a labels CSV from its header row.

    Args:
      header: the CSV column names.

    Returns:
      A multilabel spec with one output per `*_visible` column.

    Raises:
      ValueError: if the `filename` column or every label column is missing.
    """
    columns = [c.strip() for c in header]
    if CSV_FILENAME_COLUMN not in columns:
        raise ValueError(
            f"Expected a {CSV_FILENAME_COLUMN!r} column in the labels CSV, "
            f"found columns {columns}."
        )
    label_columns = [c for c in columns if c.endswith(LABEL_SUFFIX)]
    if not label_columns:
        raise ValueError(
            f"Expected at least one label column ending in {LABEL_SUFFIX!r} "
            f"(e.g. 'pentagram{LABEL_SUFFIX}'), found columns {columns}."
        )
    names = tuple(output_name(c[: -len(LABEL_SUFFIX)]) for c in label_columns)
    return LabelSpec(
        kind=MULTILABEL,
        labels=names,
        label_features=tuple(label_feature(n) for n in names),
    )


def label_feature(name: str) -> str:
    """The raw feature holding the 0/1 label of output `name`."""
    return f"{name}{LABEL_SUFFIX}"
