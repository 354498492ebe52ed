"""The `handoff` command: wires the stages together. Nothing imports this module.

Each command imports its stage lazily so that `handoff --help` stays fast.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Annotated, TypeVar

import typer

from models.mlflow_setup import disable_telemetry

if TYPE_CHECKING:
    from models.settings import Settings

disable_telemetry()

app = typer.Typer(
    help="Handoff: lead scoring learned backwards from closed/won deals.",
    no_args_is_help=True,
    pretty_exceptions_enable=False,
)

DataDir = Annotated[Path, typer.Argument(exists=True, file_okay=False, help="CRM data folder.")]
MappingOpt = Annotated[
    Path | None,
    typer.Option(
        "--mapping", exists=True, dir_okay=False, help="TOML mapping of a foreign export."
    ),
]


SettingsT = TypeVar("SettingsT", bound="Settings")


def _settings() -> Settings:
    """The shared settings, as every command but `serve` reads them."""
    from models.settings import Settings

    return _loaded(Settings)


def _loaded(kind: type[SettingsT]) -> SettingsT:
    """Settings from the environment; a bad variable ends the command with one line per
    problem, naming the variable and never its value."""
    from models.settings import SettingsError, load_settings

    try:
        return load_settings(kind)
    except SettingsError as error:
        for line in str(error).splitlines():
            typer.echo(f"handoff: {line}", err=True)
        raise typer.Exit(code=2) from None


@app.command()
def demo(
    leads: Annotated[
        int, typer.Option("--leads", min=1000, help="Demo leads to generate.")
    ] = 20_000,
    seed: Annotated[int, typer.Option("--seed")] = 7,
) -> None:
    """The whole loop on embedded defaults: generate, validate, train, report, sign off, promote, score."""
    from training.demo import run_demo

    run_demo(_settings(), leads=leads, seed=seed, echo=typer.echo)


@app.command()
def generate(
    out: Annotated[Path, typer.Option("--out", help="Folder to write the CRM tables to.")],
    leads: Annotated[int, typer.Option("--leads", min=1, help="Number of leads.")] = 10_000,
    seed: Annotated[int, typer.Option("--seed", help="Random seed.")] = 0,
) -> None:
    """Write a realistic synthetic CRM folder with known true win probabilities."""
    from data_contracts.synthetic import generate_to_folder

    summary = generate_to_folder(n_leads=leads, seed=seed, out_dir=out)
    for key, value in summary.items():
        typer.echo(f"{key:>24}: {value}")


@app.command()
def validate(
    data_dir: DataDir,
    mapping: MappingOpt = None,
    quarantine: Annotated[
        Path | None, typer.Option("--quarantine", help="Where failing rows go.")
    ] = None,
) -> None:
    """Check a CRM folder against the contracts; exit 1 with a row-level report on failure."""
    from data_contracts.validate import validate_folder

    result = validate_folder(data_dir, mapping=mapping, quarantine_dir=quarantine)
    typer.echo(result.report_text())
    if not result.ok:
        raise typer.Exit(code=1)


@app.command()
def train(
    data_dir: DataDir,
    mapping: MappingOpt = None,
    horizon_days: Annotated[int, typer.Option("--horizon-days", min=1)] = 180,
    policy: Annotated[
        Path | None,
        typer.Option("--policy", exists=True, dir_okay=False, help="Your own quadrant policy."),
    ] = None,
) -> None:
    """Validate, build features, train, evaluate and register a new candidate version."""
    from training.train import run_training

    result = run_training(
        data_dir,
        mapping=mapping,
        horizon_days=horizon_days,
        policy_path=policy,
        settings=_settings(),
    )
    typer.echo(result.summary_text())


@app.command()
def backtest(
    data_dir: DataDir,
    mapping: MappingOpt = None,
    horizon_days: Annotated[int, typer.Option("--horizon-days", min=1)] = 180,
    folds: Annotated[int, typer.Option("--folds", min=1, help="Rolling origins.")] = 4,
    out: Annotated[
        Path | None, typer.Option("--out", help="Write the per-fold table (CSV).")
    ] = None,
) -> None:
    """Rolling-origin backtest: retrain at several origins, test each on the next window.

    An evaluation, not a version: nothing is registered.
    """
    from training.backtest import backtest_folder, summarise

    table = backtest_folder(data_dir, mapping=mapping, horizon_days=horizon_days, n_folds=folds)
    if table.empty:
        typer.echo("no fold had wins and losses in every window", err=True)
        raise typer.Exit(1)
    by_fold = table.pivot_table(
        index=["fold", "test_start", "n_test", "test_win_rate"], columns="model", values="roc_auc"
    )
    typer.echo("Test ROC AUC per fold:\n" + by_fold.round(4).to_string())
    typer.echo("\nOver folds:\n" + summarise(table).round(4).to_string(index=False))
    if out is not None:
        table.to_csv(out, index=False)
        typer.echo(f"\nper-fold table -> {out}")


@app.command()
def report(
    version: Annotated[str, typer.Argument(help="Model version number.")],
    out: Annotated[Path | None, typer.Option("--out", help="HTML file to write.")] = None,
) -> None:
    """Write the self-contained HTML review report for a version (and log it to its run)."""
    from training.report import write_report
    from training.versions import UnknownVersion

    try:
        path = write_report(version, out=out, settings=_settings())
    except UnknownVersion as error:
        typer.echo(str(error), err=True)
        raise typer.Exit(code=1) from None
    typer.echo(f"report written to {path}")


@app.command()
def signoff(
    version: Annotated[str, typer.Argument(help="Model version number.")],
    team: Annotated[str, typer.Option("--team", help="marketing or bdr")],
    by: Annotated[str, typer.Option("--by", help="Who signs.")],
    reject: Annotated[bool, typer.Option("--reject", help="Reject instead of approve.")] = False,
    comment: Annotated[str, typer.Option("--comment")] = "",
) -> None:
    """Record marketing's or BDR's decision on a version."""
    from training.signoff import SignoffError, record_signoff
    from training.versions import UnknownVersion

    try:
        decision = record_signoff(
            version, team=team, by=by, approve=not reject, comment=comment, settings=_settings()
        )
    except (SignoffError, UnknownVersion) as error:
        typer.echo(f"sign-off not recorded: {error}", err=True)
        raise typer.Exit(code=1) from None
    typer.echo(decision)


@app.command()
def promote(version: Annotated[str, typer.Argument(help="Model version number.")]) -> None:
    """Make a signed-off version the champion, if its sign-offs and gates hold."""
    from training.promote import PromotionRefused, promote_version
    from training.versions import UnknownVersion

    settings = _settings()
    try:
        typer.echo(
            promote_version(
                version,
                settings=settings,
                auc_tolerance=settings.promotion_auc_tolerance,
                max_ece=settings.promotion_max_ece,
                baseline_margin=settings.promotion_baseline_margin,
            )
        )
    except (PromotionRefused, UnknownVersion) as refused:
        typer.echo(str(refused), err=True)
        raise typer.Exit(code=1) from None


@app.command()
def rollback() -> None:
    """Make the previous champion the champion again."""
    from training.promote import PromotionRefused, rollback_champion

    try:
        typer.echo(rollback_champion(settings=_settings()))
    except PromotionRefused as refused:
        typer.echo(str(refused), err=True)
        raise typer.Exit(code=1) from None


@app.command()
def models() -> None:
    """List model versions with status, sign-offs and headline metrics."""
    from training.versions import versions_table

    typer.echo(versions_table(settings=_settings()))


@app.command()
def serve(
    host: Annotated[str, typer.Option("--host")] = "127.0.0.1",
    port: Annotated[int, typer.Option("--port")] = 8000,
) -> None:
    """Run the scoring API with the champion."""
    from serving.settings import ServingSettings

    settings = _loaded(ServingSettings)  # before importing the app: a bad setting ends fast
    from serving.app import run

    run(settings, host=host, port=port)


@app.command()
def score(
    data_dir: DataDir,
    out: Annotated[Path, typer.Option("--out", help="Output file (.parquet or .csv).")],
    mapping: MappingOpt = None,
) -> None:
    """Batch-score a CRM folder with the champion (nightly runs)."""
    from serving.batch_score import NoChampion, score_folder

    try:
        summary = score_folder(data_dir, out=out, mapping=mapping)
    except NoChampion as missing:
        typer.echo(str(missing), err=True)
        raise typer.Exit(code=1) from None
    typer.echo(summary)


if __name__ == "__main__":
    app()
