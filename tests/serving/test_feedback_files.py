"""`handoff feedback import` and `export`: the API's checks, the same store, and a folder the
contracts accept."""

from __future__ import annotations

import json
from pathlib import Path

import pandas as pd
import pytest
from typer.testing import CliRunner, Result

from data_contracts.crm_data import read_folder
from data_contracts.synthetic import generate_to_folder
from data_contracts.validate import validate_folder
from handoff_cli import app
from serving.feedback import read_feedback


@pytest.fixture(scope="module")
def crm(tmp_path_factory: pytest.TempPathFactory) -> Path:
    folder = tmp_path_factory.mktemp("crm")
    generate_to_folder(n_leads=400, seed=11, out_dir=folder)
    return folder


def run(home: Path, *args: str | Path) -> Result:
    env = {"HANDOFF_HOME": str(home), "HANDOFF_DATABASE_URL": f"sqlite:///{home / 'db.sqlite'}"}
    return CliRunner().invoke(app, [str(a) for a in args], env=env)


def feedback_rows(crm: Path, n: int = 12) -> list[dict[str, object]]:
    """Feedback for leads the CRM holds no stage for beyond MQL, after their last one."""
    data = read_folder(crm)
    outcomes = data.outcomes.assign(
        occurred_at=pd.to_datetime(data.outcomes["occurred_at"], utc=True)
    )
    beyond = set(outcomes.loc[outcomes["stage"].astype(str) != "mql", "lead_id"].astype(str))
    leads = data.leads.assign(created_at=pd.to_datetime(data.leads["created_at"], utc=True))
    last = outcomes.groupby(outcomes["lead_id"].astype(str))["occurred_at"].max()
    rows: list[dict[str, object]] = []
    for lead in leads[~leads["lead_id"].astype(str).isin(beyond)].head(n).itertuples():
        lead_id = str(lead.lead_id)
        start = max(lead.created_at, last.get(lead_id, lead.created_at)) + pd.Timedelta(hours=1)
        rows.append(
            {
                "event_id": f"t-{lead_id}",
                "lead_id": lead_id,
                "type": "touch",
                "occurred_at": start.isoformat(),
                "channel": "phone",
            }
        )
        later = (start + pd.Timedelta(days=2)).isoformat()
        if len(rows) % 3:
            rows.append(
                {
                    "event_id": f"a-{lead_id}",
                    "lead_id": lead_id,
                    "type": "sales_accepted",
                    "occurred_at": later,
                    "meeting_rating": 4,
                }
            )
        else:
            rows.append(
                {
                    "event_id": f"r-{lead_id}",
                    "lead_id": lead_id,
                    "type": "sales_rejected",
                    "occurred_at": later,
                    "reject_reason": "bad_timing",
                    "meeting_rating": 2,
                }
            )
    return rows


def test_feedback_import_records_once_and_export_passes_the_contracts(
    crm: Path, tmp_path: Path
) -> None:
    rows = feedback_rows(crm)
    csv = tmp_path / "feedback.csv"
    pd.DataFrame(rows).to_csv(csv, index=False)
    first = run(tmp_path, "feedback", "import", csv)
    assert first.exit_code == 0, first.output
    assert first.output.startswith(f"{len(rows)} recorded")
    jsonl = tmp_path / "feedback.jsonl"
    jsonl.write_text("\n".join(json.dumps(r) for r in rows))
    again = run(tmp_path, "feedback", "import", jsonl)  # the same events, another format
    assert again.exit_code == 0 and again.output.startswith(f"0 recorded, {len(rows)} already")
    assert len(read_feedback(f"sqlite:///{tmp_path / 'db.sqlite'}")) == len(rows)

    out = tmp_path / "export"
    exported = run(tmp_path, "feedback", "export", out, "--crm", crm)
    assert exported.exit_code == 0, exported.output
    result = validate_folder(out)
    assert result.ok, result.report_text()
    stages = set(zip(result.valid.outcomes["lead_id"], result.valid.outcomes["stage"], strict=True))
    for r in rows:
        stage = "accepted" if r["type"] == "touch" else r["type"]
        assert (r["lead_id"], stage) in stages
    assert len(result.valid.leads) == len(read_folder(crm).leads)
    assert run(tmp_path, "validate", out).exit_code == 0


def test_feedback_import_bad_rows_refuse_the_file_each_named(crm: Path, tmp_path: Path) -> None:
    rows = feedback_rows(crm, n=3)
    rows[1] = {**rows[1], "meeting_rating": 9}
    rows[2] = {**rows[2], "type": "telepathy"}
    csv = tmp_path / "bad.csv"
    pd.DataFrame(rows).to_csv(csv, index=False)
    result = run(tmp_path, "feedback", "import", csv)
    assert result.exit_code == 1
    assert "row 2 meeting_rating" in result.output
    assert "row 3 type" in result.output
    assert "nothing imported" in result.output
    assert "Traceback" not in result.output


def test_feedback_export_without_crm_writes_the_outcomes_contract(
    crm: Path, tmp_path: Path
) -> None:
    rows = feedback_rows(crm, n=4)
    jsonl = tmp_path / "f.jsonl"
    jsonl.write_text("\n".join(json.dumps(r) for r in rows))
    assert run(tmp_path, "feedback", "import", jsonl).exit_code == 0
    assert run(tmp_path, "feedback", "export", tmp_path / "out").exit_code == 0
    from data_contracts.schemas import Outcome

    outcomes = Outcome.validate(pd.read_parquet(tmp_path / "out" / "outcomes.parquet"))
    assert len(outcomes) == len(rows)
