"""The `handoff` command: wires the stages together. Nothing imports this module.

Each command imports its stage lazily so that `handoff --help` stays fast.
"""

from __future__ import annotations

import shlex
from collections.abc import Iterator
from contextlib import contextmanager
from enum import StrEnum
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, NoReturn, TypeVar

import typer

from models.mlflow_setup import disable_telemetry

if TYPE_CHECKING:
    from pyspark.sql import SparkSession

    from features.roles import RolePolicy
    from models.settings import Settings
    from training.train import TrainingRefused

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

RolePolicyOpt = Annotated[
    Path | None,
    typer.Option(
        "--role-policy",
        exists=True,
        dir_okay=False,
        help="Your own buying-group role policy (JSON as features.roles.RolePolicy.save "
        "writes it; default: the shipped one).",
    ),
]


ModelOpt = Annotated[
    str | None,
    typer.Option(
        "--model",
        help="Registered model name (default HANDOFF_MODEL_NAME, else handoff-lead-scorer): "
        "champions, gates and drift compare versions of this one name only.",
    ),
]
AccountsOpt = Annotated[
    bool,
    typer.Option(
        "--accounts",
        help="Work on the account model (`handoff train-accounts`) registered beside the "
        "lead model: its name is the lead model's with '-accounts'.",
    ),
]


class Engine(StrEnum):
    """Where a command runs: this machine, or Apache Spark (`handoff[spark]`)."""

    single = "single"
    spark = "spark"


EngineOpt = Annotated[
    Engine,
    typer.Option(
        "--engine",
        help="single: this machine (default); spark: Apache Spark (needs the spark extra).",
    ),
]
MasterOpt = Annotated[
    str | None,
    typer.Option(
        "--master",
        help="Spark master with --engine spark (default local[2]; under spark-submit, its own).",
    ),
]


@contextmanager
def _spark(master: str | None) -> Iterator[SparkSession]:
    """A Spark session for one command (the running one, if any, is joined and left
    running); one line and exit 1 where Spark cannot run."""
    from data_contracts.spark_session import (
        DEFAULT_MASTER,
        SparkUnavailable,
        active_session,
        spark_session,
    )

    joined = active_session() is not None  # spark_session's getOrCreate joins it
    if master is None and not _under_spark_submit():
        master = DEFAULT_MASTER
    try:
        session = spark_session(master)
    except SparkUnavailable as missing:
        typer.echo(f"handoff: {missing}", err=True)
        raise typer.Exit(code=1) from None
    try:
        yield session
    finally:
        if not joined:
            session.stop()


def _under_spark_submit() -> bool:
    """Started by `spark-submit` (which hands its Python driver a gateway): its master and
    configuration stand, unless --master says otherwise."""
    import os

    return "PYSPARK_GATEWAY_PORT" in os.environ


SettingsT = TypeVar("SettingsT", bound="Settings")


def _settings(model: str | None = None, accounts: bool = False) -> Settings:
    """The shared settings, as every command but `serve` reads them; with `accounts`, naming
    the account model beside the (given or configured) lead model."""
    from models.mlflow_layout import account_model_name
    from models.settings import Settings

    settings = _loaded(Settings, model)
    if accounts:
        settings = settings.model_copy(
            update={"model_name": account_model_name(settings.model_name)}
        )
    return settings


def _loaded(kind: type[SettingsT], model: str | None = None) -> SettingsT:
    """Settings from the environment (the registered model named by `--model`, if given);
    a bad variable ends the command with one line per problem, naming the variable and
    never its value."""
    from models.settings import SettingsError, load_settings

    try:
        settings = load_settings(kind)
    except SettingsError as error:
        for line in str(error).splitlines():
            typer.echo(f"handoff: {line}", err=True)
        raise typer.Exit(code=2) from None
    if model is not None:
        if not model.strip():
            typer.echo("handoff: --model needs a registered model name", err=True)
            raise typer.Exit(code=2)
        settings = settings.model_copy(update={"model_name": model.strip()})
    return settings


