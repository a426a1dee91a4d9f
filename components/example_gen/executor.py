"""Beam executor: image folder (+ labels CSV) -> tf.Example TFRecord splits.

Besides the standard `Split-*` TFRecords, the Examples artifact holds
`ingestion_report.json`: examples per split and label, and every file that
was skipped, converted or ignored, with the reason.
"""

import collections
import functools
import json
import logging
import os
import posixpath
from typing import Any

import apache_beam as beam
import tensorflow as tf
from tfx.components.example_gen import base_example_gen_executor
from tfx.types import artifact_utils, standard_component_specs

from components import features
from components.example_gen import ingest, options, sources

logger = logging.getLogger(__name__)

_SKIPPED = "skipped"
_CONVERTED = "converted"
_TMP_DIR = ".ingestion"  # Beam writes partial report pieces here.


class Executor(base_example_gen_executor.BaseExampleGenExecutor):
    """Reads, decodes and labels every image of a class-dir or CSV layout."""

    def GetInputSourceToExamplePTransform(self) -> beam.PTransform:
        return functools.partial(
            _ImagesToExamples, items=self._items, tmp_dir=self._tmp_dir
        )

    def GenerateExamplesByBeam(
        self, pipeline: beam.Pipeline, exec_properties: dict[str, Any]
    ) -> dict[str, beam.pvalue.PCollection]:
        splits = super().GenerateExamplesByBeam(pipeline, exec_properties)
        for name, examples in splits.items():
            _ = (
                examples
                | f"CountLabels[{name}]" >> beam.Map(self._settings.count_keys)
                | f"SumCounts[{name}]" >> beam.CombineGlobally(_sum_counters)
                | f"WriteCounts[{name}]"
                >> beam.Map(_write_json, self._tmp_dir, f"counts-{name}")
            )
        return splits

    def Do(
        self,
        input_dict: dict[str, list],
        output_dict: dict[str, list],
        exec_properties: dict[str, Any],
    ) -> None:
        self._settings = options.from_exec_properties(exec_properties)
        examples = artifact_utils.get_single_instance(
            output_dict[standard_component_specs.EXAMPLES_KEY]
        )
        self._tmp_dir = posixpath.join(examples.uri, _TMP_DIR)
        image_dir = exec_properties[standard_component_specs.INPUT_BASE_KEY]
        logger.info("Listing images in %s.", image_dir)
        self._items, ignored = self._settings.list_items(image_dir)
        logger.info("Found %d images to ingest.", len(self._items))

        super().Do(input_dict, output_dict, exec_properties)

        report = _build_report(self._tmp_dir, ignored, len(self._items))
        _check_report(report, image_dir)
        path = posixpath.join(examples.uri, features.INGESTION_REPORT_FILE)
        with tf.io.gfile.GFile(path, "w") as f:
            json.dump(report, f, indent=2, sort_keys=True)
        tf.io.gfile.rmtree(self._tmp_dir)
        logger.info("Ingestion report %s: %s", path, _summary(report))


@beam.ptransform_fn
def _ImagesToExamples(
    pipeline: beam.Pipeline,
    exec_properties: dict[str, Any],
    split_pattern: str,
    *,
    items: list[sources.Item],
    tmp_dir: str,
) -> beam.pvalue.PCollection:
    del split_pattern  # Every image below input_base is read.
    settings = options.from_exec_properties(exec_properties)
    image_dir = exec_properties[standard_component_specs.INPUT_BASE_KEY]
    decoded = (
        pipeline
        | "ListImages" >> beam.Create(items, reshuffle=True)
        | "DecodeImages"
        >> beam.ParDo(_DecodeImage(image_dir, settings.max_side)).with_outputs(
            _SKIPPED, _CONVERTED, main="examples"
        )
    )
    for tag in (_SKIPPED, _CONVERTED):
        _ = (
            decoded[tag]
            | f"Collect[{tag}]" >> beam.combiners.ToList()
            | f"Write[{tag}]" >> beam.Map(_write_json, tmp_dir, tag)
        )
    return decoded.examples


class _DecodeImage(beam.DoFn):
    """Decodes one listed image; a file that fails is reported, not fatal."""

    def __init__(self, image_dir: str, max_side: int):
        self._image_dir = image_dir
        self._max_side = max_side

    def process(self, item: sources.Item):
        filename, labels = item
        try:
            record = ingest.load_image(
                self._image_dir, filename, max_side=self._max_side
            )
        except ingest.ImageError as e:
            logger.warning("Skipping image: %s", e)
            yield beam.pvalue.TaggedOutput(
                _SKIPPED, {"file": filename, "reason": str(e)}
            )
            return
        if record.converted:
            logger.debug("Converted %s: %s", filename, record.converted)
            yield beam.pvalue.TaggedOutput(
                _CONVERTED, {"file": filename, "reason": record.converted}
            )
        yield ingest.to_example(record, labels)


def _sum_counters(counters) -> dict[str, int]:
    total = collections.Counter()
    for counter in counters:
        total.update(counter)
    return dict(total)


def _write_json(value, directory: str, name: str) -> None:
    tf.io.gfile.makedirs(directory)
    with tf.io.gfile.GFile(posixpath.join(directory, f"{name}.json"), "w") as f:
        json.dump(value, f)


def _read_json(directory: str, name: str, default):
    path = posixpath.join(directory, f"{name}.json")
    if not tf.io.gfile.exists(path):
        return default
    with tf.io.gfile.GFile(path) as f:
        return json.load(f)


def _build_report(tmp_dir: str, ignored: list[str], listed: int) -> dict:
    splits = {}
    for path in tf.io.gfile.glob(posixpath.join(tmp_dir, "counts-*.json")):
        name = os.path.basename(path)[len("counts-") : -len(".json")]
        splits[name] = _read_json(tmp_dir, f"counts-{name}", {})
    skipped = sorted(_read_json(tmp_dir, _SKIPPED, []), key=str)
    return {
        "listed_images": listed,
        "examples": sum(c.get(options.TOTAL, 0) for c in splits.values()),
        "splits": splits,
        "skipped": skipped,
        "converted": sorted(_read_json(tmp_dir, _CONVERTED, []), key=str),
        "ignored": ignored,
    }


def _check_report(report: dict, image_dir: str) -> None:
    if report["examples"] == 0:
        raise RuntimeError(
            f"No usable images in {image_dir}: {report['listed_images']} "
            f"listed, {len(report['skipped'])} skipped. See the warnings above."
        )
    for name, counts in sorted(report["splits"].items()):
        if not counts.get(options.TOTAL):
            raise RuntimeError(
                f"Split {name!r} is empty ({report['examples']} examples in "
                f"all from {image_dir}). Add images or change --split."
            )


def _summary(report: dict) -> str:
    splits = ", ".join(
        f"{name}={counts.get(options.TOTAL, 0)}"
        for name, counts in sorted(report["splits"].items())
    )
    return (
        f"{report['examples']} examples ({splits}); "
        f"{len(report['skipped'])} skipped, "
        f"{len(report['converted'])} converted, "
        f"{len(report['ignored'])} ignored files."
    )
