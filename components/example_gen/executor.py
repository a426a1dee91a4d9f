"""Beam executor: image folder (+ labels CSV) -> tf.Example TFRecord splits.

Besides the standard `Split-*` TFRecords, the Examples artifact holds
`ingestion_report.json`: examples per split and label, and every file that
was skipped, converted or ignored, and every CSV problem, with the reason.
Listing happens here, once; images are decoded in batches, in worker
processes on the local runner, and each split is written as it comes:
memory does not grow with the folder.
"""

import collections
import functools
import json
import logging
import posixpath
from typing import Any

import apache_beam as beam
import tensorflow as tf
from tfx.components.example_gen import base_example_gen_executor, write_split
from tfx.components.example_gen import utils as example_gen_utils
from tfx.components.util import examples_utils
from tfx.proto import example_gen_pb2
from tfx.types import artifact_utils, standard_component_specs
from tfx.utils import proto_utils

from components import features
from components.example_gen import ingest, options, report, sources

logger = logging.getLogger(__name__)

_SKIPPED = "skipped"
_CONVERTED = "converted"
_TMP_DIR = ".ingestion"  # Beam writes partial report pieces here.
_BATCH_SIZE = 64  # Images read, then decoded in parallel, at a time.
_LOCAL_RUNNERS = frozenset({"fnapirunner", "directrunner", "direct"})


