from pathlib import Path

import pytest

from serving.records import text_problem
from serving.sources import header_problem, input_files, read_rows


def _rows(path: Path) -> list[tuple[int, dict | None, str]]:
    return [
        (row.number, row.record, row.error.reason if row.error else "")
        for row in read_rows(path)
    ]


def test_csv_quoting_that_follows_the_standard_reads_as_written(tmp_path):
    source = tmp_path / "in.csv"
    source.write_text(
        'id,text\n1,"送得\n太慢"\n\n2,"他说""好吃"""\n3,5" 的屏幕\n4\n5,好,多\n6,行',
        "utf-8",
    )

    rows = _rows(source)

    assert [(n, r) for n, r, _ in rows if r is not None] == [
        (1, {"id": "1", "text": "送得\n太慢"}),
        (2, {"id": "2", "text": '他说"好吃"'}),
        (3, {"id": "3", "text": '5" 的屏幕'}),
        (4, {"id": "4", "text": None}),
        (6, {"id": "6", "text": "行"}),
    ]
    assert [(n, "more cells" in why) for n, _, why in rows if why] == [(5, True)]


def test_an_unclosed_quote_costs_its_row_not_the_rows_after_it(tmp_path):
    source = tmp_path / "in.csv"
    source.write_text('id,text\n1,送餐很快\n2,"汤洒了\n3,太贵了\n4,"好吃\n', "utf-8")

    rows = _rows(source)

    assert [(n, r) for n, r, _ in rows if r is not None] == [
        (1, {"id": "1", "text": "送餐很快"}),
        (3, {"id": "3", "text": "太贵了"}),
    ]
    errors = [(n, why) for n, _, why in rows if why]
    assert [n for n, _ in errors] == [2, 4]
    assert all("never closed" in why and "close the quote" in why for _, why in errors)


def test_an_unclosed_quote_in_a_large_file_is_a_row_error_not_a_crash(tmp_path):
    # Past csv's cell limit (131,072 characters) the reader raises instead of
    # swallowing the rest of the file.
    source = tmp_path / "in.csv"
    body = "".join(f"{i},这家店的菜真的很好吃送餐也快\n" for i in range(2, 20_002))
    source.write_text('id,text\n1,"没关引号\n' + body, "utf-8")

    rows = _rows(source)

    assert len(rows) == 20_001
    assert rows[0][0] == 1 and "never closed" in rows[0][2]
    assert [r["id"] for _, r, _ in rows[1:]] == [str(i) for i in range(2, 20_002)]


def test_a_stray_carriage_return_costs_its_row(tmp_path):
    source = tmp_path / "in.csv"
    source.write_bytes("id,text\n1,送得\r太慢\n2,很好吃\n".encode())

    rows = _rows(source)

    assert rows[0][0] == 1 and "unreadable CSV" in rows[0][2]
    assert "double quotes" in rows[0][2]
    assert rows[1][:2] == (2, {"id": "2", "text": "很好吃"})


def test_text_after_a_closing_quote_costs_its_row(tmp_path):
    source = tmp_path / "in.csv"
    source.write_text('id,text\n1,"好吃"的店\n2,很好吃\n', "utf-8")

    rows = _rows(source)

    assert rows[0][0] == 1 and "after the closing quote" in rows[0][2]
    assert rows[1][:2] == (2, {"id": "2", "text": "很好吃"})


def test_a_broken_header_is_reported_not_raised(tmp_path):
    source = tmp_path / "in.csv"
    source.write_text('id,"text\n', "utf-8")

    rows = _rows(source)

    assert len(rows) == 1 and "header" in rows[0][2]


def test_json_lines_errors_say_what_is_wrong_and_the_fix(tmp_path):
    source = tmp_path / "in.jsonl"
    source.write_text(
        '[{"text": "好吃"}]\n'
        '{"text": "送得太慢\n'
        '{"text": "好", "n": ' + "9" * 5000 + "}\n"
        '"只是一句话"\n'
        '{"text": "很好吃"}\n',
        "utf-8",
    )

    rows = _rows(source)

    assert "JSON array" in rows[0][2] and "jq" in rows[0][2]
    assert "cut short" in rows[1][2]
    assert rows[2][2].startswith("unreadable JSON")  # past Python's int digits
    assert "got str" in rows[3][2] and '{"text": "..."}' in rows[3][2]
    assert rows[4][:2] == (5, {"text": "很好吃"})


