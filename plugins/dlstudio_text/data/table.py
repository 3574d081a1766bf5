"""Labelled texts from a table: CSV, TSV (the csv module, dialect by extension) or JSON Lines.

Bad rows — a missing label, an empty text, an unterminated quote, a line that is not JSON — are skipped,
counted and listed with their line numbers; they never stop the load.
"""

from __future__ import annotations

import csv
import io
import json
from collections.abc import Iterator, Mapping
from pathlib import Path
from typing import Any

from dlstudio_text.data.folder import decode, split

#: Column names guessed when the text or label column is left empty ("auto").
TEXT_NAMES = ("text", "review", "sentence", "content", "body", "comment", "message", "document")
LABEL_NAMES = ("label", "sentiment", "class", "category", "target", "polarity", "y")
#: How many bad rows a message lists.
SHOW = 5
JSONL = (".jsonl", ".ndjson", ".json")


def _read_text(path: Path) -> str:
    path = Path(path).expanduser()
    if not str(path) or not path.is_file():
        raise ValueError(f"{path} is not a file: choose a .csv, .tsv or .jsonl file")
    text, _encoding = decode(path.read_bytes())
    if text is None:
        raise ValueError(f"{path} is a binary file, not a CSV/TSV/JSONL table")
    return text


def _dialect(path: Path) -> type[csv.Dialect]:
    return csv.excel_tab if Path(path).suffix.lower() in (".tsv", ".tab") else csv.excel


def csv_records(text: str, dialect: type[csv.Dialect]) -> Iterator[tuple[int, list[str] | None, str]]:
    """``(line, cells, problem)`` per record: ``line`` is where it starts (1-based), ``cells`` None when the
    record is broken (``problem`` says how); parsing goes on at the next line."""
    lines = text.splitlines(keepends=True)
    start = 0
    while start < len(lines):
        reader = csv.reader(lines[start:], dialect=dialect, strict=True)
        done = 0  # physical lines consumed by the records read so far
        try:
            for cells in reader:
                yield start + done + 1, cells, ""
                done = reader.line_num
            return
        except csv.Error as exc:
            reason = "unterminated quote" if "end of data" in str(exc) or "expected after" in str(exc) else str(exc)
            yield start + done + 1, None, reason
            start += done + 1


def columns(params: Mapping[str, Any]) -> list[str]:
    """The columns of the table in ``params["path"]`` (the CSV header, or the first JSON object's keys), after
    "" (guess them). The form's drop-downs for the text and label columns."""
    path = str(params.get("path", ""))
    if not path:
        raise ValueError("choose a file first")
    text = _read_text(Path(path))
    return ["", *_header(Path(path), text)]


def _header(path: Path, text: str) -> list[str]:
    if path.suffix.lower() in JSONL:
        for line in text.splitlines():
            if line.strip():
                try:
                    obj = json.loads(line)
                except json.JSONDecodeError:
                    continue
                if isinstance(obj, dict):
                    return [str(k) for k in obj]
        raise ValueError(f"{path} has no JSON object on any line")
    for _, cells, _ in csv_records(text, _dialect(path)):
        if cells:
            return [c.strip() for c in cells]
    raise ValueError(f"{path} is empty")


def _pick(name: str, header: list[str], guesses: tuple[str, ...], what: str, fallback: int) -> str:
    if name:
        if name not in header:
            raise ValueError(f"the {what} column {name!r} is not in the table; its columns are {', '.join(header)}")
        return name
    lowered = {h.lower(): h for h in header}
    for guess in guesses:
        if guess in lowered:
            return lowered[guess]
    return header[fallback]


def read_table(path: Path, *, text_column: str = "", label_column: str = "", valid_fraction: float = 0.2,
               seed: int = 0) -> tuple[list[tuple[str, int]], list[tuple[str, int]], list[str], list[str]]:
    """``(train, valid, classes, messages)`` from a CSV/TSV/JSONL file; classes are the label values, sorted.

    Empty column names are guessed (a "text"/"review" column; a "label"/"sentiment" column; else the first and
    the last).
    """
    path = Path(path).expanduser()
    text = _read_text(path)
    header = _header(path, text)
    if len(header) < 2:
        raise ValueError(f"{path} has {len(header)} column(s) ({', '.join(header)}): a table needs a text column "
                         "and a label column")
    text_col = _pick(text_column, header, TEXT_NAMES, "text", 0)
    label_col = _pick(label_column, header, LABEL_NAMES, "label", -1)
    if text_col == label_col:
        raise ValueError(f"the text and the label column are both {text_col!r}: choose two different columns")
    rows: list[tuple[int, str, str]] = []
    bad: list[tuple[int, str]] = []
    for line, record, problem in _records(path, text, header):
        if record is None:
            bad.append((line, problem))
            continue
        label = record.get(label_col)
        body = record.get(text_col)
        label = "" if label is None else str(label).strip()
        body = "" if body is None else str(body).strip()
        if not label:
            bad.append((line, "missing label"))
        elif not body:
            bad.append((line, "empty text"))
        else:
            rows.append((line, body, label))
    if not rows:
        raise ValueError(f"{path} has no usable row" + (f" ({_bad_note(bad)})" if bad else ""))
    classes = sorted({label for _, _, label in rows}, key=_label_key)
    if len(classes) < 2:
        raise ValueError(f"every row of {path} has the label {classes[0]!r} (column {label_col!r}): a classifier "
                         "needs two classes or more — is it the right label column?")
    index = {c: i for i, c in enumerate(classes)}
    train, valid = split([(body, index[label]) for _, body, label in rows], valid_fraction, seed)
    messages = [f"read {len(rows):,} rows of {path.name} (text: {text_col!r}, label: {label_col!r}); "
                f"{len(classes)} classes: {', '.join(classes[:10])}{' …' if len(classes) > 10 else ''}"]
    if bad:
        messages.append(f"skipped {_bad_note(bad)}")
    if len(classes) > max(50, len(rows) // 2):
        messages.append(f"{len(classes):,} distinct labels for {len(rows):,} rows: is {label_col!r} really the "
                        "label column?")
    return train, valid, classes, messages


def _label_key(label: str) -> tuple[int, float | str]:
    try:
        return 0, float(label)
    except ValueError:
        return 1, label


def _bad_note(bad: list[tuple[int, str]]) -> str:
    shown = "; ".join(f"line {line}: {why}" for line, why in bad[:SHOW])
    more = f"; and {len(bad) - SHOW} more" if len(bad) > SHOW else ""
    return f"{len(bad):,} bad row{'s' if len(bad) != 1 else ''} ({shown}{more})"


def _records(path: Path, text: str, header: list[str]) -> Iterator[tuple[int, dict | None, str]]:
    if path.suffix.lower() in JSONL:
        for number, line in enumerate(io.StringIO(text), start=1):
            if not line.strip():
                continue
            try:
                obj = json.loads(line)
            except json.JSONDecodeError as exc:
                yield number, None, f"not JSON ({exc.msg})"
                continue
            if not isinstance(obj, dict):
                yield number, None, f"a JSON {type(obj).__name__}, not an object"
                continue
            yield number, obj, ""
        return
    first = True
    for line, cells, problem in csv_records(text, _dialect(path)):
        if cells is None:
            yield line, None, problem
            continue
        if first:
            first = False
            continue
        if not any(c.strip() for c in cells):
            continue
        yield line, dict(zip(header, cells, strict=False)), ""
