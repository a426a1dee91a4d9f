"""Beam executor: image folder (+ labels CSV) -> tf.Example TFRecord splits.

Besides the standard `Split-*` TFRecords, the Examples artifact holds
`ingestion_report.json`: examples per split and label, and every file that
was skipped, converted or ignored, and every CSV problem, with the reason.
Listing happens here, once; images are read, decoded and made into split,
serialized examples in batches, in worker processes on the local runner,
and each split is written as it comes: memory does not grow with the
folder.
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
_COUNTS = "counts"  # (split name, per-label counts) of each bundle.
_SPLIT_TAG = "split-"  # Tag prefix of each split's serialized examples.
_TMP_DIR = ".ingestion"  # Beam writes partial report pieces here.
_BATCH_SIZE = 256  # Images encoded in parallel at a time (read by workers).
_IN_FLIGHT = 1  # Batches encoding while an earlier one is passed on.
_LOCAL_RUNNERS = frozenset({"fnapirunner", "directrunner", "direct"})


class Executor(base_example_gen_executor.BaseExampleGenExecutor):
    """Reads, decodes and labels every image of a class-dir or CSV layout."""

    def GetInputSourceToExamplePTransform(self) -> beam.PTransform:
        """Listed images to serialized examples, already split.

        Its outputs are tagged: `split-<name>` for each split, plus the
        skipped and converted files and the label counts.
        """
        return functools.partial(
            _ImagesToExamples,
            items=self._listing.items,
            processes=_decode_processes(self._beam_pipeline_args or []),
        )

    def GenerateExamplesByBeam(
        self, pipeline: beam.Pipeline, exec_properties: dict[str, Any]
    ) -> dict[str, beam.pvalue.PCollection]:
        """Each split's serialized examples; writes the report's pieces.

        TFX's version hashes every example again in the Beam process to
        split it; here the workers that build the examples split them too,
        with the same hash.
        """
        to_examples = self.GetInputSourceToExamplePTransform()
        outputs = pipeline | "ImagesToExamples" >> to_examples(
            exec_properties, split_pattern="*"
        )
        for tag in (_SKIPPED, _CONVERTED):
            _ = (
                outputs[tag]
                | f"Collect[{tag}]" >> beam.combiners.ToList()
                | f"Write[{tag}]" >> beam.Map(_write_json, self._tmp_dir, tag)
            )
        _ = (
            outputs[_COUNTS]
            | "SumCounts" >> beam.CombinePerKey(_sum_counters)
            | "WriteCounts" >> beam.Map(_write_counts, self._tmp_dir)
        )
        return {
            name: outputs[_SPLIT_TAG + name]
            for name in _split_names(exec_properties)
        }

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
        names = _split_names(exec_properties)
        result = _report(self._tmp_dir, image_dir, settings, listing, names)
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
    processes: int,
) -> beam.pvalue.DoOutputsTuple:
    del split_pattern  # Every listed image below input_base is read.
    settings = options.from_exec_properties(exec_properties)
    output = example_gen_pb2.Output()
    proto_utils.json_to_proto(
        exec_properties[standard_component_specs.OUTPUT_CONFIG_KEY], output
    )
    splitter = ingest.Splitter.from_output_config(output)
    encode = _EncodeImages(
        items,
        exec_properties[standard_component_specs.INPUT_BASE_KEY],
        settings,
        splitter,
        processes=processes,
    )
    split_tags = [_SPLIT_TAG + name for name in splitter.names]
    return (
        pipeline
        # Batch offsets, not the items: Create infers a type from every
        # value it holds, which costs more than decoding small images.
        | "ListImageBatches"
        >> beam.Create(range(0, len(items), _BATCH_SIZE), reshuffle=True)
        | "EncodeImages"
        >> beam.ParDo(encode).with_outputs(
            _SKIPPED, _CONVERTED, _COUNTS, *split_tags
        )
    )


class _EncodeImages(beam.DoFn):
    """Encodes a batch of listed images; a file that fails is reported."""

    def __init__(
        self,
        items: list[sources.Item],
        image_dir: str,
        settings: options.IngestSettings,
        splitter: ingest.Splitter,
        *,
        processes: int,
    ):
        self._items = items
        self._image_dir = image_dir
        self._settings = settings
        self._splitter = splitter
        self._processes = processes
        self._encoder = None

    def start_bundle(self):
        self._encoder = ingest.Encoder(
            self._image_dir,
            self._splitter,
            max_side=self._settings.max_side,
            processes=self._processes,
        )
        self._pending = collections.deque()
        self._counts = collections.defaultdict(collections.Counter)

    def process(self, start: int):
        batch = self._items[start : start + _BATCH_SIZE]
        self._pending.append((batch, self._encoder.submit(batch)))
        # Batches encode in the workers while earlier ones are passed on.
        if len(self._pending) > _IN_FLIGHT:
            yield from self._outputs(*self._pending.popleft())

    def finish_bundle(self):
        while self._pending:
            for output in self._outputs(*self._pending.popleft()):
                yield _in_global_window(output)
        for name, counts in self._counts.items():
            yield _in_global_window((name, dict(counts)), _COUNTS)
        # Not kept for the next bundle: on the local runner, worker
        # processes left running would sit idle through training.
        self._encoder.close()

    def teardown(self):
        if self._encoder is not None:  # A bundle failed before finishing.
            self._encoder.close()

    def _outputs(self, batch: list[sources.Item], job: ingest.EncodeJob):
        names = self._splitter.names
        for (filename, values), result in zip(batch, job.result(), strict=True):
            if isinstance(result, ingest.ImageError):
                logger.warning("Skipping image %s", result)
                yield beam.pvalue.TaggedOutput(
                    _SKIPPED, {"file": filename, "reason": result.reason}
                )
                continue
            if result.converted:
                logger.debug("Converted %s: %s", filename, result.converted)
                yield beam.pvalue.TaggedOutput(
                    _CONVERTED, {"file": filename, "reason": result.converted}
                )
            name = names[result.split]
            self._counts[name].update(self._settings.count_keys(values))
            yield beam.pvalue.TaggedOutput(_SPLIT_TAG + name, result.example)


def _in_global_window(value, tag: str | None = None):
    """A value output from `finish_bundle`, which must give its window."""
    if isinstance(value, beam.pvalue.TaggedOutput):
        value, tag = value.value, value.tag
    windowed = beam.transforms.window.GlobalWindows.windowed_value(value)
    return windowed if tag is None else beam.pvalue.TaggedOutput(tag, windowed)


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
    """Uncompressed TFRecords: readers tell them from gzip by the name.

    Examples hold encoded JPEG and PNG, which gzip cannot shrink (7 % on
    photos) but which took as much CPU to gzip as to decode, here and again
    to gunzip in every training epoch.
    """
    return examples | "Write" >> beam.io.WriteToTFRecord(
        posixpath.join(uri, write_split.DEFAULT_FILE_NAME),
        compression_type=beam.io.filesystem.CompressionTypes.UNCOMPRESSED,
    )


def _sum_counters(counters) -> dict[str, int]:
    total = collections.Counter()
    for counter in counters:
        total.update(counter)
    return dict(total)


def _write_json(value, directory: str, name: str) -> None:
    tf.io.gfile.makedirs(directory)
    with tf.io.gfile.GFile(posixpath.join(directory, f"{name}.json"), "w") as f:
        json.dump(value, f)


def _write_counts(split_counts: tuple[str, dict], directory: str) -> None:
    name, counts = split_counts
    _write_json(counts, directory, f"counts-{name}")


def _read_json(directory: str, name: str, default):
    path = posixpath.join(directory, f"{name}.json")
    if not tf.io.gfile.exists(path):
        return default
    with tf.io.gfile.GFile(path) as f:
        return json.load(f)


def _report(tmp_dir, image_dir, settings, listing, split_names) -> dict:
    splits = {
        name: _read_json(tmp_dir, f"counts-{name}", {}) for name in split_names
    }
    return report.build(
        image_dir=image_dir,
        settings=settings,
        listing=listing,
        splits=splits,
        skipped=_read_json(tmp_dir, _SKIPPED, []),
        converted=_read_json(tmp_dir, _CONVERTED, []),
    )
