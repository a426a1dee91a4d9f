"""The ExampleGens' own settings, carried in their `custom_config`."""

import collections
import dataclasses
import hashlib
import json
import posixpath
from typing import Any

import tensorflow as tf
from google.protobuf import json_format, struct_pb2
from tfx.proto import example_gen_pb2
from tfx.types import standard_component_specs
from tfx.utils import proto_utils

from components import features
from components.example_gen import ingest, sources

CLASS_DIRS = "class_dirs"
LABELS_CSV = "labels_csv"
TOTAL = "_total"  # Key of the example count in per-split label counts.


@dataclasses.dataclass(frozen=True)
class IngestSettings:
    """How one ExampleGen lists, labels and normalises images.

    Attributes:
      layout: `class_dirs` or `labels_csv`.
      label_spec: the labels the pipeline was built with.
      labels_csv: the CSV path (labels_csv layout only).
      max_side: longest image side kept at ingestion, in pixels.
    """

    layout: str
    label_spec: features.LabelSpec
    labels_csv: str = ""
    max_side: int = ingest.DEFAULT_MAX_SIDE

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

    def list_items(self, image_dir: str):
        """(items, ignored files) of the layout; see `sources`."""
        if self.layout == CLASS_DIRS:
            return sources.class_dir_items(image_dir, self.label_spec)
        items = sources.csv_items(image_dir, self.labels_csv, self.label_spec)
        listed = {name for name, _ in items}
        images, ignored = ingest.walk_files(image_dir)
        unlisted = [f for f in images if f not in listed]
        return items, sorted(ignored + unlisted)

    def count_keys(self, example: tf.train.Example) -> collections.Counter:
        """Counts one example towards its split's per-label totals."""
        feature = example.features.feature
        counts = collections.Counter({TOTAL: 1})
        if self.layout == CLASS_DIRS:
            name = feature[features.CLASS_NAME_KEY].bytes_list.value[0]
            counts[name.decode()] += 1
            return counts
        for label, key in zip(
            self.label_spec.labels, self.label_spec.label_features
        ):
            counts[label] += feature[key].int64_list.value[0]
        return counts

    def to_custom_config(self) -> example_gen_pb2.CustomConfig:
        struct = struct_pb2.Struct()
        struct.update(
            {
                "layout": self.layout,
                "label_spec": self.label_spec.to_json(),
                "labels_csv": self.labels_csv,
                "max_side": self.max_side,
            }
        )
        config = example_gen_pb2.CustomConfig()
        config.custom_config.Pack(struct)
        return config


def from_exec_properties(exec_properties: dict[str, Any]) -> IngestSettings:
    """Reads the settings back from an ExampleGen's exec properties."""
    config = example_gen_pb2.CustomConfig()
    proto_utils.json_to_proto(
        exec_properties[standard_component_specs.CUSTOM_CONFIG_KEY], config
    )
    struct = struct_pb2.Struct()
    config.custom_config.Unpack(struct)
    values = json_format.MessageToDict(struct)
    return IngestSettings(
        layout=values["layout"],
        label_spec=features.LabelSpec.from_json(values["label_spec"]),
        labels_csv=values.get("labels_csv", ""),
        max_side=int(values["max_side"]),
    )


def fingerprint(image_dir: str, settings: IngestSettings) -> str:
    """A digest of every file's path, size and mtime, at any depth.

    Any added, removed or changed file below `image_dir`, and any change to
    the labels CSV or settings, changes the digest, so cached ExampleGen
    results are reused only for identical input.
    """
    digest = hashlib.sha256(
        json.dumps(dataclasses.asdict(settings), sort_keys=True).encode()
    )
    paths = [posixpath.join(image_dir, f) for f in _all_files(image_dir)]
    if settings.labels_csv:
        paths.append(settings.labels_csv)
    for path in paths:
        stat = tf.io.gfile.stat(path)
        digest.update(f"{path}\0{stat.length}\0{stat.mtime_nsec}\n".encode())
    return f"files:{len(paths)},sha256:{digest.hexdigest()}"


def _all_files(top: str) -> list[str]:
    found = []
    for dirpath, _, filenames in tf.io.gfile.walk(top):
        rel_dir = posixpath.relpath(dirpath.replace("\\", "/"), top)
        found.extend(
            posixpath.normpath(posixpath.join(rel_dir, f)) for f in filenames
        )
    return sorted(found)