@app.command()
def demo(
    leads: Annotated[
        int, typer.Option("--leads", min=1000, help="Demo leads to generate.")
    ] = 20_000,
    seed: Annotated[int, typer.Option("--seed")] = 7,
) -> None:
    """The whole loop on embedded defaults: generate, validate, train, report, sign off, promote, score."""
    from handoff_demo import run_demo
    from serving.settings import ServingSettings

    run_demo(ServingSettings(), leads=leads, seed=seed, echo=typer.echo)


@app.command()
def generate(
    out: Annotated[Path, typer.Option("--out", help="Folder to write the CRM tables to.")],
    leads: Annotated[int, typer.Option("--leads", min=1, help="Number of leads.")] = 10_000,
    seed: Annotated[int, typer.Option("--seed", help="Random seed.")] = 0,
    shape: Annotated[
        str,
        typer.Option(
            "--shape",
            help="native (the contract tables), or the same truth as a salesforce or "
            "hubspot export, read with data_contracts/mappings/<shape>.toml.",
        ),
    ] = "native",
    buying_group_effect: Annotated[
        float,
        typer.Option(
            "--buying-group-effect",
            min=0.0,
            help="Log-odds a win gains per buying role engaged at the account beyond the "
            "first (0: wins do not depend on the buying group).",
        ),
    ] = 0.0,
) -> None:
    """Write a realistic synthetic CRM folder with known true win probabilities."""
    from data_contracts.synthetic import generate_to_folder
    from data_contracts.synthetic_shapes import SHAPES

    if shape not in SHAPES:
        typer.echo(f"--shape must be one of {', '.join(SHAPES)}, not {shape!r}", err=True)
        raise typer.Exit(code=2)
    summary = generate_to_folder(
        n_leads=leads,
        seed=seed,
        out_dir=out,
        shape=shape,
        buying_group_effect=buying_group_effect,
    )
    for key, value in summary.items():
        typer.echo(f"{key:>24}: {value}")


def _command(*words: str | Path) -> str:
    """A `handoff` command line a user can paste."""
    return shlex.join(["handoff", *map(str, words)])


def _shown(path: Path) -> Path:
    """A path as short as it can be said from here."""
    try:
        return path.relative_to(Path.cwd())
    except ValueError:
        return path


def _needs_mapping(data_dir: Path, words: tuple[str | Path, ...]) -> str:
    """Why a folder without a leads table is probably a foreign export, and what to type."""
    from data_contracts.mapping import shipped_mappings, shipped_mappings_for

    shipped = [_shown(p) for p in shipped_mappings().values()]
    fitting = [_shown(p) for p in shipped_mappings_for(data_dir)]
    example = fitting[0] if fitting else "YOUR_MAPPING.toml"
    return "\n".join(
        [
            f"{data_dir} holds no leads.parquet or leads.csv; an export from another CRM "
            "probably needs a mapping onto the contracts (--mapping FILE).",
            "shipped mappings: " + ", ".join(map(str, shipped)),
            f"try: {_command(*words, '--mapping', example)}",
        ]
    )


@contextmanager
def _data_errors(*words: str | Path) -> Iterator[None]:
    """Mistakes in pointing a command at data, as a clear error and exit 1 (no traceback).

    `words` are the command as typed, without `--mapping`, to show the line to use.
    """
    from data_contracts.crm_data import NotACrmFolder
    from data_contracts.export_read import ExportFileProblem
    from data_contracts.mapping import MappingError, SourceFileMissing

    try:
        yield
    except NotACrmFolder as missing:
        typer.echo(_needs_mapping(missing.data_dir, words), err=True)
        raise typer.Exit(code=1) from None
    except (SourceFileMissing, MappingError, ExportFileProblem) as error:
        typer.echo(str(error), err=True)
        raise typer.Exit(code=1) from None


