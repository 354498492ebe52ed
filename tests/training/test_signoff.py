"""Sign-offs: tags bound to the version's model and policy, every decision in the audit log."""

from __future__ import annotations

from typing import Any

import pytest

from tests.conftest import ACKNOWLEDGED, backend_env
from training.audit import read_events
from training.signoff import SignoffError, record_signoff
from training.versions import UnknownVersion, get_version, registry_client, version_info

pytestmark = pytest.mark.e2e

Store = Any  # tests/training/conftest.py::GovernanceStore


def _tags(store: Store, version: str) -> dict[str, str]:
    client = registry_client(store.settings)
    return dict(get_version(client, store.settings, version).tags)


def test_signoff_writes_bound_tags_and_audit_record(governance: Store) -> None:
    v1 = governance.versions[0]
    text = record_signoff(
        v1,
        team="marketing",
        by="Mara",
        approve=True,
        **ACKNOWLEDGED,
        comment="ICP matches",
        settings=governance.settings,
    )
    tags = _tags(governance, v1)
    assert tags["signoff.marketing.decision"] == "approved"
    assert tags["signoff.marketing.by"] == "Mara"
    assert tags["signoff.marketing.comment"] == "ICP matches"
    assert tags["signoff.marketing.binding"] == tags["handoff.binding"]
    assert tags["signoff.marketing.at"].endswith("+00:00")
    assert "still waiting for: bdr" in text
    (record,) = read_events(governance.settings)
    assert record["action"] == "signoff" and record["version"] == v1
    assert record["by"] == "Mara" and record["binding"] == tags["handoff.binding"]
    assert tags["handoff.status"] == "candidate"


def test_signoff_both_teams_makes_version_approved(governance: Store) -> None:
    v1 = governance.versions[0]
    record_signoff(
        v1, team="marketing", by="Mara", approve=True, **ACKNOWLEDGED, settings=governance.settings
    )
    text = record_signoff(
        v1, team="bdr", by="Ben", approve=True, **ACKNOWLEDGED, settings=governance.settings
    )
    assert "both teams approved" in text
    assert _tags(governance, v1)["handoff.status"] == "approved"
    assert version_info(governance.settings, v1).status == "approved"


def test_signoff_twice_replaces_tags_and_keeps_both_in_log(governance: Store) -> None:
    v1 = governance.versions[0]
    record_signoff(
        v1,
        team="bdr",
        by="Ben",
        approve=True,
        **ACKNOWLEDGED,
        comment="first",
        settings=governance.settings,
    )
    text = record_signoff(
        v1,
        team="bdr",
        by="Bea",
        approve=True,
        **ACKNOWLEDGED,
        comment="second",
        settings=governance.settings,
    )
    assert "replaces bdr's earlier decision" in text
    tags = _tags(governance, v1)
    assert (tags["signoff.bdr.by"], tags["signoff.bdr.comment"]) == ("Bea", "second")
    log = read_events(governance.settings, version=v1)
    assert [(r["by"], r["comment"]) for r in log] == [("Ben", "first"), ("Bea", "second")]
    assert log[1]["replaces"]["by"] == "Ben"


def test_signoff_rejection_is_final_later_approvals_refused(governance: Store) -> None:
    v1 = governance.versions[0]
    text = record_signoff(
        v1,
        team="bdr",
        by="Ben",
        approve=False,
        comment="too many calls",
        settings=governance.settings,
    )
    assert "REJECTED" in text and "blocked" in text
    assert _tags(governance, v1)["handoff.status"] == "rejected"
    for team, who in (("bdr", "Ben"), ("marketing", "Mara")):
        with pytest.raises(SignoffError) as refused:
            record_signoff(
                v1, team=team, by=who, approve=True, **ACKNOWLEDGED, settings=governance.settings
            )
        message = str(refused.value)
        assert "a rejection is final" in message and "train a new version" in message
        assert "bdr rejected it (Ben at " in message and "too many calls" in message
    tags = _tags(governance, v1)
    assert tags["signoff.bdr.decision"] == "rejected"
    assert "signoff.marketing.decision" not in tags
    assert "too many calls" in tags["handoff.blocked"]
    assert tags["handoff.status"] == "rejected"
    log = read_events(governance.settings, version=v1)
    assert [r["action"] for r in log] == ["rejection", "refusal", "refusal"]
    assert log[1]["refused"] == "approval by bdr" and "too many calls" in log[1]["reasons"][0]
    # rejecting again is allowed: it only adds to the record
    again = record_signoff(
        v1,
        team="marketing",
        by="Mara",
        approve=False,
        comment="agree",
        settings=governance.settings,
    )
    assert "marketing REJECTED" in again
    assert "too many calls" in _tags(governance, v1)["handoff.blocked"]  # the first block stays


