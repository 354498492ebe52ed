"""Fixtures for the training tests."""

from __future__ import annotations

# ---------------------------------------------------------------------------------------
# Governance fixtures (sign-off, promotion, rollback, versions, report, audit).
# One real MLflow store with two real trained versions for the whole session; each test
# that needs a clean slate asks for `governance`, which wipes aliases, sign-off tags and
# the audit log (the trained runs and versions stay).
# ---------------------------------------------------------------------------------------
from dataclasses import dataclass
from pathlib import Path

import pytest

from data_contracts.synthetic import generate_to_folder
from models.settings import Settings
from tests.conftest import backend_overrides
from training.train import TrainResult, run_training

GOVERNANCE_LEADS = 3_000
GOVERNANCE_SEED = 5


@dataclass
class GovernanceStore:
    """A temp HANDOFF_HOME holding two registered versions trained on generated data."""

    settings: Settings
    data_dir: Path
    results: list[TrainResult]

    @property
    def versions(self) -> list[str]:
        return [r.version for r in self.results]


@pytest.fixture(scope="session")
def governance_store(tmp_path_factory: pytest.TempPathFactory) -> GovernanceStore:
    root = tmp_path_factory.mktemp("governance")
    data_dir = root / "crm"
    generate_to_folder(n_leads=GOVERNANCE_LEADS, seed=GOVERNANCE_SEED, out_dir=data_dir)
    tracking = backend_overrides("governance").get("tracking_uri")
    settings = Settings(home=root / "home", tracking_uri=tracking)
    first = run_training(data_dir, settings=settings)
    second = run_training(data_dir, settings=settings, horizon_days=150)
    return GovernanceStore(settings=settings, data_dir=data_dir, results=[first, second])


def reset_governance(governance_store: GovernanceStore) -> GovernanceStore:
    """Wipe aliases, sign-off and champion-history tags and the audit log; runs and versions stay."""
    from models.mlflow_layout import (
        BLOCK_TAG,
        CANDIDATE,
        PROMOTED_TAG,
        ROLLED_BACK_TAG,
        STATUS_TAG,
    )
    from training.versions import registry_client

    settings = governance_store.settings
    client = registry_client(settings)
    registered = client.get_registered_model(settings.model_name)
    for alias in list(registered.aliases or {}):
        client.delete_registered_model_alias(settings.model_name, alias)
    for version in governance_store.versions:
        mv = client.get_model_version(settings.model_name, version)
        for key in mv.tags:
            if key.startswith("signoff.") or key in (BLOCK_TAG, ROLLED_BACK_TAG, PROMOTED_TAG):
                client.delete_model_version_tag(settings.model_name, version, key)
        client.set_model_version_tag(settings.model_name, version, STATUS_TAG, CANDIDATE)
    Path(settings.audit_log_path).unlink(missing_ok=True)
    return governance_store


@pytest.fixture
def governance(governance_store: GovernanceStore) -> GovernanceStore:
    """The session store with no champion, no sign-offs and an empty audit log."""
    return reset_governance(governance_store)


@pytest.fixture(scope="module")
def governance_module(governance_store: GovernanceStore) -> GovernanceStore:
    """As `governance`, reset once per module (for read-mostly tests sharing one setup)."""
    return reset_governance(governance_store)


# ---------------------------------------------------------------------------------------
# End of governance fixtures.
# ---------------------------------------------------------------------------------------