def _refused(refused: TrainingRefused, what: str, retry: str | None) -> NoReturn:
    """The validation report, where the failing rows went, and how to go on; then exit 1.

    `retry` is the command that trains on the rows that passed, where there is one.
    """
    validation = refused.validation
    if validation is None:
        typer.echo(f"{what} refused: {refused}", err=True)
        raise typer.Exit(code=1)
    typer.echo(validation.report_text())
    files = list(validation.quarantined.values())
    where = (
        f"the failing rows are in {files[0].parent} ({', '.join(f.name for f in files)})"
        if files
        else "no row failed, but a table-level check did"
    )
    typer.echo(f"{what} refused: the data fails its contracts; {where}.", err=True)
    valid = validation.counts["leads"]["valid"]
    if retry is not None and valid:
        typer.echo(
            f"Fix them and run again, or train on the {valid:,} leads that passed: {retry}",
            err=True,
        )
    else:
        typer.echo("Fix them and run again.", err=True)
    raise typer.Exit(code=1)


@app.command()
def validate(
    data_dir: DataDir,
    mapping: MappingOpt = None,
    quarantine: Annotated[
        Path | None, typer.Option("--quarantine", help="Where failing rows go.")
    ] = None,
    engine: EngineOpt = Engine.single,
    master: MasterOpt = None,
    role_policy: RolePolicyOpt = None,
) -> None:
    """Check a CRM folder against the contracts; exit 1 with a row-level report on failure.

    A plain Parquet folder of more leads than one bucket holds (`BUCKET_LEADS`) is checked
    a lead-id bucket at a time, with the same report; a mapped export, CSV tables or an
    accounts table are read whole. With accounts, or `--role-policy`, also the buying-group
    roles the policy derives (from a folder read whole)."""
    from data_contracts.bucket_validate import check_folder

    roles = _role_policy(role_policy)
    if role_policy is not None and engine is Engine.spark:
        typer.echo("handoff validate: --role-policy runs on --engine single only", err=True)
        raise typer.Exit(code=2)
    with _data_errors("validate", data_dir):
        if engine is Engine.spark:
            from data_contracts.spark_validate import validate_on_spark

            with _spark(master) as spark:
                result = validate_on_spark(spark, data_dir, mapping, quarantine)
        else:
            result = check_folder(data_dir, mapping=mapping, quarantine_dir=quarantine)
    typer.echo(result.report_text())
    derives_roles = result.valid.accounts is not None or roles is not None
    if engine is Engine.single and derives_roles and not result.valid.leads.empty:
        from features.buying_groups import buying_groups

        valid = result.valid
        groups = buying_groups(
            valid.leads,
            valid.events,
            valid.accounts,
            valid.data_end,
            roles=roles,
            policy=f"policy {role_policy}" if role_policy else "default policy",
        )
        typer.echo("\n" + groups.text())
    if not result.ok:
        raise typer.Exit(code=1)


def _role_policy(path: Path | None) -> RolePolicy | None:
    """The role policy file, or exit 2 with the file and the field in error."""
    if path is None:
        return None
    from features.roles import RolePolicyError, load_role_policy

    try:
        return load_role_policy(path)
    except RolePolicyError as error:
        typer.echo(f"--role-policy {error}", err=True)
        raise typer.Exit(code=2) from None


