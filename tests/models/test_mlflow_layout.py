"""The MLflow layout: one sign-off and binding rule, the same words wherever a version is refused.

The end-to-end cases edit a registered version the way the MLflow UI or a script could (tags
removed or emptied, files replaced in the artifact store) or reject it, then check that
promotion refuses it, a real server refuses to load it and `handoff models` shows it blocked,
each with the very same reason string.
"""

from __future__ import annotations

import ast
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import httpx
import pytest

from models import mlflow_layout as layout
from models.mlflow_layout import (
    BINDING_TAG,
    BLOCK_TAG,
    Signoff,
    decision_tags,
    rejection_problems,
    signoff_problems,
    signoff_tag,
    signoffs_from_tags,
)
from tests.conftest import OneRunStore, appended_byte
from tests.serving.conftest import LENIENT, LiveServer

ROOT = Path(__file__).resolve().parents[2]
OK = {
    "handoff.binding": "abc",
    **{f"signoff.{t}.decision": "approved" for t in ("marketing", "bdr")},
    **{f"signoff.{t}.binding": "abc" for t in ("marketing", "bdr")},
}


def test_signoff_problems_none_when_both_teams_approved_this_binding() -> None:
    assert signoff_problems(OK) == []


def test_signoff_problems_refuse_unsigned_rejected_or_rebound_versions() -> None:
    assert any("bdr" in p for p in signoff_problems({**OK, "signoff.bdr.decision": "rejected"}))
    assert signoff_problems({"handoff.binding": "abc"}) == [
        "marketing has not signed off",
        "bdr has not signed off",
    ]
    (rebound,) = signoff_problems({**OK, "signoff.marketing.binding": "zzz"})
    assert "binding" in rebound and "marketing must sign again" in rebound
    (blocked,) = signoff_problems({**OK, "handoff.blocked": "rejected once"})
    assert blocked.startswith("blocked by an earlier rejection (rejected once)")


def test_signoff_problems_refuse_a_version_without_binding_tag_case() -> None:
    unbound = {k: v for k, v in OK.items() if k != BINDING_TAG}
    (problem,) = signoff_problems(unbound)
    assert "no handoff.binding tag" in problem
    (empty,) = signoff_problems({**OK, BINDING_TAG: ""})
    assert empty == problem


def test_signoff_problems_refuse_an_empty_team_binding_case() -> None:
    (problem,) = signoff_problems({**OK, "signoff.bdr.binding": ""})
    assert "bdr's approval" in problem and "bound to nothing" in problem


def test_signoff_problems_refuse_an_edited_decision_word_case() -> None:
    (problem,) = signoff_problems({**OK, "signoff.bdr.decision": "maybe"})
    assert "'maybe'" in problem


def test_signoff_problems_need_every_approval_to_acknowledge_small_data() -> None:
    small = {**OK, layout.SMALL_DATA_TAG: "the training window holds only 40 won deals"}
    problems = signoff_problems(small)
    assert [p.split("'")[0] for p in problems] == ["marketing", "bdr"]
    assert all("does not acknowledge that the training window holds only 40" in p for p in problems)
    assert all("--acknowledge-small-data" in p for p in problems)
    acknowledged = {
        **small,
        **{f"signoff.{t}.acknowledged": "small_data" for t in ("marketing", "bdr")},
    }
    assert signoff_problems(acknowledged) == []
    assert signoff_problems({**OK, "signoff.bdr.acknowledged": "small_data"}) == []


def test_rejection_problems_name_the_team_and_hide_the_redundant_block() -> None:
    rejected = {
        **OK,
        "signoff.bdr.decision": "rejected",
        "signoff.bdr.by": "Ben",
        "signoff.bdr.at": "2026-01-01",
        "signoff.bdr.comment": "no capacity",
        BLOCK_TAG: "rejected by bdr (Ben) at 2026-01-01: no capacity",
    }
    assert rejection_problems(rejected) == ["bdr rejected it (Ben at 2026-01-01: no capacity)"]
    assert signoff_problems(rejected) == rejection_problems(rejected)


def test_decision_tags_round_trip_and_block_once() -> None:
    approval = Signoff("marketing", "approved", "Mara", "t1", "fine", "abc")
    tags = decision_tags(approval, {})
    assert BLOCK_TAG not in tags
    assert signoffs_from_tags(tags) == {"marketing": approval}
    rejection = Signoff("bdr", "rejected", "Ben", "t2", "", "abc")
    first = decision_tags(rejection, tags)
    assert first[BLOCK_TAG] == "rejected by bdr (Ben) at t2"
    again = decision_tags(Signoff("marketing", "rejected", "Mara", "t3", "", "abc"), first)
    assert BLOCK_TAG not in again  # the first rejection's block stays the record


def test_signoff_tag_refuses_an_unknown_field() -> None:
    assert signoff_tag("bdr", "decision") == "signoff.bdr.decision"
    with pytest.raises(ValueError, match="no field 'verdict'"):
        signoff_tag("bdr", "verdict")


def _string_literals(path: Path) -> Iterator[tuple[int, str]]:
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Constant) and isinstance(node.value, str):
            yield node.lineno, node.value


