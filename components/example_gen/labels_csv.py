"""Parses a labels CSV as spreadsheets save it into checked rows.

Accepted: UTF-8 with or without a byte-order mark (or UTF-16 with one),
CRLF or LF line ends, comma, semicolon or tab delimiters (found from the
header), quoted fields, spaces around values, blank rows.
"""

import codecs
import csv
import dataclasses
import io
import logging
import posixpath
import re

import tensorflow as tf

from components import features

logger = logging.getLogger(__name__)

GROUP_COLUMN = "group"  # Optional: rows sharing a group share a split.
DELIMITERS = (",", ";", "\t")
_DRIVE = re.compile(r"^[A-Za-z]:")  # A Windows absolute path, `C:\...`.


@dataclasses.dataclass
class CsvRows:
    """The checked content of a labels CSV.

    Attributes:
      rows: relative filename to its labels, one 0/1 int per label feature.
      groups: relative filename to its `group` value; empty when the CSV
        has no `group` column.
      lines: relative filename to the line it was first listed on.
      problems: `{"line", "problem"}` for rows ignored or merged.
    """

    rows: dict[str, dict[str, int]] = dataclasses.field(default_factory=dict)
    groups: dict[str, str] = dataclasses.field(default_factory=dict)
    lines: dict[str, int] = dataclasses.field(default_factory=dict)
    problems: list[dict] = dataclasses.field(default_factory=list)


def read_header(csv_path: str) -> list[str]:
    """The column names of a labels CSV, stripped of spaces.

    Raises:
      ValueError: if the file is not UTF-8/UTF-16 or has no delimiter.
    """
    header, _ = _reader(csv_path)
    return header


def read_rows(csv_path: str, spec: features.LabelSpec) -> CsvRows:
    """Reads and checks every row of a labels CSV.

    Args:
      csv_path: the labels CSV.
      spec: the label spec the pipeline was built with.

    Returns:
      The rows, keyed by normalised relative filename.

    Raises:
      ValueError: naming the line and column of an empty or non-0/1 label,
        an empty, absolute or escaping filename, a row with too many
        fields, or a file listed twice with different labels; or listing
        the headers found when the label columns differ from `spec`.
    """
    header, rows = _reader(csv_path)
    columns = _check_header(header, csv_path, spec)

    result = CsvRows()
    for line, cells in rows:
        where = f"{csv_path} line {line}"
        if not any(cells):
            result.problems.append(_problem(line, "blank row ignored"))
            continue
        if len(cells) > len(header) and any(cells[len(header) :]):
            raise ValueError(
                f"{where}: {len(cells)} fields, but the header has "
                f"{len(header)} columns {header}. Check the delimiter and "
                "quoting of this row."
            )
        values = dict(zip(header, cells + [""] * len(header)))
        filename, labels, group = _parse_row(values, where, columns)
        _add_row(result, (filename, labels, group), line, where)
    return result


def _reader(csv_path: str):
    text = _read_text(csv_path)
    lines = text.splitlines()
    first = next((x for x in lines if x.strip()), "")
    delimiter = _delimiter(first, csv_path)
    reader = csv.reader(
        io.StringIO(text, newline=""),
        delimiter=delimiter,
        skipinitialspace=True,
    )
    header = []
    for row in reader:
        if any(c.strip() for c in row):
            header = [c.strip() for c in row]
            break
    rows = ((reader.line_num, [c.strip() for c in row]) for row in reader)
    return header, rows


def _read_text(csv_path: str) -> str:
    with tf.io.gfile.GFile(csv_path, "rb") as f:
        raw = f.read()
    if raw.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)):
        return raw.decode("utf-16")
    try:
        return raw.decode("utf-8-sig")
    except UnicodeDecodeError as e:
        line = raw[: e.start].count(b"\n") + 1
        raise ValueError(
            f"{csv_path} is not UTF-8: byte 0x{raw[e.start]:02x} on line "
            f"{line}. Save it as 'CSV UTF-8' (most spreadsheets offer it)."
        ) from e


