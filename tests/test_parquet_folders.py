"""A table as a folder of Parquet files (as Spark writes one): read by read_table, --data folders, ParquetSource
and the fingerprint, with each bad row named by its file and row; folders whose files disagree are refused."""

from __future__ import annotations

import os
from pathlib import Path

import pandas as pd
import pytest

from churnml.config import TimeConfig
from churnml.engine import ParquetSource, run_sql
from churnml.errors import ConfigError, SchemaError
from churnml.fingerprint import fingerprint
from churnml.io import Tables, folder_files, read_table
from churnml.labels import population


def _tx(ids: list[str], times: list[str], amounts: list[float]) -> pd.DataFrame:
    return pd.DataFrame({"customer_id": pd.Series(ids, dtype="str"), "timestamp": times, "amount": amounts})


def _spark_folder(root: Path) -> Path:
    """Two part files in partition folders region=EU and region=US%20East, plus the files Spark writes beside them."""
    folder = root / "transactions"
    (folder / "region=EU").mkdir(parents=True)
    (folder / "region=US%20East").mkdir()
    _tx(["007", "8"], ["2024-01-01", "2024-01-02"], [1.0, 2.0]).to_parquet(folder / "region=EU" / "part-0.parquet")
    _tx(["9", "9"], ["2024-01-03", "2024-01-04"], [3.0, 4.0]).to_parquet(folder / "region=US%20East" / "part-1.parquet")
    (folder / "_SUCCESS").write_text("")
    (folder / "region=EU" / ".part-0.parquet.crc").write_text("not parquet")
    return folder


def test_a_folder_is_read_file_after_file_with_its_partition_values_as_text(tmp_path):
    folder = _spark_folder(tmp_path)
    tx = read_table("transactions", folder)
    assert tx["customer_id"].tolist() == ["007", "8", "9", "9"]  # ids keep their leading zeros
    assert tx["amount"].tolist() == [1.0, 2.0, 3.0, 4.0]
    assert tx["timestamp"].dt.day.tolist() == [1, 2, 3, 4]
    assert tx["region"].tolist() == ["EU", "EU", "US East", "US East"]  # %20 decoded
    assert tx.index.equals(pd.RangeIndex(4))  # canonical frames have a fresh index
    # the same rows as one file, the partition column aside
    one = tmp_path / "one.parquet"
    _tx(["007", "8", "9", "9"], ["2024-01-01", "2024-01-02", "2024-01-03", "2024-01-04"],
        [1.0, 2.0, 3.0, 4.0]).to_parquet(one)
    pd.testing.assert_frame_equal(tx.drop(columns="region"), read_table("transactions", one))


def test_a_bad_row_of_a_folder_is_named_by_its_file_and_its_row_in_that_file(tmp_path):
    folder = _spark_folder(tmp_path)
    part = folder / "region=US%20East" / "part-1.parquet"
    _tx(["9", "9", "10"], ["2024-01-03", "bad", "2024-01-05"], [-3.0, 4.0, -5.0]).to_parquet(part)
    with pytest.raises(SchemaError) as err:
        read_table("transactions", folder)
    timestamp, amount = err.value.problems
    assert timestamp.startswith(f"transactions.timestamp: 1 unparseable timestamp at data row 2 of {part} (e.g. 'bad')")
    assert amount.startswith(f"transactions.amount: 2 negative amounts at data rows 1, 3 of {part} (e.g. -3.0, -5.0)")
    # rows of two files: each file with its own rows
    _tx(["007", "8"], ["2024-01-01", "2024-01-02"], [-1.0, 2.0]).to_parquet(folder / "region=EU" / "part-0.parquet")
    _tx(["9"], ["2024-01-03"], [-3.0]).to_parquet(part)
    with pytest.raises(SchemaError) as err:
        read_table("transactions", folder)
    assert err.value.problems[0].startswith(
        f"transactions.amount: 2 negative amounts at data row 1 of {folder / 'region=EU' / 'part-0.parquet'}, "
        f"data row 1 of {part} (e.g. -1.0, -3.0)")


