"""The ingestion report: what became an example, and what did not, why.

Built from the listing and the counts the Beam pipeline wrote; checked
before any training starts (empty splits, classes missing from training,
`--strict`).
"""

import logging

from components import features
from components.example_gen import options, sources

logger = logging.getLogger(__name__)


def build(
    *,
    image_dir: str,
    settings: options.IngestSettings,
    listing: sources.Listing,
    splits: dict[str, dict[str, int]],
    skipped: list[dict],
    converted: list[dict],
) -> dict:
    """The report as a JSON-ready dict.

    Args:
      image_dir: the folder that was ingested.
      settings: the ExampleGen's settings.
      listing: the files listed, ignored and skipped before decoding.
      splits: per split, `_total` examples and the count per class or
        label (positives).
      skipped: files that failed to decode, with the reason.
      converted: files whose stored pixels differ from the file's.

    Returns:
      Counts, then every skipped, converted and ignored file and CSV
      problem, each with its reason.
    """
    spec = settings.label_spec
    all_skipped = sorted(listing.skipped + skipped, key=lambda e: e["file"])
    report = {
        "image_dir": image_dir,
        "layout": settings.layout,
        "labels_csv": settings.labels_csv,
        "label_order": list(spec.classes or spec.labels),
        "split_key": _split_key(settings, listing),
        "listed_images": len(listing.items),
        "examples": sum(c.get(options.TOTAL, 0) for c in splits.values()),
        "splits": splits,
        "skipped": all_skipped,
        "converted": sorted(converted, key=lambda e: e["file"]),
        "ignored": listing.ignored,
        "csv_problems": listing.csv_problems,
        "ungrouped": listing.ungrouped,
    }
    report["counts"] = {
        key: len(report[key])
        for key in ("skipped", "converted", "ignored", "csv_problems")
    }
    return report


def _split_key(settings: options.IngestSettings, listing) -> str:
    if settings.group_pattern:
        return f"group pattern {settings.group_pattern!r}"
    grouped = any(sources.SPLIT_KEY in v for _, v in listing.items)
    return "group column" if grouped else features.FILENAME_KEY


def summary(report: dict) -> str:
    """One line: examples per split and class or label, and the rest."""
    splits = "; ".join(
        f"{name}={counts.get(options.TOTAL, 0)} ("
        + ", ".join(
            f"{k}={v}" for k, v in sorted(counts.items()) if k != options.TOTAL
        )
        + ")"
        for name, counts in sorted(report["splits"].items())
    )
    counts = report["counts"]
    return (
        f"{report['examples']} examples from {report['image_dir']}: "
        f"{splits}; {counts['skipped']} skipped, "
        f"{counts['converted']} converted, {counts['ignored']} ignored files, "
        f"{counts['csv_problems']} CSV problems."
    )


def check(report: dict, settings: options.IngestSettings) -> None:
    """Fails the run when training could not be meaningful.

    Raises:
      RuntimeError: with `strict` and any skipped file (all listed); with
        no examples; with an empty split; or when a class (or a label's
        positives or negatives) is missing from the train split. A class
        missing from the eval split is only logged as a warning.
    """
    if settings.strict and report["skipped"]:
        raise RuntimeError(strict_message(report["skipped"]))
    if report["examples"] == 0:
        raise RuntimeError(
            f"No usable images in {report['image_dir']}: "
            f"{report['listed_images']} listed, {len(report['skipped'])} "
            f"skipped ({_files(report['skipped'])})."
        )
    for name, counts in sorted(report["splits"].items()):
        if not counts.get(options.TOTAL):
            raise RuntimeError(
                f"Split {name!r} is empty ({report['examples']} examples in "
                f"all from {report['image_dir']}). Add images or change "
                "--split."
            )
    _check_coverage(report, settings.label_spec)


def strict_message(skipped: list[dict]) -> str:
    """The --strict failure: every skipped file and its reason."""
    lines = "; ".join(f"{e['file']}: {e['reason']}" for e in skipped)
    return f"--strict: {len(skipped)} files were skipped: {lines}"


def _files(entries: list[dict]) -> str:
    return sources.listing([e["file"] for e in entries]) or "none"


def _check_coverage(report: dict, spec: features.LabelSpec) -> None:
    splits = report["splits"]
    missing = {name: _missing(counts, spec) for name, counts in splits.items()}
    shown = ", ".join(
        f"{name}: {dict(sorted(counts.items()))}"
        for name, counts in sorted(splits.items())
    )
    for problem in missing.get(options.EVAL_SPLIT, []):
        logger.warning(
            "The eval split has no %s; its metrics will be undefined. "
            "Counts per split: %s",
            problem,
            shown,
        )
    if missing.get(options.TRAIN_SPLIT):
        absent = " and no ".join(missing[options.TRAIN_SPLIT])
        raise RuntimeError(
            f"The train split has no {absent}, "
            f"so the model cannot learn it. Counts per split: {shown}. Add "
            "images of it (a class needs at least 2 to reach both splits)."
        )


def _missing(counts: dict[str, int], spec: features.LabelSpec) -> list[str]:
    total = counts.get(options.TOTAL, 0)
    if spec.kind != features.MULTILABEL:
        return [f"{c!r} images" for c in spec.classes if not counts.get(c)]
    problems = []
    for label in spec.labels:
        positives = counts.get(label, 0)
        if positives == 0:
            problems.append(f"positive {label!r} examples")
        if positives == total:
            problems.append(f"negative {label!r} examples")
    return problems
