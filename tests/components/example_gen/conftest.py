"""Fixtures for the ExampleGen tests: tiny real images, a real executor run."""

import dataclasses
import io
import json
import pathlib

import numpy as np
import pytest
import tensorflow as tf
from PIL import Image
from tfx.dsl.components.base import base_beam_executor
from tfx.types import standard_artifacts, standard_component_specs

from components import features
from components.example_gen import component, executor, options


def pattern(seed: int, size=(12, 8)) -> np.ndarray:
    """A small RGB image whose pixels differ by position and seed."""
    width, height = size
    y, x = np.mgrid[0:height, 0:width]
    pixels = np.stack(
        [x * 20 + seed, y * 30 + seed * 3, (x + y) * 10 + seed * 7], axis=-1
    )
    return (pixels % 256).astype(np.uint8)


def save(path: pathlib.Path, image, fmt: str | None = None, **kwargs):
    """Writes an image (array or PIL) to `path`, creating folders."""
    path.parent.mkdir(parents=True, exist_ok=True)
    if isinstance(image, np.ndarray):
        image = Image.fromarray(image)
    image.save(path, format=fmt, **kwargs)
    return path


def jpeg_bytes(seed: int = 0, size=(12, 8)) -> bytes:
    buffer = io.BytesIO()
    Image.fromarray(pattern(seed, size)).save(buffer, "JPEG", quality=95)
    return buffer.getvalue()


def decode(encoded: bytes) -> np.ndarray:
    """Pixels as Transform sees them: TF decode to 3 channels."""
    return tf.io.decode_image(encoded, channels=3).numpy()


# Any container image flag stops TFX from packaging itself (5 s) for Beam
# workers; the in-process runner has none and ignores it.
_BEAM_ARGS = ["--runner=FnApiRunner", "--sdk_container_image=unused"]


@dataclasses.dataclass
class Outcome:
    """What one ExampleGen run wrote."""

    report: dict
    splits: dict[str, dict[str, dict]]  # split -> filename -> features

    def files(self, split: str | None = None) -> set[str]:
        if split:
            return set(self.splits.get(split, {}))
        return {f for examples in self.splits.values() for f in examples}

    def example(self, filename: str) -> dict:
        for examples in self.splits.values():
            if filename in examples:
                return examples[filename]
        raise KeyError(filename)

    def reasons(self, kind: str) -> dict[str, str]:
        return {e["file"]: e["reason"] for e in self.report[kind]}


def _read_split(directory: pathlib.Path) -> dict[str, dict]:
    examples = {}
    for path in sorted(directory.glob("data_tfrecord-*")):
        for record in tf.data.TFRecordDataset(str(path)):
            example = tf.train.Example.FromString(record.numpy())
            values = {}
            for key, feature in example.features.feature.items():
                kind = feature.WhichOneof("kind")
                values[key] = getattr(feature, kind).value[0]
            name = values[features.FILENAME_KEY].decode()
            examples[name] = values
    return examples


@pytest.fixture(scope="session")
def run_example_gen(tmp_path_factory):
    """Runs the real executor (in-process Beam) as the component would."""

    def run(
        image_dir, settings: options.IngestSettings, *, eval_fraction=0.5
    ) -> Outcome:
        gen = component.ImageExampleGen(
            image_dir=str(image_dir),
            settings=settings,
            eval_fraction=eval_fraction,
        )
        examples = standard_artifacts.Examples()
        examples.uri = str(tmp_path_factory.mktemp("examples"))
        context = base_beam_executor.BaseBeamExecutor.Context(
            beam_pipeline_args=_BEAM_ARGS
        )
        executor.Executor(context).Do(
            {},
            {standard_component_specs.EXAMPLES_KEY: [examples]},
            dict(gen.exec_properties),
        )
        out = pathlib.Path(examples.uri)
        report = json.loads((out / features.INGESTION_REPORT_FILE).read_text())
        splits = {
            p.name[len("Split-") :]: _read_split(p) for p in out.glob("Split-*")
        }
        return Outcome(report=report, splits=splits)

    return run


class Kit:
    """Image helpers for tests, handed out by the `kit` fixture."""

    pattern = staticmethod(pattern)
    save = staticmethod(save)
    jpeg_bytes = staticmethod(jpeg_bytes)
    decode = staticmethod(decode)


@pytest.fixture(scope="session")
def kit() -> type[Kit]:
    return Kit