def _delimiter(header_line: str, csv_path: str) -> str:
    counts = {d: header_line.count(d) for d in DELIMITERS}
    best = max(DELIMITERS, key=lambda d: counts[d])
    if not counts[best]:
        raise ValueError(
            f"{csv_path}: no comma, semicolon or tab in the header line "
            f"{header_line!r}; expected a {features.CSV_FILENAME_COLUMN!r} "
            f"column and '*{features.LABEL_SUFFIX}' columns."
        )
    return best


def _check_header(header, csv_path, spec) -> dict[str, str]:
    """Label column -> feature, after checking the header against `spec`."""
    repeated = sorted({c for c in header if c and header.count(c) > 1})
    if repeated:
        raise ValueError(
            f"{csv_path}: columns {repeated} appear more than once in the "
            f"header {header}."
        )
    found = features.csv_spec(header)  # Names the headers when wrong.
    if found.labels != spec.labels:
        raise ValueError(
            f"Expected labels {list(spec.labels)} in {csv_path}, found "
            f"{list(found.labels)} in the header {header}. Rebuild the "
            "pipeline when labels change."
        )
    label_columns = [c for c in header if c.endswith(features.LABEL_SUFFIX)]
    return dict(zip(label_columns, spec.label_features))


def _parse_row(values, where, columns) -> tuple[str, dict, str]:
    filename = safe_filename(values[features.CSV_FILENAME_COLUMN], where)
    labels = {
        feature: _parse_label(values[column], where, column)
        for column, feature in columns.items()
    }
    group = values.get(GROUP_COLUMN, "")
    if GROUP_COLUMN in values and not group:
        raise ValueError(
            f"{where}, column {GROUP_COLUMN!r}: empty; give every row a "
            "group, or remove the column."
        )
    return filename, labels, group


def safe_filename(filename: str, where: str) -> str:
    """The normalised relative POSIX form of a CSV filename.

    Raises:
      ValueError: if it is empty, absolute, a URI, or climbs out of the
        image directory with `..`.
    """
    column = features.CSV_FILENAME_COLUMN
    if not filename:
        raise ValueError(f"{where}, column {column!r}: empty.")
    unix = filename.replace("\\", "/")
    normalised = posixpath.normpath(unix)
    escapes = normalised == ".." or normalised.startswith("../")
    absolute = unix.startswith("/") or _DRIVE.match(unix) or "://" in unix
    if absolute or escapes or normalised == "." or "\0" in unix:
        raise ValueError(
            f"{where}, column {column!r}: {filename!r} is refused: expected "
            "a path inside the image directory, relative to it."
        )
    return normalised


def _parse_label(text: str, where: str, column: str) -> int:
    if not text:
        raise ValueError(f"{where}, column {column!r}: empty; expected 0 or 1.")
    try:
        number = float(text.replace(",", "."))  # `1,0` from some locales.
    except ValueError:
        number = None
    if number not in (0.0, 1.0):
        raise ValueError(
            f"{where}, column {column!r}: expected 0 or 1, received {text!r}."
        )
    return int(number)


def _add_row(result: CsvRows, row: tuple, line: int, where: str) -> None:
    filename, labels, group = row
    if filename not in result.rows:
        result.rows[filename] = labels
        result.lines[filename] = line
        if group:
            result.groups[filename] = group
        return
    first = result.lines[filename]
    previous = (result.rows[filename], result.groups.get(filename, ""))
    if previous != (labels, group):
        raise ValueError(
            f"{where}: {filename} is listed again with different values "
            f"{_shown(labels, group)} (line {first}: {_shown(*previous)}). "
            "Keep one row."
        )
    logger.warning(
        "%s repeats %s from line %d with the same labels; merged.",
        where,
        filename,
        first,
    )
    result.problems.append(
        _problem(line, f"repeats {filename} from line {first}; merged")
    )


def _shown(labels: dict, group: str) -> dict:
    return {**labels, GROUP_COLUMN: group} if group else labels


def _problem(line: int, text: str) -> dict:
    return {"line": line, "problem": text}