def test_undecodable_bytes_are_reported_in_full(tmp_path):
    source = tmp_path / "in.csv"
    source.write_bytes(b"id,text\n1,\xff\xfe\xfa\n2,\xe5\xa5\xbd\n")

    rows = _rows(source)

    reason = next(why for _, _, why in rows if why)
    assert reason.startswith("bytes not valid utf-8 (invalid start byte at byte 2)")
    assert reason.endswith("--encoding (gbk, gb18030)")
    assert rows[-1][1] == {"id": "2", "text": "好"}


def test_gbk_is_detected_by_majority_not_by_the_first_bad_line(tmp_path):
    mixed, gbk = tmp_path / "mixed.jsonl", tmp_path / "gbk.jsonl"
    utf8_lines = ['{"text": "送得太慢了"}\n'.encode()] * 3
    mixed.write_bytes('{"text": "好"}\n'.encode("gbk") + b"".join(utf8_lines))
    gbk.write_bytes(b"".join(line.decode().encode("gbk") for line in utf8_lines))

    assert [r for _, r, _ in _rows(mixed)][1:] == [{"text": "送得太慢了"}] * 3
    assert "not valid utf-8" in _rows(mixed)[0][2]
    assert [r for _, r, _ in _rows(gbk)] == [{"text": "送得太慢了"}] * 3


def test_a_file_that_is_not_parquet_is_named(tmp_path):
    source = tmp_path / "shard.parquet"
    source.write_bytes(b"not parquet at all")

    with pytest.raises(ValueError, match="shard.parquet.*not one"):
        _rows(source)


def test_a_null_text_is_called_missing():
    assert text_problem(None) == "missing 'text' (null); give the row its comment text"
    assert text_problem(float("nan")).startswith("missing 'text'")
    assert text_problem(42) == "expected 'text' as a string, got int"


def test_a_folder_names_the_files_it_leaves_out(tmp_path, caplog):
    (tmp_path / "a.jsonl").write_text('{"text": "好"}\n', "utf-8")
    (tmp_path / "notes.txt").write_text("not a shard", "utf-8")

    files = input_files(str(tmp_path))
    input_files(str(tmp_path))  # a job lists its folder more than once

    assert [f.name for f in files] == ["a.jsonl"]
    assert caplog.text.count("left out: notes.txt") == 1


def test_a_csv_is_refused_by_its_header_even_without_rows(tmp_path):
    headerless, no_rows, good = (tmp_path / f"{n}.csv" for n in ("a", "b", "c"))
    headerless.write_text("1,送得太慢了\n", "utf-8")  # the row reads as the header
    no_rows.write_text("id,comment\n", "utf-8")
    good.write_text("id,text\n", "utf-8")

    assert "found '1', '送得太慢了'" in header_problem(headerless)
    assert "found 'id', 'comment'" in header_problem(no_rows)
    assert header_problem(good) is None


def test_an_undecodable_csv_row_is_numbered_as_a_data_row(tmp_path):
    source = tmp_path / "in.csv"
    source.write_bytes("id,text\n1,好吃\n2,\n".encode() + b"3,\xff\n4,ok\n")

    rows = _rows(source)

    assert [(n, bool(why)) for n, _, why in rows] == [
        (1, False),
        (2, False),
        (3, True),
        (4, False),
    ]
    assert rows[3][1] == {"id": "4", "text": "ok"}


def test_a_utf16_file_is_refused_with_the_fix(tmp_path):
    source = tmp_path / "in.csv"
    source.write_text("id,text\n1,好吃\n", "utf-16")

    with pytest.raises(ValueError, match="got UTF-16.*save the file as UTF-8"):
        header_problem(source)


def test_a_parquet_file_damaged_past_its_footer_is_named(tmp_path):
    import pandas as pd
    import pyarrow.parquet as pq

    source = tmp_path / "shard.parquet"
    texts = [f"送得太慢了{i}" for i in range(4000)]
    pd.DataFrame({"text": texts}).to_parquet(source, row_group_size=1000)
    page = pq.ParquetFile(source).metadata.row_group(2).column(0).data_page_offset
    body = bytearray(source.read_bytes())
    body[page : page + 64] = b"\xff" * 64  # a page header; the footer is intact
    source.write_bytes(bytes(body))

    with pytest.raises(ValueError, match="shard.parquet.*not one"):
        _rows(source)