@app.command()
def train(
    data_dir: DataDir,
    mapping: MappingOpt = None,
    horizon_days: Annotated[int, typer.Option("--horizon-days", min=1)] = 180,
    policy: Annotated[
        Path | None,
        typer.Option("--policy", exists=True, dir_okay=False, help="Your own quadrant policy."),
    ] = None,
    skip_invalid_rows: Annotated[
        bool,
        typer.Option(
            "--skip-invalid-rows",
            help="Train on the rows that pass the contracts; the rest stay quarantined, "
            "counted in the run.",
        ),
    ] = False,
    model: ModelOpt = None,
    engine: EngineOpt = Engine.single,
    master: MasterOpt = None,
    rejection_as_negative: Annotated[
        bool,
        typer.Option(
            "--rejection-as-negative",
            help="Count each lead an AE rejected twice as a loss in the training window "
            "(off by default; recorded in the run; single-machine engine only).",
        ),
    ] = False,
    no_account_features: Annotated[
        bool,
        typer.Option(
            "--no-account-features",
            help="Train the lead models on the lead's own features only, even where the data "
            "has an accounts table (recorded in the run).",
        ),
    ] = False,
    role_policy: RolePolicyOpt = None,
) -> None:
    """Validate, build features, train, evaluate and register a new candidate version.

    A plain Parquet folder of more leads than one bucket holds (`BUCKET_LEADS`) is
    validated and turned into features a lead-id bucket at a time: the same training data.
    With an accounts table (read whole), the lead models also read the account features,
    buying-group roles by `--role-policy`; the model records both."""
    from training.train import TrainingRefused, run_training

    for given_flag, name in (
        (rejection_as_negative, "--rejection-as-negative"),
        (role_policy is not None, "--role-policy"),
    ):
        if given_flag and engine is Engine.spark:
            typer.echo(f"handoff train: {name} runs on --engine single only", err=True)
            raise typer.Exit(code=2)
    roles = _role_policy(role_policy)
    given = ("--mapping", mapping) if mapping else ()
    settings = _settings(model)
    try:
        with _data_errors("train", data_dir):
            if engine is Engine.spark:
                from training.spark_train import train_on_spark

                with _spark(master) as spark:
                    result = train_on_spark(
                        spark,
                        data_dir,
                        mapping=mapping,
                        horizon_days=horizon_days,
                        policy_path=policy,
                        settings=settings,
                        skip_invalid_rows=skip_invalid_rows,
                    )
            else:
                result = run_training(
                    data_dir,
                    mapping=mapping,
                    horizon_days=horizon_days,
                    policy_path=policy,
                    settings=settings,
                    skip_invalid_rows=skip_invalid_rows,
                    rejection_as_negative=rejection_as_negative,
                    account_features=not no_account_features,
                    roles=roles,
                )
    except TrainingRefused as refused:
        engine_words = ("--engine", "spark") if engine is Engine.spark else ()
        retry = _command("train", data_dir, *given, *engine_words, "--skip-invalid-rows")
        _refused(refused, "training", retry if not skip_invalid_rows else None)
    typer.echo(result.summary_text())


