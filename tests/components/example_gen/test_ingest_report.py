"""report.check: which ingestion outcomes stop the run, which only warn."""

import logging

import pytest

from components import features
from components.example_gen import options, report, sources

CLASSES = features.class_dir_spec(["cat", "dog"])
LABELS = features.csv_spec(["filename", "star_visible", "moon_visible"])


def _report(splits, spec=CLASSES, layout=options.CLASS_DIRS, skipped=()):
    settings = options.IngestSettings(
        layout=layout,
        label_spec=spec,
        labels_csv="labels.csv" if layout == options.LABELS_CSV else "",
    )
    listing = sources.Listing(items=[("x.jpg", {})], skipped=list(skipped))
    built = report.build(
        image_dir="images",
        settings=settings,
        listing=listing,
        splits=splits,
        skipped=[],
        converted=[],
    )
    return built, settings


def test_check_warns_when_a_class_misses_only_the_eval_split(caplog):
    built, settings = _report(
        {
            "train": {"_total": 3, "cat": 2, "dog": 1},
            "eval": {"_total": 1, "cat": 1},
        }
    )

    with caplog.at_level(logging.WARNING):
        report.check(built, settings)

    assert "The eval split has no 'dog' images" in caplog.text


def test_check_refuses_a_label_without_positives_or_negatives_in_train():
    built, settings = _report(
        {
            "train": {"_total": 3, "star": 3, "moon": 0},
            "eval": {"_total": 1, "star": 1, "moon": 1},
        },
        spec=LABELS,
        layout=options.LABELS_CSV,
    )

    message = (
        r"The train split has no negative 'star' examples and no positive "
        r"'moon' examples"
    )
    with pytest.raises(RuntimeError, match=message):
        report.check(built, settings)


def test_build_counts_and_summarises_every_kind_of_file():
    skipped = [{"file": "b.jpg", "reason": "empty file (0 bytes)"}]
    built, _ = _report(
        {"train": {"_total": 2, "cat": 1, "dog": 1}, "eval": {"_total": 0}},
        skipped=skipped,
    )

    assert built["counts"] == {
        "skipped": 1,
        "converted": 0,
        "ignored": 0,
        "csv_problems": 0,
    }
    assert report.summary(built) == (
        "2 examples from images: eval=0 (); train=2 (cat=1, dog=1); "
        "1 skipped, 0 converted, 0 ignored files, 0 CSV problems."
    )
    with pytest.raises(RuntimeError, match="Split 'eval' is empty"):
        report.check(built, options.IngestSettings("class_dirs", CLASSES))
