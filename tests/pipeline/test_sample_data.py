"""Tests for the synthetic demo dataset generator."""

from __future__ import annotations

import csv
import pathlib
import subprocess
import sys

import numpy as np
import pytest
from click.testing import CliRunner
from PIL import Image

from pipeline import sample_data

REPO_ROOT = pathlib.Path(__file__).resolve().parents[2]
SMALL = (64, 48)


def _snapshot(root: pathlib.Path) -> dict[str, bytes]:
    """Maps every file under root (relative posix path) to its bytes."""
    return {
        p.relative_to(root).as_posix(): p.read_bytes()
        for p in sorted(root.rglob("*"))
        if p.is_file()
    }


def _read_rows(csv_path: pathlib.Path) -> list[dict[str, str]]:
    with csv_path.open(newline="", encoding="utf-8") as handle:
        return list(csv.DictReader(handle))


def _frame(seed: int, **flags: bool) -> np.ndarray:
    rng = np.random.default_rng(seed)
    image = sample_data.make_frame(rng, size=(160, 120), **flags)
    return np.asarray(image, dtype=np.int16)


def test_labels_constants():
    assert sample_data.LABELS == ("pentagram", "star")
    assert sample_data.PENTAGRAM == "pentagram"
    assert sample_data.STAR == "star"


@pytest.mark.parametrize("size", [(160, 120), (64, 96)])
def test_make_frame_returns_rgb_image_of_requested_size(size):
    rng = np.random.default_rng(0)
    image = sample_data.make_frame(rng, size=size, pentagram=True, star=True)
    assert image.mode == "RGB"
    assert image.size == size


def test_make_frame_is_deterministic_for_same_rng_state():
    first = _frame(7, pentagram=True, star=True)
    second = _frame(7, pentagram=True, star=True)
    assert np.array_equal(first, second)
    assert not np.array_equal(first, _frame(8, pentagram=True, star=True))


@pytest.mark.parametrize("symbol", ["pentagram", "star"])
def test_make_frame_drawn_symbol_changes_pixels(symbol):
    plain = _frame(3, pentagram=False, star=False)
    drawn = _frame(3, **{"pentagram": False, "star": False, symbol: True})
    changed = np.any(np.abs(drawn - plain) > 30, axis=-1)
    assert changed.mean() > 0.01


def test_make_frame_pentagram_and_star_look_different():
    pentagram = _frame(5, pentagram=True, star=False)
    star = _frame(5, pentagram=False, star=True)
    plain = _frame(5, pentagram=False, star=False)
    pentagram_mask = np.any(pentagram != plain, axis=-1)
    star_mask = np.any(star != plain, axis=-1)
    assert not np.any(pentagram_mask & star_mask)


def test_make_frame_rejects_tiny_size():
    with pytest.raises(ValueError, match="at least 32x32"):
        sample_data.make_frame(
            np.random.default_rng(0), size=(8, 8), pentagram=True, star=False
        )


def test_write_class_dirs_has_both_classes_with_counts(tmp_path):
    root = sample_data.write_class_dirs(tmp_path, count=21, image_size=SMALL)
    assert root == tmp_path
    assert sorted(p.name for p in root.iterdir()) == [
        "no_pentagram",
        "pentagram",
    ]
    counts = {
        name: len(list((root / name).rglob("*.jpg")))
        for name in ("pentagram", "no_pentagram")
    }
    assert sum(counts.values()) == 21
    assert abs(counts["pentagram"] - counts["no_pentagram"]) <= 1


def test_write_class_dirs_nests_images(tmp_path):
    root = sample_data.write_class_dirs(tmp_path, count=40, image_size=SMALL)
    for name in ("pentagram", "no_pentagram"):
        depths = {
            len(p.relative_to(root / name).parts)
            for p in (root / name).rglob("*.jpg")
        }
        assert {1, 2, 3} <= depths, name


def test_write_class_dirs_no_pentagram_class_has_star_distractors(tmp_path):
    # The label plan is the first draw from the seeded RNG, so regenerating
    # it shows which frames the writer gave a star.
    rng = np.random.default_rng(42)
    plan = sample_data._label_plan(rng, 40)
    assert any(star for pentagram, star in plan if not pentagram)
    assert any(not star for pentagram, star in plan if not pentagram)


def test_write_class_dirs_is_deterministic(tmp_path):
    first = _snapshot(
        sample_data.write_class_dirs(tmp_path / "a", count=12, image_size=SMALL)
    )
    second = _snapshot(
        sample_data.write_class_dirs(tmp_path / "b", count=12, image_size=SMALL)
    )
    other = _snapshot(
        sample_data.write_class_dirs(
            tmp_path / "c", count=12, seed=43, image_size=SMALL
        )
    )
    assert first == second
    assert first.keys() == other.keys()
    assert first != other


def test_write_class_dirs_rejects_tiny_count(tmp_path):
    with pytest.raises(ValueError, match="at least 2"):
        sample_data.write_class_dirs(tmp_path, count=1)