def test_signoff_cli_refuses_approval_of_a_rejected_version(
    governance: Store, monkeypatch: pytest.MonkeyPatch
) -> None:
    from typer.testing import CliRunner

    from handoff_cli import app

    v1 = governance.versions[0]
    record_signoff(
        v1,
        team="marketing",
        by="Mara",
        approve=False,
        comment="wrong ICP",
        settings=governance.settings,
    )
    for name, value in backend_env(governance.settings).items():
        monkeypatch.setenv(name, value)
    result = CliRunner().invoke(app, ["signoff", v1, "--team", "marketing", "--by", "Mara"])
    assert result.exit_code == 1
    assert "sign-off not recorded" in result.output and "a rejection is final" in result.output
    assert "marketing approved" not in result.output
    assert _tags(governance, v1)["signoff.marketing.decision"] == "rejected"


def test_signoff_unknown_team_is_a_clear_error(governance: Store) -> None:
    with pytest.raises(SignoffError, match="marketing or bdr"):
        record_signoff(
            governance.versions[0],
            team="sales",
            by="Sam",
            approve=True,
            **ACKNOWLEDGED,
            settings=governance.settings,
        )
    with pytest.raises(SignoffError, match="--by"):
        record_signoff(
            governance.versions[0],
            team="bdr",
            by="  ",
            approve=True,
            **ACKNOWLEDGED,
            settings=governance.settings,
        )
    assert read_events(governance.settings) == []


def test_signoff_unknown_version_names_known_ones(governance: Store) -> None:
    with pytest.raises(UnknownVersion, match="known versions: 1, 2"):
        record_signoff(
            "99", team="bdr", by="Ben", approve=True, **ACKNOWLEDGED, settings=governance.settings
        )


def test_signoff_small_data_approval_refused_without_acknowledgement(governance: Store) -> None:
    v1 = governance.versions[0]
    small = _tags(governance, v1).get("handoff.small_data")
    assert small and "too small to trust" in small  # 3,000 generated leads: ~100 wins
    with pytest.raises(SignoffError, match="--acknowledge-small-data") as refused:
        record_signoff(v1, team="bdr", by="Ben", approve=True, settings=governance.settings)
    assert "does not acknowledge that the training window holds only" in str(refused.value)
    assert "signoff.bdr.decision" not in _tags(governance, v1)
    (record,) = read_events(governance.settings)
    assert record["action"] == "refusal" and record["refused"] == "approval by bdr"


def test_signoff_small_data_acknowledged_is_recorded_and_counts(governance: Store) -> None:
    v1 = governance.versions[0]
    for team in ("marketing", "bdr"):
        text = record_signoff(
            v1, team=team, by=team, approve=True, **ACKNOWLEDGED, settings=governance.settings
        )
    tags = _tags(governance, v1)
    assert tags["signoff.bdr.acknowledged"] == "small_data"
    assert "both teams approved" in text and tags["handoff.status"] == "approved"
    assert read_events(governance.settings)[-1]["acknowledged"] == "small_data"


def test_signoff_rejection_needs_no_acknowledgement(governance: Store) -> None:
    v1 = governance.versions[0]
    record_signoff(v1, team="bdr", by="Ben", approve=False, settings=governance.settings)
    assert _tags(governance, v1)["signoff.bdr.decision"] == "rejected"


def test_signoff_unknown_acknowledgement_refused_by_name(governance: Store) -> None:
    with pytest.raises(SignoffError, match="nothing called leakage can be acknowledged"):
        record_signoff(
            governance.versions[0],
            team="bdr",
            by="Ben",
            approve=True,
            acknowledge=("leakage",),
            settings=governance.settings,
        )


def test_signoff_refused_when_the_binding_reviewed_is_not_the_versions(governance: Store) -> None:
    v1 = governance.versions[0]
    with pytest.raises(SignoffError, match="review the version as it is now"):
        record_signoff(
            v1,
            team="marketing",
            by="Mara",
            approve=True,
            **ACKNOWLEDGED,
            settings=governance.settings,
            expected_binding="0" * 64,
        )
    assert "signoff.marketing.decision" not in _tags(governance, v1)
    (record,) = read_events(governance.settings)
    assert record["action"] == "refusal" and record["refused"] == "approval by marketing"


def test_signoff_refused_when_the_files_changed_after_registration(one_run: Any) -> None:
    from tests.conftest import appended_byte

    version = one_run.new_version()
    with (
        appended_byte(one_run.artifact_files(version)[1]),
        pytest.raises(SignoffError, match="files changed after registration"),
    ):
        record_signoff(version, team="bdr", by="Ben", approve=False, settings=one_run.settings)
    assert "signoff.bdr.decision" not in _tags(one_run, version)
