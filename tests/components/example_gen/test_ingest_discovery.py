"""File discovery and the class-dir listing: clutter, links, classes."""

import os
import re

import pytest

from components import features
from components.example_gen import discover, options, sources

SPEC = features.class_dir_spec(["cat", "dog"])


def _folder(tmp_path, kit, names=("cat/a.jpg", "dog/b.jpg")):
    root = tmp_path / "images"
    for name in names:
        (root / name).parent.mkdir(parents=True, exist_ok=True)
        (root / name).write_bytes(kit.jpeg_bytes())
    return root


def _reasons(entries) -> dict[str, str]:
    return {e["file"]: e["reason"] for e in entries}


def test_find_files_ignores_clutter_and_non_images(tmp_path, kit):
    root = _folder(tmp_path, kit)
    for name in [
        ".DS_Store",
        "cat/Thumbs.db",
        "cat/desktop.ini",
        "cat/._a.jpg",  # macOS resource fork: a JPEG name, not a JPEG.
        "cat/notes.txt",
        "cat/.ipynb_checkpoints/a-checkpoint.jpg",
        "__MACOSX/cat/a.jpg",
    ]:
        (root / name).parent.mkdir(parents=True, exist_ok=True)
        (root / name).write_bytes(b"clutter")

    found = discover.find_files(str(root))

    assert found.images == ["cat/a.jpg", "dog/b.jpg"]
    assert found.skipped == []
    hidden = "hidden or tool file or folder"
    assert _reasons(found.ignored) == {
        ".DS_Store": hidden,
        "__MACOSX/": hidden,
        "cat/.ipynb_checkpoints/": hidden,
        "cat/._a.jpg": hidden,
        "cat/Thumbs.db": hidden,
        "cat/desktop.ini": hidden,
        "cat/notes.txt": "not an image",
    }
    assert sources.list_classes(str(root)) == ["cat", "dog"]


def test_find_files_matches_extensions_in_any_case_and_sniffs_content(
    tmp_path, kit
):
    root = _folder(tmp_path, kit, ["cat/A.JPG", "cat/b.Jpeg", "cat/c.TiF"])
    (root / "cat/frame_0001").write_bytes(kit.jpeg_bytes())
    kit.save(root / "cat/export.dat", kit.pattern(0), "PNG")
    (root / "cat/photo.HEIC").write_bytes(b"\0\0\0\x18ftypheic")

    found = discover.find_files(str(root))

    assert found.images == [
        "cat/A.JPG",
        "cat/b.Jpeg",
        "cat/c.TiF",
        "cat/export.dat",
        "cat/frame_0001",
    ]
    assert _reasons(found.skipped) == {
        "cat/photo.HEIC": ".heic images cannot be decoded (Pillow); convert "
        "them to JPEG or PNG"
    }


@pytest.mark.skipif(os.name != "posix", reason="symbolic links and FIFOs")
def test_find_files_follows_links_safely(tmp_path, kit):
    root = _folder(tmp_path, kit, ["cat/a.jpg", "dog/b.jpg", "dog/sub/c.jpg"])
    outside = tmp_path / "secret.jpg"
    outside.write_bytes(kit.jpeg_bytes())
    os.symlink(outside, root / "cat/outside.jpg")
    os.symlink(tmp_path, root / "cat/outside_dir")
    os.symlink("gone.jpg", root / "cat/dangling.jpg")
    os.symlink("..", root / "dog/sub/up")  # dog/sub/up -> dog: a loop.
    os.symlink("self.jpg", root / "dog/self.jpg")
    os.symlink("a.jpg", root / "cat/alias.jpg")
    os.symlink("../dog/sub", root / "cat/linked")  # Inside: followed.
    os.mkfifo(root / "cat/pipe.jpg")

    found = discover.find_files(str(root))

    assert found.images == ["cat/a.jpg", "dog/b.jpg", "dog/sub/c.jpg"]
    skipped = _reasons(found.skipped)
    assert skipped == {
        "cat/dangling.jpg": "dangling symbolic link to gone.jpg",
        "cat/outside.jpg": f"symbolic link to {outside}, outside the image "
        "directory; not followed",
        "cat/outside_dir": f"symbolic link to {tmp_path}, outside the image "
        "directory; not followed",
        "cat/pipe.jpg": "not a regular file (a pipe, socket or device)",
        "dog/self.jpg": "symbolic link loop (links that point at each other)",
        "dog/sub/up": "symbolic link loop (a folder links to itself)",
        # cat/linked/up is dog: its loops are met (and reported) again.
        "cat/linked/up/self.jpg": "symbolic link loop (links that point at "
        "each other)",
        "cat/linked/up/sub": "symbolic link loop (a folder links to itself)",
    }
    ignored = _reasons(found.ignored)
    assert ignored["cat/alias.jpg"] == "same file as cat/a.jpg (symbolic link)"
    assert ignored["cat/linked/c.jpg"] == (
        "same file as dog/sub/c.jpg (symbolic link)"
    )


