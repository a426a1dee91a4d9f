"""The ExampleGen executor on messy folders: exact examples, exact report.

Each test runs the real Beam executor (FnApiRunner, in process) the way
the component configures it, then reads the gzipped TFRecords and
`ingestion_report.json` it wrote.
"""

import os

import numpy as np
import pyarrow as pa
import pytest
import tensorflow_data_validation as tfdv
from PIL import Image
from tensorflow_data_validation.statistics import stats_impl
from tensorflow_metadata.proto.v0 import schema_pb2

from components import features
from components.example_gen import component, executor, ingest, options, sources

CLASS_SPEC = features.class_dir_spec(["cat", "dog"])
CSV_HEADER = ["filename", "star_visible", "moon_visible"]
CSV_SPEC = features.csv_spec(CSV_HEADER)


def _class_settings(**kwargs) -> options.IngestSettings:
    return options.IngestSettings(
        layout=options.CLASS_DIRS, label_spec=CLASS_SPEC, **kwargs
    )


def _csv_settings(csv_path, **kwargs) -> options.IngestSettings:
    return options.IngestSettings(
        layout=options.LABELS_CSV,
        label_spec=CSV_SPEC,
        labels_csv=str(csv_path),
        **kwargs,
    )


def _good_jpegs(root, kit, names, seed=0):
    for i, name in enumerate(names):
        (root / name).parent.mkdir(parents=True, exist_ok=True)
        (root / name).write_bytes(kit.jpeg_bytes(seed=seed + i))