@app.command("train-accounts")
def train_accounts(
    data_dir: DataDir,
    mapping: MappingOpt = None,
    horizon_days: Annotated[int, typer.Option("--horizon-days", min=1)] = 180,
    policy: Annotated[
        Path | None,
        typer.Option(
            "--policy",
            exists=True,
            dir_okay=False,
            help="Your own account policy (default: models/account_policy.json's actions, "
            "thresholds proposed on validation).",
        ),
    ] = None,
    skip_invalid_rows: Annotated[
        bool,
        typer.Option(
            "--skip-invalid-rows",
            help="Train on the rows that pass the contracts; the rest stay quarantined.",
        ),
    ] = False,
    model: ModelOpt = None,
) -> None:
    """Train the account model (will this account win a deal within the horizon?) and
    register a candidate version of it; sign off and promote it with `--accounts`."""
    from training.train import TrainingRefused
    from training.train_accounts import account_summary_text, run_account_training

    given = ("--mapping", mapping) if mapping else ()
    try:
        with _data_errors("train-accounts", data_dir):
            result = run_account_training(
                data_dir,
                mapping=mapping,
                horizon_days=horizon_days,
                policy_path=policy,
                settings=_settings(model),
                skip_invalid_rows=skip_invalid_rows,
            )
    except TrainingRefused as refused:
        retry = _command("train-accounts", data_dir, *given, "--skip-invalid-rows")
        _refused(refused, "account training", retry if not skip_invalid_rows else None)
    typer.echo(account_summary_text(result))


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
    from training.backtest import FoldDone, backtest_folder, fold_verdicts, summarise
    from training.leakage import LeakageReport
    from training.train import TrainingRefused

    def guarded(report: LeakageReport) -> None:
        for line in report.lines():
            typer.echo(line, err=True)

    def progress(done: FoldDone) -> None:
        window = f"test {done.test_start[:10]} .. {done.test_end[:10]}"
        rows = f"{done.n_train:,} train / {done.n_test:,} test rows"
        state = "skipped: a window lacks wins or losses" if done.skipped else "done"
        typer.echo(
            f"fold {done.fold} of {done.n_folds}: {window}, {rows}, {state} in {done.seconds:.1f}s",
            err=True,
        )

    typer.echo(f"preparing {data_dir}: contracts, labels, point-in-time features", err=True)
    try:
        with _data_errors("backtest", data_dir):
            table = backtest_folder(
                data_dir,
                mapping=mapping,
                horizon_days=horizon_days,
                n_folds=folds,
                on_fold=progress,
                on_guard=guarded,
            )
    except TrainingRefused as refused:
        _refused(refused, "backtest", retry=None)
    if table.empty:
        typer.echo("no fold had wins and losses in every window", err=True)
        raise typer.Exit(1)
    by_fold = table.pivot_table(
        index=["fold", "test_start", "n_test", "test_win_rate"], columns="model", values="roc_auc"
    )
    typer.echo("Test ROC AUC per fold:\n" + by_fold.round(4).to_string())
    typer.echo(
        "\nVerdict per fold (combined model, DeLong 95% interval; against chance and the "
        "fold's best baseline):\n" + fold_verdicts(table).round(4).to_string(index=False)
    )
    typer.echo("\nOver folds:\n" + summarise(table).round(4).to_string(index=False))
    if out is not None:
        table.to_csv(out, index=False)
        typer.echo(f"\nper-fold table -> {out}")


@app.command()
def report(
    version: Annotated[str, typer.Argument(help="Model version number.")],
    out: Annotated[Path | None, typer.Option("--out", help="HTML file to write.")] = None,
    model: ModelOpt = None,
    accounts: AccountsOpt = False,
) -> None:
    """Write the self-contained HTML review report for a version (and log it to its run)."""
    from training.report import write_report
    from training.versions import UnknownVersion

    try:
        path = write_report(version, out=out, settings=_settings(model, accounts))
    except UnknownVersion as error:
        typer.echo(str(error), err=True)
        raise typer.Exit(code=1) from None
    typer.echo(f"report written to {path.resolve()}")


@app.command()
def signoff(
    version: Annotated[str, typer.Argument(help="Model version number.")],
    team: Annotated[str, typer.Option("--team", help="marketing or bdr")],
    by: Annotated[str, typer.Option("--by", help="Who signs.")],
    reject: Annotated[bool, typer.Option("--reject", help="Reject instead of approve.")] = False,
    comment: Annotated[str, typer.Option("--comment")] = "",
    acknowledge_small_data: Annotated[
        bool,
        typer.Option(
            "--acknowledge-small-data",
            help="Approve a version trained on too few wins to trust, knowing it "
            "(required for such a version; recorded with the sign-off).",
        ),
    ] = False,
    model: ModelOpt = None,
    accounts: AccountsOpt = False,
) -> None:
    """Record marketing's or BDR's decision on a version."""
    from models.mlflow_layout import SMALL_DATA
    from training.signoff import SignoffError, record_signoff
    from training.versions import UnknownVersion

    try:
        decision = record_signoff(
            version,
            team=team,
            by=by,
            approve=not reject,
            comment=comment,
            acknowledge=[SMALL_DATA] if acknowledge_small_data else [],
            settings=_settings(model, accounts),
        )
    except (SignoffError, UnknownVersion) as error:
        typer.echo(f"sign-off not recorded: {error}", err=True)
        raise typer.Exit(code=1) from None
    typer.echo(decision)


