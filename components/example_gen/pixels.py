"""Decodes image bytes into upright 8-bit RGB: Pillow and NumPy only.

Every image's data is decoded here once, so a broken file is reported at
ingestion rather than failing deep in training. The format is found from
the content, never from the name. Nothing here uses TensorFlow: this is
what ingestion's worker processes run.
"""

import dataclasses
import io
import logging
import warnings

import numpy as np
from PIL import ExifTags, Image, ImageCms, ImageOps

logger = logging.getLogger(__name__)

DEFAULT_MAX_SIDE = 1024  # Larger images are downscaled at ingestion.
# More pixels than this (Pillow's own limit) is refused as a possible
# decompression bomb: a small file that would fill memory when decoded.
MAX_PIXELS = 89_478_485
JPEG_QUALITY = 95  # JPEG sources that must be re-encoded stay JPEG.
_HIGH_BIT_MODES = frozenset({"I", "I;16", "I;16L", "I;16B", "I;16N"})
_ALPHA_MODES = frozenset({"RGBA", "LA", "PA", "RGBa", "La"})
_UNCHANGED_FORMATS = frozenset({"JPEG", "PNG"})  # Kept as their own type.
_JPEG_FORMATS = frozenset({"JPEG", "MPO"})  # MPO: multi-picture camera JPEG.
_BACKGROUND = (255, 255, 255)  # Transparent pixels become white.


class ImageError(ValueError):
    """An image file that cannot be used: `path: reason`."""

    def __init__(self, path: str, reason: str):
        super().__init__(f"{path}: {reason}")
        self.path = path
        self.reason = reason

    def __reduce__(self):
        return type(self), (self.path, self.reason)


@dataclasses.dataclass(frozen=True)
class ImageRecord:
    """One decoded, normalised image ready to become an example."""

    filename: str  # Relative to the image directory, forward slashes.
    encoded: bytes  # JPEG or PNG of upright 8-bit RGB pixels.
    width: int
    height: int
    converted: str = ""  # Why the stored pixels differ from the file's.


def decode(
    raw: bytes, path: str, *, max_side: int = DEFAULT_MAX_SIDE
) -> ImageRecord:
    """Decodes and normalises the bytes of one image file.

    A JPEG that is already upright 8-bit RGB and no larger than `max_side`
    is stored byte for byte once its whole stream has decoded (at 1/8
    scale: none of its pixels are kept). Any other image is converted to
    upright 8-bit RGB (transparency flattened onto white, 16-bit scaled to
    8-bit, CMYK through its ICC profile when it has one), downscaled to
    `max_side`, and stored as JPEG (JPEG sources) or PNG (every other
    format).

    Args:
      raw: the file's bytes.
      path: where they came from, for error messages.
      max_side: longest side kept, in pixels. Defaults to 1024.

    Returns:
      The normalised image, its filename empty; `converted` says what
      changed, if anything.

    Raises:
      ImageError: naming the file, if it is empty, is not an image, is
        truncated, or has more than MAX_PIXELS pixels.
    """
    if not raw:
        raise ImageError(path, "empty file (0 bytes)")

    try:
        image, animated = _open(raw, path)
        if _stored_as_is(image, max_side):
            record = _validate(image, raw)
        else:
            original = image.size
            _load(image, max_side)
            record = _normalise(image, raw, original, max_side=max_side)
    except ImageError:
        raise
    except Image.UnidentifiedImageError as e:
        raise ImageError(path, "not an image in any format Pillow reads") from e
    except Exception as e:  # noqa: BLE001 - Pillow raises many types.
        raise ImageError(
            path, f"cannot be decoded ({type(e).__name__}: {e})"
        ) from e
    if animated:
        record = _note(record, "first frame of an animation")
    return record


def _open(raw: bytes, path: str) -> tuple[Image.Image, bool]:
    """Reads the header: (image not yet decoded, whether animated)."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", Image.DecompressionBombWarning)
        try:
            image = Image.open(io.BytesIO(raw))
        except Image.DecompressionBombError as e:
            raise ImageError(
                path, f"refused as a decompression bomb: {e}"
            ) from e
    width, height = image.size
    if width * height > MAX_PIXELS:
        raise ImageError(
            path,
            "refused as a possible decompression bomb: "
            f"{width}x{height} is more than {MAX_PIXELS} pixels",
        )
    return image, getattr(image, "is_animated", False)


def _stored_as_is(image: Image.Image, max_side: int) -> bool:
    """Whether the file's bytes are kept: an upright RGB JPEG that fits."""
    return (
        image.format == "JPEG"
        and image.mode == "RGB"
        and "transparency" not in image.info
        and max(image.size) <= max_side
        and _orientation(image) == 1
    )


