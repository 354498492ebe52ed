"""`POST /v1/accounts/score` and the account part of lead answers, end to end: a real
uvicorn server over a real SQLite MLflow registry holding a lead champion and an account
model trained by `handoff train-accounts`' code, signed off and promoted by the lead code."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
import pytest

from models.mlflow_layout import account_model_name
from serving.account_scoring import NO_ACCOUNT_CHAMPION, NO_ACCOUNT_ID
from serving.schemas import AccountScoreOut, LeadIn, ScoreOut
from serving.settings import ServingSettings
from tests.conftest import ACKNOWLEDGED
from tests.serving.conftest import HEADERS, LENIENT, LiveServer, lead_payload, serving_settings

pytestmark = pytest.mark.e2e


@dataclass
class AccountApi:
    server: LiveServer
    settings: ServingSettings
    account_version: str
    before: dict[str, Any]
    data_dir: Path

    @property
    def url(self) -> str:
        return self.server.url


def _approve(version: str, settings: ServingSettings) -> None:
    from training.signoff import record_signoff

    for team in ("marketing", "bdr"):
        record_signoff(
            version,
            team=team,
            by=f"{team}-lead",
            approve=True,
            comment="",
            settings=settings,
            **ACKNOWLEDGED,
        )


def _contact(
    lead_id: str, seniority: str, function: str, now: datetime, **kw: Any
) -> dict[str, Any]:
    payload = lead_payload(lead_id, now=now, n_events=4)
    payload["lead"].update(seniority=seniority, function=function, account_id="A-1", **kw)
    return payload


def _account_body(now: datetime) -> dict[str, Any]:
    return {
        "account": {
            "account_id": "A-1",
            "name": "Example Corp",
            "employees": 1200,
            "annual_revenue": 2.5e8,
            "is_named_account": True,
            "abm_tier": "tier_1",
        },
        "contacts": [
            _contact("C-1", "director", "it", now),
            _contact("C-2", "manager", "marketing", now),
        ],
        "as_of": now.isoformat(),
    }


@pytest.fixture(scope="module")
def account_api(tmp_path_factory: pytest.TempPathFactory) -> Iterator[AccountApi]:
    from data_contracts.synthetic import generate_to_folder
    from training.promote import promote_version
    from training.train import run_training
    from training.train_accounts import run_account_training

    root = tmp_path_factory.mktemp("accounts")
    data_dir = root / "crm"
    generate_to_folder(n_leads=3_000, seed=11, out_dir=data_dir, buying_group_effect=0.8)
    settings = serving_settings(root / "home")
    lead_version = run_training(data_dir, settings=settings).version
    _approve(lead_version, settings)
    promote_version(lead_version, settings=settings, by="test", **LENIENT)
    account = run_account_training(data_dir, settings=settings)
    accounts_settings = settings.model_copy(update={"model_name": account.model_name})
    _approve(account.version, accounts_settings)
    server = LiveServer(settings).start()
    try:
        now = datetime.now(UTC)
        with httpx.Client(base_url=server.url, headers=HEADERS, timeout=60) as c:
            lead = _contact("C-9", "vp", "it", now)
            before = {
                "accounts": c.post("/v1/accounts/score", json=_account_body(now)),
                "lead": c.post("/v1/score", json=lead),
            }
        promote_version(account.version, settings=accounts_settings, by="test", **LENIENT)
        _wait_for_accounts(server.url)
        yield AccountApi(server, settings, account.version, before, data_dir)
    finally:
        server.stop()


def _wait_for_accounts(url: str, timeout: float = 120) -> None:
    import time

    deadline = time.monotonic() + timeout
    body = _account_body(datetime.now(UTC))
    while time.monotonic() < deadline:
        if httpx.post(f"{url}/v1/accounts/score", json=body, headers=HEADERS).status_code == 200:
            return
        time.sleep(0.1)
    raise AssertionError("the account champion was never served")


@pytest.fixture(scope="module")
def client(account_api: AccountApi) -> Iterator[httpx.Client]:
    with httpx.Client(base_url=account_api.url, headers=HEADERS, timeout=60) as c:
        yield c


def test_account_model_registered_beside_lead_model(account_api: AccountApi) -> None:
    assert account_model_name(account_api.settings.model_name).endswith("-accounts")


def test_accounts_without_champion_is_503_and_leads_still_score(account_api: AccountApi) -> None:
    accounts, lead = account_api.before["accounts"], account_api.before["lead"]
    assert accounts.status_code == 503
    assert accounts.json()["detail"] == NO_ACCOUNT_CHAMPION
    assert lead.status_code == 200
    assert lead.json()["account"] is None
    assert lead.json()["account_note"] == NO_ACCOUNT_CHAMPION


def test_score_account_returns_group_and_missing_roles(
    client: httpx.Client, account_api: AccountApi
) -> None:
    response = client.post("/v1/accounts/score", json=_account_body(datetime.now(UTC)))
    assert response.status_code == 200, response.text
    out = AccountScoreOut.model_validate(response.json())
    assert out.account_id == "A-1"
    assert out.model_version == account_api.account_version
    assert out.contacts == 2
    assert out.engaged_contacts == 2
    assert "decision maker" not in out.roles_covered
    assert "decision maker" in out.missing_roles
    assert out.group_text == "2 engaged contacts, no " + out.group_text.split(", no ", 1)[1]
    assert "decision maker" in out.group_text
    assert 0 <= out.combined.probability <= 1
    assert out.fit.reasons and out.interest.reasons


def test_score_account_gaining_a_decision_maker_names_it_covered(client: httpx.Client) -> None:
    now = datetime.now(UTC)
    body = _account_body(now)
    body["contacts"].append(_contact("C-3", "c_level", "executive", now))
    out = AccountScoreOut.model_validate(client.post("/v1/accounts/score", json=body).json())
    assert "decision maker" in out.roles_covered
    assert "decision maker" not in out.missing_roles


def test_score_contacts_only_takes_account_from_contacts(client: httpx.Client) -> None:
    body = _account_body(datetime.now(UTC))
    del body["account"]
    response = client.post("/v1/accounts/score", json=body)
    assert response.status_code == 200, response.text
    assert response.json()["account_id"] == "A-1"


@pytest.mark.parametrize(
    ("change", "loc"),
    [
        (lambda b: b.update(account=None, contacts=[]), ["body"]),
        (
            lambda b: b["contacts"][1]["lead"].update(account_id="A-2"),
            ["body", "contacts", 1, "lead", "account_id"],
        ),
        (
            lambda b: b["contacts"][0]["lead"].update(account_id=None),
            ["body", "contacts", 0, "lead", "account_id"],
        ),
        (
            lambda b: b["contacts"][1]["lead"].update(lead_id="C-1"),
            ["body", "contacts", 1, "lead", "lead_id"],
        ),
        (
            lambda b: b.update(as_of=(datetime.now(UTC) + timedelta(days=2)).isoformat()),
            ["body", "as_of"],
        ),
        (lambda b: b["account"].update(employees="many"), ["body", "account", "employees"]),
    ],
)
def test_score_account_bad_input_is_422_naming_field(
    client: httpx.Client, change: Any, loc: list[Any]
) -> None:
    body = _account_body(datetime.now(UTC))
    change(body)
    response = client.post("/v1/accounts/score", json=body)
    assert response.status_code == 422, response.text
    assert loc in [d["loc"] for d in response.json()["detail"]]


def test_lead_answer_carries_its_account_part(
    client: httpx.Client, account_api: AccountApi
) -> None:
    now = datetime.now(UTC)
    item = _contact("C-1", "director", "it", now)
    item["account"] = {k: v for k, v in _account_body(now).items() if k != "as_of"}
    response = client.post("/v1/score", json=item)
    assert response.status_code == 200, response.text
    out = ScoreOut.model_validate(response.json())
    assert out.account is not None and out.account_note is None
    assert out.account.account_id == "A-1"
    assert out.account.model_version == account_api.account_version
    assert "decision maker" in out.account.missing_roles


def test_lead_without_account_id_has_null_account_with_reason(client: httpx.Client) -> None:
    body = client.post("/v1/score", json=lead_payload("L-alone")).json()
    assert body["account"] is None
    assert body["account_note"] == NO_ACCOUNT_ID


def test_lead_with_other_accounts_context_is_422(client: httpx.Client) -> None:
    now = datetime.now(UTC)
    item = _contact("C-1", "director", "it", now)
    item["lead"]["account_id"] = "A-7"
    item["account"] = {k: v for k, v in _account_body(now).items() if k != "as_of"}
    response = client.post("/v1/score", json=item)
    assert response.status_code == 422
    assert ["body", "account", "account", "account_id"] in [
        d["loc"] for d in response.json()["detail"]
    ]


def test_batch_scores_each_leads_account_separately(client: httpx.Client) -> None:
    now = datetime.now(UTC)
    with_group = _contact("C-1", "director", "it", now)
    with_group["account"] = {k: v for k, v in _account_body(now).items() if k != "as_of"}
    alone = _contact("C-5", "director", "it", now)
    response = client.post("/v1/score/batch", json={"items": [with_group, alone]})
    assert response.status_code == 200, response.text
    first, second = (r["result"]["account"] for r in response.json()["results"])
    assert first["group_text"].startswith("2 engaged contacts")
    assert second["group_text"].startswith("1 engaged contact")


def test_lead_model_refuses_to_load_an_account_model(account_api: AccountApi) -> None:
    from serving.champion import ChampionHolder

    named = account_api.settings.model_copy(
        update={"model_name": account_model_name(account_api.settings.model_name)}
    )
    holder = ChampionHolder(named)  # expects a lead model
    holder.refresh()
    assert holder.current is None
    assert "AccountModel, not a HandoffModel" in holder.reason


def test_batch_score_writes_accounts_file_beside_leads_file(
    account_api: AccountApi, tmp_path: Path
) -> None:
    import pandas as pd

    from serving.batch_accounts import ACCOUNT_OUTPUT_COLUMNS, accounts_output
    from serving.batch_score import score_folder

    out = tmp_path / "scores.parquet"
    summary = score_folder(account_api.data_dir, out=out, settings=account_api.settings)
    written = pd.read_parquet(accounts_output(out))
    accounts = pd.read_parquet(account_api.data_dir / "accounts.parquet")
    assert accounts_output(out).name == "scores_accounts.parquet"
    assert list(written.columns) == list(ACCOUNT_OUTPUT_COLUMNS)
    assert sorted(written["account_id"]) == sorted(accounts["account_id"].astype(str))
    assert set(written["model_version"]) == {account_api.account_version}
    assert f"scored {len(accounts)} accounts" in summary
    leads = pd.read_parquet(out)
    assert len(leads) == len(pd.read_parquet(account_api.data_dir / "leads.parquet"))


@pytest.mark.parametrize("mode", ["positive", "negative"])
def test_fuzz_accounts_endpoint_never_5xx(account_api: AccountApi, mode: str) -> None:
    import hypothesis
    import schemathesis
    from schemathesis.checks import not_a_server_error
    from schemathesis.generation import GenerationMode
    from schemathesis.specs.openapi.checks import (
        content_type_conformance,
        response_schema_conformance,
        status_code_conformance,
    )

    checks = [
        not_a_server_error,
        status_code_conformance,
        content_type_conformance,
        response_schema_conformance,
    ]
    schema = schemathesis.openapi.from_url(f"{account_api.url}/openapi.json")
    operation = schema["/v1/accounts/score"]["POST"]

    @hypothesis.settings(
        max_examples=30,
        deadline=None,
        derandomize=True,
        database=None,
        suppress_health_check=list(hypothesis.HealthCheck),
    )
    @hypothesis.given(case=operation.as_strategy(generation_mode=GenerationMode(mode)))
    def run(case: schemathesis.Case) -> None:
        case.call_and_validate(base_url=account_api.url, headers=HEADERS, checks=checks)

    run()


def _json_value(value: Any) -> Any:
    import pandas as pd

    if isinstance(value, pd.Timestamp):
        return value.isoformat()
    if pd.isna(value):
        return None
    return value.item() if hasattr(value, "item") else value  # numpy scalars


def _folder_contact(lead: Any, events: Any) -> dict[str, Any]:
    """A folder's lead and its events as the API's contact payload."""
    fields = [f for f in LeadIn.model_fields if f in lead.index]
    body = {f: _json_value(lead[f]) for f in fields}
    if isinstance(body.get("employees"), float):
        body["employees"] = int(body["employees"])
    sent = [
        {"occurred_at": e.occurred_at.isoformat(), "type": e.type}
        | {k: getattr(e, k) for k in ("channel", "campaign") if isinstance(getattr(e, k), str)}
        for e in events.itertuples()
    ]
    return {"lead": {k: v for k, v in body.items() if v is not None}, "events": sent}


def test_lead_champion_reads_account_features(client: httpx.Client) -> None:
    names = [fs["name"] for fs in client.get("/v1/model").json()["feature_sets"]]
    assert {"account_fit_v1", "account_interest_v1"} <= set(names)


def test_lead_scored_with_its_colleagues_matches_batch_scoring(
    client: httpx.Client, account_api: AccountApi, tmp_path: Path
) -> None:
    """The API builds the same account features from a request's context as batch scoring
    builds from the folder: same scores for a lead sent with every colleague the folder
    holds, as of the moment the batch scored at."""
    import pandas as pd

    from serving.batch_score import score_folder

    folder = account_api.data_dir
    leads = pd.read_parquet(folder / "leads.parquet")
    events = pd.read_parquet(folder / "events.parquet")
    accounts = pd.read_parquet(folder / "accounts.parquet").set_index("account_id")
    out = tmp_path / "scores.parquet"
    score_folder(folder, out=out, settings=account_api.settings)
    batch = pd.read_parquet(out).set_index("lead_id")
    as_of = batch["as_of"].iloc[0]
    per_lead = events.groupby("lead_id").size()
    sizes = leads.assign(n=leads["lead_id"].map(per_lead).fillna(0)).groupby("account_id")
    fits = sizes.agg(contacts=("lead_id", "size"), most=("n", "max"))
    chosen = fits[(fits["contacts"].between(3, 8)) & (fits["most"] <= 40)].index[:3]
    assert len(chosen) == 3
    moved = []
    for account_id in chosen:
        theirs = leads[leads["account_id"] == account_id]
        contacts = [
            _folder_contact(row, events[(events["lead_id"] == row.lead_id)])
            for row in (r for _, r in theirs.iterrows())
        ]
        row = accounts.loc[account_id]
        account = {"account_id": account_id} | {
            f: _json_value(row[f])
            for f in ("employees", "annual_revenue", "is_named_account", "abm_tier")
        }
        if isinstance(account.get("employees"), float):
            account["employees"] = int(account["employees"])
        first, *others = contacts
        item = first | {
            "as_of": as_of.isoformat(),
            "account": {"account": account, "contacts": others},
        }
        response = client.post("/v1/score", json=item)
        assert response.status_code == 200, response.text
        answer, expected = response.json(), batch.loc[first["lead"]["lead_id"]]
        for part in ("fit", "interest", "combined"):
            assert answer[part]["probability"] == pytest.approx(
                expected[f"{part}_probability"], abs=1e-9
            ), (account_id, part)
        alone = client.post("/v1/score", json=first | {"as_of": as_of.isoformat()}).json()
        moved.append(alone["combined"]["probability"] != answer["combined"]["probability"])
    assert any(moved), "the colleagues sent never changed a score"


def test_batch_chunks_see_their_accounts_whole_folder(
    account_api: AccountApi, tmp_path: Path
) -> None:
    """A folder read whole but scored in chunks (CSV tables) gives each lead the account
    features of every colleague in the folder, not only those in its chunk."""
    import pandas as pd

    from serving.batch_score import score_folder

    folder = account_api.data_dir
    csv = tmp_path / "csv"
    csv.mkdir()
    for name in ("leads", "events", "outcomes", "accounts"):
        pd.read_parquet(folder / f"{name}.parquet").to_csv(csv / f"{name}.csv", index=False)
    whole, chunked = tmp_path / "whole.parquet", tmp_path / "chunked.parquet"
    score_folder(csv, out=whole, settings=account_api.settings)  # one chunk
    score_folder(csv, out=chunked, settings=account_api.settings, chunk_leads=700)
    a = pd.read_parquet(whole).set_index("lead_id").sort_index()
    b = pd.read_parquet(chunked).set_index("lead_id").sort_index()
    assert a.index.equals(b.index)
    for part in ("fit", "interest", "combined"):
        col = f"{part}_probability"
        assert (a[col] - b[col]).abs().max() < 1e-9, part
