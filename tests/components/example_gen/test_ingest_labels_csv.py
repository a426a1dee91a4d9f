"""Labels CSV: what spreadsheets write, bad rows named, files kept inside."""

import codecs
import os

import pytest

from components import features
from components.example_gen import labels_csv, sources

HEADER = ["filename", "star_visible", "moon_visible"]
SPEC = features.csv_spec(HEADER)
ROWS = [["a.jpg", "1", "0"], ["sub/b.png", "0", "1"]]
EXPECTED = [
    ("a.jpg", {"star_visible": 1, "moon_visible": 0}),
    ("sub/b.png", {"star_visible": 0, "moon_visible": 1}),
]


def _images(tmp_path, kit, names=("a.jpg", "sub/b.png")):
    root = tmp_path / "images"
    for name in names:
        (root / name).parent.mkdir(parents=True, exist_ok=True)
        (root / name).write_bytes(kit.jpeg_bytes())
    return root


def _write(tmp_path, text: str, encoding="utf-8", newline="\n"):
    path = tmp_path / "labels.csv"
    path.write_bytes(text.replace("\n", newline).encode(encoding))
    return str(path)


def _csv(rows, delimiter=",") -> str:
    return "".join(delimiter.join(r) + "\n" for r in [HEADER, *rows])


def _list(root, csv_path, **kwargs) -> sources.Listing:
    return sources.csv_listing(str(root), csv_path, SPEC, **kwargs)


@pytest.mark.parametrize(
    "text, encoding, newline",
    [
        (_csv(ROWS), "utf-8", "\n"),
        (_csv(ROWS), "utf-8-sig", "\r\n"),
        (_csv(ROWS, ";"), "utf-8-sig", "\r\n"),
        (_csv(ROWS, "\t"), "utf-16", "\r\n"),
        (
            ' filename ; "star_visible" ;moon_visible\n'
            '"a.jpg" ; 1.0 ; 0\n'
            ' "sub/b.png";0,0; "1" \n',
            "utf-8",
            "\n",
        ),
        (
            "\n\nfilename,star_visible,moon_visible\n"
            "a.jpg,1,0\n,,\n./sub\\b.png,0,1\n,,\n",
            "utf-8-sig",
            "\r\n",
        ),
    ],
    ids=["plain", "bom-crlf", "semicolon", "utf16-tab", "quotes", "blanks"],
)
def test_csv_listing_accepts_spreadsheet_dialects(
    tmp_path, kit, text, encoding, newline
):
    root = _images(tmp_path, kit)

    listing = _list(root, _write(tmp_path, text, encoding, newline))

    assert listing.items == EXPECTED
    assert listing.skipped == []
    assert all(
        p["problem"] == "blank row ignored" for p in listing.csv_problems
    )


def test_csv_listing_counts_blank_rows_and_unlisted_images(tmp_path, kit):
    root = _images(tmp_path, kit, ["a.jpg", "sub/b.png", "extra.jpg"])
    (root / "notes.txt").write_text("x")
    text = _csv([ROWS[0], ["", "", ""], ROWS[1]])

    listing = _list(root, _write(tmp_path, text))

    assert listing.csv_problems == [{"line": 3, "problem": "blank row ignored"}]
    assert listing.ignored == [
        {"file": "extra.jpg", "reason": "not listed in the labels CSV"},
        {"file": "notes.txt", "reason": "not an image"},
    ]


def test_read_rows_refuses_non_utf8(tmp_path):
    text = _csv([["caf\xe9.jpg", "1", "0"]])

    with pytest.raises(ValueError, match="not UTF-8: byte 0xe9 on line 2"):
        labels_csv.read_rows(_write(tmp_path, text, "cp1252"), SPEC)


@pytest.mark.parametrize(
    "header, message",
    [
        (
            "file,star_visible,moon_visible",
            r"'filename' column .*found columns \['file', 'star_visible'",
        ),
        (
            "filename,star,moon",
            r"ending in '_visible'.*found columns \['filename', 'star', 'moon'",
        ),
        ("filename", r"no comma, semicolon or tab in the header line"),
        (
            "filename,star_visible,star_visible",
            r"columns \['star_visible'\] appear more than once",
        ),
        ("filename,star_visible", r"Expected labels \['star', 'moon'\]"),
    ],
)
def test_read_rows_names_headers_when_columns_are_wrong(
    tmp_path, header, message
):
    with pytest.raises(ValueError, match=message):
        labels_csv.read_rows(_write(tmp_path, header + "\na.jpg,1,0\n"), SPEC)


@pytest.mark.parametrize(
    "value, shown",
    [("2", "'2'"), ("yes", "'yes'"), ("0.5", "'0.5'"), ("nan", "'nan'")],
)
def test_read_rows_refuses_labels_other_than_0_or_1(tmp_path, value, shown):
    text = _csv([ROWS[0], ["sub/b.png", "0", value]])

    message = (
        rf"labels.csv line 3, column 'moon_visible': expected 0 or 1, "
        rf"received {shown}"
    )
    with pytest.raises(ValueError, match=message):
        labels_csv.read_rows(_write(tmp_path, text), SPEC)


