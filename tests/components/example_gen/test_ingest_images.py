"""ingest.load_image and Encoder: any format, mode, size or orientation ->
8-bit RGB, then split, serialized examples, in this process or in worker
processes.
"""

import dataclasses
import io
import os
import struct
import zlib

import numpy as np
import pytest
import tensorflow as tf
from PIL import Image
from tfx.components.example_gen import base_example_gen_executor

from components.example_gen import component, ingest, pixels


def _load(tmp_path, name, **kwargs) -> ingest.ImageRecord:
    return ingest.load_image(str(tmp_path), name, **kwargs)


def test_load_image_keeps_upright_rgb_jpeg_bytes(tmp_path, kit):
    raw = kit.jpeg_bytes(seed=3)
    (tmp_path / "a.jpg").write_bytes(raw)
    exif = Image.Exif()
    exif[0x0112] = 1  # Orientation tag present, already upright.
    kit.save(tmp_path / "b.jpg", kit.pattern(3), "JPEG", exif=exif)

    plain = _load(tmp_path, "a.jpg")
    tagged = _load(tmp_path, "b.jpg")

    assert plain.encoded == raw
    assert plain.converted == ""
    assert (plain.filename, plain.width, plain.height) == ("a.jpg", 12, 8)
    assert tagged.encoded == (tmp_path / "b.jpg").read_bytes()
    assert tagged.converted == ""


