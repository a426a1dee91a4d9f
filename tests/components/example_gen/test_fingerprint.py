"""Tests that the ExampleGen cache key changes with any input change."""

import os

from components import features
from components.example_gen import options


def _settings(csv_path=None) -> options.IngestSettings:
    if csv_path:
        spec = features.csv_spec(["filename", "star_visible"])
        return options.IngestSettings(
            layout=options.LABELS_CSV, label_spec=spec, labels_csv=csv_path
        )
    spec = features.class_dir_spec(["a", "b"])
    return options.IngestSettings(layout=options.CLASS_DIRS, label_spec=spec)


def _write(path, data: bytes) -> None:
    os.makedirs(os.path.dirname(path), exist_ok=True)
    with open(path, "wb") as f:
        f.write(data)


def _tree(root) -> str:
    _write(os.path.join(root, "a", "x.jpg"), b"one")
    _write(os.path.join(root, "b", "deep", "er", "y.jpg"), b"two")
    return str(root)


def test_fingerprint_unchanged_tree_is_stable(tmp_path):
    root = _tree(tmp_path)

    assert options.fingerprint(root, _settings()) == options.fingerprint(
        root, _settings()
    )


def test_fingerprint_changes_when_nested_file_is_added(tmp_path):
    root = _tree(tmp_path)
    before = options.fingerprint(root, _settings())

    _write(os.path.join(root, "b", "deep", "er", "est", "z.jpg"), b"new")

    assert options.fingerprint(root, _settings()) != before


def test_fingerprint_changes_when_nested_file_is_removed(tmp_path):
    root = _tree(tmp_path)
    before = options.fingerprint(root, _settings())

    os.remove(os.path.join(root, "b", "deep", "er", "y.jpg"))

    assert options.fingerprint(root, _settings()) != before


def test_fingerprint_changes_when_file_content_changes_same_size(tmp_path):
    root = _tree(tmp_path)
    path = os.path.join(root, "b", "deep", "er", "y.jpg")
    before = options.fingerprint(root, _settings())

    _write(path, b"TWO")
    stat = os.stat(path)
    os.utime(path, ns=(stat.st_atime_ns, stat.st_mtime_ns + 1))

    assert options.fingerprint(root, _settings()) != before


def test_fingerprint_changes_when_a_csv_row_changes(tmp_path):
    root = _tree(tmp_path)
    csv_path = os.path.join(root, "labels.csv")
    _write(csv_path, b"filename,star_visible\na/x.jpg,0\n")
    before = options.fingerprint(root, _settings(csv_path))

    _write(csv_path, b"filename,star_visible\na/x.jpg,1\n")
    stat = os.stat(csv_path)
    os.utime(csv_path, ns=(stat.st_atime_ns, stat.st_mtime_ns + 1))

    assert options.fingerprint(root, _settings(csv_path)) != before


def test_fingerprint_changes_with_csv_outside_image_dir(tmp_path):
    root = _tree(tmp_path / "images")
    csv_path = str(tmp_path / "labels.csv")
    _write(csv_path, b"filename,star_visible\na/x.jpg,0\n")
    before = options.fingerprint(root, _settings(csv_path))

    _write(csv_path, b"filename,star_visible\na/x.jpg,0\nb/deep/er/y.jpg,1\n")

    assert options.fingerprint(root, _settings(csv_path)) != before
