"""Table fingerprints: the same rows give one digest whatever their order; any change gives another."""

from __future__ import annotations

import os

import numpy as np
import pandas as pd

from churnml.engine import ParquetSource
from churnml.fingerprint import column_kinds, fingerprint

TX = pd.DataFrame({
    "customer_id": pd.Series(["a", "b", "b"], dtype="str"),
    "time": pd.to_datetime(["2024-01-01 10:00", "2024-01-02 11:00", "2024-01-02 11:00"], utc=True),
    "amount": [10.0, 5.5, 5.5],
})


def digest(frame: pd.DataFrame) -> str:
    return fingerprint(frame).digest


def test_row_and_column_order_do_not_change_the_digest():
    assert digest(TX.iloc[[2, 0, 1]].reset_index(drop=True)) == digest(TX)
    assert digest(TX.set_index(pd.Index([7, 8, 9]))) == digest(TX)  # the index is not content
    assert digest(TX[["amount", "time", "customer_id"]]) == digest(TX)


def test_any_value_a_repeated_row_a_column_name_or_a_type_changes_it():
    base = digest(TX)
    changed = [
        TX.assign(amount=[10.0, 5.5, 5.0]),              # one amount
        TX.assign(customer_id=["a", "b", "B"]),          # one id's case
        TX.iloc[:2],                                     # the repeated row dropped
        pd.concat([TX, TX.iloc[[0]]]),                   # a row repeated once more
        TX.rename(columns={"amount": "value"}),          # a column's name
        TX.assign(amount=TX["amount"].astype("float32")),  # a column's type
        TX.assign(time=TX["time"] + pd.Timedelta(seconds=1)),
    ]
    digests = [digest(f) for f in changed]
    assert base not in digests and len(set(digests)) == len(digests)


def test_a_category_column_hashes_its_values_not_its_codes():
    one = TX.assign(customer_id=pd.Categorical(TX["customer_id"], categories=["a", "b"]))
    other = TX.assign(customer_id=pd.Categorical(TX["customer_id"], categories=["b", "a", "z"]))
    assert digest(one) == digest(other)


def test_the_fingerprint_counts_rows_and_an_empty_table_has_a_digest_of_its_own():
    print_ = fingerprint(TX)
    assert (print_.rows, print_.covers, len(print_.digest)) == (3, "rows", 16)
    assert digest(TX.iloc[:0]) != digest(TX) and fingerprint(TX.iloc[:0]).rows == 0


def test_a_parquet_source_is_fingerprinted_by_its_files_without_reading_them(tmp_path):
    path = tmp_path / "tx.parquet"
    TX.to_parquet(path)
    first = fingerprint(ParquetSource(str(path)))
    assert first.covers == "files" and first.rows is None
    assert fingerprint(ParquetSource(str(path))) == first
    assert fingerprint(ParquetSource(str(path))[["customer_id", "amount"]]).digest != first.digest
    assert fingerprint(str(path)) == first  # a path: its files, as a ParquetSource of it (Spark's tables)
    TX.iloc[:2].to_parquet(path)
    os.utime(path, ns=(1, 1))  # another size and time: another digest
    assert fingerprint(ParquetSource(str(path))).digest != first.digest


def test_column_kinds_are_mlflows_types_and_required_means_no_missing_value():
    frame = pd.DataFrame({
        "n": np.array([1, 2], dtype="int32"), "big": np.array([1, 2], dtype="int64"),
        "x": [1.0, np.nan], "f": np.array([1, 2], dtype="float32"), "flag": [True, False],
        "t": pd.to_datetime(["2024-01-01", None]), "plan": pd.Categorical(["a", "b"]),
        "id": pd.Series(["a", None], dtype="str"), "maybe": pd.array([1, None], dtype="Int64"),
    })
    assert column_kinds(frame) == [
        ("n", "integer", True), ("big", "long", True), ("x", "double", False), ("f", "float", True),
        ("flag", "boolean", True), ("t", "datetime", False), ("plan", "string", True), ("id", "string", False),
        ("maybe", "long", False),
    ]


def test_chunks_repeated_column_names_and_no_columns_give_a_digest(monkeypatch):
    import churnml.fingerprint as fp

    whole = digest(TX)
    monkeypatch.setattr(fp, "CHUNK_ROWS", 2)  # 3 rows in chunks of 2 and 1: the same sum
    assert digest(TX) == whole
    twice = pd.concat([TX, TX[["amount"]]], axis=1)  # 'amount' twice
    assert digest(twice) != whole and len(column_kinds(twice)) == 4
    assert digest(twice.iloc[::-1]) == digest(twice)
    assert digest(pd.DataFrame(index=range(3))) != digest(pd.DataFrame(index=range(2)))