def test_layout_tag_names_have_one_home() -> None:
    tags = {v for k, v in vars(layout).items() if k.endswith("_TAG") and isinstance(v, str)}
    sources = [ROOT / "handoff_cli.py"] + [
        p
        for folder in ("data_contracts", "features", "models", "training", "serving")
        for p in (ROOT / folder).rglob("*.py")
    ]
    found = []
    for path in sources:
        rel = path.relative_to(ROOT).as_posix()
        if rel == "models/mlflow_layout.py":
            continue
        for line, text in _string_literals(path):
            if text in tags or text.startswith("signoff."):
                found.append(f"{rel}:{line}: {text!r}")
    assert found == []


# ------------------------------------------------------------------ the same words everywhere


def _remove_binding(store: OneRunStore, version: str) -> Iterator[None]:
    client = _client(store)
    client.delete_model_version_tag(store.settings.model_name, version, BINDING_TAG)
    yield


def _empty_team_binding(store: OneRunStore, version: str) -> Iterator[None]:
    client = _client(store)
    client.set_model_version_tag(store.settings.model_name, version, "signoff.bdr.binding", "")
    yield


def _edit_policy(store: OneRunStore, version: str) -> Iterator[None]:
    with appended_byte(store.artifact_files(version)[1]):
        yield


def _replace_model_file(store: OneRunStore, version: str) -> Iterator[None]:
    model, _ = store.artifact_files(version)
    (scorer,) = list(model.rglob("scorer.joblib"))
    with appended_byte(scorer):
        yield


def _reject(store: OneRunStore, version: str) -> Iterator[None]:
    from training.signoff import record_signoff

    record_signoff(
        version, team="bdr", by="Ben", approve=False, comment="no capacity", settings=store.settings
    )
    yield


def _unacknowledge_small_data(store: OneRunStore, version: str) -> Iterator[None]:
    client = _client(store)
    tags = client.get_model_version(store.settings.model_name, version).tags
    assert tags.get(layout.SMALL_DATA_TAG), "the one-run store trains on too few wins to trust"
    client.set_model_version_tag(
        store.settings.model_name, version, signoff_tag("bdr", "acknowledged"), ""
    )
    yield


def _client(store: OneRunStore) -> Any:
    from training.versions import registry_client

    return registry_client(store.settings)


CASES: dict[str, tuple[Callable[[OneRunStore, str], Iterator[None]], str, str]] = {
    # case: (how the version is spoiled, a fragment of the reason, the status `handoff models` shows)
    "binding_tag_removed": (_remove_binding, "has no handoff.binding tag", "blocked"),
    "team_binding_empty": (
        _empty_team_binding,
        "bdr's approval (bdr-lead) is bound to nothing",
        "blocked",
    ),
    "policy_edited": (_edit_policy, "files changed after registration", "blocked"),
    "model_file_replaced": (_replace_model_file, "files changed after registration", "blocked"),
    "rejected": (_reject, "bdr rejected it (Ben at ", "rejected"),
    "small_data_unacknowledged": (
        _unacknowledge_small_data,
        "bdr's approval (bdr-lead) does not acknowledge that the training window holds only",
        "blocked",
    ),
}


@pytest.fixture(scope="module")
def server(one_run_store: OneRunStore) -> Iterator[LiveServer]:
    one_run_store.clear_aliases()
    live = LiveServer(one_run_store.settings).start()
    try:
        yield live
    finally:
        live.stop()


def _readyz_once_reason_names(url: str, fragment: str, version: str) -> httpx.Response:
    deadline = time.monotonic() + 60
    while True:
        response = httpx.get(f"{url}/readyz")
        reason = response.json().get("reason") or ""
        if f"version {version} " in reason and fragment in reason:
            return response
        if time.monotonic() > deadline:
            raise AssertionError(f"readyz never named {fragment!r}: {response.json()}")
        time.sleep(0.05)


@pytest.mark.parametrize("case", list(CASES))
def test_spoiled_version_refused_everywhere_with_the_same_reason(
    one_run: OneRunStore, server: LiveServer, case: str
) -> None:
    from training.promote import PromotionRefused, promote_version
    from training.versions import list_versions, versions_table

    spoil, fragment, status = CASES[case]
    store = one_run
    version = store.new_version()
    store.approve(version)
    with contextmanager(spoil)(store, version):
        with pytest.raises(PromotionRefused) as refused:
            promote_version(version, settings=store.settings, **LENIENT)
        (reason,) = [r for r in refused.value.reasons if fragment in r]

        lines = {
            line.split()[0]: line
            for line in versions_table(settings=store.settings).splitlines()[2:]
        }
        assert "[blocked: " in lines[version] and reason in lines[version]
        assert {i.version: i.status for i in list_versions(store.settings)}[version] == status

        # The alias moved as the MLflow UI or a script could move it, past promotion.
        _client(store).set_registered_model_alias(store.settings.model_name, "champion", version)
        ready = _readyz_once_reason_names(server.url, fragment, version)
        assert ready.status_code == 503 and ready.json()["ready"] is False
        assert reason in ready.json()["reason"]
        assert server.app.state.holder.current is None
        assert server.app.state.holder.reason == ready.json()["reason"]
