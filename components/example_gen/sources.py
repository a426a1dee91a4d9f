"""Lists the images of a class-dir layout or a labels CSV, with labels."""

import csv
import io
import logging
import posixpath

import tensorflow as tf

from components import features
from components.example_gen import ingest

logger = logging.getLogger(__name__)

Item = tuple[str, dict[str, int | str]]  # (relative filename, labels)
_MAX_LISTED = 10  # Long lists of bad rows or files are cut in messages.


def _listing(names: list[str]) -> str:
    shown = ", ".join(names[:_MAX_LISTED])
    more = len(names) - _MAX_LISTED
    return f"{shown} (and {more} more)" if more > 0 else shown


def class_dir_items(
    image_dir: str, spec: features.LabelSpec
) -> tuple[list[Item], list[str]]:
    """Lists every image below each class directory, at any depth.

    Args:
      image_dir: folder whose top-level subdirectories are the classes.
      spec: the label spec the pipeline was built with.

    Returns:
      (items, ignored files): items sorted by filename, each with its class
      index (`label`) and class name.

    Raises:
      ValueError: if the class directories differ from `spec.classes`, or a
        class has no images.
    """
    found = list_classes(image_dir)
    if sorted(found) != sorted(spec.classes):
        raise ValueError(
            f"Expected class directories {sorted(spec.classes)} in "
            f"{image_dir}, found {found}. Rebuild the pipeline when classes "
            "change."
        )

    items, ignored = [], []
    for index, name in enumerate(spec.classes):
        images, skipped = ingest.walk_files(posixpath.join(image_dir, name))
        if not images:
            raise ValueError(
                f"Class directory {posixpath.join(image_dir, name)} holds no "
                f"images (extensions {sorted(ingest.IMAGE_EXTENSIONS)})."
            )
        labels = {features.LABEL_KEY: index, features.CLASS_NAME_KEY: name}
        items.extend((f"{name}/{rel}", labels) for rel in images)
        ignored.extend(f"{name}/{rel}" for rel in skipped)
    return sorted(items), sorted(ignored)


def list_classes(image_dir: str) -> list[str]:
    """The class names: top-level subdirectories, clutter excluded, sorted."""
    if not tf.io.gfile.isdir(image_dir):
        raise ValueError(f"Image directory {image_dir} does not exist.")
    return sorted(
        name.rstrip("/")
        for name in tf.io.gfile.listdir(image_dir)
        if tf.io.gfile.isdir(posixpath.join(image_dir, name))
        and not ingest.is_ignored(name.rstrip("/"))
    )


def read_csv_header(csv_path: str) -> list[str]:
    """The column names of a labels CSV."""
    reader, _ = _open_csv(csv_path)
    return list(reader.fieldnames or [])


def csv_items(
    image_dir: str, csv_path: str, spec: features.LabelSpec
) -> list[Item]:
    """Reads a labels CSV into items, checking every row.

    Args:
      image_dir: folder that `filename` values are relative to.
      csv_path: the labels CSV.
      spec: the label spec the pipeline was built with.

    Returns:
      Items sorted by filename, each with one 0/1 feature per label.

    Raises:
      ValueError: naming the row and column of a bad value, an unsafe or
        duplicate filename, or listing files that do not exist.
    """
    reader, columns = _open_csv(csv_path)
    csv_spec = features.csv_spec(columns)
    if csv_spec.labels != spec.labels:
        raise ValueError(
            f"Expected labels {list(spec.labels)} in {csv_path}, found "
            f"{list(csv_spec.labels)}. Rebuild the pipeline when labels change."
        )
    label_columns = [c for c in columns if c.endswith(features.LABEL_SUFFIX)]

    rows = {}
    for line, row in enumerate(reader, start=2):
        filename, labels = _parse_row(row, line, csv_path, label_columns, spec)
        _add_row(rows, filename, labels, line, csv_path)

    missing = [
        f for f in rows if not tf.io.gfile.exists(posixpath.join(image_dir, f))
    ]
    if missing:
        raise ValueError(
            f"{len(missing)} files named in {csv_path} do not exist under "
            f"{image_dir}: {_listing(missing)}"
        )
    return sorted(rows.items())


def _open_csv(csv_path: str) -> tuple[csv.DictReader, list[str]]:
    with tf.io.gfile.GFile(csv_path, "rb") as f:
        text = f.read().decode("utf-8-sig")
    try:
        dialect = csv.Sniffer().sniff(text.split("\n", 1)[0], ",;\t")
    except csv.Error:
        dialect = csv.excel
    reader = csv.DictReader(
        io.StringIO(text, newline=""),
        delimiter=dialect.delimiter,
        skipinitialspace=True,
    )
    reader.fieldnames = [c.strip() for c in reader.fieldnames or []]
    return reader, reader.fieldnames


def _parse_row(row, line, csv_path, label_columns, spec):
    filename = (row.get(features.CSV_FILENAME_COLUMN) or "").strip()
    where = f"{csv_path} row {line}"
    if not filename:
        raise ValueError(f"{where}: empty {features.CSV_FILENAME_COLUMN!r}.")
    normalised = posixpath.normpath(filename.replace("\\", "/"))
    if normalised.startswith(("/", "../")) or normalised == "..":
        raise ValueError(
            f"{where}: filename {filename!r} is outside the image directory; "
            "expected a path relative to it."
        )
    labels = {}
    for column, feature in zip(label_columns, spec.label_features):
        labels[feature] = _parse_label(row.get(column), where, column)
    return normalised, labels


def _parse_label(value: str | None, where: str, column: str) -> int:
    text = (value or "").strip()
    try:
        number = float(text)
    except ValueError:
        number = None
    if number not in (0.0, 1.0):
        raise ValueError(
            f"{where}, column {column!r}: expected 0 or 1, received {text!r}."
        )
    return int(number)


def _add_row(rows, filename, labels, line, csv_path):
    previous = rows.get(filename)
    if previous is None:
        rows[filename] = labels
    elif previous == labels:
        logger.warning(
            "%s row %d repeats %s with the same labels; merged.",
            csv_path,
            line,
            filename,
        )
    else:
        raise ValueError(
            f"{csv_path} row {line}: {filename} is listed again with "
            f"different labels ({labels} vs {previous})."
        )
