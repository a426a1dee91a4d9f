"""Reads image files, decodes them (in worker processes when asked) into
upright 8-bit RGB, and builds their tf.Examples.
"""

import concurrent.futures
import dataclasses
import multiprocessing
import os
import posixpath
from collections.abc import Sequence

import tensorflow as tf

from components import features
from components.example_gen import pixels

# Re-exported: what ingestion produces and how it fails.
DEFAULT_MAX_SIDE = pixels.DEFAULT_MAX_SIDE
ImageError = pixels.ImageError
ImageRecord = pixels.ImageRecord


def load_image(
    image_dir: str, filename: str, *, max_side: int = DEFAULT_MAX_SIDE
) -> ImageRecord:
    """Reads, fully decodes and normalises one image file.

    Args:
      image_dir: the folder the filename is relative to.
      filename: relative POSIX path of the image.
      max_side: longest side kept, in pixels. Defaults to 1024.

    Returns:
      The normalised image (see `pixels.decode`); `converted` says what
      changed, if anything.

    Raises:
      ImageError: naming the file, if it cannot be read, is empty, is not
        an image, is truncated, or has more than MAX_PIXELS pixels.
    """
    path = posixpath.join(image_dir, filename)
    record = pixels.decode(_read(path), path, max_side=max_side)
    return _named(record, filename)


def usable_cpus() -> int:
    """CPUs this process may run on (a container's share, not the host's)."""
    try:
        return len(os.sched_getaffinity(0))
    except AttributeError:  # Not on Linux.
        return os.cpu_count() or 1


class Decoder:
    """Reads image files here and decodes them in worker processes.

    Decoding is most of ingestion's work and holds Python's lock, so one
    process decodes on one core. Workers are forked on the first batch
    (nothing to import, no main module to re-run) and stopped by `close`;
    they run Pillow and NumPy only (`pixels`), never TensorFlow.
    """

    def __init__(
        self,
        image_dir: str,
        *,
        max_side: int = DEFAULT_MAX_SIDE,
        processes: int = 0,
    ):
        """Prepares a decoder; starts nothing.

        Args:
          image_dir: the folder filenames are relative to.
          max_side: longest side kept, in pixels. Defaults to 1024.
          processes: worker processes; 0 or 1 decodes in this process.
            Defaults to 0.

        Raises:
          ValueError: if `processes` is negative.
        """
        if processes < 0:
            raise ValueError(f"Expected processes >= 0, received {processes}.")

        self._image_dir = image_dir
        self._max_side = max_side
        self._processes = processes
        self._pool = None

    def submit(self, filenames: Sequence[str]) -> "DecodeJob":
        """Reads the files now and starts decoding them.

        Args:
          filenames: paths relative to the image folder.

        Returns:
          The job; its `result()` waits for the decoded images.
        """
        paths = [posixpath.join(self._image_dir, f) for f in filenames]
        raws = [_read_or_error(path) for path in paths]
        todo = [i for i, raw in enumerate(raws) if isinstance(raw, bytes)]
        parts = [todo[i :: self._processes] for i in range(self._processes)]
        if self._processes <= 1 or len(todo) <= 1:
            parts = [todo]
        pending = []
        for part in filter(None, parts):
            job = ([raws[i] for i in part], [paths[i] for i in part])
            pending.append((part, self._start(*job)))
        return DecodeJob(filenames, raws, pending)

    def decode(
        self, filenames: Sequence[str]
    ) -> list[ImageRecord | ImageError]:
        """`submit(filenames).result()`: decodes and waits."""
        return self.submit(filenames).result()

    def close(self) -> None:
        """Stops the worker processes, if any were started."""
        if self._pool is not None:
            self._pool.shutdown()
            self._pool = None

    def _start(self, raws: list[bytes], paths: list[str]):
        if self._processes <= 1:
            done = concurrent.futures.Future()
            done.set_result(pixels.decode_all(raws, paths, self._max_side))
            return done
        if self._pool is None:
            self._pool = concurrent.futures.ProcessPoolExecutor(
                self._processes,
                mp_context=multiprocessing.get_context("fork"),
            )
        return self._pool.submit(pixels.decode_all, raws, paths, self._max_side)


class DecodeJob:
    """Images being decoded; `result()` waits for them."""

    def __init__(self, filenames, raws, pending):
        self._filenames = list(filenames)
        self._results = list(raws)  # Read errors stay as they are.
        self._pending = pending  # (indices, future of their results)

    def result(self) -> list[ImageRecord | ImageError]:
        """Each file's record, or the ImageError that says why it is unusable.

        Raises:
          RuntimeError: naming the files, if a worker process died (killed
            for memory, or a crash inside an image library).
        """
        for indices, future in self._pending:
            try:
                decoded = future.result()
            except concurrent.futures.process.BrokenProcessPool as e:
                names = ", ".join(self._filenames[i] for i in indices)
                raise RuntimeError(
                    "A decoding process died (out of memory, or a crash in "
                    f"an image library) while decoding one of: {names}"
                ) from e
            for i, result in zip(indices, decoded, strict=True):
                self._results[i] = result
        self._pending = []
        return [
            r if isinstance(r, ImageError) else _named(r, name)
            for r, name in zip(self._results, self._filenames, strict=True)
        ]


def _read(path: str) -> bytes:
    try:
        with tf.io.gfile.GFile(path, "rb") as f:
            return f.read()
    except (OSError, tf.errors.OpError) as e:
        message = getattr(e, "message", "") or str(e)
        raise ImageError(path, f"cannot be read ({message})") from e


def _read_or_error(path: str) -> bytes | ImageError:
    try:
        return _read(path)
    except ImageError as e:
        return e


def _named(record: ImageRecord, filename: str) -> ImageRecord:
    return dataclasses.replace(record, filename=filename)


def to_example(record: ImageRecord, values: dict[str, int | str]):
    """Builds the tf.Example of one image and its labels.

    Args:
      record: the normalised image.
      values: feature name to an int label or a string (the class name,
        the split key).

    Returns:
      A tf.train.Example with the image, filename and the given features.
    """
    feature = {
        features.IMAGE_KEY: _bytes_feature(record.encoded),
        features.FILENAME_KEY: _bytes_feature(record.filename.encode()),
    }
    for key, value in values.items():
        if isinstance(value, str):
            feature[key] = _bytes_feature(value.encode())
        else:
            feature[key] = tf.train.Feature(
                int64_list=tf.train.Int64List(value=[int(value)])
            )
    return tf.train.Example(features=tf.train.Features(feature=feature))


def _bytes_feature(value: bytes) -> tf.train.Feature:
    return tf.train.Feature(bytes_list=tf.train.BytesList(value=[value]))
