"""Lists the files below an image folder: images, clutter and bad links.

Nothing outside the folder is read: symbolic links are followed only while
they resolve inside it, and loops, dangling links and special files are
reported instead of followed or opened.
"""

import dataclasses
import errno
import io
import logging
import os
import posixpath
import stat

import tensorflow as tf
from PIL import Image

logger = logging.getLogger(__name__)

# Names that mark a file as an image candidate without looking inside.
IMAGE_EXTENSIONS = frozenset(
    {".jpg", ".jpeg", ".jpe", ".jfif", ".png", ".gif", ".bmp", ".dib"}
    | {".webp", ".tif", ".tiff"}
)
# Image formats that phones and cameras write and Pillow cannot decode:
# reported as skipped rather than quietly ignored.
UNSUPPORTED_EXTENSIONS = frozenset(
    {".heic", ".heif", ".avif", ".jxl", ".svg", ".raw", ".dng", ".cr2"}
    | {".cr3", ".nef", ".arw", ".orf", ".rw2"}
)
# Files and folders that tools create beside real data.
TOOL_NAMES = frozenset(
    {"Thumbs.db", "ehthumbs.db", "desktop.ini", "__MACOSX", "@eaDir"}
    | {"$RECYCLE.BIN", "System Volume Information", "__pycache__"}
)
_SNIFF_BYTES = 64 * 1024  # Enough of a file's head to identify its format.


@dataclasses.dataclass
class Found:
    """What a folder holds, as POSIX paths relative to it.

    Attributes:
      images: files to decode: an image extension, or image content.
      ignored: `{"file", "reason"}` for clutter and non-image files.
      skipped: `{"file", "reason"}` for files that look like images but
        cannot be used: bad links, special files, unsupported formats.
    """

    images: list[str] = dataclasses.field(default_factory=list)
    ignored: list[dict] = dataclasses.field(default_factory=list)
    skipped: list[dict] = dataclasses.field(default_factory=list)


def entry(file: str, reason: str) -> dict:
    """One report line: a file and what happened to it."""
    return {"file": file, "reason": reason}


def is_clutter(name: str) -> bool:
    """Whether a file or folder name is hidden or made by a tool."""
    return name.startswith(".") or name in TOOL_NAMES


def is_local(path: str) -> bool:
    """Whether a path is on this machine's file system (not a URI)."""
    return "://" not in path


def find_files(top: str) -> Found:
    """Lists every file below `top`, at any depth, sorted.

    Args:
      top: a local folder or a tf.io.gfile URI.

    Returns:
      The images, ignored and skipped files. A file reached twice through
      symbolic links is listed once, under its own path where possible.

    Raises:
      ValueError: if `top` is not a directory.
    """
    found = Found()
    reals = {}
    for rel, full, real, problem in walk(top):
        if problem:
            found.skipped.append(entry(rel, problem))
        elif real is None:
            found.ignored.append(entry(rel, "hidden or tool file or folder"))
        else:
            reals.setdefault(real, []).append(rel)
            _classify(full, rel, found)
    _drop_aliases(found, reals, real_path(top))
    found.images.sort()
    found.ignored.sort(key=lambda e: e["file"])
    found.skipped.sort(key=lambda e: e["file"])
    return found


def walk(top: str):
    """Yields (relative path, full path, real path, problem) of each file.

    Clutter folders are yielded once, with a trailing `/`, and not entered;
    clutter has no real path. A file with a problem (bad link, special
    file) has a reason instead.

    Raises:
      ValueError: if `top` is not a directory.
    """
    if not tf.io.gfile.isdir(top):
        raise ValueError(f"Image directory {top} does not exist.")
    yield from _walk(top, "", (real_path(top),))


def _walk(path: str, rel_dir: str, ancestors: tuple[str, ...]):
    names, problem = _listdir(path)
    if problem:
        yield rel_dir + "/", path, None, problem
    for name in names:
        full = posixpath.join(path, name)
        rel = posixpath.join(rel_dir, name) if rel_dir else name
        if is_clutter(name):
            suffix = "/" if tf.io.gfile.isdir(full) else ""
            yield rel + suffix, full, None, ""
            continue
        kind, real, problem = _inspect_entry(full, name, ancestors)
        if kind == "dir":
            yield from _walk(full, rel, (*ancestors, real))
        else:
            yield rel, full, real, problem


def _listdir(path: str) -> tuple[list[str], str]:
    try:
        names = tf.io.gfile.listdir(path)
    except (OSError, tf.errors.OpError) as e:
        return [], f"folder cannot be listed: {_message(e)}"
    return sorted(n.rstrip("/") for n in names), ""