def _validate(image: Image.Image, raw: bytes) -> ImageRecord:
    """Decodes a JPEG whose bytes are kept, to prove they decode.

    The whole entropy-coded stream is read, so truncated or broken data
    fails as in a full decode; pixels are rebuilt at 1/8 scale only, since
    none are kept. About half the work of a full decode.
    """
    width, height = image.size
    image.draft("RGB", (1, 1))
    image.load()  # Truncated or corrupt data fails here, not in training.
    return ImageRecord(filename="", encoded=raw, width=width, height=height)


def _load(image: Image.Image, max_side: int) -> None:
    """Fully decodes pixels that will be converted."""
    if image.format == "JPEG":
        # Decodes at 1/2, 1/4 or 1/8 scale when that still covers max_side:
        # the whole file is still read, in a fraction of the memory.
        image.draft(None, (max_side, max_side))
    image.load()


def _normalise(
    image: Image.Image,
    raw: bytes,
    original: tuple[int, int],
    *,
    max_side: int,
) -> ImageRecord:
    fmt = image.format or "unknown"
    image, reasons = _upright(image)
    image, why = _to_rgb(image)
    reasons.extend(why)
    image, why = _fit(image, original, max_side)
    reasons.extend(why)

    if fmt == "JPEG" and not reasons:
        encoded = raw
    else:
        encoded = _encode(image, jpeg=fmt in _JPEG_FORMATS)
    if fmt not in _UNCHANGED_FORMATS:
        stored = "JPEG" if fmt in _JPEG_FORMATS else "PNG"
        reasons.append(f"{fmt} stored as {stored}")
    return ImageRecord(
        filename="",
        encoded=encoded,
        width=image.width,
        height=image.height,
        converted="; ".join(reasons),
    )


def _note(record: ImageRecord, reason: str) -> ImageRecord:
    converted = "; ".join(r for r in (reason, record.converted) if r)
    return dataclasses.replace(record, converted=converted)


def _orientation(image: Image.Image) -> int | None:
    """The EXIF orientation, 1 (upright) if none; None if unreadable."""
    try:
        orientation = image.getexif().get(ExifTags.Base.Orientation, 1)
    except Exception:  # noqa: BLE001 - any broken EXIF: keep the pixels.
        return None
    if not isinstance(orientation, int) or not 2 <= orientation <= 8:
        return 1
    return orientation


def _upright(image: Image.Image) -> tuple[Image.Image, list[str]]:
    orientation = _orientation(image)
    if orientation is None:
        return image, ["unreadable EXIF ignored"]
    if orientation == 1:
        return image, []
    return ImageOps.exif_transpose(image), [
        f"EXIF orientation {orientation} applied"
    ]


def _to_rgb(image: Image.Image) -> tuple[Image.Image, list[str]]:
    mode = image.mode
    transparent = mode in _ALPHA_MODES or "transparency" in image.info
    if mode == "RGB" and not transparent:
        return image, []

    if mode in _HIGH_BIT_MODES:
        image = _scale_to_8bit(image, 65535.0)
    elif mode == "F":
        image = _scale_to_8bit(image, 1.0)
    if transparent:
        rgba = image.convert("RGBA")
        rgb = Image.new("RGB", rgba.size, _BACKGROUND)
        rgb.paste(rgba, mask=rgba.getchannel("A"))
        return rgb, [f"mode {mode} flattened onto white, as RGB"]
    if mode == "CMYK":
        return _cmyk_to_rgb(image), ["mode CMYK converted to RGB"]
    return image.convert("RGB"), [f"mode {mode} converted to 8-bit RGB"]


def _scale_to_8bit(image: Image.Image, full_scale: float) -> Image.Image:
    """Maps [0, full_scale] onto [0, 255], as image viewers show it."""
    pixels = np.asarray(image, dtype=np.float64) * (255.0 / full_scale)
    return Image.fromarray(np.clip(pixels.round(), 0, 255).astype(np.uint8))


def _cmyk_to_rgb(image: Image.Image) -> Image.Image:
    profile = image.info.get("icc_profile")
    if profile:
        try:
            return ImageCms.profileToProfile(
                image,
                ImageCms.ImageCmsProfile(io.BytesIO(profile)),
                ImageCms.createProfile("sRGB"),
                outputMode="RGB",
            )
        except (ImageCms.PyCMSError, OSError, ValueError) as e:
            logger.debug("Ignoring an unusable ICC profile: %s", e)
    return image.convert("RGB")


def _fit(
    image: Image.Image, original: tuple[int, int], max_side: int
) -> tuple[Image.Image, list[str]]:
    drafted = sorted(image.size) != sorted(original)
    if max(image.size) <= max_side and not drafted:
        return image, []
    image.thumbnail((max_side, max_side), Image.Resampling.LANCZOS)
    return image, [
        f"downscaled from {original[0]}x{original[1]} to "
        f"{image.width}x{image.height}"
    ]


def _encode(image: Image.Image, *, jpeg: bool) -> bytes:
    buffer = io.BytesIO()
    if jpeg:
        image.save(buffer, "JPEG", quality=JPEG_QUALITY, subsampling=0)
    else:
        image.save(buffer, "PNG")
    return buffer.getvalue()
