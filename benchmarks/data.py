"""Image sets of a given size for the benchmarks, in the class-dir layout.

Real photographs (the hotdog set beside the repository, 250 images) are
used when present, repeated as distinct files to reach larger sizes;
otherwise the pipeline's generated demo frames.
"""

import dataclasses
import json
import os
import shutil
import tempfile

from pipeline import sample_data

REPO_ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
# Shared next to the repository, never copied into it.
REAL_IMAGES = os.path.join(
    REPO_ROOT, "..", "shared", "datasets", "hotdog", "images"
)
_MARKER = ".benchmark-set.json"  # Says which set a folder holds.
_FIRST_TAG = "copy"  # Repeated photos are named `<stem>_copy<n>.jpg`.


@dataclasses.dataclass(frozen=True)
class ImageSet:
    """A class-dir folder of `count` images and where they came from."""

    image_dir: str
    count: int
    source: str  # Human-readable, for the report.
    real_dir: str | None = None  # Where real photos came from, if any.


def prepare(root: str, count: int, *, real_dir: str | None = REAL_IMAGES):
    """Writes (or reuses) `<root>/images-<count>` with `count` images.

    Args:
      root: the benchmark's working folder.
      count: number of images, at least 2.
      real_dir: class folders of real photographs to draw from; None or a
        missing folder means generated frames. Defaults to the shared
        hotdog set.

    Returns:
      The image set.

    Raises:
      ValueError: if `count` is below 2.
    """
    if count < 2:
        raise ValueError(f"Expected count >= 2, received {count}.")

    image_dir = os.path.join(root, f"images-{count}")
    real = real_dir if real_dir and os.path.isdir(real_dir) else None
    source = describe(real, count)
    image_set = ImageSet(image_dir, count, source, real)
    if _marker(image_dir) == {"count": count, "source": source}:
        return image_set
    shutil.rmtree(image_dir, ignore_errors=True)
    if real:
        _copy_real(real, image_dir, count)
    else:
        sample_data.write_class_dirs(image_dir, count=count, seed=count)
    with open(os.path.join(image_dir, _MARKER), "w") as f:
        json.dump({"count": count, "source": source}, f)
    return image_set


def describe(real_dir: str | None, count: int) -> str:
    """Says what a set of `count` images drawn from `real_dir` holds."""
    if not real_dir:
        return "generated frames"
    distinct = sum(len(files) for files in _real_files(real_dir).values())
    if count <= distinct:
        return "real photos"
    return f"real photos, {distinct} repeated as distinct files"


def add_images(image_set: ImageSet, count: int) -> ImageSet:
    """Adds `count` new distinct files to a set (a grown dataset).

    Real sets get more copies of their photos, under new names; generated
    sets get new frames in an `added` folder of each class.

    Args:
      image_set: the set to grow; its folder is changed in place.
      count: images to add, at least 1.

    Returns:
      The grown set.
    """
    if count < 1:
        raise ValueError(f"Expected count >= 1, received {count}.")

    os.remove(os.path.join(image_set.image_dir, _MARKER))
    grown = dataclasses.replace(image_set, count=image_set.count + count)
    if image_set.real_dir:
        _copy_real(image_set.real_dir, image_set.image_dir, count, tag="new")
        return grown
    with tempfile.TemporaryDirectory() as tmp:
        sample_data.write_class_dirs(tmp, count=count, seed=image_set.count)
        for folder, _, names in os.walk(tmp):
            for name in names:
                relative = os.path.relpath(os.path.join(folder, name), tmp)
                class_name, rest = relative.split(os.sep, 1)
                target = os.path.join(
                    image_set.image_dir, class_name, "added", rest
                )
                os.makedirs(os.path.dirname(target), exist_ok=True)
                shutil.copyfile(os.path.join(folder, name), target)
    return grown


def warm(image_dir: str) -> int:
    """Reads every file once so that all runs find them in the page cache.

    Returns:
      Bytes read.
    """
    total = 0
    for folder, _, names in os.walk(image_dir):
        for name in names:
            with open(os.path.join(folder, name), "rb") as f:
                total += len(f.read())
    return total


def _marker(image_dir: str) -> dict | None:
    try:
        with open(os.path.join(image_dir, _MARKER)) as f:
            return json.load(f)
    except (OSError, ValueError):
        return None


def _real_files(real_dir: str) -> dict[str, list[str]]:
    classes = sorted(e.name for e in os.scandir(real_dir) if e.is_dir())
    return {
        c: sorted(
            os.path.relpath(os.path.join(folder, n), real_dir)
            for folder, _, names in os.walk(os.path.join(real_dir, c))
            for n in names
            if not n.startswith(".")
        )
        for c in classes
    }


def _copy_real(
    real_dir: str, image_dir: str, count: int, *, tag: str = _FIRST_TAG
) -> None:
    """Copies `count` files, classes in turn, repeating with new names."""
    files = _real_files(real_dir)
    classes = sorted(files)
    for i in range(count):
        class_files = files[classes[i % len(classes)]]
        repeat, index = divmod(i // len(classes), len(class_files))
        relative = class_files[index]
        stem, suffix = os.path.splitext(relative)
        name = f"{stem}_{tag}{repeat}{suffix}"
        if repeat == 0 and tag == _FIRST_TAG:
            name = relative  # The first round keeps the original names.
        target = os.path.join(image_dir, name)
        os.makedirs(os.path.dirname(target), exist_ok=True)
        shutil.copyfile(os.path.join(real_dir, relative), target)
