"""Generates a synthetic demo dataset of TV-series frames with symbols."""

from __future__ import annotations

import colorsys
import csv
import functools
import logging
import math
import os
import pathlib
from collections.abc import Sequence
from dataclasses import dataclass

import click
import numpy as np
from PIL import Image, ImageDraw, ImageEnhance, ImageOps
from sklearn.datasets import load_sample_images

logger = logging.getLogger(__name__)

PENTAGRAM = "pentagram"
STAR = "star"
LABELS = (PENTAGRAM, STAR)

_NO_PENTAGRAM = "no_pentagram"
_DEFAULT_SIZE = (160, 120)
_MIN_SIDE = 32
_JPEG_QUALITY = 90
_CSV_HEADER = ("filename", "pentagram_visible", "star_visible")
# Label combinations (pentagram, star), ordered so that any prefix of the
# cycle keeps both positive rates close to one half.
_COMBINATIONS = ((False, False), (True, True), (False, True), (True, False))


@dataclass(frozen=True)
class _Symbol:
    """Where and how one symbol is drawn on a frame."""

    cx: float
    cy: float
    radius: float
    angle: float
    colour: tuple[int, int, int]


@functools.lru_cache(maxsize=1)
def _sample_photos() -> tuple[Image.Image, ...]:
    """Loads the photographs shipped with scikit-learn as RGB images."""
    images = load_sample_images().images
    return tuple(Image.fromarray(np.asarray(a, dtype=np.uint8)) for a in images)


def _check_size(size: tuple[int, int]) -> tuple[int, int]:
    """Validates a (width, height) frame size."""
    width, height = (int(v) for v in size)
    if min(width, height) < _MIN_SIDE:
        raise ValueError(
            f"frame size must be at least {_MIN_SIDE}x{_MIN_SIDE}, got {size}"
        )
    return width, height


def _random_crop(
    rng: np.random.Generator, size: tuple[int, int]
) -> Image.Image:
    """Crops a random box of a sample photograph and resizes it to size."""
    photos = _sample_photos()
    photo = photos[int(rng.integers(len(photos)))]
    aspect = size[0] / size[1]
    max_w = min(photo.width, photo.height * aspect)
    crop_w = max_w * rng.uniform(0.3, 1.0)
    crop_h = crop_w / aspect
    left = rng.uniform(0.0, photo.width - crop_w)
    top = rng.uniform(0.0, photo.height - crop_h)
    box = (left, top, left + crop_w, top + crop_h)
    frame = photo.resize(size, Image.Resampling.BILINEAR, box=box)
    if rng.random() < 0.5:
        frame = ImageOps.mirror(frame)
    brightness = ImageEnhance.Brightness(frame)
    return brightness.enhance(rng.uniform(0.8, 1.2)).convert("RGB")


def _contrasting_colour(
    rng: np.random.Generator, background: np.ndarray
) -> tuple[int, int, int]:
    """Picks a saturated colour that stands out against a background."""
    mean = background.reshape(-1, 3).mean(axis=0)
    candidates = []
    for hue, sat, val in rng.uniform((0, 0.6, 0.75), (1, 1, 1), (4, 3)):
        rgb = colorsys.hsv_to_rgb(hue, sat, val)
        candidates.append(tuple(round(255 * c) for c in rgb))
    distances = [np.linalg.norm(np.subtract(c, mean)) for c in candidates]
    return candidates[int(np.argmax(distances))]


def _random_symbol(
    rng: np.random.Generator, frame: Image.Image, x_range: tuple[float, float]
) -> _Symbol:
    """Samples the size, rotation, colour and position of one symbol."""
    x_lo, x_hi = x_range
    short = min(frame.width, frame.height)
    r_max = min(0.3 * short, (x_hi - x_lo) / 2 - 2, frame.height / 2 - 2)
    radius = rng.uniform(min(0.12 * short, r_max), r_max)
    cx = rng.uniform(x_lo + radius, x_hi - radius)
    cy = rng.uniform(radius, frame.height - radius)
    pixels = np.asarray(frame)
    region = pixels[
        int(cy - radius) : int(cy + radius) + 1,
        int(cx - radius) : int(cx + radius) + 1,
    ]
    colour = _contrasting_colour(rng, region)
    return _Symbol(cx, cy, radius, rng.uniform(0, 2 * math.pi), colour)