def test_write_labels_csv_header_and_values(tmp_path):
    csv_path = sample_data.write_labels_csv(
        tmp_path, count=15, image_size=SMALL
    )
    assert csv_path == tmp_path / "labels.csv"
    lines = csv_path.read_text(encoding="utf-8").splitlines()
    assert lines[0] == "filename,pentagram_visible,star_visible"
    rows = _read_rows(csv_path)
    assert len(rows) == 15
    for row in rows:
        assert row["pentagram_visible"] in {"0", "1"}
        assert row["star_visible"] in {"0", "1"}
        assert "\\" not in row["filename"]
        assert row["filename"].startswith("frames/")
        assert (tmp_path / row["filename"]).is_file()
    assert len({row["filename"] for row in rows}) == 15
    written = {p.relative_to(tmp_path).as_posix() for p in tmp_path.rglob("*")}
    assert {row["filename"] for row in rows} <= written


@pytest.mark.parametrize("count", [4, 5, 6, 7, 60])
def test_write_labels_csv_covers_combinations_and_rates(tmp_path, count):
    rows = _read_rows(
        sample_data.write_labels_csv(tmp_path, count=count, image_size=SMALL)
    )
    combos = {(r["pentagram_visible"], r["star_visible"]) for r in rows}
    assert combos == {("0", "0"), ("0", "1"), ("1", "0"), ("1", "1")}
    for column in ("pentagram_visible", "star_visible"):
        rate = sum(r[column] == "1" for r in rows) / len(rows)
        assert 0.3 <= rate <= 0.7, column


def test_write_labels_csv_nests_and_mixes_formats(tmp_path):
    rows = _read_rows(
        sample_data.write_labels_csv(tmp_path, count=30, image_size=SMALL)
    )
    names = [pathlib.PurePosixPath(r["filename"]) for r in rows]
    assert {p.suffix for p in names} == {".jpg", ".png"}
    assert {len(p.parts) for p in names} >= {2, 3, 4}


def test_write_labels_csv_is_deterministic(tmp_path):
    first = _snapshot(
        sample_data.write_labels_csv(
            tmp_path / "a", count=9, image_size=SMALL
        ).parent
    )
    second = _snapshot(
        sample_data.write_labels_csv(
            tmp_path / "b", count=9, image_size=SMALL
        ).parent
    )
    other = _snapshot(
        sample_data.write_labels_csv(
            tmp_path / "c", count=9, seed=0, image_size=SMALL
        ).parent
    )
    assert first == second
    assert first != other


def test_write_labels_csv_rejects_count_below_four(tmp_path):
    with pytest.raises(ValueError, match="at least 4"):
        sample_data.write_labels_csv(tmp_path, count=3)


@pytest.mark.parametrize(
    "writer", [sample_data.write_class_dirs, sample_data.write_labels_csv]
)
def test_written_images_decode_at_requested_size(tmp_path, writer):
    writer(tmp_path, count=10, image_size=(72, 40))
    paths = [p for p in tmp_path.rglob("*") if p.suffix in {".jpg", ".png"}]
    assert len(paths) == 10
    for path in paths:
        with Image.open(path) as image:
            image.load()
            assert image.format == ("PNG" if path.suffix == ".png" else "JPEG")
            assert image.mode == "RGB"
            assert image.size == (72, 40)


def test_main_writes_both_layouts(tmp_path):
    result = CliRunner().invoke(
        sample_data.main, [str(tmp_path), "--count", "8", "--seed", "1"]
    )
    assert result.exit_code == 0, result.output
    assert len(list((tmp_path / "class_dirs").rglob("*.jpg"))) == 8
    assert len(_read_rows(tmp_path / "labels_csv" / "labels.csv")) == 8


@pytest.mark.parametrize(
    ("layout", "present", "absent"),
    [
        ("csv", "labels_csv", "class_dirs"),
        ("class-dirs", "class_dirs", "labels_csv"),
    ],
)
def test_main_layout_selects_output(tmp_path, layout, present, absent):
    result = CliRunner().invoke(
        sample_data.main, [str(tmp_path), "--count", "4", "--layout", layout]
    )
    assert result.exit_code == 0, result.output
    assert (tmp_path / present).is_dir()
    assert not (tmp_path / absent).exists()


def test_main_help_shows_defaults():
    result = CliRunner().invoke(sample_data.main, ["--help"])
    assert result.exit_code == 0
    for default in ("default: 60", "default: 42", "default: both"):
        assert default in result.output


def test_module_runs_as_script(tmp_path):
    script = REPO_ROOT / "pipeline" / "sample_data.py"
    subprocess.run(
        [sys.executable, str(script), str(tmp_path), "--count", "4"],
        check=True,
        capture_output=True,
        cwd=tmp_path,
    )
    assert (tmp_path / "class_dirs").is_dir()
    assert (tmp_path / "labels_csv" / "labels.csv").is_file()
