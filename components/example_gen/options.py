"""The ExampleGens' own settings, carried in their `custom_config`."""

import collections
import dataclasses
import hashlib
import json
import os
import re
from typing import Any

import tensorflow as tf
from google.protobuf import json_format, struct_pb2
from tfx.proto import example_gen_pb2
from tfx.types import standard_component_specs
from tfx.utils import proto_utils

from components import features
from components.example_gen import discover, ingest, labels_csv, sources

CLASS_DIRS = "class_dirs"
LABELS_CSV = "labels_csv"
TOTAL = "_total"  # Key of the example count in per-split label counts.
TRAIN_SPLIT = "train"
EVAL_SPLIT = "eval"


@dataclasses.dataclass(frozen=True)
class IngestSettings:
    """How one ExampleGen lists, labels and normalises images.

    Attributes:
      layout: `class_dirs` or `labels_csv`.
      label_spec: the labels the pipeline was built with.
      labels_csv: the CSV path (labels_csv layout only).
      max_side: longest image side kept at ingestion, in pixels, >= 16.
      strict: whether any skipped file fails the run (listing them all)
        instead of being reported.
      skip_missing: whether CSV rows naming files that do not exist are
        skipped and reported instead of failing (labels_csv only).
      group_pattern: regex on each relative path; files whose match (first
        capture group, else the whole match) is equal share a split. ''
        splits file by file, or by the CSV `group` column if it has one.
    """

    layout: str
    label_spec: features.LabelSpec
    labels_csv: str = ""
    max_side: int = ingest.DEFAULT_MAX_SIDE
    strict: bool = False
    skip_missing: bool = False
    group_pattern: str = ""

    def __post_init__(self):
        if self.layout not in (CLASS_DIRS, LABELS_CSV):
            raise ValueError(
                f"Expected layout {CLASS_DIRS!r} or {LABELS_CSV!r}, "
                f"received {self.layout!r}."
            )
        if self.layout == LABELS_CSV and not self.labels_csv:
            raise ValueError("The labels_csv layout needs a labels CSV path.")
        if self.max_side < 16:
            raise ValueError(
                f"Expected max_side >= 16 pixels, received {self.max_side}."
            )
        if self.skip_missing and self.layout != LABELS_CSV:
            raise ValueError("--skip-missing applies to a labels CSV only.")
        if self.skip_missing and self.strict:
            raise ValueError(
                "--skip-missing and --strict contradict each other: strict "
                "fails on every skipped file. Choose one."
            )
        check_group_pattern(self.group_pattern)

    def list_items(self, image_dir: str) -> sources.Listing:
        """The files to decode and those ignored or skipped; see `sources`."""
        if self.layout == CLASS_DIRS:
            return sources.class_dir_listing(
                image_dir, self.label_spec, group_pattern=self.group_pattern
            )
        return sources.csv_listing(
            image_dir,
            self.labels_csv,
            self.label_spec,
            skip_missing=self.skip_missing,
            group_pattern=self.group_pattern,
        )

    def partition_feature(self) -> str:
        """The feature the train/eval split hashes: a group, or the file."""
        if self.group_pattern:
            return sources.SPLIT_KEY
        if self.layout == LABELS_CSV:
            header = sources.read_csv_header(self.labels_csv)
            if labels_csv.GROUP_COLUMN in header:
                return sources.SPLIT_KEY
        return features.FILENAME_KEY

    def count_keys(self, values: dict[str, int | str]) -> collections.Counter:
        """Counts one example, by its listed values, towards its split's
        per-class or per-label totals."""
        counts = collections.Counter({TOTAL: 1})
        if self.layout == CLASS_DIRS:
            counts[values[features.CLASS_NAME_KEY]] += 1
            return counts
        for label, key in zip(
            self.label_spec.labels, self.label_spec.label_features
        ):
            counts[label] += values[key]
        return counts

    def to_custom_config(self) -> example_gen_pb2.CustomConfig:
        struct = struct_pb2.Struct()
        struct.update(
            {
                "layout": self.layout,
                "label_spec": self.label_spec.to_json(),
                "labels_csv": self.labels_csv,
                "max_side": self.max_side,
                "strict": self.strict,
                "skip_missing": self.skip_missing,
                "group_pattern": self.group_pattern,
            }
        )
        config = example_gen_pb2.CustomConfig()
        config.custom_config.Pack(struct)
        return config


def check_group_pattern(pattern: str) -> None:
    """Raises ValueError unless `pattern` is a regex with at most one group."""
    try:
        regex = re.compile(pattern)
    except re.error as e:
        raise ValueError(
            f"--group-by {pattern!r} is not a valid regular expression: {e}."
        ) from e
    if regex.groups > 1:
        raise ValueError(
            f"--group-by {pattern!r} has {regex.groups} capture groups; "
            "expected at most one (the part of the path that names a group)."
        )


def from_exec_properties(exec_properties: dict[str, Any]) -> IngestSettings:
    """Reads the settings back from an ExampleGen's exec properties."""
    return from_custom_config(
        exec_properties[standard_component_specs.CUSTOM_CONFIG_KEY]
    )


def from_custom_config(text: str) -> IngestSettings:
    """Reads the settings back from `to_custom_config()` as JSON."""
    config = example_gen_pb2.CustomConfig()
    proto_utils.json_to_proto(text, config)
    struct = struct_pb2.Struct()
    config.custom_config.Unpack(struct)
    values = json_format.MessageToDict(struct)
    return IngestSettings(
        layout=values["layout"],
        label_spec=features.LabelSpec.from_json(values["label_spec"]),
        labels_csv=values.get("labels_csv", ""),
        max_side=int(values["max_side"]),
        strict=bool(values.get("strict", False)),
        skip_missing=bool(values.get("skip_missing", False)),
        group_pattern=values.get("group_pattern", ""),
    )


def fingerprint(image_dir: str, settings: IngestSettings) -> str:
    """A digest of every file's path, size and mtime, at any depth.

    Any added, removed or changed file below `image_dir`, and any change to
    the labels CSV or settings, changes the digest, so cached ExampleGen
    results are reused only for identical input. Symbolic links count by
    their target; loops and dangling links by their problem.
    """
    digest = hashlib.sha256(
        json.dumps(dataclasses.asdict(settings), sort_keys=True).encode()
    )
    count = 0
    for rel, full, real, problem in discover.walk(image_dir):
        count += 1
        state = problem or ("ignored" if real is None else _stat(full))
        digest.update(f"{rel}\0{state}\n".encode())
    if settings.labels_csv:
        count += 1
        with tf.io.gfile.GFile(settings.labels_csv, "rb") as f:
            # The CSV is small and a same-size edit must count: hash it.
            digest.update(b"csv\0" + hashlib.sha256(f.read()).digest())
    return f"files:{count},sha256:{digest.hexdigest()}"


def _stat(path: str) -> str:
    if "://" not in path:
        # gfile rounds local mtimes to seconds; os.stat keeps nanoseconds.
        stat = os.stat(path)
        return f"{stat.st_size}\0{stat.st_mtime_ns}"
    stat = tf.io.gfile.stat(path)
    return f"{stat.length}\0{stat.mtime_nsec}"
