"""Feedback from and to files: `handoff feedback import FILE` and `handoff feedback export DIR`.

Import validates every row with the API's contract (`FeedbackItem`) and records through the
same `FeedbackLog` into the same serving database, so a file and a webhook are one stream:
an event id posted and later imported (or imported twice) is recorded once. A file with any
bad row is refused whole, each bad row named, as a batch post is.

Export writes the feedback as the `outcomes` contract. With the CRM folder it came from, the
result is a whole CRM folder (its leads and events, its outcomes and the feedback's) that
`handoff validate` and `handoff train` read as they read any folder.
"""

from __future__ import annotations

import json
import uuid
from dataclasses import dataclass
from pathlib import Path

import pandas as pd
from pydantic import TypeAdapter, ValidationError

from data_contracts.crm_data import CrmData, read_folder, write_folder
from data_contracts.feedback import FeedbackItem, outcome_rows
from serving.feedback import FEEDBACK, FeedbackLog, Recorded, read_feedback
from serving.scoring import FieldError, utc_now
from serving.store import Store

_ITEM = TypeAdapter(FeedbackItem)
IMPORT_CHUNK = 5_000
SUFFIXES = (".csv", ".jsonl")


class FeedbackFileError(ValueError):
    """The file cannot be imported; the message names each bad row and field."""


def _records(path: Path) -> list[dict[str, object]]:
    if path.suffix == ".csv":
        frame = pd.read_csv(path, dtype=str, keep_default_na=False)
        return [{str(k): v for k, v in row.items() if v != ""} for row in frame.to_dict("records")]
    if path.suffix == ".jsonl":
        out = []
        for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), start=1):
            if not line.strip():
                continue
            try:
                value = json.loads(line)
            except json.JSONDecodeError as exc:
                raise FeedbackFileError(
                    f"line {number}: not JSON (at character {exc.pos})"
                ) from None
            out.append(value)
        return out
    raise FeedbackFileError(f"{path.name}: feedback files are {' or '.join(SUFFIXES)}")


def read_items(path: Path) -> list[FeedbackItem]:
    """Every row as an item, or `FeedbackFileError` naming every bad row (1-based data rows)."""
    items: list[FeedbackItem] = []
    errors: list[FieldError] = []
    seen: dict[str, int] = {}
    for number, record in enumerate(_records(Path(path)), start=1):
        try:
            item = _ITEM.validate_python(record)
        except ValidationError as exc:
            errors += [
                FieldError(("row", number, *e["loc"]), e["msg"], e["type"]) for e in exc.errors()
            ]
            continue
        first = seen.setdefault(item.event_id, number)
        if first != number:
            errors.append(
                FieldError(("row", number, "event_id"), f"repeats row {first}", "duplicate")
            )
        items.append(item)
    if errors:
        lines = [f"{_where(e.loc)}: {e.msg}" for e in errors]
        shown = lines[:50] + ([f"... and {len(lines) - 50} more"] if len(lines) > 50 else [])
        raise FeedbackFileError(
            f"{Path(path).name}: {len(errors)} problem(s), nothing imported\n" + "\n".join(shown)
        )
    return items


def _where(loc: tuple[str | int, ...]) -> str:
    row, fields = loc[1], ".".join(str(part) for part in loc[2:])
    return f"row {row}" + (f" {fields}" if fields else "")


@dataclass(frozen=True)
class Imported:
    recorded: int
    duplicate: int
    conflict: int

    def __str__(self) -> str:
        return (
            f"{self.recorded} recorded, {self.duplicate} already there (same content), "
            f"{self.conflict} conflicting (an event id already used for other content: kept)"
        )


def import_file(url: str, path: Path, timeout: float = 60.0) -> Imported:
    """Validate the whole file, then record it (every row committed when this returns)."""
    items = read_items(path)
    store = Store(url, [FEEDBACK])
    store.start()
    log = FeedbackLog(store, timeout_seconds=timeout)
    received_by = f"import:{uuid.uuid4().hex}"
    at = utc_now().isoformat()
    statuses: list[str] = []
    try:
        for start in range(0, len(items), IMPORT_CHUNK):
            done: Recorded = log.record_blocking(
                items[start : start + IMPORT_CHUNK],
                received_by=received_by,
                received_at=at,
                source="import",
            )
            statuses += done.statuses
    finally:
        store.close()
    return Imported(
        statuses.count("recorded"), statuses.count("duplicate"), statuses.count("conflict")
    )


def export_folder(url: str, out: Path, crm_dir: Path | None = None) -> dict[str, Path]:
    """The feedback as `outcomes` (with `crm_dir`: a whole CRM folder, its outcomes merged).

    The contract keeps one row per (lead, stage): where the CRM and the feedback both hold
    one, the earlier stands. The manifest's extraction time is the export's: feedback is
    known up to now, and censoring is judged from it.
    """
    feedback = outcome_rows(read_feedback(url))
    if crm_dir is None:
        out.mkdir(parents=True, exist_ok=True)
        path = out / "outcomes.parquet"
        feedback.to_parquet(path, index=False)
        return {"outcomes": path}
    crm = read_folder(crm_dir)
    known = crm.outcomes.copy()
    if len(known):
        known["occurred_at"] = pd.to_datetime(known["occurred_at"], utc=True, format="ISO8601")
    merged = pd.concat([known, feedback], ignore_index=True) if len(feedback) else known
    if len(merged):
        merged = merged.sort_values("occurred_at", kind="stable")
        merged = merged.drop_duplicates(["lead_id", "stage"], keep="first").reset_index(drop=True)
    merged["meeting_rating"] = merged["meeting_rating"].astype("Int64")
    exported = CrmData(
        leads=crm.leads,
        events=crm.events,
        outcomes=merged,
        source=f"feedback:{crm_dir}",
        extracted_at=pd.Timestamp(utc_now()),
    )
    return write_folder(exported, out)
