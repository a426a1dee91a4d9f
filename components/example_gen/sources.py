"""Lists the images of a class-dir layout or a labels CSV, with labels.

Listing reads no pixels: it decides which files become examples, with
which labels and split key, and which files are ignored or skipped, why.
"""

import dataclasses
import logging
import os
import posixpath
import re

import tensorflow as tf

from components import features
from components.example_gen import discover, labels_csv

logger = logging.getLogger(__name__)

# Feature the train/eval split hashes when grouping is on: the group (the
# CSV `group` column or the part of the path the group pattern captures).
SPLIT_KEY = "split_key"
Item = tuple[str, dict[str, int | str]]  # (relative filename, features)
_MAX_LISTED = 10  # Long lists of bad rows or files are cut in messages.


@dataclasses.dataclass
class Listing:
    """What one layout found, before any image is decoded.

    Attributes:
      items: (filename, features) of every file to decode, sorted.
      ignored: `{"file", "reason"}` of files that are not examples.
      skipped: `{"file", "reason"}` of files meant as examples that
        cannot be used (bad links, unsupported formats, missing files).
      csv_problems: `{"line", "problem"}` of CSV rows merged or ignored.
      ungrouped: files the group pattern did not match; each is its own
        group.
    """

    items: list[Item] = dataclasses.field(default_factory=list)
    ignored: list[dict] = dataclasses.field(default_factory=list)
    skipped: list[dict] = dataclasses.field(default_factory=list)
    csv_problems: list[dict] = dataclasses.field(default_factory=list)
    ungrouped: list[str] = dataclasses.field(default_factory=list)


def listing(names: list[str]) -> str:
    """The first few names of a list, and how many more there are."""
    shown = ", ".join(names[:_MAX_LISTED])
    more = len(names) - _MAX_LISTED
    return f"{shown} (and {more} more)" if more > 0 else shown


def list_classes(image_dir: str) -> list[str]:
    """The class names: top-level subdirectories, clutter excluded, sorted.

    A subdirectory that is a symbolic link counts only when it resolves
    inside `image_dir`.

    Raises:
      ValueError: if `image_dir` is not a directory.
    """
    if not tf.io.gfile.isdir(image_dir):
        raise ValueError(f"Image directory {image_dir} does not exist.")
    root = (discover.real_path(image_dir),)
    names = []
    for name in tf.io.gfile.listdir(image_dir):
        name = name.rstrip("/")
        full = posixpath.join(image_dir, name)
        if not discover.is_clutter(name):
            if discover.inspect(full, root)[0] == "dir":
                names.append(name)
    return sorted(names)


def read_csv_header(csv_path: str) -> list[str]:
    """The column names of a labels CSV."""
    return labels_csv.read_header(csv_path)


def class_dir_listing(
    image_dir: str, spec: features.LabelSpec, *, group_pattern: str = ""
) -> Listing:
    """Lists every image below each class directory, at any depth.

    Args:
      image_dir: folder whose top-level subdirectories are the classes.
      spec: the label spec the pipeline was built with.
      group_pattern: regex on the relative path whose match (or first
        capture group) is the split key; '' to split by file. Defaults
        to ''.

    Returns:
      Items with the class index (`label`) and name (`class_name`).

    Raises:
      ValueError: if the class directories differ from `spec.classes`, or
        a class has no usable images.
    """
    found_classes = list_classes(image_dir)
    if sorted(found_classes) != sorted(spec.classes):
        raise ValueError(
            f"Expected class directories {sorted(spec.classes)} in "
            f"{image_dir}, found {found_classes}. Rebuild the pipeline when "
            "classes change."
        )

    found = discover.find_files(image_dir)
    result = Listing(ignored=found.ignored, skipped=found.skipped)
    per_class = {name: [] for name in spec.classes}
    for rel in found.images:
        top, inside, _ = rel.partition("/")
        if inside and top in per_class:
            per_class[top].append(rel)
        else:
            reason = "not inside a class directory"
            result.ignored.append(discover.entry(rel, reason))
    for index, name in enumerate(spec.classes):
        _check_class(image_dir, name, per_class[name], found)
        values = {features.LABEL_KEY: index, features.CLASS_NAME_KEY: name}
        result.items.extend((rel, dict(values)) for rel in per_class[name])
    _group_by_pattern(result, group_pattern)
    result.items.sort(key=lambda item: item[0])
    result.ignored.sort(key=lambda e: e["file"])
    return result