def _truncated(path, kit):
    path.parent.mkdir(parents=True, exist_ok=True)
    data = kit.jpeg_bytes(size=(64, 64))
    path.write_bytes(data[: len(data) // 2])


def _messy_class_dirs(tmp_path, kit):
    """Six usable images per class, mixed with every kind of fault."""
    root = tmp_path / "images"
    _good_jpegs(root, kit, [f"cat/{i}.jpg" for i in range(4)])
    _good_jpegs(root, kit, [f"dog/ep{i % 2}/{i}.JPG" for i in range(4)], 10)
    rgba = np.zeros((6, 6, 4), np.uint8)
    rgba[..., 0], rgba[..., 3] = 200, 255
    rgba[0, 0, 3] = 0
    kit.save(root / "cat/rgba.png", rgba, "PNG")
    kit.save(root / "cat/really_png.jpg", kit.pattern(7), "PNG")
    frames = [Image.new("RGB", (5, 5), c) for c in ("red", "blue")]
    frames[0].save(root / "dog/anim.gif", save_all=True, append_images=frames)
    exif = Image.Exif()
    exif[0x0112] = 6
    kit.save(root / "dog/rotated.jpg", kit.pattern(8), "JPEG", exif=exif)
    _truncated(root / "cat/truncated.jpg", kit)
    (root / "dog/empty.jpeg").write_bytes(b"")
    (root / "dog/photo.heic").write_bytes(b"\0\0\0\x18ftypheic")
    for clutter in ["cat/.DS_Store", "dog/Thumbs.db", "cat/notes.txt"]:
        (root / clutter).write_bytes(b"x")
    (root / "dog/.ipynb_checkpoints").mkdir()
    (root / "dog/.ipynb_checkpoints/0-checkpoint.jpg").write_bytes(b"x")
    _good_jpegs(root, kit, ["stray.jpg"])
    os.symlink("missing.jpg", root / "cat/dangling.jpg")
    os.symlink(tmp_path, root / "dog/escape")
    os.symlink("0.jpg", root / "cat/alias.jpg")
    return root


@pytest.fixture(scope="module")
def messy(tmp_path_factory, kit, run_example_gen):
    """The messy class-dir folder and one ExampleGen run over it."""
    root = _messy_class_dirs(tmp_path_factory.mktemp("messy"), kit)
    return root, run_example_gen(root, _class_settings(), eval_fraction=0.3)


def test_example_gen_class_dirs_keeps_exactly_the_valid_images(messy):
    _, outcome = messy

    valid = {f"cat/{i}.jpg" for i in range(4)}
    valid |= {f"dog/ep{i % 2}/{i}.JPG" for i in range(4)}
    valid |= {"cat/rgba.png", "cat/really_png.jpg"}
    valid |= {"dog/anim.gif", "dog/rotated.jpg"}
    assert outcome.files() == valid
    assert outcome.files("train") and outcome.files("eval")
    for name in valid:
        example = outcome.example(name)
        assert example["class_name"].decode() == name.split("/")[0]
        assert example["label"] == int(name.startswith("dog"))
    splits = outcome.report["splits"]
    assert splits["train"]["_total"] + splits["eval"]["_total"] == 12
    assert splits["train"]["cat"] + splits["eval"].get("cat", 0) == 6


def test_example_gen_class_dirs_stores_normalised_pixels(messy, kit):
    root, outcome = messy

    assert outcome.example("cat/0.jpg")["image"] == (
        (root / "cat/0.jpg").read_bytes()
    )
    rgba = kit.decode(outcome.example("cat/rgba.png")["image"])
    assert rgba[0, 0].tolist() == [255, 255, 255]
    assert rgba[1, 1].tolist() == [200, 0, 0]
    np.testing.assert_array_equal(
        kit.decode(outcome.example("cat/really_png.jpg")["image"]),
        kit.pattern(7),
    )
    rotated = kit.decode(outcome.example("dog/rotated.jpg")["image"])
    assert rotated.shape == (12, 8, 3)


def test_example_gen_class_dirs_reports_every_other_file(messy):
    _, outcome = messy

    report = outcome.report
    assert (report["examples"], report["listed_images"]) == (12, 14)
    skipped = outcome.reasons("skipped")
    assert set(skipped) == {
        "cat/truncated.jpg",
        "dog/empty.jpeg",
        "dog/photo.heic",
        "cat/dangling.jpg",
        "dog/escape",
    }
    assert skipped["cat/truncated.jpg"].startswith("cannot be decoded")
    assert skipped["dog/empty.jpeg"] == "empty file (0 bytes)"
    assert skipped["cat/dangling.jpg"] == (
        "dangling symbolic link to missing.jpg"
    )
    assert "outside the image directory" in skipped["dog/escape"]
    assert outcome.reasons("converted") == {
        "cat/rgba.png": "mode RGBA flattened onto white, as RGB",
        "dog/anim.gif": "first frame of an animation; mode P converted to "
        "8-bit RGB; GIF stored as PNG",
        "dog/rotated.jpg": "EXIF orientation 6 applied",
    }
    assert outcome.reasons("ignored") == {
        "cat/.DS_Store": "hidden or tool file or folder",
        "cat/alias.jpg": "same file as cat/0.jpg (symbolic link)",
        "cat/notes.txt": "not an image",
        "dog/.ipynb_checkpoints/": "hidden or tool file or folder",
        "dog/Thumbs.db": "hidden or tool file or folder",
        "stray.jpg": "not inside a class directory",
    }
    assert report["counts"] == {
        "skipped": 5,
        "converted": 3,
        "ignored": 6,
        "csv_problems": 0,
    }
    assert report["label_order"] == ["cat", "dog"]
    assert report["split_key"] == "filename"


def test_example_gen_split_is_stable_when_files_come_and_go(
    tmp_path, kit, run_example_gen
):
    root = tmp_path / "images"
    names = [f"{c}/{i}.jpg" for c in ("cat", "dog") for i in range(8)]
    _good_jpegs(root, kit, names)
    first = run_example_gen(root, _class_settings())

    (root / "cat/0.jpg").unlink()
    _good_jpegs(root, kit, [f"dog/new{i}.jpg" for i in range(6)], seed=50)
    second = run_example_gen(root, _class_settings())

    for split in ("train", "eval"):
        kept = first.files(split) - {"cat/0.jpg"}
        assert kept <= second.files(split)
    assert len(second.files()) == 21


def test_example_gen_labels_csv_keeps_exactly_the_valid_rows(
    tmp_path, kit, run_example_gen
):
    root = tmp_path / "images"
    names = [f"f{i}.jpg" for i in range(8)]
    _good_jpegs(root, kit, names + ["unlisted.jpg"])
    _truncated(root / "broken.jpg", kit)
    (root / ".DS_Store").write_bytes(b"x")
    lines = ["filename;star_visible;moon_visible"]
    lines += [f" {n} ;{i % 2};{1 - i % 2}.0" for i, n in enumerate(names)]
    lines += ["f0.jpg;0;1", "broken.jpg;1;1", "gone.jpg;1;0", ";;"]
    csv_path = tmp_path / "labels.csv"
    csv_path.write_bytes(("\ufeff" + "\r\n".join(lines) + "\r\n").encode())

    outcome = run_example_gen(root, _csv_settings(csv_path, skip_missing=True))

    assert outcome.files() == set(names)
    for i, name in enumerate(names):
        example = outcome.example(name)
        assert (example["star_visible"], example["moon_visible"]) == (
            i % 2,
            1 - i % 2,
        )
    assert set(outcome.reasons("skipped")) == {"broken.jpg", "gone.jpg"}
    assert outcome.reasons("skipped")["gone.jpg"] == (
        "line 12: gone.jpg does not exist"
    )
    assert outcome.reasons("ignored") == {
        ".DS_Store": "hidden or tool file or folder",
        "unlisted.jpg": "not listed in the labels CSV",
    }
    assert outcome.report["csv_problems"] == [
        {"line": 10, "problem": "repeats f0.jpg from line 2; merged"},
        {"line": 13, "problem": "blank row ignored"},
    ]
    splits = outcome.report["splits"]
    assert splits["train"]["star"] + splits["eval"]["star"] == 4
    assert splits["train"]["_total"] + splits["eval"]["_total"] == 8


def test_example_gen_groups_never_straddle_splits(
    tmp_path, kit, run_example_gen
):
    root = tmp_path / "images"
    episodes = [f"ep{e}" for e in range(6)]
    names = [
        f"{c}/{ep}/frame{f}.jpg"
        for c in ("cat", "dog")
        for ep in episodes
        for f in range(2)
    ]
    _good_jpegs(root, kit, names)
    settings = _class_settings(group_pattern=r"/(ep\d+)/")

    outcome = run_example_gen(root, settings)

    assert outcome.files() == set(names)
    for ep in episodes:
        splits = {
            split
            for split in ("train", "eval")
            for name in outcome.files(split)
            if f"/{ep}/" in name
        }
        assert len(splits) == 1, f"{ep} is in {splits}"
    assert outcome.example(names[0])[sources.SPLIT_KEY] == b"ep0"
    assert outcome.report["split_key"] == r"group pattern '/(ep\\d+)/'"


def test_example_gen_strict_fails_listing_every_skipped_file(
    tmp_path, kit, run_example_gen
):
    root = tmp_path / "images"
    _good_jpegs(
        root, kit, [f"{c}/{i}.jpg" for c in ("cat", "dog") for i in (1, 2)]
    )
    _truncated(root / "cat/bad.jpg", kit)
    (root / "dog/empty.png").write_bytes(b"")

    message = (
        r"--strict: 2 files were skipped: cat/bad.jpg: cannot be decoded.*; "
        r"dog/empty.png: empty file"
    )
    with pytest.raises(RuntimeError, match=message):
        run_example_gen(root, _class_settings(strict=True))

    os.symlink("nowhere.jpg", root / "dog/link.jpg")
    with pytest.raises(RuntimeError, match="dog/link.jpg: dangling"):
        run_example_gen(root, _class_settings(strict=True))


def test_example_gen_refuses_a_class_missing_from_training(
    tmp_path, kit, run_example_gen
):
    root = tmp_path / "images"
    _good_jpegs(root, kit, [f"cat/{i}.jpg" for i in range(8)])
    _truncated(root / "dog/a.jpg", kit)
    (root / "dog/b.jpg").write_bytes(b"GIF89a")

    message = (
        r"The train split has no 'dog' images, so the model cannot learn "
        r"it\. Counts per split: .*'cat': \d"
    )
    with pytest.raises(RuntimeError, match=message):
        run_example_gen(root, _class_settings())


def test_example_gen_refuses_an_empty_split(tmp_path, kit, run_example_gen):
    root = tmp_path / "images"
    names = [f"{c}/scene/{i}.jpg" for c in ("cat", "dog") for i in range(3)]
    _good_jpegs(root, kit, names)

    message = r"Split '(train|eval)' is empty \(6 examples in all from .*"
    with pytest.raises(RuntimeError, match=message):
        run_example_gen(root, _class_settings(group_pattern="scene"))


def test_example_gen_refuses_a_folder_without_usable_images(
    tmp_path, kit, run_example_gen
):
    root = tmp_path / "images"
    for name in ["cat/a.jpg", "dog/b.png"]:
        _truncated(root / name, kit)

    message = r"No usable images in .*images: 2 listed, 2 skipped \(cat/a"
    with pytest.raises(RuntimeError, match=message):
        run_example_gen(root, _class_settings())


def test_statistics_options_treat_the_image_as_bytes(kit):
    images = [kit.jpeg_bytes(seed=i) for i in range(5)]
    batch = pa.RecordBatch.from_arrays(
        [pa.array([[x] for x in images], pa.list_(pa.binary()))],
        [features.IMAGE_KEY],
    )

    stats = stats_impl.generate_statistics_in_memory(
        batch, component.statistics_options()
    )

    (image,) = stats.datasets[0].features
    assert image.WhichOneof("stats") == "bytes_stats"
    assert image.bytes_stats.max_num_bytes == max(len(x) for x in images)
    schema = tfdv.infer_schema(stats)
    assert not schema.string_domain
    assert schema.feature[0].type == schema_pb2.BYTES


@pytest.mark.parametrize(
    "beam_args, local",
    [
        ([], True),
        (["--runner=DirectRunner", "--sdk_container_image=x"], True),
        (["--runner=direct"], True),
        (["--runner=FnApiRunner"], True),
        (["--direct_running_mode=multi_processing"], False),
        (["--runner=DataflowRunner", "--project=p"], False),
    ],
)
def test_example_gen_decodes_in_processes_on_the_local_runner_only(
    beam_args, local
):
    processes = executor._decode_processes(beam_args)

    assert processes == (ingest.usable_cpus() if local else 0)