@app.command()
def promote(
    version: Annotated[str, typer.Argument(help="Model version number.")],
    model: ModelOpt = None,
    accounts: AccountsOpt = False,
) -> None:
    """Make a signed-off version the champion, if its sign-offs and gates hold."""
    from training.promote import PromotionRefused, configured_gates, promote_version
    from training.versions import UnknownVersion

    settings = _settings(model, accounts)
    try:
        typer.echo(promote_version(version, settings=settings, **configured_gates(settings)))
    except (PromotionRefused, UnknownVersion) as refused:
        typer.echo(str(refused), err=True)
        raise typer.Exit(code=1) from None


@app.command()
def challenger(
    version: Annotated[
        str | None, typer.Argument(help="Model version number (omit with --clear).")
    ] = None,
    clear: Annotated[
        bool, typer.Option("--clear", help="Remove the challenger alias instead.")
    ] = False,
    model: ModelOpt = None,
    accounts: AccountsOpt = False,
) -> None:
    """Score a version in the shadow as the challenger, if it passes promotion's gates
    (sign-offs not needed: the shadow's evidence is what they sign with)."""
    from training.challenger import clear_challenger, set_challenger
    from training.promote import PromotionRefused, configured_gates

    if clear == (version is not None):
        typer.echo("handoff challenger: give a VERSION, or --clear (not both)", err=True)
        raise typer.Exit(code=2)
    settings = _settings(model, accounts)
    try:
        if version is None:
            typer.echo(clear_challenger(settings=settings))
        else:
            typer.echo(set_challenger(version, settings=settings, **configured_gates(settings)))
    except PromotionRefused as refused:
        typer.echo(str(refused), err=True)
        raise typer.Exit(code=1) from None


@app.command()
def rollback(
    to: Annotated[
        str | None,
        typer.Option(
            "--to",
            help="Restore this earlier champion instead of the previous one (it must still "
            "pass the sign-off and binding rules; a version rolled back from returns only "
            "through `handoff promote`).",
        ),
    ] = None,
    model: ModelOpt = None,
    accounts: AccountsOpt = False,
) -> None:
    """Make the previous champion (or, with --to, an earlier one) the champion again."""
    from training.promote import PromotionRefused, rollback_champion

    try:
        typer.echo(rollback_champion(settings=_settings(model, accounts), to=to))
    except PromotionRefused as refused:
        typer.echo(str(refused), err=True)
        raise typer.Exit(code=1) from None


@app.command()
def models(model: ModelOpt = None, accounts: AccountsOpt = False) -> None:
    """List model versions with status, verdict, sign-offs and headline metrics."""
    from training.versions import versions_table

    typer.echo(versions_table(settings=_settings(model, accounts)))


@app.command()
def serve(
    host: Annotated[str, typer.Option("--host")] = "127.0.0.1",
    port: Annotated[int, typer.Option("--port")] = 8000,
    workers: Annotated[
        int | None,
        typer.Option(
            "--workers",
            min=1,
            help="Serving processes (default: HANDOFF_WORKERS, else one per core).",
        ),
    ] = None,
) -> None:
    """Run the scoring API with the champion."""
    from serving.settings import ServingSettings

    settings = _loaded(ServingSettings)  # before importing the app: a bad setting ends fast
    if workers is not None:
        settings = settings.model_copy(update={"workers": workers})
    from serving.app import run

    run(settings, host=host, port=port)


@app.command()
def review(
    host: Annotated[str, typer.Option("--host")] = "127.0.0.1",
    port: Annotated[int, typer.Option("--port")] = 8100,
) -> None:
    """Serve the review pages: leaders read reports, sign off for their team, admins promote."""
    from training.review.settings import ReviewSettings

    settings = _loaded(ReviewSettings)
    from training.review.app import run_review

    run_review(settings, host=host, port=port)