def _check_class(image_dir, name, images, found: discover.Found) -> None:
    if images:
        return
    prefix = name + "/"
    skipped = [e["file"] for e in found.skipped if e["file"].startswith(prefix)]
    ignored = [e["file"] for e in found.ignored if e["file"].startswith(prefix)]
    raise ValueError(
        f"Class {name!r} ({posixpath.join(image_dir, name)}) has no usable "
        f"images: 0 images, {len(skipped)} skipped "
        f"[{listing(skipped)}], {len(ignored)} ignored [{listing(ignored)}]. "
        "Add images, or remove the folder to drop the class."
    )


def csv_listing(
    image_dir: str,
    csv_path: str,
    spec: features.LabelSpec,
    *,
    skip_missing: bool = False,
    group_pattern: str = "",
) -> Listing:
    """Lists the images a labels CSV names, checking every row.

    Args:
      image_dir: folder that `filename` values are relative to.
      csv_path: the labels CSV.
      spec: the label spec the pipeline was built with.
      skip_missing: whether rows naming files that do not exist are
        skipped (and reported) instead of failing. Defaults to False.
      group_pattern: as for `class_dir_listing`; not allowed together with
        a `group` column. Defaults to ''.

    Returns:
      Items with one 0/1 feature per label; images the CSV does not list
      are ignored.

    Raises:
      ValueError: naming the line and column of a bad row (see
        `labels_csv.read_rows`), a file that resolves outside `image_dir`,
        or listing files that do not exist (unless `skip_missing`).
    """
    rows = labels_csv.read_rows(csv_path, spec)
    if rows.groups and group_pattern:
        raise ValueError(
            f"{csv_path} has a {labels_csv.GROUP_COLUMN!r} column and a "
            f"group pattern {group_pattern!r} was given; use one of them."
        )
    result = Listing(csv_problems=rows.problems)
    _resolve_rows(image_dir, csv_path, rows, result, skip_missing)
    _add_unlisted(image_dir, rows, result)
    if rows.groups:
        for filename, values in result.items:
            values[SPLIT_KEY] = rows.groups[filename]
    _group_by_pattern(result, group_pattern)
    return result


def _resolve_rows(image_dir, csv_path, rows, result, skip_missing) -> None:
    missing = []
    for filename, labels in sorted(rows.rows.items()):
        line = rows.lines[filename]
        problem = _file_problem(image_dir, filename, f"{csv_path} line {line}")
        if problem:
            missing.append(discover.entry(filename, f"line {line}: {problem}"))
        else:
            result.items.append((filename, dict(labels)))
    if missing and not skip_missing:
        shown = [f"{e['file']} ({e['reason']})" for e in missing]
        files = "file" if len(missing) == 1 else "files"
        raise ValueError(
            f"{len(missing)} {files} named in {csv_path} cannot be read under "
            f"{image_dir}: {listing(shown)}. Fix the rows, or pass "
            "--skip-missing to skip them."
        )
    for skipped in missing:
        logger.warning("Skipping CSV row: %s", skipped["reason"])
    result.skipped.extend(missing)


def _file_problem(image_dir: str, filename: str, where: str) -> str:
    """Why a listed file cannot be read, or ''.

    Raises:
      ValueError: if it resolves outside `image_dir` (a symbolic link).
    """
    full = posixpath.join(image_dir, filename)
    if not discover.is_local(full):
        exists = tf.io.gfile.exists(full) and not tf.io.gfile.isdir(full)
        return "" if exists else f"{filename} does not exist"
    if not os.path.lexists(full):
        return f"{filename} does not exist"
    kind, real, problem = discover.inspect(
        full, (discover.real_path(image_dir),)
    )
    if real and not discover.within(real, discover.real_path(image_dir)):
        raise ValueError(
            f"{where}: {filename} is refused: it resolves to {real}, outside "
            f"the image directory {image_dir}."
        )
    if kind == "dir":
        return f"{filename} is a directory"
    return f"{filename}: {problem}" if problem else ""


def _add_unlisted(image_dir: str, rows, result: Listing) -> None:
    found = discover.find_files(image_dir)
    for rel in found.images:
        if rel not in rows.rows:
            reason = "not listed in the labels CSV"
            result.ignored.append(discover.entry(rel, reason))
    for e in found.ignored + found.skipped:
        if e["file"] not in rows.rows:
            result.ignored.append(e)
    result.ignored.sort(key=lambda e: e["file"])


def _group_by_pattern(result: Listing, pattern: str) -> None:
    if not pattern:
        return
    regex = re.compile(pattern)
    for filename, values in result.items:
        key = group_key(filename, regex)
        if not key:
            result.ungrouped.append(filename)
        values[SPLIT_KEY] = key or filename


def group_key(filename: str, regex: re.Pattern) -> str:
    """The regex's first capture group (or whole match) in a path, or ''."""
    match = regex.search(filename)
    if not match:
        return ""
    return (match.group(1) if regex.groups else match.group(0)) or ""
