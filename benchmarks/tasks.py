"""The measured tasks, one per fresh interpreter: `tasks.py TASK --config`.

Each task writes a JSON result (its own timings, what it produced, its
peak memory) for `measure.run_task`, which times it from outside.
"""

import os
import sys
import time

_START = time.perf_counter()
# Keras 2, as in the pipeline; must be chosen before TensorFlow loads.
os.environ.setdefault("TF_USE_LEGACY_KERAS", "1")
sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

import io  # noqa: E402
import json  # noqa: E402
import logging  # noqa: E402
import multiprocessing  # noqa: E402

import click  # noqa: E402

IMAGE_SUFFIXES = (".jpg", ".jpeg", ".png", ".gif", ".bmp")


@click.group()
def main() -> None:
    """Runs one benchmark task and writes its JSON result."""
    logging.basicConfig(level=logging.WARNING)


def _task(function):
    """A subcommand taking `--config` JSON and writing `--result` JSON."""

    @main.command(name=function.__name__.replace("_", "-"))
    @click.option("--config", required=True, help="The task's JSON settings.")
    @click.option("--result", required=True, help="Where the result goes.")
    def command(config: str, result: str) -> None:
        from benchmarks import measure

        output = function(json.loads(config))
        output["max_rss"] = measure.self_max_rss()
        with open(result, "w") as f:
            json.dump(output, f, indent=2, sort_keys=True)

    command.__doc__ = function.__doc__
    return function


@_task
def baseline(config: dict) -> dict:
    """The plain Keras script on class folders."""
    import tensorflow  # noqa: F401 - counted as import time.

    from benchmarks import baseline as baseline_lib

    imported = time.perf_counter()
    result = baseline_lib.train(**config)
    result["import_s"] = imported - _START
    return result


@_task
def pipeline(config: dict) -> dict:
    """The whole local DAG, as `pipeline/run_local.py` runs it."""
    from benchmarks import metadata
    from pipeline import run_local
    from pipeline.config import PipelineSettings
    from pipeline.pipeline import metadata_path

    settings = PipelineSettings(**_settings(config))
    imported = time.perf_counter()
    report = run_local.run(settings)
    ran = time.perf_counter()
    return {
        "import_s": imported - _START,
        "run_s": ran - imported,
        "blessed": report.get("blessed"),
        "pushed": bool(report.get("pushed_to")),
        "components": metadata.latest_run(
            metadata.open_store(metadata_path(settings))
        ),
    }


@_task
def ingest(config: dict) -> dict:
    """The DAG up to and including Transform: ingestion, checks, Transform.

    `config` holds PipelineSettings fields, and optionally `to_node`: the
    last component to run (default Transform).
    """
    from tfx.orchestration import metadata as tfx_metadata
    from tfx.orchestration.local.local_dag_runner import LocalDagRunner
    from tfx.orchestration.pipeline import RunOptions

    from benchmarks import metadata
    from pipeline.config import PipelineSettings
    from pipeline.pipeline import create_pipeline, metadata_path

    to_node = config.pop("to_node", "Transform")
    settings = PipelineSettings(**_settings(config))
    os.makedirs(settings.root, exist_ok=True)
    dag = create_pipeline(
        settings,
        metadata_connection_config=(
            tfx_metadata.sqlite_metadata_connection_config(
                metadata_path(settings)
            )
        ),
    )
    imported = time.perf_counter()
    LocalDagRunner().run(dag, run_options=RunOptions(to_nodes=[to_node]))
    return {
        "import_s": imported - _START,
        "run_s": time.perf_counter() - imported,
        "components": metadata.latest_run(
            metadata.open_store(metadata_path(settings))
        ),
    }


@_task
def decode(config: dict) -> dict:
    """Plain loops that read and fully decode every image: the limit."""
    files = list_images(config["image_dir"])
    workers = int(config["workers"])
    rates = {"pil_loop": len(files) / _timed(_decode_all, files)}
    if workers > 1:
        rates[f"pil_{workers}_processes"] = len(files) / _timed(
            _decode_in_pool, files, workers
        )
    _decode_tf(files[:16])  # Imports TensorFlow and builds the graph.
    rates["tf_data_parallel"] = len(files) / _timed(_decode_tf, files)
    return {"images": len(files), "images_per_s": rates}


def _settings(config: dict) -> dict:
    return {
        k: tuple(v) if isinstance(v, list) else v for k, v in config.items()
    }


def list_images(image_dir: str) -> list[str]:
    """Every image file below `image_dir`, at any depth, sorted."""
    found = []
    for folder, _, names in os.walk(image_dir):
        found.extend(
            os.path.join(folder, n)
            for n in names
            if n.lower().endswith(IMAGE_SUFFIXES)
        )
    return sorted(found)


def _timed(function, *args) -> float:
    start = time.perf_counter()
    function(*args)
    return time.perf_counter() - start


def _decode_one(path: str) -> int:
    from PIL import Image

    with open(path, "rb") as f:
        raw = f.read()
    image = Image.open(io.BytesIO(raw))
    image.load()
    return image.width


def _decode_all(files: list[str]) -> None:
    for path in files:
        _decode_one(path)


def _decode_in_pool(files: list[str], workers: int) -> None:
    with multiprocessing.get_context("fork").Pool(workers) as pool:
        for _ in pool.imap_unordered(_decode_one, files, chunksize=64):
            pass


def _decode_tf(files: list[str]) -> None:
    import tensorflow as tf

    def read(path):
        image = tf.io.decode_image(
            tf.io.read_file(path), channels=3, expand_animations=False
        )
        return tf.shape(image)[0]

    dataset = tf.data.Dataset.from_tensor_slices(files).map(
        read, num_parallel_calls=tf.data.AUTOTUNE
    )
    for _ in dataset.prefetch(tf.data.AUTOTUNE):
        pass


if __name__ == "__main__":
    main()
