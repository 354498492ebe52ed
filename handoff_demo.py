"""`handoff demo`: the whole loop on generated data and embedded defaults.

Generate → validate → train → report → sign off as two clearly-marked demo users → promote →
score the folder with the champion exactly as `handoff score` does, and show a few leads per
quadrant. Real parts throughout: real MLflow store, real LightGBM models, serving's own champion
loading and scoring; only the people signing are make-believe, and say so. The demo drives both
training and serving, so it sits on top beside the CLI, and nothing imports it.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pandas as pd

from data_contracts.synthetic import generate_to_folder
from data_contracts.validate import validate_folder
from models.mlflow_layout import SMALL_DATA, TEAMS
from models.wording import duration
from serving.batch_score import score_folder
from serving.settings import ServingSettings
from training.promote import promote_version
from training.report import write_report
from training.signoff import record_signoff
from training.train import run_training

DEMO_SIGNERS = {team: f"demo-{team}-lead (DEMO, not a real person)" for team in TEAMS}
PER_QUADRANT = 3


def score_examples(
    settings: ServingSettings, data_dir: Path, out: Path, echo: Callable[[str], None]
) -> pd.DataFrame:
    """Score the whole folder with the champion as `handoff score` does (the file is `out`),
    and keep the most recent few leads per quadrant to show: the generator writes leads in
    creation order, and the oldest have long gone quiet."""
    for line in score_folder(data_dir, out=out, settings=settings).splitlines():
        echo(f"    {line}")
    scored = pd.read_parquet(out)
    return scored.groupby("quadrant", group_keys=False).tail(PER_QUADRANT)


def run_demo(
    settings: ServingSettings,
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
    # Too few wins to trust (a small demo): the demo signers acknowledge it, as reviewers must.
    acknowledged = [SMALL_DATA] if result.summary.get("small_data") else []
    for team, who in DEMO_SIGNERS.items():
        echo(
            "    "
            + record_signoff(
                result.version,
                team=team,
                by=who,
                approve=True,
                comment="demo sign-off on generated data",
                acknowledge=acknowledged,
                settings=settings,
            )
        )

    echo(f"6/7 promoting version {result.version} to champion")
    echo("    " + promote_version(result.version, settings=settings))

    scores_path = Path(settings.home) / "demo" / "scores.parquet"
    echo("7/7 scoring every lead with the champion, as `handoff score` does: a few per quadrant")
    picks = score_examples(settings, data_dir, scores_path, echo)
    for row in picks.to_dict("records"):
        echo(
            f"  {row['lead_id']:<10} {row['quadrant']:<16} fit {row['fit_score']:>3} "
            f"interest {row['interest_score']:>3} win {row['combined_score']:>3}  "
            f"-> {row['action']} (tier {row['tier']}, "
            f"within {duration(row['speed_to_lead_minutes'])})"
        )
        echo(f"      fit: {row['fit_reasons']}")
        echo(f"      interest: {row['interest_reasons']}")
        echo(f"      for the CRM: {row['combined_reason_text']}")
    echo(
        f"\nMLflow store: {settings.resolved_tracking_uri}\n"
        f"Next: `handoff serve` to answer score calls with version {result.version}, or "
        "`handoff review` to sign off in a browser.\n"
        f"Review report: {report_path.resolve()}"
    )