@app.command("review-user")
def review_user(
    username: Annotated[str, typer.Argument(help="User name to sign in with (a-z, 0-9, . _ -).")],
    name: Annotated[str, typer.Option("--name", help="The person's name, as sign-offs show it.")],
    team: Annotated[
        str | None, typer.Option("--team", help="marketing or bdr (an admin may have none).")
    ] = None,
    role: Annotated[str, typer.Option("--role", help="reviewer or admin.")] = "reviewer",
) -> None:
    """Print a users-file entry for `handoff review`, with an argon2 hash of a password typed
    twice (never shown, never stored in plain)."""
    from training.review.users import UsersFileError, new_user, users_toml

    password = typer.prompt("Password", hide_input=True, confirmation_prompt=True, err=True)
    try:
        user = new_user(username, name=name, team=team, role=role, password=password)
    except UsersFileError as error:
        typer.echo(f"handoff review-user: {error}", err=True)
        raise typer.Exit(code=2) from None
    typer.echo(users_toml(user), nl=False)


@app.command()
def score(
    data_dir: DataDir,
    out: Annotated[
        Path,
        typer.Option(
            "--out", help="Output file (.parquet or .csv); with --engine spark, a Parquet folder."
        ),
    ],
    mapping: MappingOpt = None,
    model: ModelOpt = None,
    engine: EngineOpt = Engine.single,
    master: MasterOpt = None,
    quarantine: Annotated[
        Path | None,
        typer.Option("--quarantine", help="With --engine spark: where failing rows go."),
    ] = None,
) -> None:
    """Batch-score a CRM folder with the champion (nightly runs)."""
    from serving.batch_score import (
        AccountsOutOfReach,
        NoChampion,
        UnsupportedOutput,
        score_folder,
    )
    from serving.settings import ServingSettings

    settings = _loaded(ServingSettings, model)
    try:
        with _data_errors("score", data_dir, "--out", out):
            if engine is Engine.spark:
                from serving.spark_score import check_spark_output, score_on_spark

                check_spark_output(out)
                with _spark(master) as spark:
                    summary = score_on_spark(
                        spark,
                        data_dir,
                        out=out,
                        mapping=mapping,
                        settings=settings,
                        quarantine_dir=quarantine,
                    )
            else:
                summary = score_folder(data_dir, out=out, mapping=mapping, settings=settings)
    except (NoChampion, UnsupportedOutput, AccountsOutOfReach) as refused:
        typer.echo(str(refused), err=True)
        raise typer.Exit(code=1) from None
    typer.echo(summary)


feedback_app = typer.Typer(
    help="Sales feedback: import a file into the serving database, export it as outcomes.",
    no_args_is_help=True,
)
app.add_typer(feedback_app, name="feedback")


@feedback_app.command("import")
def feedback_import(
    file: Annotated[
        Path, typer.Argument(exists=True, dir_okay=False, help="Feedback as .csv or .jsonl.")
    ],
) -> None:
    """Record a feedback file as POST /v1/feedback would (the same checks, the same store)."""
    from serving.feedback_files import FeedbackFileError, import_file
    from serving.settings import ServingSettings
    from serving.store import StoreError, StoreUnavailable

    settings = _loaded(ServingSettings)
    try:
        typer.echo(import_file(settings.resolved_database_url, file))
    except (FeedbackFileError, StoreError, StoreUnavailable) as error:
        typer.echo(f"handoff feedback import: {error}", err=True)
        raise typer.Exit(code=1) from None


