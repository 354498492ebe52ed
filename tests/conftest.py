"""Shared fixtures: offline MLflow, the shared public datasets, a real headless Chromium."""

from __future__ import annotations

import os
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pytest

from models.mlflow_layout import SMALL_DATA

if TYPE_CHECKING:
    from models.settings import Settings
    from serving.settings import ServingSettings

os.environ["MLFLOW_DISABLE_TELEMETRY"] = "true"

SHARED_DATA = Path(__file__).resolve().parents[1].parent / "shared" / "data"

# ---------------------------------------------------------------------------------------
# Backends. The end-to-end tests (marker `e2e`) run on the embedded SQLite stores, and again
# on PostgreSQL when HANDOFF_TEST_BACKEND=postgresql (CI's second pass): MLflow's tracking
# and registry store and the serving database each get a fresh database on the server at
# HANDOFF_TEST_POSTGRES_URL. Store-level tests run on both wherever that server answers.
# ---------------------------------------------------------------------------------------
POSTGRES_URL_ENV = "HANDOFF_TEST_POSTGRES_URL"
BACKEND_ENV = "HANDOFF_TEST_BACKEND"
_MLFLOW_TEMPLATE = "handoff_mlflow_template"


def postgres_server() -> str | None:
    """The test PostgreSQL server's URL when one is configured and answers, else None."""
    url = os.environ.get(POSTGRES_URL_ENV)
    if not url:
        return None
    import psycopg

    try:
        psycopg.connect(url, connect_timeout=3, autocommit=True).close()
    except psycopg.Error:
        return None
    return url


def require_postgres() -> str:
    url = postgres_server()
    if url is None:
        pytest.skip(
            f"no PostgreSQL reachable: set {POSTGRES_URL_ENV} (CI starts one with .ci/postgres.sh)"
        )
    return url


def fresh_postgres_database(prefix: str, *, template: str | None = None) -> str:
    """A new, empty (or template-copied) database on the test server; its URL."""
    import uuid
    from urllib.parse import urlsplit, urlunsplit

    import psycopg

    server = require_postgres()
    name = f"{prefix}_{uuid.uuid4().hex[:12]}"
    with psycopg.connect(server, autocommit=True) as conn:
        suffix = f" TEMPLATE {template}" if template else ""
        conn.execute(f"CREATE DATABASE {name}{suffix}")
    parts = urlsplit(server)
    return urlunsplit((parts.scheme, parts.netloc, f"/{name}", parts.query, ""))


def _mlflow_template() -> str:
    """A database with MLflow's tables migrated once (15 s); each store copies it (fast)."""
    import mlflow
    import psycopg

    server = require_postgres()
    version = mlflow.__version__.replace(".", "_")
    template = f"{_MLFLOW_TEMPLATE}_{version}"
    with psycopg.connect(server, autocommit=True) as conn:
        found = conn.execute("SELECT 1 FROM pg_database WHERE datname = %s", (template,))
        if found.fetchone() is None:
            conn.execute(f"CREATE DATABASE {template}_building")
            url = server.rsplit("/", 1)[0] + f"/{template}_building"
            engine_uri = url.replace("postgresql://", "postgresql+psycopg://", 1)
            mlflow.MlflowClient(tracking_uri=engine_uri).search_experiments()
            # MLflow keeps its engine (and pooled connections) for the process: end them.
            conn.execute(
                "SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = %s",
                (f"{template}_building",),
            )
            conn.execute(f"ALTER DATABASE {template}_building RENAME TO {template}")
    return template


def backend_env(settings: Settings) -> dict[str, str]:
    """The environment a `handoff` process needs to find the same stores."""
    env = {"HANDOFF_HOME": str(settings.home)}
    if settings.tracking_uri:
        env["HANDOFF_TRACKING_URI"] = settings.tracking_uri
    database_url = getattr(settings, "database_url", None)
    if database_url:
        env["HANDOFF_DATABASE_URL"] = database_url
    return env


def backend_overrides(label: str) -> dict[str, str]:
    """Settings that put a test store's MLflow and serving database on the chosen backend
    (none for SQLite, the embedded default)."""
    if os.environ.get(BACKEND_ENV, "sqlite") != "postgresql":
        return {}
    return {
        "tracking_uri": fresh_postgres_database(f"mlflow_{label}", template=_mlflow_template()),
        "database_url": fresh_postgres_database(f"serving_{label}"),
    }


@pytest.fixture(scope="session")
def shared_data() -> Path:
    """The public datasets beside the project; tests that need them skip where absent."""
    if not SHARED_DATA.is_dir():
        pytest.skip("../shared/data is absent")
    return SHARED_DATA


# ---------------------------------------------------------------------------------------
# One trained run, as many versions as a test needs (governance across training and serving).
# ---------------------------------------------------------------------------------------
ONE_RUN_LEADS = 2_000
ONE_RUN_SEED = 11

# Test stores train on a few thousand generated leads, too few wins to trust
# (`training.sample_size.MIN_TRAINING_WINS`): their approvals acknowledge it, visibly.
ACKNOWLEDGED = {"acknowledge": (SMALL_DATA,)}


