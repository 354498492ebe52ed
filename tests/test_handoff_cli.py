"""The `handoff` command as users meet it: clear one-line errors, never a traceback (and
never a setting's value); progress shown; `models` and `rollback` through Typer's runner."""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

import pandas as pd
import pytest
from typer.testing import CliRunner, Result

from data_contracts.mapping import shipped_mapping, shipped_mappings
from data_contracts.synthetic import generate_to_folder
from handoff_cli import app
from tests.conftest import OneRunStore, tiny_mapping
from tests.serving.conftest import LENIENT

ROOT = Path(__file__).resolve().parents[1]
TINY_MAPPING = tiny_mapping()


def run(*args: str | Path, home: Path) -> Result:
    """The real CLI in-process, with its own Handoff home."""
    return CliRunner().invoke(app, [str(a) for a in args], env={"HANDOFF_HOME": str(home)})


def refused_cleanly(result: Result) -> str:
    """Exit 1 through the CLI's own handling (not an escaped exception); all that was said."""
    assert result.exit_code == 1, result.output
    assert isinstance(result.exception, SystemExit), result.exception
    assert "Traceback" not in result.output
    return result.output


@pytest.fixture
def foreign_export(tmp_path: Path) -> Path:
    """A folder laid out as Leads X ships it: `Leads.csv`, no contract-shaped tables."""
    folder = tmp_path / "leads_x_export"
    folder.mkdir()
    (folder / "Leads.csv").write_text("Prospect ID,Lead Number,Converted\np1,1,1\n")
    return folder