@feedback_app.command("export")
def feedback_export(
    out: Annotated[Path, typer.Argument(file_okay=False, help="Folder to write.")],
    crm: Annotated[
        Path | None,
        typer.Option(
            "--crm",
            exists=True,
            file_okay=False,
            help="The CRM folder the leads came from: write a whole folder (its leads and "
            "events, its outcomes merged with the feedback) for validate and train.",
        ),
    ] = None,
) -> None:
    """Write the feedback as the `outcomes` contract (with --crm: a whole CRM folder)."""
    from serving.feedback_files import export_folder
    from serving.settings import ServingSettings

    settings = _loaded(ServingSettings)
    with _data_errors("feedback", "export", out, "--crm", crm or ""):
        written = export_folder(settings.resolved_database_url, out, crm)
    for table, path in written.items():
        typer.echo(f"{table:>9}: {path}")


@app.command()
def monitor(
    since: Annotated[
        str | None, typer.Option("--since", help="Only hand-offs from this ISO date or time.")
    ] = None,
    out: Annotated[Path | None, typer.Option("--out", help="Write the HTML page here.")] = None,
    json_out: Annotated[
        Path | None, typer.Option("--json", help="Write the JSON summary here.")
    ] = None,
    crm: Annotated[
        Path | None,
        typer.Option("--crm", exists=True, file_okay=False, help="Add this CRM folder's outcomes."),
    ] = None,
) -> None:
    """What happened after the hand-off: outcomes vs promise, speed to lead, AE feedback,
    drift; stored as the summary GET /v1/monitor/summary returns."""
    import json

    import pandas as pd

    from serving.monitor.page import render
    from serving.monitor.run import run_monitor, summary_text
    from serving.settings import ServingSettings
    from serving.store import StoreError

    settings = _loaded(ServingSettings)
    start = None
    if since is not None:
        try:
            start = pd.Timestamp(since)
        except ValueError:
            typer.echo("handoff monitor: --since takes an ISO date or time", err=True)
            raise typer.Exit(code=2) from None
        start = start.tz_localize("UTC") if start.tzinfo is None else start.tz_convert("UTC")
    try:
        summary = run_monitor(settings, since=start, crm_dir=crm)
    except StoreError as error:
        typer.echo(f"handoff monitor: {error}", err=True)
        raise typer.Exit(code=1) from None
    typer.echo(summary_text(summary))
    if out is not None:
        out.write_text(render(summary), encoding="utf-8")
        typer.echo(f"page -> {out}")
    if json_out is not None:
        json_out.write_text(json.dumps(summary, indent=2), encoding="utf-8")
        typer.echo(f"summary -> {json_out}")


mapping_app = typer.Typer(
    help="Mappings of CRM exports onto the contracts. Every key and what it means: "
    "`handoff mapping keys` (also docs/MAPPING.md); shipped mappings: "
    "data_contracts/mappings/.",
    no_args_is_help=True,
)
app.add_typer(mapping_app, name="mapping")


@mapping_app.command(
    "check",
    help="What each table of an export contributes through a mapping, before training: "
    "rows, joined share, timestamps read, censored leads, events per lead, extras and their "
    "cardinality. Reads and checks only; writes nothing.",
)
def mapping_check(
    file: Annotated[Path, typer.Argument(exists=True, dir_okay=False, help="The TOML mapping.")],
    data_dir: DataDir,
    horizon_days: Annotated[int, typer.Option("--horizon-days", min=1)] = 180,
) -> None:
    from training.mapping_check import check_mapping

    with _data_errors("train", data_dir):
        checked = check_mapping(file, data_dir, horizon_days=horizon_days)
    typer.echo(checked.text())


@mapping_app.command(
    "keys", help="Every key a mapping may hold and what it means (the text of docs/MAPPING.md)."
)
def mapping_keys(
    out: Annotated[Path | None, typer.Option("--out", help="Write it to this file.")] = None,
) -> None:
    from data_contracts.mapping_keys import reference_text

    text = reference_text()
    if out is None:
        typer.echo(text, nl=False)
    else:
        out.write_text(text, encoding="utf-8")
        typer.echo(f"mapping reference written to {out}")


if __name__ == "__main__":
    app()