@dataclass
class OneRunStore:
    """A temp HANDOFF_HOME with one real training run; `new_version` registers it again.

    Each version goes through `register_candidate`, so its binding is computed from the
    run's real files. Versions share those files: a test that edits them restores them.
    Tests use it through `one_run`, which removes the versions a test registered.
    """

    settings: ServingSettings
    trained_version: str
    registered: list[str] = field(default_factory=list)

    def new_version(self) -> str:
        from models.mlflow_layout import CONTRACT_VERSION_TAG, FEATURE_SETS_TAG, SMALL_DATA_TAG
        from training.register import register_candidate
        from training.versions import registry_client

        client = registry_client(self.settings)
        trained = client.get_model_version(self.settings.model_name, self.trained_version)
        kept = (CONTRACT_VERSION_TAG, FEATURE_SETS_TAG, SMALL_DATA_TAG)
        copied = {k: trained.tags[k] for k in kept if k in trained.tags}
        version = register_candidate(
            client,
            name=self.settings.model_name,
            run_id=str(trained.run_id),
            model_uri=str(trained.source),
            tags=copied,
            description="registered again from the same run for a governance test",
        )
        self.registered.append(str(version.version))
        return str(version.version)

    def approve(self, version: str) -> None:
        from models.mlflow_layout import TEAMS
        from training.signoff import record_signoff

        for team in TEAMS:
            record_signoff(
                version,
                team=team,
                by=f"{team}-lead",
                approve=True,
                **ACKNOWLEDGED,
                settings=self.settings,
            )

    def clear_aliases(self) -> None:
        from training.versions import registry_client

        client = registry_client(self.settings)
        name = self.settings.model_name
        for alias in list(client.get_registered_model(name).aliases or {}):
            client.delete_registered_model_alias(name, alias)

    def artifact_files(self, version: str) -> tuple[Path, Path]:
        """The version's model folder and its run's policy.json, in the store's artifact folder."""
        from urllib.parse import urlparse

        from mlflow.artifacts import download_artifacts

        from training.versions import get_version, registry_client

        client = registry_client(self.settings)
        mv = get_version(client, self.settings, version)
        model = Path(download_artifacts(artifact_uri=str(mv.source)))  # a local store: in place
        policy = Path(urlparse(client.get_run(mv.run_id).info.artifact_uri).path) / "policy.json"
        home = self.settings.home.resolve()
        assert home in model.resolve().parents and home in policy.resolve().parents
        return model, policy

    def discard_registered(self) -> None:
        """Delete the versions registered since the last call (the trained one stays)."""
        from training.versions import registry_client

        client = registry_client(self.settings)
        while self.registered:
            client.delete_model_version(self.settings.model_name, self.registered.pop())


@contextmanager
def appended_byte(path: Path) -> Iterator[None]:
    """`path` with one more byte for the body (as if replaced in the artifact store), then restored."""
    original = path.read_bytes()
    path.write_bytes(original + b"\n")
    try:
        yield
    finally:
        path.write_bytes(original)


@pytest.fixture
def one_run(one_run_store: OneRunStore) -> Iterator[OneRunStore]:
    """The one-run store with no aliases; the versions a test registers are deleted after it."""
    one_run_store.clear_aliases()
    yield one_run_store
    one_run_store.clear_aliases()
    one_run_store.discard_registered()


@pytest.fixture(scope="session")
def one_run_store(tmp_path_factory: pytest.TempPathFactory) -> OneRunStore:
    from data_contracts.synthetic import generate_to_folder
    from tests.serving.conftest import serving_settings
    from training.train import run_training

    root = tmp_path_factory.mktemp("one_run")
    generate_to_folder(n_leads=ONE_RUN_LEADS, seed=ONE_RUN_SEED, out_dir=root / "crm")
    settings = serving_settings(root / "home", **backend_overrides("one_run"))
    # Lead features only: the Spark scoring test promotes it (Spark scores no champion
    # that reads account features); the serving stores cover champions that do.
    trained = run_training(root / "crm", settings=settings, account_features=False)
    return OneRunStore(settings=settings, trained_version=trained.version)


def tiny_mapping(
    *, file: str = "export.csv", label: str = "won", id_from: str | None = None
) -> str:
    """The smallest valid mapping: one export file, a yes/no label, constant required fields."""
    lead_id = f'from = "{id_from}"' if id_from else "row_number = true"
    return f"""
[source]
file = "{file}"
[lead_id]
{lead_id}
[time]
step = "1h"
[label]
from = "{label}"
positive = ["yes"]
[columns.seniority]
value = "unknown"
[columns.function]
value = "other"
[columns.source]
value = "outbound"
[columns.is_named_account]
value = false
"""


# ---------------------------------------------------------------------------------------
# A real headless Chromium (Debian's package; nothing downloads a browser) for page tests.
# ---------------------------------------------------------------------------------------
CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_ARGS = (
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
)


