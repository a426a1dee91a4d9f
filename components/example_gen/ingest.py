"""Finds image files under a folder and turns each into a tf.Example."""

import dataclasses
import io
import logging
import posixpath

import numpy as np
import tensorflow as tf
from PIL import Image, ImageOps

from components import features

logger = logging.getLogger(__name__)

IMAGE_EXTENSIONS = frozenset(
    {".jpg", ".jpeg", ".png", ".gif", ".bmp", ".webp", ".tif", ".tiff"}
)
# Folders that tools create beside real data; never classes or examples.
IGNORED_DIRS = frozenset({".ipynb_checkpoints", "__MACOSX", "@eaDir"})
DEFAULT_MAX_SIDE = 1024  # Larger images are downscaled at ingestion.
# Refuse images whose pixel count suggests a decompression bomb.
MAX_PIXELS = 200_000_000


class ImageError(ValueError):
    """An image file that cannot be used, with the reason."""


@dataclasses.dataclass(frozen=True)
class ImageRecord:
    """One decoded, normalised image ready to become an example."""

    filename: str  # Relative to the image directory, forward slashes.
    encoded: bytes  # JPEG or PNG of upright 8-bit RGB pixels.
    width: int
    height: int
    converted: str = ""  # Why the stored bytes differ from the file's.


def is_ignored(name: str) -> bool:
    """Whether a file or folder name is tool clutter, never data."""
    return name.startswith(".") or name in IGNORED_DIRS or name == "Thumbs.db"


def is_image_name(name: str) -> bool:
    """Whether a file name has an image extension, in any letter case."""
    return posixpath.splitext(name)[1].lower() in IMAGE_EXTENSIONS


def walk_files(top: str) -> tuple[list[str], list[str]]:
    """Lists the files under `top`, at any depth, relative to `top`.

    Args:
      top: a local folder or a tf.io.gfile URI.

    Returns:
      (image files, ignored files), each sorted, as relative POSIX paths.
    """
    images, ignored = [], []
    for dirpath, _, filenames in tf.io.gfile.walk(top):
        rel_dir = posixpath.relpath(dirpath.replace("\\", "/"), top)
        rel_dir = "" if rel_dir == "." else rel_dir
        if any(is_ignored(part) for part in rel_dir.split("/") if part):
            ignored.extend(posixpath.join(rel_dir, f) for f in filenames)
            continue
        for name in filenames:
            rel = posixpath.join(rel_dir, name)
            if is_ignored(name) or not is_image_name(name):
                ignored.append(rel)
            else:
                images.append(rel)
    return sorted(images), sorted(ignored)


def load_image(
    image_dir: str, filename: str, *, max_side: int = DEFAULT_MAX_SIDE
) -> ImageRecord:
    """Reads, fully decodes and normalises one image file.

    The stored bytes are the file's own when it is an upright 8-bit RGB JPEG
    no larger than `max_side`; otherwise the pixels are converted to upright
    8-bit RGB, downscaled to `max_side`, and stored as PNG.

    Args:
      image_dir: the folder the filename is relative to.
      filename: relative POSIX path of the image.
      max_side: longest side kept, in pixels. Defaults to 1024.

    Returns:
      The normalised image.

    Raises:
      ImageError: if the file is empty, not an image, truncated, or too big.
    """
    path = posixpath.join(image_dir, filename)
    with tf.io.gfile.GFile(path, "rb") as f:
        raw = f.read()
    if not raw:
        raise ImageError(f"{path}: empty file (0 bytes)")
    try:
        image, fmt = _decode(raw)
    except Image.DecompressionBombError as e:
        raise ImageError(f"{path}: refused as a decompression bomb: {e}") from e
    except (OSError, SyntaxError, ValueError) as e:
        raise ImageError(f"{path}: cannot be decoded as an image: {e}") from e

    record = _normalise(image, fmt, raw, max_side=max_side)
    return dataclasses.replace(record, filename=filename)


def _decode(raw: bytes) -> tuple[Image.Image, str]:
    image = Image.open(io.BytesIO(raw))
    fmt = image.format or ""
    if image.width * image.height > MAX_PIXELS:
        raise Image.DecompressionBombError(
            f"{image.width}x{image.height} pixels is more than {MAX_PIXELS}"
        )
    image.load()  # Full decode: truncated files fail here, not in training.
    return image, fmt


def _normalise(
    image: Image.Image, fmt: str, raw: bytes, *, max_side: int
) -> ImageRecord:
    reasons = []
    if getattr(image, "n_frames", 1) > 1:
        reasons.append("first frame of an animation")
    upright = ImageOps.exif_transpose(image)
    if upright is not image:
        reasons.append("EXIF orientation applied")
    if upright.mode != "RGB":
        reasons.append(f"mode {upright.mode} converted to RGB")
        upright = _to_rgb(upright)
    if max(upright.size) > max_side:
        reasons.append(f"downscaled from {upright.width}x{upright.height}")
        upright.thumbnail((max_side, max_side), Image.Resampling.LANCZOS)
    if fmt != "JPEG" and not reasons:
        reasons.append(f"{fmt or 'unknown'} stored as PNG")

    if not reasons:
        encoded = raw
    else:
        buffer = io.BytesIO()
        upright.save(buffer, format="PNG")
        encoded = buffer.getvalue()
    return ImageRecord(
        filename="",
        encoded=encoded,
        width=upright.width,
        height=upright.height,
        converted="; ".join(reasons),
    )


def _to_rgb(image: Image.Image) -> Image.Image:
    if image.mode in ("I;16", "I;16B", "I;16L", "I"):
        # High bit depth grayscale: scale to 8 bits rather than clip.
        peak = max(float(np.asarray(image).max()), 1.0)
        pixels = np.asarray(image, dtype=np.float64) * (255.0 / peak)
        image = Image.fromarray(pixels.round().astype(np.uint8), mode="L")
    if image.mode in ("RGBA", "LA", "PA") or (
        image.mode == "P" and "transparency" in image.info
    ):
        rgba = image.convert("RGBA")
        background = Image.new("RGB", rgba.size, (255, 255, 255))
        background.paste(rgba, mask=rgba.getchannel("A"))
        return background
    return image.convert("RGB")


def to_example(record: ImageRecord, labels: dict[str, int | str]):
    """Builds the tf.Example of one image and its labels.

    Args:
      record: the normalised image.
      labels: feature name to an int label or a string (e.g. the class).

    Returns:
      A tf.train.Example with the image, filename and label features.
    """
    feature = {
        features.IMAGE_KEY: _bytes_feature(record.encoded),
        features.FILENAME_KEY: _bytes_feature(record.filename.encode()),
    }
    for key, value in labels.items():
        if isinstance(value, str):
            feature[key] = _bytes_feature(value.encode())
        else:
            feature[key] = tf.train.Feature(
                int64_list=tf.train.Int64List(value=[int(value)])
            )
    return tf.train.Example(features=tf.train.Features(feature=feature))


def _bytes_feature(value: bytes) -> tf.train.Feature:
    return tf.train.Feature(bytes_list=tf.train.BytesList(value=[value]))