class Executor(base_example_gen_executor.BaseExampleGenExecutor):
    """Reads, decodes and labels every image of a class-dir or CSV layout."""

    def GetInputSourceToExamplePTransform(self) -> beam.PTransform:
        return functools.partial(
            _ImagesToExamples,
            items=self._listing.items,
            tmp_dir=self._tmp_dir,
            processes=_decode_processes(self._beam_pipeline_args or []),
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

        self._log_startup(input_dict, output_dict, exec_properties)
        self._generate(examples, exec_properties)

        settings, listing = self._settings, self._listing
        result = _report(self._tmp_dir, image_dir, settings, listing)
        tf.io.gfile.rmtree(self._tmp_dir)
        path = posixpath.join(examples.uri, features.INGESTION_REPORT_FILE)
        with tf.io.gfile.GFile(path, "w") as f:
            json.dump(result, f, indent=2, sort_keys=True)
        logger.info("Ingestion report %s: %s", path, report.summary(result))
        report.check(result, self._settings)

    def _generate(self, examples, exec_properties: dict[str, Any]) -> None:
        """TFX's ExampleGen.Do, less the shuffle of every example.

        TFX shuffles each split before writing; on the local runner that
        holds the whole split in memory (about 45 kB per image). Batches
        of images are already read in shuffled order.
        """
        examples.split_names = artifact_utils.encode_split_names(
            _split_names(exec_properties)
        )
        with self._make_beam_pipeline() as pipeline:
            splits = self.GenerateExamplesByBeam(pipeline, exec_properties)
            for name, split in splits.items():
                uri = artifact_utils.get_split_uri([examples], name)
                _ = split | f"WriteSplit[{name}]" >> _WriteSplit(uri)

        examples_utils.set_payload_format(
            examples,
            exec_properties.get(
                standard_component_specs.OUTPUT_DATA_FORMAT_KEY,
                example_gen_pb2.FORMAT_TF_EXAMPLE,
            ),
        )
        file_format = exec_properties.get(
            standard_component_specs.OUTPUT_FILE_FORMAT_KEY
        )
        if file_format:
            examples_utils.set_file_format(
                examples, write_split.to_file_format_str(file_format)
            )


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
        "Listed %d images to decode; %d files skipped while listing, %d "
        "ignored.",
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
    processes: int,
) -> beam.pvalue.PCollection:
    del split_pattern  # Every listed image below input_base is read.
    settings = options.from_exec_properties(exec_properties)
    image_dir = exec_properties[standard_component_specs.INPUT_BASE_KEY]
    batches = range(0, len(items), _BATCH_SIZE)
    decode = _DecodeImages(
        items, image_dir, max_side=settings.max_side, processes=processes
    )
    decoded = (
        pipeline
        # Batch offsets, not the items: Create infers a type from every
        # value it holds, which costs more than decoding small images.
        | "ListImageBatches" >> beam.Create(batches, reshuffle=True)
        | "DecodeImages"
        >> beam.ParDo(decode).with_outputs(
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


class _DecodeImages(beam.DoFn):
    """Decodes a batch of listed images; a file that fails is reported."""

    def __init__(
        self,
        items: list[sources.Item],
        image_dir: str,
        *,
        max_side: int,
        processes: int,
    ):
        self._items = items
        self._image_dir = image_dir
        self._max_side = max_side
        self._processes = processes
        self._decoder = None

    def start_bundle(self):
        self._decoder = ingest.Decoder(
            self._image_dir,
            max_side=self._max_side,
            processes=self._processes,
        )
        self._pending = collections.deque()

    def process(self, start: int):
        batch = self._items[start : start + _BATCH_SIZE]
        job = self._decoder.submit([filename for filename, _ in batch])
        self._pending.append((batch, job))
        # One batch decodes in the workers while the one before becomes
        # examples here.
        if len(self._pending) > 1:
            yield from self._outputs(*self._pending.popleft())

    def finish_bundle(self):
        while self._pending:
            for output in self._outputs(*self._pending.popleft()):
                if isinstance(output, beam.pvalue.TaggedOutput):
                    yield beam.pvalue.TaggedOutput(
                        output.tag, _in_global_window(output.value)
                    )
                else:
                    yield _in_global_window(output)
        # Not kept for the next bundle: on the local runner, worker
        # processes left running would sit idle through training.
        self._decoder.close()

    def teardown(self):
        if self._decoder is not None:  # A bundle failed before finishing.
            self._decoder.close()

    def _outputs(self, batch: list[sources.Item], job: ingest.DecodeJob):
        records = job.result()
        for (filename, values), record in zip(batch, records, strict=True):
            if isinstance(record, ingest.ImageError):
                logger.warning("Skipping image %s", record)
                yield beam.pvalue.TaggedOutput(
                    _SKIPPED, {"file": filename, "reason": record.reason}
                )
                continue
            if record.converted:
                logger.debug("Converted %s: %s", filename, record.converted)
                yield beam.pvalue.TaggedOutput(
                    _CONVERTED, {"file": filename, "reason": record.converted}
                )
            yield ingest.to_example(record, values)


def _in_global_window(value):
    return beam.transforms.window.GlobalWindows.windowed_value(value)


def _decode_processes(beam_args: list[str]) -> int:
    """Decoding processes: the usable CPUs on the local in-memory runner.

    Other runners (and the local runner's own multi-process modes) already
    run one Beam worker per core; each decodes in its own process.
    """
    flags = dict(arg.partition("=")[::2] for arg in beam_args)
    runner = flags.get("--runner", "FnApiRunner").lower()
    mode = flags.get("--direct_running_mode", "in_memory")
    if runner not in _LOCAL_RUNNERS or mode != "in_memory":
        return 0
    return ingest.usable_cpus()


def _split_names(exec_properties: dict[str, Any]) -> list[str]:
    input_config = example_gen_pb2.Input()
    proto_utils.json_to_proto(
        exec_properties[standard_component_specs.INPUT_CONFIG_KEY],
        input_config,
    )
    output_config = example_gen_pb2.Output()
    proto_utils.json_to_proto(
        exec_properties[standard_component_specs.OUTPUT_CONFIG_KEY],
        output_config,
    )
    return example_gen_utils.generate_output_split_names(
        input_config, output_config
    )


@beam.ptransform_fn
def _WriteSplit(examples: beam.pvalue.PCollection, uri: str):
    return (
        examples
        | "Serialize" >> beam.Map(_serialize)
        | "Write"
        >> beam.io.WriteToTFRecord(
            posixpath.join(uri, write_split.DEFAULT_FILE_NAME),
            file_name_suffix=".gz",
        )
    )


def _serialize(example: tf.train.Example) -> bytes:
    return example.SerializeToString()


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
