"""`handoff demo`: the whole loop on generated data and embedded defaults.

Generate → validate → train → report → sign off as two clearly-marked demo users → promote →
score a few leads per quadrant with the champion. Real parts throughout: real MLflow store,
real LightGBM models; only the people signing are make-believe, and say so.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pandas as pd

from data_contracts.crm_data import read_folder
from data_contracts.synthetic import generate_to_folder
from data_contracts.validate import validate_folder
from models.mlflow_layout import CHAMPION, TEAMS
from models.mlflow_setup import configure_mlflow
from models.settings import Settings
from training.promote import promote_version
from training.report import write_report
from training.signoff import record_signoff
from training.train import run_training

DEMO_SIGNERS = {team: f"demo-{team}-lead (DEMO, not a real person)" for team in TEAMS}
PER_QUADRANT = 3


def score_examples(settings: Settings, data_dir: Path, n_leads: int = 2_000) -> pd.DataFrame:
    """Score recent leads with the champion as serving would, and keep a few per quadrant."""
    configure_mlflow(settings)
    import mlflow

    model = mlflow.pyfunc.load_model(f"models:/{settings.model_name}@{CHAMPION}")
    handoff_model = model.unwrap_python_model()
    crm = read_folder(data_dir)
    leads = crm.leads.sort_values("created_at").tail(n_leads)
    events = crm.events[crm.events["lead_id"].isin(leads["lead_id"])]
    as_of = pd.Series(crm.data_end, index=pd.Index(leads["lead_id"], name="lead_id"))
    scored = handoff_model.score_raw(leads, events, as_of=as_of, reasons=True)
    picks = scored.groupby("quadrant", group_keys=False).head(PER_QUADRANT)
    return picks


def _reason_text(reasons: object) -> str:
    if not isinstance(reasons, list):
        return ""
    return "; ".join(
        f"{'+' if r.get('direction') == 'up' else '-'} {r.get('text')}" for r in reasons[:3]
    )


def run_demo(
    settings: Settings,
    *,
    leads: int = 20_000,
    seed: int = 7,
    echo: Callable[[str], None] = print,
) -> None:
    """Run the loop and narrate each step."""
    data_dir = Path(settings.home) / "demo" / "crm"
    echo(f"1/7 generating {leads:,} synthetic leads into {data_dir}")
    summary = generate_to_folder(n_leads=leads, seed=seed, out_dir=data_dir)
    echo("    " + ", ".join(f"{k}={v}" for k, v in summary.items()))

    echo("2/7 validating against the data contracts")
    validation = validate_folder(data_dir)
    echo("    " + validation.report_text().splitlines()[0])
    if not validation.ok:
        raise SystemExit("demo data failed its contracts: see the report above")

    echo("3/7 training fit, interest and combined models, with baselines, logged to MLflow")
    result = run_training(data_dir, settings=settings)
    echo(result.summary_text())

    report_path = Path(settings.home) / "demo" / f"report-v{result.version}.html"
    echo(f"4/7 writing the review report to {report_path}")
    write_report(result.version, out=report_path, settings=settings)

    echo("5/7 signing off as two DEMO users (in real use, the marketing and BDR leads sign)")
    for team, who in DEMO_SIGNERS.items():
        echo(
            "    "
            + record_signoff(
                result.version,
                team=team,
                by=who,
                approve=True,
                comment="demo sign-off on generated data",
                settings=settings,
            )
        )

    echo(f"6/7 promoting version {result.version} to champion")
    echo("    " + promote_version(result.version, settings=settings))

    echo("7/7 scoring recent leads with the champion: a few per quadrant")
    picks = score_examples(settings, data_dir)
    for lead_id, row in picks.iterrows():
        echo(
            f"  {lead_id!s:<10} {row['quadrant']:<16} fit {row['fit_score']:>3} "
            f"interest {row['interest_score']:>3} win {row['combined_score']:>3}  "
            f"-> {row['action']} (tier {row['tier']}, within {row['speed_to_lead_minutes']} min)"
        )
        echo(f"      fit: {_reason_text(row['fit_reasons'])}")
        echo(f"      interest: {_reason_text(row['interest_reasons'])}")
    echo(
        f"\nMLflow store: {settings.resolved_tracking_uri}\n"
        f"Next: `handoff serve` to answer score calls with version {result.version}."
    )