def inspect(full: str, ancestors: tuple[str, ...]) -> tuple[str, str, str]:
    """Classifies one path without reading it.

    Args:
      full: the path.
      ancestors: real paths of the image folder (first) and of the folders
        that lead to `full`.

    Returns:
      (kind, real path, problem): kind is `dir`, `file` or `bad`; problem
      says why a `bad` path cannot be used.
    """
    if not is_local(full):
        kind = "dir" if tf.io.gfile.isdir(full) else "file"
        return kind, full, ""
    try:
        mode = os.stat(full).st_mode
    except OSError as e:
        return "bad", "", _stat_problem(full, e)
    real = os.path.realpath(full)
    if not within(real, ancestors[0]):
        target = os.readlink(full) if os.path.islink(full) else real
        return (
            "bad",
            real,
            (
                f"symbolic link to {target}, outside the image directory; "
                "not followed"
            ),
        )
    if stat.S_ISDIR(mode) and real in ancestors:
        return "bad", real, "symbolic link loop (a folder links to itself)"
    return _kind(mode, real)


def _inspect_entry(
    full: str, name: str, ancestors: tuple[str, ...]
) -> tuple[str, str, str]:
    """`inspect` of `name` in the folder whose real path is ancestors[-1]."""
    if not is_local(full):
        return inspect(full, ancestors)
    try:
        mode = os.lstat(full).st_mode
    except OSError:
        return inspect(full, ancestors)
    if stat.S_ISLNK(mode):
        return inspect(full, ancestors)
    # Not a link: the real path follows from the folder's, without
    # resolving every component of the path again (one stat, not many).
    real = posixpath.join(ancestors[-1], name)
    if stat.S_ISDIR(mode) and real in ancestors:
        return "bad", real, "symbolic link loop (a folder links to itself)"
    return _kind(mode, real)


def _kind(mode: int, real: str) -> tuple[str, str, str]:
    if stat.S_ISDIR(mode):
        return "dir", real, ""
    if not stat.S_ISREG(mode):
        return "bad", real, "not a regular file (a pipe, socket or device)"
    return "file", real, ""


def _stat_problem(full: str, error: OSError) -> str:
    if error.errno == errno.ELOOP:
        return "symbolic link loop (links that point at each other)"
    if os.path.islink(full):
        return f"dangling symbolic link to {os.readlink(full)}"
    return f"cannot be read: {error.strerror}"


def within(real: str, root: str) -> bool:
    """Whether a real path is `root` or below it."""
    return real == root or real.startswith(root.rstrip(os.sep) + os.sep)


def real_path(path: str) -> str:
    """The path with symbolic links resolved (URIs unchanged)."""
    return os.path.realpath(path) if is_local(path) else path


def _message(error: Exception) -> str:
    return getattr(error, "message", "") or str(error)


def _classify(full: str, rel: str, found: Found) -> None:
    extension = posixpath.splitext(rel)[1].lower()
    if extension in IMAGE_EXTENSIONS:
        found.images.append(rel)
    elif sniff_format(full):
        logger.debug("%s holds an image despite its name.", rel)
        found.images.append(rel)
    elif extension in UNSUPPORTED_EXTENSIONS:
        found.skipped.append(
            entry(
                rel,
                f"{extension} images cannot be decoded (Pillow); convert "
                "them to JPEG or PNG",
            )
        )
    else:
        found.ignored.append(entry(rel, "not an image"))


def sniff_format(path: str) -> str:
    """The image format Pillow finds at the head of a file, or ''."""
    try:
        with tf.io.gfile.GFile(path, "rb") as f:
            head = f.read(_SNIFF_BYTES)
    except (OSError, tf.errors.OpError):
        return ""
    if not head:
        return ""
    try:
        with Image.open(io.BytesIO(head)) as image:
            return image.format or ""
    except Image.DecompressionBombError:
        return "image"
    except Exception:  # noqa: BLE001 - plugins raise anything on non-images.
        return ""


def _drop_aliases(found: Found, reals: dict, root: str) -> None:
    """Keeps one path per real file: its own, else the first in order."""
    images = set(found.images)
    for real, rels in reals.items():
        listed = sorted(r for r in rels if r in images)
        if len(listed) < 2:
            continue
        own = _relative(real, root)
        kept = own if own in listed else listed[0]
        for rel in listed:
            if rel != kept:
                images.discard(rel)
                found.ignored.append(
                    entry(rel, f"same file as {kept} (symbolic link)")
                )
    found.images[:] = [r for r in found.images if r in images]


def _relative(real: str, root: str) -> str:
    if not is_local(real):
        return real
    return os.path.relpath(real, root).replace(os.sep, "/")