def test_class_dir_listing_labels_images_at_any_depth(tmp_path, kit):
    root = _folder(
        tmp_path, kit, ["cat/a.jpg", "cat/ep1/b.png", "dog/c.jpg", "stray.jpg"]
    )
    (root / "cat/ep1/b.png").write_bytes(kit.jpeg_bytes())

    listing = sources.class_dir_listing(str(root), SPEC)

    assert listing.items == [
        ("cat/a.jpg", {"label": 0, "class_name": "cat"}),
        ("cat/ep1/b.png", {"label": 0, "class_name": "cat"}),
        ("dog/c.jpg", {"label": 1, "class_name": "dog"}),
    ]
    assert _reasons(listing.ignored) == {
        "stray.jpg": "not inside a class directory"
    }


def test_class_dir_listing_refuses_class_without_usable_images(tmp_path, kit):
    root = _folder(tmp_path, kit, ["cat/a.jpg"])
    (root / "dog").mkdir()
    (root / "dog/.DS_Store").write_bytes(b"x")
    (root / "dog/readme.txt").write_text("frames to come")
    (root / "dog/x.heic").write_bytes(b"x")

    message = (
        r"Class 'dog' \(.*dog\) has no usable images: 0 images, 1 skipped "
        r"\[dog/x.heic\], 2 ignored \[dog/.DS_Store, dog/readme.txt\]"
    )
    with pytest.raises(ValueError, match=message):
        sources.class_dir_listing(str(root), SPEC)


def test_class_dir_listing_refuses_changed_classes(tmp_path, kit):
    root = _folder(tmp_path, kit, ["cat/a.jpg", "dog/b.jpg", "emu/c.jpg"])

    with pytest.raises(ValueError, match=r"found \['cat', 'dog', 'emu'\]"):
        sources.class_dir_listing(str(root), SPEC)


def test_class_dir_spec_refuses_a_single_class(tmp_path, kit):
    root = _folder(tmp_path, kit, ["cat/a.jpg", ".ipynb_checkpoints/x.jpg"])

    with pytest.raises(ValueError, match=r"at least two class directories"):
        features.class_dir_spec(sources.list_classes(str(root)))


def test_class_dir_listing_groups_by_pattern(tmp_path, kit):
    root = _folder(
        tmp_path,
        kit,
        ["cat/ep1/f1.jpg", "cat/ep1/f2.jpg", "dog/ep1/f3.jpg", "dog/f4.jpg"],
    )

    listing = sources.class_dir_listing(
        str(root), SPEC, group_pattern=r"([^/]+)/[^/]+$"
    )
    keys = {f: v[sources.SPLIT_KEY] for f, v in listing.items}

    assert keys == {
        "cat/ep1/f1.jpg": "ep1",
        "cat/ep1/f2.jpg": "ep1",
        "dog/ep1/f3.jpg": "ep1",
        "dog/f4.jpg": "dog",
    }
    assert listing.ungrouped == []
    strict = sources.class_dir_listing(
        str(root), SPEC, group_pattern=r"/(ep\d+)/"
    )
    assert strict.ungrouped == ["dog/f4.jpg"]
    assert dict(strict.items)["dog/f4.jpg"][sources.SPLIT_KEY] == "dog/f4.jpg"


@pytest.mark.parametrize(
    "pattern, message",
    [("(ep", "not a valid regular expression"), ("(a)(b)", "2 capture")],
)
def test_ingest_settings_refuse_bad_group_pattern(pattern, message):
    with pytest.raises(ValueError, match=re.escape(message)):
        options.IngestSettings(
            layout=options.CLASS_DIRS, label_spec=SPEC, group_pattern=pattern
        )


def test_fingerprint_sees_nested_changes_and_survives_loops(tmp_path, kit):
    root = _folder(tmp_path, kit, ["cat/deep/er/a.jpg", "dog/b.jpg"])
    os.symlink("..", root / "cat/deep/loop")
    settings = options.IngestSettings(
        layout=options.CLASS_DIRS, label_spec=SPEC
    )

    before = options.fingerprint(str(root), settings)
    (root / "cat/deep/er/a.jpg").write_bytes(kit.jpeg_bytes(seed=9) * 2)
    after = options.fingerprint(str(root), settings)

    assert before != after
    assert after == options.fingerprint(str(root), settings)
    grouped = options.IngestSettings(
        layout=options.CLASS_DIRS, label_spec=SPEC, group_pattern="ep"
    )
    assert options.fingerprint(str(root), grouped) != after