@pytest.fixture(scope="session")
def chromium() -> Iterator[Any]:
    """Playwright driving the system Chromium; skipped only where none is installed (CI
    installs it: `apt-get install -y chromium`)."""
    if not CHROMIUM.exists():
        pytest.skip("no /usr/bin/chromium: apt-get install -y chromium")
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(
            executable_path=str(CHROMIUM), args=list(CHROMIUM_ARGS), headless=True
        )
        yield browser
        browser.close()


@pytest.fixture(scope="session")
def screenshots(tmp_path_factory: pytest.TempPathFactory, pytestconfig: pytest.Config) -> Path:
    """Where browser tests save their screenshots (test artefacts, never committed); the
    folder is printed in the test output."""
    folder = tmp_path_factory.mktemp("screenshots", numbered=False)
    reporter = pytestconfig.pluginmanager.get_plugin("terminalreporter")
    if reporter is not None:
        reporter.write_line(f"browser screenshots: {folder}")
    return folder


def loopback_only(context: Any) -> list[str]:
    """Make a browser context refuse every request that leaves this machine; the list it
    returns fills with the URLs it refused (a page that works offline leaves it empty)."""
    from urllib.parse import urlsplit

    refused: list[str] = []

    def route(route: Any) -> None:
        host = urlsplit(route.request.url).hostname or ""
        if host in ("127.0.0.1", "localhost", "::1") or route.request.url.startswith("data:"):
            route.continue_()
        else:
            refused.append(route.request.url)
            route.abort()

    context.route("**/*", route)
    return refused


# ---------------------------------------------------------------------------------------
# A foreign export with mapped extras: honest inputs, one sales-entered leak, one category
# first seen late (for the leakage guard, unseen categories and the API's extras).
# ---------------------------------------------------------------------------------------
EXPORT_EXTRAS = {
    "segment": ("Segment", "fit", "categorical"),
    "visits": ("Visits", "interest", "numeric"),
    "region": ("Region", "fit", "categorical"),
}
LEAK_EXTRA = {"business_type": ("Business Type", "fit", "categorical")}


def write_mapped_export(
    folder: Path, *, rows: int = 1_500, seed: int = 0, signal: bool = True
) -> Path:
    """`export.csv` in `folder`: a yes/no `won` label driven by Segment and Visits (or, with
    `signal=False`, by nothing at all); Region is noise whose value "north" appears only in
    the last quarter of rows; Business Type is filled in only for won leads (entered by
    sales at close: a leak)."""
    import numpy as np
    import pandas as pd

    rng = np.random.default_rng(seed)
    segments = np.array(["smb", "mid", "enterprise", "public"])
    seg = rng.integers(0, len(segments), rows)
    visits = rng.poisson(3, rows).astype(float)
    logit = -1.6 + (np.array([-0.6, 0.2, 0.9, -0.2])[seg] + 0.25 * (visits - 3)) * signal
    won = rng.random(rows) < 1 / (1 + np.exp(-logit))
    region = rng.choice(["east", "west", "south"], rows).astype(object)
    late = np.arange(rows) >= int(rows * 0.75)
    region[late & (rng.random(rows) < 0.4)] = "north"
    business = np.where(won, rng.choice(["reseller", "direct", "partner"], rows), None)
    folder.mkdir(parents=True, exist_ok=True)
    pd.DataFrame(
        {
            "won": np.where(won, "yes", "no"),
            "Segment": segments[seg],
            "Visits": visits,
            "Region": region,
            "Business Type": business,
        }
    ).to_csv(folder / "export.csv", index=False)
    return folder


def export_mapping(*, leak: bool = True, keep: dict[str, str] | None = None) -> str:
    """The mapping of `write_mapped_export`: its extras (and the leak, unless `leak=False`),
    and a `[keep]` table when given."""
    extras = {**EXPORT_EXTRAS, **(LEAK_EXTRA if leak else {})}
    text = tiny_mapping(file="export.csv", label="won").replace(
        'step = "1h"',
        'step = "1h"\nextracted_at = "2030-01-01T00:00:00Z"',  # labels are final
    )
    for name, (source, role, kind) in extras.items():
        text += f'[extras.{name}]\nfrom = "{source}"\nrole = "{role}"\ndtype = "{kind}"\n'
    if keep:
        text += "[keep]\n" + "".join(f'"{k}" = "{v}"\n' for k, v in keep.items())
    return text


# ---------------------------------------------------------------------------------------
# One local Spark session for the whole run (starting one costs several seconds).
# ---------------------------------------------------------------------------------------
@pytest.fixture(scope="session")
def spark():
    """A `local[2]` session; tests that need it skip, saying why, where Spark cannot run."""
    from data_contracts.spark_session import SparkUnavailable, java_available, spark_session

    if not java_available():
        pytest.skip("Spark tests need Java 17 (no java on PATH or JAVA_HOME)")
    try:
        session = spark_session("local[2]", conf={"spark.sql.shuffle.partitions": "2"})
    except SparkUnavailable as missing:
        pytest.skip(f"Spark tests skipped: {missing}")
    yield session
    session.stop()