def _polar_points(
    symbol: _Symbol, radii: Sequence[float], step: float
) -> list[tuple[float, float]]:
    """Returns points at the given radii, step radians apart, around symbol."""
    return [
        (
            symbol.cx + r * math.cos(symbol.angle + k * step),
            symbol.cy + r * math.sin(symbol.angle + k * step),
        )
        for k, r in enumerate(radii)
    ]


def _draw_pentagram(draw: ImageDraw.ImageDraw, symbol: _Symbol) -> None:
    """Draws a {5/2} star polygon inside a circle as line strokes."""
    width = max(2, round(symbol.radius / 8))
    inner = symbol.radius - width / 2
    corners = _polar_points(symbol, [inner] * 5, 2 * math.pi / 5)
    strokes = [corners[k % 5] for k in (0, 2, 4, 1, 3, 0)]
    r = symbol.radius
    box = (symbol.cx - r, symbol.cy - r, symbol.cx + r, symbol.cy + r)
    draw.ellipse(box, outline=symbol.colour, width=width)
    draw.line(strokes, fill=symbol.colour, width=width, joint="curve")


def _draw_star(draw: ImageDraw.ImageDraw, symbol: _Symbol) -> None:
    """Draws a filled six-pointed star (hexagram outline)."""
    radii = [symbol.radius, symbol.radius / math.sqrt(3)] * 6
    draw.polygon(_polar_points(symbol, radii, math.pi / 6), fill=symbol.colour)


def make_frame(
    rng: np.random.Generator,
    *,
    size: tuple[int, int] = _DEFAULT_SIZE,
    pentagram: bool,
    star: bool,
) -> Image.Image:
    """Makes one synthetic frame: a photo crop with the requested symbols.

    The crop and both symbols' parameters are always drawn from ``rng`` in
    the same order, so two calls from the same RNG state differ only in the
    symbols that are switched on. The pentagram and the star occupy
    different halves of the frame so they never overlap.

    Args:
        rng: Source of randomness; advanced by the call.
        size: Frame size as (width, height) in pixels, each at least 32.
        pentagram: Whether to draw a pentagram (a {5/2} star in a circle).
        star: Whether to draw a filled six-pointed star.

    Returns:
        An RGB image of the requested size.

    Raises:
        ValueError: If a side of ``size`` is smaller than 32 pixels.
    """
    width, height = _check_size(size)
    frame = _random_crop(rng, (width, height))
    halves = [(0.0, width / 2), (width / 2, float(width))]
    if rng.random() < 0.5:
        halves.reverse()
    pentagram_spec = _random_symbol(rng, frame, halves[0])
    star_spec = _random_symbol(rng, frame, halves[1])
    draw = ImageDraw.Draw(frame)
    if pentagram:
        _draw_pentagram(draw, pentagram_spec)
    if star:
        _draw_star(draw, star_spec)
    return frame


def _label_plan(
    rng: np.random.Generator, count: int
) -> list[tuple[bool, bool]]:
    """Returns shuffled (pentagram, star) labels covering all combinations."""
    plan = [_COMBINATIONS[i % len(_COMBINATIONS)] for i in range(count)]
    return [plan[int(i)] for i in rng.permutation(count)]


def _nested_relpath(index: int, suffix: str) -> pathlib.PurePosixPath:
    """Spreads frames over the folder itself, episodes and scenes."""
    name = f"frame_{index:04d}{suffix}"
    if index % 5 == 0:
        return pathlib.PurePosixPath(name)
    episode = f"episode_{index // 12 + 1:02d}"
    if index % 5 == 1:
        return pathlib.PurePosixPath(episode, name)
    return pathlib.PurePosixPath(episode, f"scene_{index % 3 + 1}", name)


def _save(image: Image.Image, path: pathlib.Path) -> None:
    """Saves an image reproducibly as JPEG or PNG, chosen by its suffix."""
    path.parent.mkdir(parents=True, exist_ok=True)
    if path.suffix.lower() == ".png":
        image.save(path, format="PNG")
    else:
        image.save(path, format="JPEG", quality=_JPEG_QUALITY)


def _check_count(count: int, minimum: int) -> None:
    """Rejects frame counts too small for the requested layout."""
    if count < minimum:
        raise ValueError(f"count must be at least {minimum}, got {count}")


