"""Tables of labelled texts: columns offered from the header, bad rows reported with their line numbers."""

from __future__ import annotations

import pytest

from dlstudio_text.data.table import columns, read_table

CSV = (
    'id,review,sentiment\n'             # line 1
    '1,"a fine, warm film",pos\n'        # 2
    '2,dull and long,neg\n'              # 3
    '3,no label here,\n'                 # 4
    '4,,neg\n'                           # 5
    '5,"never closed,pos\n'              # 6: unterminated quote
    '6,"two\nlines",pos\n'               # 7-8: a quoted line break is fine
    '7,lovely,pos\n'                     # 9
    '8,boring,neg\n'                     # 10
)


def test_csv_bad_rows_are_counted_and_listed_with_line_numbers(tmp_path):
    path = tmp_path / "reviews.csv"
    path.write_text(CSV)
    assert columns({"path": str(path)}) == ["", "id", "review", "sentiment"]
    train, _valid, classes, messages = read_table(path, valid_fraction=0.0)
    assert classes == ["neg", "pos"]
    assert sorted(train) == sorted([("a fine, warm film", 1), ("dull and long", 0), ("two\nlines", 1),
                                    ("lovely", 1), ("boring", 0)])
    note = messages[1]
    assert "3 bad rows" in note
    assert "line 4: missing label" in note and "line 5: empty text" in note and "line 6: unterminated quote" in note
    assert "'review'" in messages[0] and "'sentiment'" in messages[0]


def test_tsv_is_read_with_tabs_and_chosen_columns(tmp_path):
    path = tmp_path / "data.tsv"
    path.write_text("label\tbody\n1\tgood, really good\n0\tbad\n1\tfine\n0\tpoor\n")
    train, valid, classes, _ = read_table(path, text_column="body", label_column="label", valid_fraction=0.5)
    assert classes == ["0", "1"]
    assert sorted(train + valid) == [("bad", 0), ("fine", 1), ("good, really good", 1), ("poor", 0)]
    assert sorted(y for _, y in valid) == [0, 1]


def test_jsonl_bad_json_is_reported_and_the_rest_read(tmp_path):
    path = tmp_path / "data.jsonl"
    path.write_text('{"text": "great", "label": "pos"}\n{"text": "awful", "label": "neg"\n\n'
                    '{"text": "awful", "label": "neg"}\n[1, 2]\n{"text": "meh"}\n')
    assert columns({"path": str(path)}) == ["", "text", "label"]
    train, _, _classes, messages = read_table(path, valid_fraction=0.0)
    assert sorted(train) == [("awful", 0), ("great", 1)]
    assert "line 2: not JSON" in messages[1] and "line 5: a JSON list" in messages[1]
    assert "line 6: missing label" in messages[1]


def test_one_label_and_an_unknown_column_are_clear_errors(tmp_path):
    path = tmp_path / "one.csv"
    path.write_text("text,label\na,x\nb,x\n")
    with pytest.raises(ValueError, match=r"every row .* has the label 'x'"):
        read_table(path)
    with pytest.raises(ValueError, match="'stars' is not in the table; its columns are text, label"):
        read_table(path, label_column="stars")
    with pytest.raises(ValueError, match="choose a file first"):
        columns({"path": ""})