@pytest.fixture(scope="module")
def failing_folder(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Generated CRM data with one lead failing its contract (an unknown seniority)."""
    folder = tmp_path_factory.mktemp("failing") / "crm"
    generate_to_folder(n_leads=1_500, seed=2, out_dir=folder)
    leads = pd.read_parquet(folder / "leads.parquet")
    leads.loc[3, "seniority"] = "emperor"
    leads.to_parquet(folder / "leads.parquet", index=False)
    return folder


@pytest.mark.parametrize("command", ["validate", "train", "backtest"])
def test_cli_foreign_export_without_mapping_suggests_the_shipped_one(
    command: str, foreign_export: Path, tmp_path: Path
) -> None:
    said = refused_cleanly(run(command, foreign_export, home=tmp_path / "home"))
    assert "no leads.parquet or leads.csv" in said
    assert "probably needs a mapping" in said
    for path in shipped_mappings().values():
        assert path.name in said
    leads_x = shipped_mapping("leads_x_education").relative_to(ROOT)
    assert f"try: handoff {command} {foreign_export} --mapping {leads_x}" in said


def test_cli_foreign_export_through_the_console_script_has_no_traceback(
    foreign_export: Path, tmp_path: Path
) -> None:
    """The same mistake through a real process, as a new user types it."""
    env = {**os.environ, "HANDOFF_HOME": str(tmp_path / "home"), "MLFLOW_DISABLE_TELEMETRY": "1"}
    done = subprocess.run(
        [sys.executable, "-m", "handoff_cli", "validate", str(foreign_export)],
        capture_output=True,
        text=True,
        cwd=ROOT,
        env=env,
        timeout=120,
    )
    assert done.returncode == 1
    assert "Traceback" not in done.stderr + done.stdout
    assert done.stderr.splitlines()[-1].startswith("try: handoff validate")


def test_cli_mapping_on_the_wrong_folder_names_mapping_file_and_folder(tmp_path: Path) -> None:
    mapping = tmp_path / "tiny.toml"
    mapping.write_text(TINY_MAPPING)
    folder = tmp_path / "elsewhere"
    folder.mkdir()
    said = refused_cleanly(run("validate", folder, "--mapping", mapping, home=tmp_path / "h"))
    assert said.strip() == f"mapping {mapping}: no source file export.csv in {folder}"


def test_cli_broken_mapping_names_the_key(tmp_path: Path) -> None:
    mapping = tmp_path / "tiny.toml"
    mapping.write_text(TINY_MAPPING.replace('value = "outbound"', 'value = "pigeon"'))
    said = refused_cleanly(run("validate", tmp_path, "--mapping", mapping, home=tmp_path / "h"))
    assert len(said.strip().splitlines()) == 1
    assert "columns.source.value" in said


def test_cli_train_on_failing_data_reports_quarantine_and_the_way_on(
    failing_folder: Path, tmp_path: Path
) -> None:
    said = refused_cleanly(run("train", failing_folder, home=tmp_path / "home"))
    assert "Validation FAILED" in said and "'emperor'" in said
    quarantine = failing_folder / "quarantine"
    assert f"the failing rows are in {quarantine} (leads.csv, events.csv, outcomes.csv)" in said
    assert f"handoff train {failing_folder} --skip-invalid-rows" in said
    assert (quarantine / "leads.csv").exists()
    assert not (tmp_path / "home" / "mlflow.db").exists()  # refused before anything was logged


def test_cli_train_skip_invalid_rows_trains_on_the_rest_and_says_so(
    failing_folder: Path, tmp_path: Path
) -> None:
    result = run("train", failing_folder, "--skip-invalid-rows", home=tmp_path / "home")
    assert result.exit_code == 0, result.output
    quarantine = failing_folder / "quarantine"
    assert "registered handoff-lead-scorer version 1" in result.output
    assert "trained on the rows that passed the contracts" in result.output
    assert f"leads 1 -> {quarantine / 'leads.csv'}" in result.output


def test_cli_score_unsupported_output_refused_before_anything_loads(
    foreign_export: Path, tmp_path: Path
) -> None:
    """No champion and no CRM folder either: the output name is what gets checked first."""
    said = refused_cleanly(run("score", foreign_export, "--out", "x.json", home=tmp_path / "h"))
    assert said.strip() == "x.json: the output must end in .parquet or .csv"


def test_cli_score_on_spark_refuses_a_file_output_before_spark_starts(
    foreign_export: Path, tmp_path: Path
) -> None:
    said = refused_cleanly(
        run("score", foreign_export, "--engine", "spark", "--out", "x.csv", home=tmp_path / "h")
    )
    assert "x.csv: the Spark engine writes a Parquet folder" in said


def test_cli_train_rejection_option_is_single_machine_only(tmp_path: Path) -> None:
    result = run("train", tmp_path, "--rejection-as-negative", "--engine", "spark", home=tmp_path)
    assert result.exit_code == 2
    assert "--rejection-as-negative runs on --engine single only" in result.output


def test_cli_spark_engine_without_java_is_one_line(tmp_path: Path) -> None:
    generate_to_folder(n_leads=50, seed=1, out_dir=tmp_path / "crm")
    result = CliRunner().invoke(
        app,
        ["validate", str(tmp_path / "crm"), "--engine", "spark"],
        env={"HANDOFF_HOME": str(tmp_path / "h"), "PATH": "", "JAVA_HOME": ""},
    )
    said = refused_cleanly(result)
    assert said.strip() == "handoff: the Spark engine needs Java 17 (java on PATH or JAVA_HOME)"


def test_cli_score_without_champion_says_what_to_do(foreign_export: Path, tmp_path: Path) -> None:
    said = refused_cleanly(run("score", foreign_export, "--out", "x.csv", home=tmp_path / "h"))
    assert "handoff promote" in said


def test_cli_backtest_shows_progress_per_fold(tmp_path: Path) -> None:
    folder = tmp_path / "crm"
    generate_to_folder(n_leads=2_500, seed=4, out_dir=folder)
    out = tmp_path / "folds.csv"
    result = run("backtest", folder, "--folds", "2", "--out", out, home=tmp_path / "home")
    assert result.exit_code == 0, result.output
    table = pd.read_csv(out)
    lines = result.output.splitlines()
    assert lines[0] == f"preparing {folder}: contracts, labels, point-in-time features"
    progress = [line for line in lines if re.match(r"fold \d+ of \d+: ", line)]
    assert [line.split(":")[0] for line in progress] == ["fold 1 of 2", "fold 2 of 2"]
    for k, line in enumerate(progress, start=1):
        fold = table[table["fold"] == k].iloc[0]
        assert f"test {fold['test_start'][:10]} .. {fold['test_end'][:10]}" in line
        assert f"{fold['n_train']:,} train / {fold['n_test']:,} test rows, done in " in line
        assert line.endswith("s")
    assert lines.index(progress[-1]) < lines.index("Test ROC AUC per fold:")
    (guard,) = [line for line in lines if line.startswith("leakage guard: ")]
    assert lines.index(guard) < lines.index(progress[0]) and "no suspect" in guard


def test_cli_train_model_name_keeps_versions_apart(tmp_path: Path) -> None:
    """`--model NAME` registers under NAME; the default name's listing does not see it."""
    folder = tmp_path / "crm"
    generate_to_folder(n_leads=1_500, seed=3, out_dir=folder)
    home = tmp_path / "home"
    result = run("train", folder, "--model", "emea-scorer", home=home)
    assert result.exit_code == 0, result.output
    said = result.output.splitlines()
    first = {
        key: next(i for i, line in enumerate(said) if line.startswith(key))
        for key in ("verdict on ", "leakage guard: ", "registered ")
    }
    assert first["verdict on "] < first["leakage guard: "] < first["registered "]
    assert "registered emea-scorer version 1" in result.output
    listed = run("models", "--model", "emea-scorer", home=home).output
    assert "(versions of registered model emea-scorer)" in listed
    assert "no versions of handoff-lead-scorer yet" in run("models", home=home).output


def test_cli_train_refusal_without_validation_is_one_line(tmp_path: Path) -> None:
    """Data that passes its contracts but cannot be learned from (no wins) is refused too."""
    folder = tmp_path / "crm"
    generate_to_folder(n_leads=1_000, seed=3, out_dir=folder)
    outcomes = pd.read_parquet(folder / "outcomes.parquet")
    outcomes = outcomes[outcomes["stage"] != "closed_won"]
    outcomes.to_parquet(folder / "outcomes.parquet", index=False)
    said = refused_cleanly(run("train", folder, home=tmp_path / "home"))
    assert said.strip().startswith("training refused: the train window has only one outcome")
    assert len(said.strip().splitlines()) == 1


@pytest.fixture
def clean_env(monkeypatch: pytest.MonkeyPatch) -> pytest.MonkeyPatch:
    for name in ("HANDOFF_HOME", "HANDOFF_TRACKING_URI", "HANDOFF_MODEL_NAME"):
        monkeypatch.delenv(name, raising=False)
    return monkeypatch


def test_models_from_another_folder_says_which_store_it_read(
    tmp_path: Path, clean_env: pytest.MonkeyPatch, one_run: OneRunStore
) -> None:
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    clean_env.chdir(elsewhere)
    result = CliRunner().invoke(app, ["models"])
    assert result.exit_code == 0
    home = (elsewhere / ".handoff").resolve()
    assert "no versions of handoff-lead-scorer yet" in result.output
    assert f"read home {home} (tracking URI sqlite:///{home / 'mlflow.db'})" in result.output
    assert "set HANDOFF_HOME" in result.output
    assert not home.exists()  # listing creates no store

    clean_env.setenv("HANDOFF_HOME", str(one_run.settings.home))
    listed = CliRunner().invoke(app, ["models"])
    assert listed.exit_code == 0
    rows = [line.split()[0] for line in listed.output.splitlines()[2:]]
    assert one_run.trained_version in rows


def test_models_hides_a_tracking_uri_password(
    tmp_path: Path, clean_env: pytest.MonkeyPatch
) -> None:
    from models.settings import Settings
    from training.versions import where_versions_are_read

    text = where_versions_are_read(
        Settings(home=tmp_path, tracking_uri="postgresql://ann:s3cret@db:5432/mlflow")
    )
    assert "s3cret" not in text and "postgresql+psycopg://ann:***@db:5432/mlflow" in text


def test_rollback_to_from_the_command_line(
    clean_env: pytest.MonkeyPatch, one_run: OneRunStore
) -> None:
    from training.promote import promote_version

    store = one_run
    v1, v2 = (store.new_version() for _ in range(2))
    for version in (v1, v2):
        store.approve(version)
        promote_version(version, settings=store.settings, **LENIENT)
    clean_env.setenv("HANDOFF_HOME", str(store.settings.home))
    runner = CliRunner()

    refused = runner.invoke(app, ["rollback", "--to", v2])
    assert refused.exit_code == 1
    assert f"rollback to version {v2} refused" in refused.output
    assert f"version {v2} is already the champion" in refused.output

    restored = runner.invoke(app, ["rollback", "--to", v1])
    assert restored.exit_code == 0, restored.output
    assert f"version {v1} is the champion again (rolled back from version {v2})" in restored.output


def test_challenger_command_needs_a_version_or_clear(
    clean_env: pytest.MonkeyPatch, one_run: OneRunStore
) -> None:
    clean_env.setenv("HANDOFF_HOME", str(one_run.settings.home))
    runner = CliRunner()
    for args in (["challenger"], ["challenger", "1", "--clear"]):
        result = runner.invoke(app, args)
        assert result.exit_code == 2 and "a VERSION, or --clear" in result.output
    version = one_run.new_version()
    # The configured gates (production bounds) on a small run: refused or accepted, the
    # command says which with exit 1 or 0, never a traceback.
    result = runner.invoke(app, ["challenger", version])
    assert result.exit_code in (0, 1) and "Traceback" not in result.output
    if result.exit_code == 0:
        assert f"version {version} is now the challenger" in result.output
    else:
        assert f"challenger alias for version {version} refused" in result.output
    cleared = runner.invoke(app, ["challenger", "--clear"])
    assert cleared.exit_code == 0, cleared.output


SECRET = "my-secret-key-b81e"


def _handoff(args: list[str], env: dict[str, str], home: Path) -> subprocess.CompletedProcess[str]:
    clean = {k: v for k, v in os.environ.items() if not k.startswith("HANDOFF_")}
    return subprocess.run(
        [sys.executable, "-m", "handoff_cli", *args],
        cwd=ROOT,
        env={**clean, "HANDOFF_HOME": str(home), **env},
        capture_output=True,
        text=True,
        timeout=120,
    )


@pytest.mark.parametrize(
    ("args", "env", "named"),
    [
        (["serve"], {"HANDOFF_API_KEY_HASHES": SECRET}, ["HANDOFF_API_KEY_HASHES"]),
        (
            ["serve", "--port", "1"],
            {"HANDOFF_API_KEY_HASHES": f'["{SECRET}"]', "HANDOFF_DEV_MODE": "maybe"},
            ["HANDOFF_API_KEY_HASHES", "HANDOFF_DEV_MODE"],
        ),
        (["models"], {"HANDOFF_PROMOTION_MAX_ECE": SECRET}, ["HANDOFF_PROMOTION_MAX_ECE"]),
        (
            ["score", "docs", "--out", "x.parquet"],
            {"HANDOFF_API_KEY_HASHES": SECRET},
            ["HANDOFF_API_KEY_HASHES"],
        ),
    ],
)
def test_bad_settings_exit_naming_each_variable_never_its_value(
    tmp_path: Path, args: list[str], env: dict[str, str], named: list[str]
) -> None:
    done = _handoff(args, env, tmp_path)
    assert done.returncode != 0
    output = done.stdout + done.stderr
    assert SECRET not in output and "maybe" not in output
    assert "Traceback" not in output
    problems = done.stderr.splitlines()
    assert [line.split(" is invalid: ")[0] for line in problems] == [
        f"handoff: {name}" for name in named
    ]
    assert not (tmp_path / "mlflow.db").exists()  # refused before touching the store


def test_cli_generate_shape_then_mapping_check_reports_each_table(tmp_path: Path) -> None:
    folder = tmp_path / "sf"
    made = run("generate", "--out", folder, "--leads", 400, "--shape", "salesforce", home=tmp_path)
    assert made.exit_code == 0, made.output
    assert "shape: salesforce" in made.output and (folder / "Task.csv").is_file()
    mapping = shipped_mapping("salesforce")
    checked = run("mapping", "check", mapping, folder, home=tmp_path)
    assert checked.exit_code == 0, checked.output
    said = checked.output
    assert "Account (Account.csv): " in said and "100.0% of leads joined" in said
    assert "time CompletedDateTime: " in said and "unreadable" in said
    assert re.search(r"censored at a 180-day horizon: [\d,]+ \([\d,]+ of them still open\)", said)
    assert re.search(r"events per lead: \d+\.\d\d", said)
    assert not (folder / "quarantine").exists()  # a check writes nothing


def test_cli_generate_unknown_shape_is_refused(tmp_path: Path) -> None:
    result = run("generate", "--out", tmp_path / "x", "--shape", "pipedrive", home=tmp_path)
    assert result.exit_code == 2 and "native, salesforce, hubspot" in result.output


def test_cli_mapping_keys_prints_the_reference(tmp_path: Path) -> None:
    from data_contracts.mapping_keys import reference_text

    result = run("mapping", "keys", home=tmp_path)
    assert result.exit_code == 0 and result.output == reference_text()


def test_cli_mapping_check_bad_mapping_is_one_clear_line(tmp_path: Path) -> None:
    bad = tmp_path / "bad.toml"
    bad.write_text('version = 2\n[tables.L]\nfile = "L.csv"\n[leads]\ntable = "L"\n')
    said = refused_cleanly(run("mapping", "check", bad, tmp_path, home=tmp_path))
    assert "leads.created_at: missing" in said


def test_cli_review_user_prints_an_entry_with_a_hash_never_the_password(tmp_path: Path) -> None:
    import tomllib

    password = "a long enough passphrase"
    result = CliRunner().invoke(
        app,
        ["review-user", "dana", "--name", "Dana Reyes", "--team", "marketing"],
        input=f"{password}\n{password}\n",
    )
    assert result.exit_code == 0, result.output
    assert password not in result.stdout
    entry = tomllib.loads(result.stdout)["users"]["dana"]
    assert entry["team"] == "marketing" and entry["password_hash"].startswith("$argon2id$")


def test_cli_review_without_a_users_file_says_what_to_set(tmp_path: Path) -> None:
    result = run("review", home=tmp_path)
    assert result.exit_code == 1 and "Traceback" not in result.output
    assert "HANDOFF_REVIEW_USERS_FILE" in str(result.exception) + result.output


@pytest.fixture(scope="module")
def small_folder(tmp_path_factory: pytest.TempPathFactory) -> Path:
    folder = tmp_path_factory.mktemp("roles") / "crm"
    generate_to_folder(n_leads=400, seed=5, out_dir=folder)
    return folder


def test_cli_validate_role_policy_override_changes_the_derived_roles(
    small_folder: Path, tmp_path: Path
) -> None:
    from features.roles import RolePolicy, RoleRule

    default = run("validate", small_folder, home=tmp_path)
    assert default.exit_code == 0, default.output
    assert "Buying-group roles (default policy), 400 leads:" in default.output
    path = RolePolicy(rules=[RoleRule(role="decision_maker")]).save(tmp_path / "roles.json")
    override = run("validate", small_folder, "--role-policy", path, home=tmp_path)
    assert override.exit_code == 0, override.output
    assert f"Buying-group roles (policy {path}), 400 leads:" in override.output
    assert re.search(r"decision maker +400 100\.0%", override.output)
    assert not re.search(r"decision maker +400 100\.0%", default.output)
    # Every contact a decision maker: an engaged account covers one role, never more.
    for k in (2, 3, 4):
        assert re.search(rf"{k} of 4 roles +0$", override.output, re.M), override.output
    assert not re.search(r"1 of 4 roles +0$", override.output, re.M)


@pytest.mark.parametrize(
    ("text", "says"),
    [('{"rules": [{"role": "champion"}]}', "rules.0.role"), ("[1, 2", "not a role policy")],
)
def test_cli_role_policy_bad_file_names_the_file_and_field(
    small_folder: Path, tmp_path: Path, text: str, says: str
) -> None:
    path = tmp_path / "roles.json"
    path.write_text(text)
    result = run("validate", small_folder, "--role-policy", path, home=tmp_path)
    assert result.exit_code == 2, result.output
    assert str(path) in result.output and says in result.output
    assert "Traceback" not in result.output


def test_cli_role_policy_on_spark_is_refused_before_spark_starts(
    small_folder: Path, tmp_path: Path
) -> None:
    path = tmp_path / "roles.json"
    path.write_text("{}")
    result = run(
        "validate", small_folder, "--role-policy", path, "--engine", "spark", home=tmp_path
    )
    assert result.exit_code == 2 and "--engine single only" in result.output