def write_class_dirs(
    root: str | os.PathLike[str],
    *,
    count: int = 60,
    seed: int = 42,
    image_size: tuple[int, int] = _DEFAULT_SIZE,
) -> pathlib.Path:
    """Writes JPEG frames into one folder per class.

    Frames go to ``root/pentagram/...`` and ``root/no_pentagram/...``, about
    half each, spread over nested folders such as
    ``episode_01/scene_2/frame_0003.jpg`` with a few directly in the class
    folder. About half the frames of each class show a star; frames in
    ``no_pentagram`` never show a pentagram. Existing files are overwritten
    but never deleted.

    Args:
        root: Folder to write into; created if missing.
        count: Total number of frames, at least 2.
        seed: Seed for the numpy RNG; equal seeds give identical bytes.
        image_size: Frame size as (width, height) in pixels.

    Returns:
        ``root`` as a path.

    Raises:
        ValueError: If ``count`` or ``image_size`` is too small.
    """
    _check_count(count, 2)
    root = pathlib.Path(root)
    rng = np.random.default_rng(seed)
    per_class = {PENTAGRAM: 0, _NO_PENTAGRAM: 0}
    for has_pentagram, has_star in _label_plan(rng, count):
        image = make_frame(
            rng, size=image_size, pentagram=has_pentagram, star=has_star
        )
        label = PENTAGRAM if has_pentagram else _NO_PENTAGRAM
        _save(image, root / label / _nested_relpath(per_class[label], ".jpg"))
        per_class[label] += 1
    logger.info("Wrote %s frames to %s", per_class, root)
    return root


def write_labels_csv(
    root: str | os.PathLike[str],
    *,
    count: int = 60,
    seed: int = 42,
    image_size: tuple[int, int] = _DEFAULT_SIZE,
) -> pathlib.Path:
    """Writes frames under ``root/frames`` and their labels to a CSV file.

    Frames are spread over nested folders and mix JPEG and PNG. The file
    ``root/labels.csv`` has the header ``filename,pentagram_visible,
    star_visible``; filenames are relative to ``root`` with forward slashes
    and labels are 0 or 1. All four label combinations occur and each
    label is positive for about half the frames. Existing files are
    overwritten but never deleted.

    Args:
        root: Folder to write into; created if missing.
        count: Number of frames, at least 4.
        seed: Seed for the numpy RNG; equal seeds give identical bytes.
        image_size: Frame size as (width, height) in pixels.

    Returns:
        The path of the CSV file.

    Raises:
        ValueError: If ``count`` or ``image_size`` is too small.
    """
    _check_count(count, len(_COMBINATIONS))
    root = pathlib.Path(root)
    rng = np.random.default_rng(seed)
    rows = []
    for index, (has_pentagram, has_star) in enumerate(_label_plan(rng, count)):
        image = make_frame(
            rng, size=image_size, pentagram=has_pentagram, star=has_star
        )
        suffix = ".png" if index % 3 == 2 else ".jpg"
        relpath = "frames" / _nested_relpath(index, suffix)
        _save(image, root / relpath)
        rows.append((relpath.as_posix(), int(has_pentagram), int(has_star)))
    csv_path = root / "labels.csv"
    with csv_path.open("w", newline="", encoding="utf-8") as handle:
        writer = csv.writer(handle, lineterminator="\n")
        writer.writerow(_CSV_HEADER)
        writer.writerows(rows)
    logger.info("Wrote %d labelled frames to %s", count, csv_path)
    return csv_path


@click.command(
    context_settings={
        "show_default": True,
        "help_option_names": ["-h", "--help"],
    }
)
@click.argument(
    "out_dir", type=click.Path(file_okay=False, path_type=pathlib.Path)
)
@click.option(
    "--count",
    type=click.IntRange(min=len(_COMBINATIONS)),
    default=60,
    help="Number of frames written for each layout.",
)
@click.option("--seed", type=int, default=42, help="Seed of the numpy RNG.")
@click.option(
    "--layout",
    type=click.Choice(["class-dirs", "csv", "both"]),
    default="both",
    help="Write OUT_DIR/class_dirs, OUT_DIR/labels_csv, or both.",
)
def main(out_dir: pathlib.Path, count: int, seed: int, layout: str) -> None:
    """Writes the synthetic pentagram/star demo dataset to OUT_DIR."""
    logging.basicConfig(level=logging.INFO, format="%(message)s")
    if layout in ("class-dirs", "both"):
        path = write_class_dirs(out_dir / "class_dirs", count=count, seed=seed)
        click.echo(f"class folders: {path}")
    if layout in ("csv", "both"):
        path = write_labels_csv(out_dir / "labels_csv", count=count, seed=seed)
        click.echo(f"labels csv: {path}")


if __name__ == "__main__":
    main()