def test_read_rows_refuses_empty_cells_and_extra_fields(tmp_path):
    empty = _write(tmp_path, _csv([["a.jpg", "1", ""]]))
    with pytest.raises(
        ValueError, match=r"line 2, column 'moon_visible': empty"
    ):
        labels_csv.read_rows(empty, SPEC)

    short = _write(tmp_path, _csv([["a.jpg", "1"]]))
    with pytest.raises(ValueError, match=r"line 2, column 'moon_visible'"):
        labels_csv.read_rows(short, SPEC)

    long = _write(tmp_path, _csv([["a.jpg", "1", "0", "1"]]))
    with pytest.raises(ValueError, match=r"line 2: 4 fields, but the header"):
        labels_csv.read_rows(long, SPEC)


def test_read_rows_merges_identical_duplicates_and_refuses_conflicts(
    tmp_path, caplog
):
    same = _write(tmp_path, _csv([ROWS[0], ROWS[1], ["./a.jpg", "1.0", "0"]]))

    rows = labels_csv.read_rows(same, SPEC)

    assert rows.rows == dict(EXPECTED)
    assert rows.problems == [
        {"line": 4, "problem": "repeats a.jpg from line 2; merged"}
    ]
    assert "line 4 repeats a.jpg from line 2" in caplog.text

    conflict = _write(tmp_path, _csv([ROWS[0], ["a.jpg", "0", "0"]]))
    message = r"line 3: a.jpg is listed again with different values .*line 2"
    with pytest.raises(ValueError, match=message):
        labels_csv.read_rows(conflict, SPEC)


@pytest.mark.parametrize(
    "filename",
    ["../outside.jpg", "sub/../../outside.jpg", "/etc/passwd", "C:\\x.jpg"]
    + ["file:///etc/passwd", "..", "."],
)
def test_read_rows_refuses_paths_outside_the_image_directory(
    tmp_path, filename
):
    text = _csv([ROWS[0], [f'"{filename}"', "1", "0"]])

    message = r"line 3, column 'filename': .* is refused: expected a path"
    with pytest.raises(ValueError, match=message):
        labels_csv.read_rows(_write(tmp_path, text), SPEC)


@pytest.mark.skipif(os.name != "posix", reason="symbolic links")
def test_csv_listing_refuses_links_that_leave_the_image_directory(
    tmp_path, kit
):
    root = _images(tmp_path, kit)
    secret = tmp_path / "secret.jpg"
    secret.write_bytes(kit.jpeg_bytes())
    os.symlink(secret, root / "leak.jpg")
    text = _csv([ROWS[0], ["leak.jpg", "1", "0"]])

    message = r"line 3: leak.jpg is refused: it resolves to .*secret.jpg"
    with pytest.raises(ValueError, match=message):
        _list(root, _write(tmp_path, text))


def test_csv_listing_names_missing_files_first_ten_and_count(tmp_path, kit):
    root = _images(tmp_path, kit)
    missing = [[f"gone{i:02d}.jpg", "0", "0"] for i in range(12)]
    csv_path = _write(tmp_path, _csv([*ROWS, *missing]))

    message = (
        r"12 files named in .*labels.csv cannot be read under .*: "
        r"gone00.jpg \(line 4: gone00.jpg does not exist\), .*"
        r"gone09.jpg \(line 13: .*\) \(and 2 more\)\. .*--skip-missing"
    )
    with pytest.raises(ValueError, match=message):
        _list(root, csv_path)


@pytest.mark.skipif(os.name != "posix", reason="symbolic links")
def test_csv_listing_skips_missing_files_when_asked(tmp_path, kit):
    root = _images(tmp_path, kit)
    os.symlink("nowhere.jpg", root / "dangling.jpg")
    (root / "folder.jpg").mkdir()
    rows = [*ROWS, ["gone.jpg", "1", "1"], ["dangling.jpg", "0", "0"]]
    csv_path = _write(tmp_path, _csv([*rows, ["folder.jpg", "0", "0"]]))

    listing = _list(root, csv_path, skip_missing=True)

    assert listing.items == EXPECTED
    assert listing.skipped == [
        {
            "file": "dangling.jpg",
            "reason": "line 5: dangling.jpg: dangling symbolic link to "
            "nowhere.jpg",
        },
        {"file": "folder.jpg", "reason": "line 6: folder.jpg is a directory"},
        {"file": "gone.jpg", "reason": "line 4: gone.jpg does not exist"},
    ]


def test_csv_listing_reads_group_column_as_split_key(tmp_path, kit):
    root = _images(tmp_path, kit)
    text = "filename,group,star_visible,moon_visible\n"
    text += "a.jpg,episode 1,1,0\nsub/b.png,episode 1,0,1\n"

    listing = _list(root, _write(tmp_path, text))

    assert [v[sources.SPLIT_KEY] for _, v in listing.items] == [
        "episode 1",
        "episode 1",
    ]
    with pytest.raises(ValueError, match="has a 'group' column and a group"):
        _list(root, _write(tmp_path, text), group_pattern="sub")
    empty = text + "c.jpg,,1,1\n"
    with pytest.raises(ValueError, match=r"line 4, column 'group': empty"):
        _list(root, _write(tmp_path, empty))


def test_read_header_strips_bom_and_spaces(tmp_path):
    text = codecs.BOM_UTF8.decode() + " filename , star_visible\n"

    assert labels_csv.read_header(_write(tmp_path, text)) == [
        "filename",
        "star_visible",
    ]
