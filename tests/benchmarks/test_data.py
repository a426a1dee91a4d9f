"""Tests for the benchmark image sets."""

import os

import pytest
from PIL import Image

from benchmarks import data


def _files(folder) -> list[str]:
    return sorted(
        os.path.relpath(os.path.join(d, n), folder)
        for d, _, names in os.walk(folder)
        for n in names
        if not n.startswith(".")
    )


@pytest.fixture
def real_dir(tmp_path):
    root = tmp_path / "real"
    for class_name, count in (("cat", 3), ("dog", 2)):
        (root / class_name).mkdir(parents=True)
        for i in range(count):
            Image.new("RGB", (8, 8), (i * 40, 0, 0)).save(
                root / class_name / f"{i}.jpg"
            )
    return str(root)


def test_prepare_repeats_real_photos_as_distinct_files(tmp_path, real_dir):
    image_set = data.prepare(str(tmp_path / "work"), 12, real_dir=real_dir)

    files = _files(image_set.image_dir)
    assert len(files) == 12
    assert len([f for f in files if f.startswith("cat")]) == 6
    assert "dog/1_copy2.jpg" in files
    assert image_set.source == "real photos, 5 repeated as distinct files"


def test_prepare_small_real_set_keeps_original_names(tmp_path, real_dir):
    image_set = data.prepare(str(tmp_path / "work"), 4, real_dir=real_dir)

    assert _files(image_set.image_dir) == [
        "cat/0.jpg",
        "cat/1.jpg",
        "dog/0.jpg",
        "dog/1.jpg",
    ]
    assert image_set.source == "real photos"


def test_prepare_without_real_photos_generates_frames(tmp_path):
    image_set = data.prepare(
        str(tmp_path / "work"), 6, real_dir=str(tmp_path / "missing")
    )

    assert len(_files(image_set.image_dir)) == 6
    assert image_set.source == "generated frames"


def test_prepare_reuses_a_complete_set(tmp_path, real_dir):
    first = data.prepare(str(tmp_path / "work"), 4, real_dir=real_dir)
    marker = os.path.join(first.image_dir, "cat", "0.jpg")
    before = os.stat(marker).st_mtime_ns

    again = data.prepare(str(tmp_path / "work"), 4, real_dir=real_dir)

    assert again == first
    assert os.stat(marker).st_mtime_ns == before


def test_add_images_grows_a_real_set_with_new_names(tmp_path, real_dir):
    image_set = data.prepare(str(tmp_path / "work"), 4, real_dir=real_dir)

    grown = data.add_images(image_set, 2)

    files = _files(grown.image_dir)
    assert grown.count == 6
    assert len(files) == 6
    assert {"cat/0_new0.jpg", "dog/0_new0.jpg"} <= set(files)


def test_add_images_grows_a_generated_set(tmp_path):
    image_set = data.prepare(str(tmp_path / "work"), 4, real_dir=None)

    grown = data.add_images(image_set, 2)

    assert len(_files(grown.image_dir)) == 6


def test_prepare_refuses_fewer_than_two_images(tmp_path):
    with pytest.raises(ValueError, match="count >= 2, received 1"):
        data.prepare(str(tmp_path), 1)