@pytest.mark.parametrize(
    "fmt, kwargs",
    [
        ("PNG", {}),
        ("BMP", {}),
        ("WEBP", {"lossless": True}),
        ("TIFF", {}),
        ("GIF", {}),
    ],
)
def test_load_image_reads_format_from_content_not_name(
    tmp_path, kit, fmt, kwargs
):
    pixels = kit.pattern(1)
    if fmt == "GIF":  # 256 colours at most: use a few exact ones.
        pixels = (pixels // 64 * 64).astype(np.uint8)
    kit.save(tmp_path / "frame.JPG", pixels, fmt, **kwargs)

    record = _load(tmp_path, "frame.JPG")

    np.testing.assert_array_equal(kit.decode(record.encoded), pixels)
    assert record.encoded.startswith(b"\x89PNG")
    if fmt != "PNG":
        assert f"{fmt} stored as PNG" in record.converted


def test_load_image_keeps_first_frame_of_animation(tmp_path, kit):
    frames = [Image.new("RGB", (10, 6), c) for c in ("red", "blue", "lime")]
    path = tmp_path / "anim.gif"
    frames[0].save(path, save_all=True, append_images=frames[1:])

    record = _load(tmp_path, "anim.gif")

    pixels = kit.decode(record.encoded)
    assert pixels.shape == (6, 10, 3)
    assert (pixels == [255, 0, 0]).all()
    assert "first frame of an animation" in record.converted


@pytest.mark.parametrize(
    "mode, expected",
    [
        ("L", lambda p: np.repeat(p[..., :1], 3, axis=-1)),
        ("1", lambda p: np.repeat((p[..., :1] >= 128) * 255, 3, axis=-1)),
        ("P", None),
    ],
)
def test_load_image_converts_mode_to_rgb(tmp_path, kit, mode, expected):
    source = Image.fromarray(kit.pattern(2))
    if mode == "L":
        source = Image.fromarray(kit.pattern(2)[..., 0])
    converted = source.convert(mode, dither=Image.Dither.NONE)
    kit.save(tmp_path / "x.png", converted, "PNG")

    record = _load(tmp_path, "x.png")

    want = np.asarray(converted.convert("RGB"))
    if expected is not None and mode == "L":
        want = expected(np.asarray(converted)[..., None])
    np.testing.assert_array_equal(kit.decode(record.encoded), want)
    assert f"mode {mode} converted to 8-bit RGB" in record.converted


@pytest.mark.parametrize("mode", ["RGBA", "LA"])
def test_load_image_flattens_transparency_onto_white(tmp_path, kit, mode):
    rgba = np.zeros((4, 4, 4), np.uint8)
    rgba[..., :3] = (10, 20, 30) if mode == "RGBA" else 40
    rgba[..., 3] = 255
    rgba[0, 0, 3] = 0  # Fully transparent corner.
    image = Image.fromarray(rgba, "RGBA")
    if mode == "LA":
        image = image.convert("LA")
    kit.save(tmp_path / "t.png", image, "PNG")

    pixels = kit.decode(_load(tmp_path, "t.png").encoded)

    assert pixels[0, 0].tolist() == [255, 255, 255]
    assert pixels[1, 1].tolist() == rgba[1, 1, :3].tolist()


def test_load_image_flattens_palette_transparency(tmp_path, kit):
    image = Image.new("P", (3, 3), 1)
    image.putpalette([0, 0, 0, 200, 10, 10] + [0] * 762)
    image.putpixel((0, 0), 0)
    kit.save(tmp_path / "p.gif", image, "GIF", transparency=0)

    record = _load(tmp_path, "p.gif")

    pixels = kit.decode(record.encoded)
    assert pixels[0, 0].tolist() == [255, 255, 255]
    assert pixels[2, 2].tolist() == [200, 10, 10]
    assert "flattened onto white" in record.converted


def test_load_image_scales_16_bit_to_8_bit(tmp_path, kit):
    gray = np.array([[0, 257, 32896, 65535]], np.uint16)
    kit.save(tmp_path / "g16.png", Image.fromarray(gray), "PNG")
    rgb = np.stack([gray, gray // 2, gray // 4], axis=-1)
    (tmp_path / "rgb16.png").write_bytes(tf.io.encode_png(rgb).numpy())

    gray8 = kit.decode(_load(tmp_path, "g16.png").encoded)
    rgb8 = kit.decode(_load(tmp_path, "rgb16.png").encoded)

    assert gray8[0, :, 0].tolist() == [0, 1, 128, 255]
    assert (gray8[..., 0] == gray8[..., 2]).all()
    np.testing.assert_allclose(rgb8, rgb // 257, atol=1)


def test_load_image_converts_cmyk_to_rgb(tmp_path, kit):
    pixels = kit.pattern(5)
    cmyk = Image.fromarray(pixels).convert("CMYK")
    kit.save(tmp_path / "c.jpg", cmyk, "JPEG", quality=100)

    record = _load(tmp_path, "c.jpg")

    assert record.converted == "mode CMYK converted to RGB"
    stored = kit.decode(record.encoded).astype(int)
    assert np.abs(stored - pixels).mean() < 4
    assert record.encoded.startswith(b"\xff\xd8")  # JPEG stays JPEG.


def test_load_image_applies_exif_orientation_once(tmp_path, kit):
    pixels = kit.pattern(4)  # 8 rows, 12 columns.
    exif = Image.Exif()
    exif[0x0112] = 6  # Rotate 90 degrees clockwise to display.
    kit.save(tmp_path / "o.png", pixels, "PNG", exif=exif)

    record = _load(tmp_path, "o.png")

    stored = kit.decode(record.encoded)
    np.testing.assert_array_equal(stored, np.rot90(pixels, k=-1))
    assert (record.width, record.height) == (8, 12)
    assert record.converted == "EXIF orientation 6 applied"
    assert Image.open(io.BytesIO(record.encoded)).getexif().get(0x0112) in (
        None,
        1,
    )


def test_load_image_downscales_to_max_side(tmp_path, kit):
    kit.save(tmp_path / "big.png", kit.pattern(0, (300, 200)), "PNG")
    big = np.zeros((1024, 2048, 3), np.uint8)
    big[:, 1024:] = 200
    kit.save(tmp_path / "big.jpg", big, "JPEG")

    png = _load(tmp_path, "big.png", max_side=100)
    jpeg = _load(tmp_path, "big.jpg", max_side=256)

    assert (png.width, png.height) == (100, 67)
    assert kit.decode(png.encoded).shape == (67, 100, 3)
    assert png.converted == "downscaled from 300x200 to 100x67"
    assert (jpeg.width, jpeg.height) == (256, 128)
    assert jpeg.converted == "downscaled from 2048x1024 to 256x128"
    stored = kit.decode(jpeg.encoded)
    assert stored[:, :120].max() < 10 and stored[:, 136:].min() > 190


def _png_header_only(width: int, height: int) -> bytes:
    def chunk(kind: bytes, data: bytes) -> bytes:
        crc = zlib.crc32(kind + data)
        return (
            struct.pack(">I", len(data)) + kind + data + struct.pack(">I", crc)
        )

    ihdr = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)
    idat = zlib.compress(b"\0" * 64)
    return (
        b"\x89PNG\r\n\x1a\n"
        + chunk(b"IHDR", ihdr)
        + chunk(b"IDAT", idat)
        + chunk(b"IEND", b"")
    )


@pytest.mark.parametrize(
    "name, content, reason",
    [
        ("empty.jpg", b"", r"empty file \(0 bytes\)"),
        ("text.png", b"hello, not pixels", "not an image in any format"),
        ("bomb.png", _png_header_only(50_000, 50_000), "decompression bomb"),
        ("big.png", _png_header_only(10_000, 9_000), "decompression bomb"),
    ],
)
def test_load_image_refuses_bad_files_naming_them(
    tmp_path, name, content, reason
):
    (tmp_path / name).write_bytes(content)

    with pytest.raises(ingest.ImageError, match=reason) as raised:
        _load(tmp_path, name)

    assert raised.value.path == str(tmp_path / name)
    assert str(raised.value).startswith(str(tmp_path / name) + ": ")


@pytest.mark.parametrize("fmt", ["JPEG", "PNG"])
def test_load_image_refuses_truncated_files(tmp_path, kit, fmt):
    kit.save(tmp_path / "whole", kit.pattern(0, (64, 64)), fmt)
    data = (tmp_path / "whole").read_bytes()
    (tmp_path / "cut").write_bytes(data[: len(data) // 2])

    with pytest.raises(ingest.ImageError, match="cannot be decoded"):
        _load(tmp_path, "cut")


def test_load_image_reports_unreadable_file(tmp_path):
    with pytest.raises(ingest.ImageError, match="cannot be read"):
        _load(tmp_path, "absent.jpg")


def test_to_example_writes_image_filename_and_values(tmp_path, kit):
    (tmp_path / "a.jpg").write_bytes(kit.jpeg_bytes())
    record = _load(tmp_path, "a.jpg")

    example = ingest.to_example(record, {"label": 1, "class_name": "dog"})

    feature = example.features.feature
    assert feature["image"].bytes_list.value[0] == record.encoded
    assert feature["filename"].bytes_list.value[0] == b"a.jpg"
    assert feature["label"].int64_list.value[0] == 1
    assert feature["class_name"].bytes_list.value[0] == b"dog"


def _mixed_folder(tmp_path, kit) -> list[str]:
    """Good and unusable files, in an order that interleaves them."""
    kit.save(tmp_path / "a.jpg", kit.pattern(1, (32, 24)), "JPEG")
    kit.save(tmp_path / "b.png", kit.pattern(2, (32, 24)), "PNG")
    kit.save(tmp_path / "c.bmp", kit.pattern(3, (32, 24)), "BMP")
    (tmp_path / "empty.jpg").write_bytes(b"")
    whole = (tmp_path / "a.jpg").read_bytes()
    (tmp_path / "cut.jpg").write_bytes(whole[: len(whole) // 2])
    return ["a.jpg", "empty.jpg", "b.png", "absent.jpg", "cut.jpg", "c.bmp"]


def _items(names: list[str]) -> list[tuple[str, dict]]:
    return [(name, {"label": i % 2}) for i, name in enumerate(names)]


def _splitter(eval_buckets: int = 50) -> ingest.Splitter:
    return ingest.Splitter.from_output_config(
        component.split_config(eval_buckets / 100)
    )


def _outcome(result):
    if isinstance(result, ingest.ImageError):
        return "error", result.path, result.reason
    example = tf.train.Example.FromString(result.example)
    return "image", result.filename, result.split, example, result.converted


def test_encoder_processes_give_what_one_process_gives(tmp_path, kit):
    items = _items(_mixed_folder(tmp_path, kit))
    alone = ingest.Encoder(str(tmp_path), _splitter(), processes=0)
    workers = ingest.Encoder(str(tmp_path), _splitter(), processes=2)

    try:
        expected = [_outcome(r) for r in alone.encode(items)]
        first = workers.submit(items)
        second = workers.submit(items[::-1])
        in_workers = [_outcome(r) for r in first.result()]
        reversed_in_workers = [_outcome(r) for r in second.result()]
    finally:
        workers.close()

    assert in_workers == expected
    assert reversed_in_workers == expected[::-1]
    kinds = [outcome[0] for outcome in expected]
    assert kinds == ["image", "error", "image", "error", "error", "image"]
    assert "empty file" in expected[1][2]
    assert "cannot be read" in expected[3][2]
    assert "cannot be decoded" in expected[4][2]
    assert expected[5][4] == "BMP stored as PNG"


def test_encoder_builds_the_example_of_each_image(tmp_path, kit):
    items = _items(_mixed_folder(tmp_path, kit))
    record = _load(tmp_path, "b.png")

    encoded = ingest.Encoder(str(tmp_path), _splitter()).encode(items)[2]

    example = tf.train.Example.FromString(encoded.example)
    assert example == ingest.to_example(record, {"label": 0})
    assert encoded.filename == "b.png"


def test_splitter_agrees_with_tfx_example_gen(tmp_path, kit):
    kit.save(tmp_path / "a.jpg", kit.pattern(1, (8, 8)), "JPEG")
    record = _load(tmp_path, "a.jpg")
    output = component.split_config(0.3)
    splitter = ingest.Splitter.from_output_config(output)
    names = [f"class/frame_{i:04d}.jpg" for i in range(400)]

    ours, theirs = [], []
    for name in names:
        example = ingest.to_example(
            dataclasses.replace(record, filename=name), {"label": 1}
        )
        ours.append(splitter.index(example))
        theirs.append(
            base_example_gen_executor._PartitionFn(
                example, 2, list(splitter.buckets), output.split_config
            )
        )

    assert ours == theirs
    assert splitter.names == ("train", "eval")
    assert splitter.buckets == (70, 100)
    assert 0.2 < sum(ours) / len(ours) < 0.4  # About 30 % eval.


def _die(*args, **kwargs):
    os._exit(3)  # What the kernel's out-of-memory killer leaves behind.


def test_encoder_names_the_files_when_a_worker_dies(tmp_path, kit, monkeypatch):
    items = _items(_mixed_folder(tmp_path, kit)[:3])
    monkeypatch.setattr(pixels, "decode", _die)
    encoder = ingest.Encoder(str(tmp_path), _splitter(), processes=2)

    try:
        with pytest.raises(RuntimeError, match="decoding process died") as e:
            encoder.encode(items)
    finally:
        encoder.close()

    assert "a.jpg" in str(e.value) or "b.png" in str(e.value)


def test_encoder_refuses_negative_processes(tmp_path):
    with pytest.raises(ValueError, match="processes >= 0, received -1"):
        ingest.Encoder(str(tmp_path), _splitter(), processes=-1)
