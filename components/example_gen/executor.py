"""Beam executor: image folder (+ labels CSV) -> tf.Example TFRecord splits.

Besides the standard `Split-*` TFRecords, the Examples artifact holds
`ingestion_report.json`: examples per split and label, and every file that
was skipped, converted or ignored, and every CSV problem, with the reason.
Listing happens here, once; pixels are decoded one image at a time in a
DoFn, so memory does not grow with the folder.
"""

import collections
import functools
import json
import logging
import posixpath
from typing import Any

import apache_beam as beam
import tensorflow as tf
from tfx.components.example_gen import base_example_gen_executor
from tfx.proto import example_gen_pb2
from tfx.types import artifact_utils, standard_component_specs
from tfx.utils import proto_utils

from components import features
from components.example_gen import ingest, options, report, sources

logger = logging.getLogger(__name__)

_SKIPPED = "skipped"
_CONVERTED = "converted"
_TMP_DIR = ".ingestion"  # Beam writes partial report pieces here.


class Executor(base_example_gen_executor.BaseExampleGenExecutor):
    """Reads, decodes and labels every image of a class-dir or CSV layout."""

    def GetInputSourceToExamplePTransform(self) -> beam.PTransform:
        return functools.partial(
            _ImagesToExamples,
            items=self._listing.items,
            tmp_dir=self._tmp_dir,
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
        self._listing = _list(self._settings, image_dir)
        _check_partition(self._listing, exec_properties)

        super().Do(input_dict, output_dict, exec_properties)

        settings, listing = self._settings, self._listing
        result = _report(self._tmp_dir, image_dir, settings, listing)
        tf.io.gfile.rmtree(self._tmp_dir)
        path = posixpath.join(examples.uri, features.INGESTION_REPORT_FILE)
        with tf.io.gfile.GFile(path, "w") as f:
            json.dump(result, f, indent=2, sort_keys=True)
        logger.info("Ingestion report %s: %s", path, report.summary(result))
        report.check(result, self._settings)


def _list(settings: options.IngestSettings, image_dir: str):
    """Lists the layout, logs what it left out, fails early if hopeless."""
    logger.info("Listing images in %s (%s).", image_dir, settings.layout)
    listing = settings.list_items(image_dir)
    for entry in listing.skipped:
        logger.warning("Skipping %s: %s", entry["file"], entry["reason"])
    for entry in listing.ignored:
        logger.debug("Ignoring %s: %s", entry["file"], entry["reason"])
    if listing.ungrouped:
        logger.warning(
            "%d files do not match --group-by %r; each is its own group: %s",
            len(listing.ungrouped),
            settings.group_pattern,
            sources.listing(listing.ungrouped),
        )
    logger.info(
        "Found %d images to ingest; %d skipped, %d ignored files.",
        len(listing.items),
        len(listing.skipped),
        len(listing.ignored),
    )

    if settings.strict and listing.skipped:
        raise RuntimeError(report.strict_message(listing.skipped))
    if not listing.items:
        ignored = [e["file"] for e in listing.ignored]
        raise RuntimeError(
            f"No images to ingest in {image_dir}: {len(listing.skipped)} "
            f"skipped, {len(ignored)} ignored files "
            f"({sources.listing(ignored) or 'none'})."
        )
    return listing


def _check_partition(listing: sources.Listing, exec_properties) -> None:
    """Grouping needs the split to hash the group, not the filename."""
    output = example_gen_pb2.Output()
    proto_utils.json_to_proto(
        exec_properties[standard_component_specs.OUTPUT_CONFIG_KEY], output
    )
    partition = output.split_config.partition_feature_name
    grouped = sources.SPLIT_KEY in listing.items[0][1]
    if grouped and partition != sources.SPLIT_KEY:
        raise RuntimeError(
            f"Files are grouped (a {sources.SPLIT_KEY!r} for each), but the "
            f"split hashes {partition!r}: rebuild the pipeline with the "
            "group pattern or the CSV `group` column in place."
        )


@beam.ptransform_fn
def _ImagesToExamples(
    pipeline: beam.Pipeline,
    exec_properties: dict[str, Any],
    split_pattern: str,
    *,
    items: list[sources.Item],
    tmp_dir: str,
) -> beam.pvalue.PCollection:
    del split_pattern  # Every listed image below input_base is read.
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
        filename, values = item
        try:
            record = ingest.load_image(
                self._image_dir, filename, max_side=self._max_side
            )
        except ingest.ImageError as e:
            logger.warning("Skipping image %s", e)
            yield beam.pvalue.TaggedOutput(
                _SKIPPED, {"file": filename, "reason": e.reason}
            )
            return
        if record.converted:
            logger.debug("Converted %s: %s", filename, record.converted)
            yield beam.pvalue.TaggedOutput(
                _CONVERTED, {"file": filename, "reason": record.converted}
            )
        yield ingest.to_example(record, values)


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


def _report(tmp_dir, image_dir, settings, listing) -> dict:
    splits = {}
    for path in tf.io.gfile.glob(posixpath.join(tmp_dir, "counts-*.json")):
        name = posixpath.basename(path)[len("counts-") : -len(".json")]
        splits[name] = _read_json(tmp_dir, f"counts-{name}", {})
    return report.build(
        image_dir=image_dir,
        settings=settings,
        listing=listing,
        splits=splits,
        skipped=_read_json(tmp_dir, _SKIPPED, []),
        converted=_read_json(tmp_dir, _CONVERTED, []),
    )
