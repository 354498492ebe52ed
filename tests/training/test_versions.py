"""`handoff models`: statuses derived from aliases and sign-offs, metrics from the runs."""

from __future__ import annotations

from typing import Any

import pytest

from tests.conftest import ACKNOWLEDGED
from training.promote import promote_version
from training.signoff import record_signoff
from training.versions import derive_status, list_versions, review_status, versions_table

pytestmark = pytest.mark.e2e

Store = Any  # tests/training/conftest.py::GovernanceStore
LOOSE: dict[str, float] = {"auc_tolerance": 1.0, "max_ece": 1.0, "baseline_margin": -1.0}


def test_versions_list_newest_first_with_run_metrics(governance: Store) -> None:
    infos = list_versions(governance.settings)
    assert [i.version for i in infos] == list(reversed(governance.versions))
    by_version = {r.version: r for r in governance.results}
    for info in infos:
        metrics = by_version[info.version].metrics
        assert info.status == "candidate"
        assert info.run_id == by_version[info.version].run_id
        assert info.metric("auc") == metrics["test_combined_roc_auc"]
        assert info.metric("lift10") == metrics["test_combined_lift_top10"]
        assert info.metric("ece") == metrics["test_combined_ece"]


def test_versions_table_tracks_every_status(governance: Store) -> None:
    v1, v2 = governance.versions
    s = governance.settings
    for version in (v1, v2):
        record_signoff(
            version, team="marketing", by="Mara", approve=True, **ACKNOWLEDGED, settings=s
        )
        record_signoff(version, team="bdr", by="Ben", approve=True, **ACKNOWLEDGED, settings=s)
    promote_version(v1, settings=s, **LOOSE)
    promote_version(v2, settings=s, **LOOSE)
    statuses = {i.version: i.status for i in list_versions(s)}
    assert statuses == {v1: "previous", v2: "champion"}
    record_signoff(v1, team="bdr", by="Ben", approve=False, comment="stale", settings=s)
    table = versions_table(settings=s)
    lines = {line.split()[0]: line for line in table.splitlines()[2:]}
    assert "champion" in lines[v2] and "marketing ok Mara, bdr ok Ben" in lines[v2]
    # previous outranks rejected: it is still what a rollback would restore (and refuse).
    assert "previous" in lines[v1] and "bdr REJECTED Ben" in lines[v1] and "blocked" in lines[v1]
    auc = governance.results[1].metrics["test_combined_roc_auc"]
    assert f"{auc:.4f}" in lines[v2]


def test_versions_status_derivation_order() -> None:
    both = {
        "handoff.binding": "b",
        "signoff.marketing.decision": "approved",
        "signoff.marketing.binding": "b",
        "signoff.bdr.decision": "approved",
        "signoff.bdr.binding": "b",
    }
    assert review_status({"handoff.binding": "b"}) == "candidate"
    assert review_status(both) == "approved"
    # an approval bound to other files (an edited tag) blocks until that team signs again
    assert review_status({**both, "signoff.bdr.binding": "old"}) == "blocked"
    assert review_status({**both, "signoff.bdr.binding": ""}) == "blocked"
    assert review_status({k: v for k, v in both.items() if k != "handoff.binding"}) == "blocked"
    assert review_status(both, ["the model or policy files changed"]) == "blocked"
    assert review_status({**both, "signoff.bdr.decision": "rejected"}) == "rejected"
    assert review_status({**both, "handoff.blocked": "rejected by bdr"}) == "rejected"
    assert derive_status(both, ["previous"]) == "previous"
    assert derive_status(both, ["champion", "previous"]) == "champion"


def test_versions_table_without_versions(tmp_path: Any) -> None:
    from models.settings import Settings

    assert "no versions" in versions_table(settings=Settings(home=tmp_path))
