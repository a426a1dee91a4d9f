"""Reads image files, decodes them into upright 8-bit RGB, and builds,
serializes and splits their tf.Examples (in worker processes when asked).
"""

import bisect
import concurrent.futures
import dataclasses
import hashlib
import itertools
import multiprocessing
import os
import posixpath
from collections.abc import Sequence

import tensorflow as tf
from tfx.proto import example_gen_pb2

from components import features
from components.example_gen import discover, pixels, sources

# Re-exported: what ingestion produces and how it fails.
DEFAULT_MAX_SIDE = pixels.DEFAULT_MAX_SIDE
ImageError = pixels.ImageError
ImageRecord = pixels.ImageRecord


def load_image(
    image_dir: str, filename: str, *, max_side: int = DEFAULT_MAX_SIDE
) -> ImageRecord:
    """Reads, decodes and normalises one image file.

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


@dataclasses.dataclass(frozen=True)
class Splitter:
    """TFX's hash split: an example's split from one of its features.

    The same assignment as TFX's own ExampleGen for this output config: the
    SHA-256 of the feature's serialized proto, modulo the total buckets.
    """

    feature: str
    buckets: tuple[int, ...]  # Cumulative hash buckets, one per split.
    names: tuple[str, ...]

    @classmethod
    def from_output_config(cls, output: example_gen_pb2.Output) -> "Splitter":
        """The split an ExampleGen's `output_config` asks for."""
        config = output.split_config
        buckets = itertools.accumulate(s.hash_buckets for s in config.splits)
        return cls(
            feature=config.partition_feature_name,
            buckets=tuple(buckets),
            names=tuple(s.name for s in config.splits),
        )

    def index(self, example: tf.train.Example) -> int:
        """Index in `names` of the split the example belongs to."""
        feature = example.features.feature[self.feature]
        key = feature.SerializeToString(deterministic=True)
        bucket = int(hashlib.sha256(key).hexdigest(), 16) % self.buckets[-1]
        return bisect.bisect(self.buckets, bucket)


@dataclasses.dataclass(frozen=True)
class Encoded:
    """One image's serialized tf.Example and the split it belongs to."""

    filename: str
    split: int  # Index into the Splitter's names.
    example: bytes
    converted: str = ""  # Why the stored pixels differ from the file's.


class Encoder:
    """Turns listed images into split, serialized tf.Examples.

    Reading, decoding, building and serializing each example are most of
    ingestion's work and hold Python's lock, so they run in worker
    processes, one per core: forked on the first batch (nothing to import,
    no main module to re-run), stopped by `close`. Files on object storage
    are read here and sent to the workers; local files are read there.
    """

    def __init__(
        self,
        image_dir: str,
        splitter: Splitter,
        *,
        max_side: int = DEFAULT_MAX_SIDE,
        processes: int = 0,
    ):
        """Prepares an encoder; starts nothing.

        Args:
          image_dir: the folder filenames are relative to.
          splitter: how examples are assigned to splits.
          max_side: longest side kept, in pixels. Defaults to 1024.
          processes: worker processes; 0 or 1 works in this process.
            Defaults to 0.

        Raises:
          ValueError: if `processes` is negative.
        """
        if processes < 0:
            raise ValueError(f"Expected processes >= 0, received {processes}.")

        self._image_dir = image_dir
        self._splitter = splitter
        self._max_side = max_side
        self._processes = processes
        self._remote = not discover.is_local(image_dir)
        self._pool = None

    def submit(self, items: Sequence[sources.Item]) -> "EncodeJob":
        """Starts encoding a batch of listed images.

        Args:
          items: (relative filename, feature values) of each image.

        Returns:
          The job; its `result()` waits for the examples.
        """
        items = list(items)
        parts = [items[i :: self._processes] for i in range(self._processes)]
        if self._processes <= 1 or len(items) <= 1:
            parts = [items]
        pending = [(part, self._start(part)) for part in filter(None, parts)]
        return EncodeJob(len(items), pending, self._processes)

    def encode(self, items: Sequence[sources.Item]) -> list:
        """`submit(items).result()`: encodes and waits."""
        return self.submit(items).result()

    def close(self) -> None:
        """Stops the worker processes, if any were started."""
        if self._pool is not None:
            self._pool.shutdown()
            self._pool = None

    def _start(self, items: list[sources.Item]):
        # Object storage is read here: its clients need not survive a fork.
        raws = [self._read(f) for f, _ in items] if self._remote else None
        args = (items, raws, self._image_dir, self._splitter, self._max_side)
        if self._processes <= 1:
            done = concurrent.futures.Future()
            done.set_result(encode_all(*args))
            return done
        if self._pool is None:
            self._pool = concurrent.futures.ProcessPoolExecutor(
                self._processes,
                mp_context=multiprocessing.get_context("fork"),
            )
        return self._pool.submit(encode_all, *args)

    def _read(self, filename: str) -> bytes | ImageError:
        try:
            return _read(posixpath.join(self._image_dir, filename))
        except ImageError as e:
            return e


class EncodeJob:
    """Images being encoded; `result()` waits for them."""

    def __init__(self, count: int, pending, processes: int):
        self._count = count
        self._pending = pending  # (items, future of their results)
        self._processes = processes

    def result(self) -> list["Encoded | ImageError"]:
        """Each image's example, or the ImageError that says why not.

        In the order submitted.

        Raises:
          RuntimeError: naming the files, if a worker process died (killed
            for memory, or a crash inside an image library).
        """
        results = [None] * self._count
        step = max(len(self._pending), 1)
        for offset, (items, future) in enumerate(self._pending):
            try:
                encoded = future.result()
            except concurrent.futures.process.BrokenProcessPool as e:
                names = ", ".join(filename for filename, _ in items)
                raise RuntimeError(
                    "A decoding process died (out of memory, or a crash in "
                    f"an image library) while decoding one of: {names}"
                ) from e
            results[offset::step] = encoded
        return results


def encode_all(
    items: list[sources.Item],
    raws: list[bytes | ImageError] | None,
    image_dir: str,
    splitter: Splitter,
    max_side: int,
) -> list[Encoded | ImageError]:
    """Reads (unless given), decodes and encodes each listed image.

    What worker processes run: an unusable image is a result to report, not
    a failure of the batch.
    """
    results = []
    for i, (filename, values) in enumerate(items):
        path = posixpath.join(image_dir, filename)
        try:
            raw = _read_local(path) if raws is None else raws[i]
            if isinstance(raw, ImageError):
                raise raw
            record = _named(
                pixels.decode(raw, path, max_side=max_side), filename
            )
        except ImageError as e:
            results.append(e)
            continue
        example = to_example(_named(record, filename), values)
        results.append(
            Encoded(
                filename=filename,
                split=splitter.index(example),
                example=example.SerializeToString(),
                converted=record.converted,
            )
        )
    return results


def _read(path: str) -> bytes:
    try:
        with tf.io.gfile.GFile(path, "rb") as f:
            return f.read()
    except (OSError, tf.errors.OpError) as e:
        message = getattr(e, "message", "") or str(e)
        raise ImageError(path, f"cannot be read ({message})") from e


def _read_local(path: str) -> bytes:
    try:
        with open(path, "rb") as f:
            return f.read()
    except OSError as e:
        raise ImageError(path, f"cannot be read ({e.strerror or e})") from e


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
