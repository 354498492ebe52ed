"""Read one table of a CRM export (CSV or Parquet) as it is, and remember each row's file.

Every column comes back as text (Arrow-backed `str`), the way a mapping reads values and
maps them, except Parquet timestamps, which stay timestamps. CSV goes through Arrow's
multi-threaded reader: a 20M-row activity export reads in seconds rather than minutes.
Missing markers are pandas' defaults ("", "NA", "null", ...) plus the table's own
`na_values`, so a file reads the same as `pandas.read_csv(dtype=str)` would.
"""

from __future__ import annotations

import csv
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import numpy.typing as npt
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.csv as pacsv
import pyarrow.parquet as pq
from pandas._libs.parsers import STR_NA_VALUES

FILE_FORMATS: tuple[str, ...] = ("csv", "parquet")


class ExportFileProblem(ValueError):
    """An export file that cannot be read as declared (empty, wrong encoding, bad header)."""


@dataclass(frozen=True)
class ReadOptions:
    """How one table's files are read (the mapping's `[tables.<name>]`)."""

    separator: str = ","
    encoding: str = "utf-8"
    na_values: tuple[str, ...] = ()
    default_na: bool = True  # also pandas' usual missing markers ("NA", "n/a", "null", ...)
    drop_columns: tuple[str, ...] = ()
    file_format: str | None = None  # None: by suffix
    columns: frozenset[str] | None = None  # read only these (None: all); absent ones stay absent


@dataclass
class ExportTable:
    """A table's rows (text columns), and for each row its file (index into `files`) and
    0-based data row in that file."""

    name: str
    files: tuple[str, ...]
    frame: pd.DataFrame
    file_code: npt.NDArray[np.int64]
    row: npt.NDArray[np.int64]
    header: tuple[str, ...] = ()  # every column the files have (read or not)

    def __len__(self) -> int:
        return len(self.frame)


def file_format(path: Path, declared: str | None) -> str:
    if declared is not None:
        return declared
    return "parquet" if path.suffix.lower() in (".parquet", ".pq") else "csv"


def _header(path: Path, options: ReadOptions) -> list[str]:
    """Column names as pandas gives them: blanks become `Unnamed: i`, repeats `name.1`."""
    encoding = (
        "utf-8-sig" if options.encoding.lower().replace("_", "-") == "utf-8" else options.encoding
    )
    try:
        with path.open(encoding=encoding, newline="") as handle:
            first = next(csv.reader(handle, delimiter=options.separator), None)
    except (UnicodeDecodeError, LookupError) as err:
        raise ExportFileProblem(
            f"{path.name}: cannot be read as {options.encoding}: {err}"
        ) from err
    if not first:
        raise ExportFileProblem(f"{path.name}: empty file (no header line)")
    names: list[str] = []
    seen: dict[str, int] = {}
    for i, raw in enumerate(first):
        name = raw.strip() or f"Unnamed: {i}"
        if name in seen:
            seen[name] += 1
            name = f"{name}.{seen[name]}"
        else:
            seen[name] = 0
        names.append(name)
    return names


def _read_csv(path: Path, options: ReadOptions) -> pa.Table:
    names = _header(path, options)
    wanted = names if options.columns is None else [n for n in names if n in options.columns]
    try:
        return pacsv.read_csv(
            path,
            read_options=pacsv.ReadOptions(
                column_names=names, skip_rows=1, encoding=options.encoding, block_size=1 << 24
            ),
            parse_options=pacsv.ParseOptions(delimiter=options.separator, newlines_in_values=True),
            convert_options=pacsv.ConvertOptions(
                column_types=dict.fromkeys(names, pa.string()),
                include_columns=wanted,
                null_values=sorted(
                    (set(STR_NA_VALUES) if options.default_na else {""}) | set(options.na_values)
                ),
                strings_can_be_null=True,
                quoted_strings_can_be_null=True,
            ),
        )
    except pa.ArrowInvalid as err:
        raise ExportFileProblem(f"{path.name}: not readable as CSV: {err}") from err


def _read_parquet(path: Path, options: ReadOptions) -> pa.Table:
    names = pq.read_schema(path).names
    wanted = names if options.columns is None else [n for n in names if n in options.columns]
    table = pq.read_table(path, columns=wanted)
    columns = []
    for field in table.schema:
        column = table[field.name]
        if not pa.types.is_timestamp(field.type):
            column = column.cast(pa.string())
        columns.append(column)
    out = pa.table(columns, names=table.column_names)
    if not options.na_values:
        return out
    na = pa.array(list(options.na_values), type=pa.string())
    return pa.table(
        [
            c if pa.types.is_timestamp(c.type) else pc.if_else(pc.is_in(c, value_set=na), None, c)
            for c in out.columns
        ],
        names=out.column_names,
    )


def _to_frame(table: pa.Table, drop: tuple[str, ...]) -> pd.DataFrame:
    kept = [name for name in table.column_names if name not in drop]
    frame = table.select(kept).to_pandas()
    for name in frame.columns:
        dtype = frame[name].dtype
        if dtype != "str" and not pd.api.types.is_datetime64_any_dtype(dtype):
            frame[name] = frame[name].astype("str")  # an all-null column reads as object
    return frame


def read_export_table(
    name: str, data_dir: Path, files: tuple[str, ...], options: ReadOptions
) -> ExportTable:
    """Read (and stack, in order) a table's files from `data_dir`; the caller checks that
    they exist."""
    frames: list[pd.DataFrame] = []
    header: list[str] = []
    for rel in files:
        path = Path(data_dir) / rel
        fmt = file_format(path, options.file_format)
        names = pq.read_schema(path).names if fmt == "parquet" else _header(path, options)
        header += [n for n in names if n not in header and n not in options.drop_columns]
        table = _read_parquet(path, options) if fmt == "parquet" else _read_csv(path, options)
        frames.append(_to_frame(table, options.drop_columns))
    sizes = [len(f) for f in frames]
    frame = pd.concat(frames, ignore_index=True) if len(frames) > 1 else frames[0]
    return ExportTable(
        name=name,
        files=files,
        frame=frame.reset_index(drop=True),
        file_code=np.repeat(np.arange(len(files), dtype=np.int64), sizes),
        row=np.concatenate([np.arange(n, dtype=np.int64) for n in sizes]),
        header=tuple(header),
    )