def test_a_folder_whose_files_disagree_or_that_holds_no_parquet_is_refused(tmp_path):
    folder = tmp_path / "tx"
    folder.mkdir()
    _tx(["A"], ["2024-01-01"], [1.0]).to_parquet(folder / "a.parquet")
    _tx(["A"], ["2024-01-01"], [1]).to_parquet(folder / "b.parquet")  # amounts as int64
    with pytest.raises(SchemaError) as err:
        read_table("transactions", folder)
    assert str(err.value).startswith(
        f"table 'transactions': the Parquet files of {str(folder)!r} do not share one schema, which is needed to "
        f"read them as one table: column 'amount' is stored as double in {folder / 'a.parquet'}; as int64 in "
        f"{folder / 'b.parquet'}. Fix: write every file")
    csv = tmp_path / "csv"
    csv.mkdir()
    (csv / "part-0.csv").write_text("customer_id,timestamp,amount\nA,2024-01-01,1\n")
    with pytest.raises(SchemaError, match=r"the folder '.*csv' holds part-0\.csv: a folder is read as Parquet files "
                                          r"only; fix: write the table as Parquet, or give one CSV file's path"):
        read_table("transactions", csv)
    empty = tmp_path / "empty"
    (empty / "_temporary").mkdir(parents=True)
    with pytest.raises(SchemaError, match=r"holds no data file \(names starting with '_' or '\.' are not read\)"):
        read_table("transactions", empty)
    with pytest.raises(ConfigError, match=r"data.tables.transactions: the path '.*tx' is a folder and the format csv"):
        read_table("transactions", folder, fmt="csv")


def test_a_data_folder_takes_a_table_folder_by_either_name_but_not_both(tmp_path):
    folder = _spark_folder(tmp_path)
    assert folder_files(tmp_path) == {"transactions": folder}
    (tmp_path / "transactions.parquet").mkdir()
    with pytest.raises(ConfigError, match=r"transactions and transactions\.parquet are there"):
        folder_files(tmp_path)
    folder.rename(tmp_path / "moved")
    assert folder_files(tmp_path) == {"transactions": tmp_path / "transactions.parquet"}


def test_a_parquet_source_folder_is_its_data_files_and_its_fingerprint_follows_them(tmp_path):
    folder = _spark_folder(tmp_path)
    for part in folder.rglob("part-*.parquet"):  # a ParquetSource reads canonical files: times as times
        pd.read_parquet(part, partitioning=None).astype({"timestamp": "datetime64[us]"}).to_parquet(part)
    source = ParquetSource(folder)
    assert run_sql("SELECT COUNT(*) AS n, MIN(customer_id) AS first FROM t", {"t": source}).iloc[0].tolist() == \
        [4, "007"]
    # the customers with a purchase before 2024-01-04: 007, 8, 9
    assert sorted(population(Tables(transactions=source), [pd.Timestamp("2024-01-04")], TimeConfig())[
        "customer_id"]) == ["007", "8", "9"]
    assert run_sql("SELECT DISTINCT region FROM t ORDER BY 1", {"t": source})["region"].tolist() == ["EU", "US East"]
    before = fingerprint(folder)
    assert before == fingerprint(str(folder)) == fingerprint(source)
    part = folder / "region=EU" / "part-0.parquet"
    stat = os.stat(part)
    pd.read_parquet(part, partitioning=None).assign(amount=[1.0, 2.5]).to_parquet(part)
    os.utime(part, ns=(stat.st_atime_ns, stat.st_mtime_ns + 1_000_000_000))
    assert fingerprint(folder).digest != before.digest


def test_the_features_cli_gives_the_same_features_from_a_folder_of_part_files(tmp_path):
    from churnml.datasets.__main__ import main as datasets_main
    from churnml.features.__main__ import main as features_main

    files = tmp_path / "files"
    assert datasets_main(["synthetic", "--customers", "200", "--out", str(files), "--months", "6", "--quiet"]) == 0
    parts = tmp_path / "parts"
    parts.mkdir()
    for table in ("transactions", "events", "customers"):
        whole = pd.read_parquet(files / f"{table}.parquet")
        (parts / table).mkdir()
        half = len(whole) // 2
        whole.iloc[:half].to_parquet(parts / table / "part-00000.parquet", index=False)
        whole.iloc[half:].to_parquet(parts / table / "part-00001.parquet", index=False)
        (parts / table / "_SUCCESS").write_text("")
    one = {t: files / f"{t}.parquet" for t in ("transactions", "events", "customers")}
    (tmp_path / "subset").mkdir()
    for path in one.values():
        (tmp_path / "subset" / path.name).symlink_to(path)
    out = {}
    for name, data in (("files", tmp_path / "subset"), ("parts", parts)):
        out[name] = tmp_path / f"features_{name}"
        assert features_main(["--data", str(data), "--cutoff", "2023-05-01", "--out", str(out[name]),
                              "--set", "data.returns=keep"]) == 0
    from_files = pd.read_parquet(out["files"] / "features.parquet")
    assert len(from_files) > 100
    pd.testing.assert_frame_equal(pd.read_parquet(out["parts"] / "features.parquet"), from_files)
