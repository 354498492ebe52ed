"""The review app over HTTP: sign-in, sessions, CSRF, who may sign what, the same records as
the CLI. The browser tests (`test_browser.py`) drive the same pages in Chromium."""

from __future__ import annotations

import logging
import re
from typing import Any

import httpx
import pytest

from models.mlflow_layout import signoff_tag
from tests.conftest import ACKNOWLEDGED
from tests.training.review.conftest import PASSWORDS, LiveReview
from training.audit import read_events
from training.review.sessions import COOKIE
from training.signoff import record_signoff
from training.versions import get_version, registry_client

CSRF = re.compile(r'name="csrf" value="([^"]+)"')
BINDING = re.compile(r'name="binding" value="([^"]*)"')
ACKNOWLEDGE_BOX = re.compile(r'name="(acknowledge_[a-z_]+)"')


def csrf_of(html: str) -> str:
    match = CSRF.search(html)
    assert match, html[:500]
    return match.group(1)


def signed_in(live: LiveReview, username: str) -> httpx.Client:
    client = httpx.Client(base_url=live.url, follow_redirects=True, timeout=120)
    page = client.get("/login")
    response = client.post(
        "/login",
        data={"csrf": csrf_of(page.text), "username": username, "password": PASSWORDS[username]},
    )
    assert response.status_code == 200 and str(response.url).endswith("/"), response.text[:300]
    return client


def decide(
    client: httpx.Client, version: str, *, acknowledge: bool = True, **form: str
) -> httpx.Response:
    """Post the page's form; `acknowledge` ticks every acknowledgement the page asks for."""
    page = client.get(f"/versions/{version}").text
    binding = BINDING.search(page)
    fields = {"csrf": csrf_of(page), "binding": binding.group(1) if binding else "", **form}
    if acknowledge:
        fields |= {name: "yes" for name in ACKNOWLEDGE_BOX.findall(page)}
    return client.post(f"/versions/{version}/decision", data=fields)


def _tags(store: Any, version: str) -> dict[str, str]:
    return dict(get_version(registry_client(store.settings), store.settings, version).tags)


def test_review_pages_need_a_signed_in_reviewer(live_review: LiveReview) -> None:
    anonymous = httpx.Client(base_url=live_review.url)
    for path in ("/", "/versions/1", "/versions/1/report", "/versions/1/compare"):
        response = anonymous.get(path)
        assert response.status_code == 303 and response.headers["location"] == "/login", path
    cookie = anonymous.cookies.get(COOKIE)
    assert cookie and "mara" not in cookie
    page = anonymous.get("/login")
    assert "script" not in page.text and "http" not in page.text.split("<body>")[1]
    assert page.headers["content-security-policy"].startswith("default-src 'none'")


def test_review_sign_in_rotates_the_session_and_sign_out_ends_it(live_review: LiveReview) -> None:
    client = httpx.Client(base_url=live_review.url, follow_redirects=True, timeout=120)
    before = client.get("/login")
    anonymous_cookie = client.cookies.get(COOKIE)
    client.post(
        "/login",
        data={"csrf": csrf_of(before.text), "username": "mara", "password": PASSWORDS["mara"]},
    )
    signed = client.cookies.get(COOKIE)
    assert signed and signed != anonymous_cookie
    versions = client.get("/")
    assert "Mara Marketing" in versions.text and 'id="versions"' in versions.text
    client.post("/logout", data={"csrf": csrf_of(versions.text)})
    replay = httpx.Client(base_url=live_review.url, cookies={COOKIE: signed})
    assert replay.get("/").headers["location"] == "/login"  # the ended session is gone


def test_review_failed_sign_ins_are_throttled_and_logged_without_the_password(
    live_review: LiveReview, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO, logger="handoff.review_app")
    client = httpx.Client(base_url=live_review.url, timeout=120)
    wrong = "not-bens-password-Quokka-77"
    statuses = []
    for _ in range(live_review.settings.review_max_failed_logins + 1):
        page = client.get("/login")
        statuses.append(
            client.post(
                "/login", data={"csrf": csrf_of(page.text), "username": "ben", "password": wrong}
            ).status_code
        )
    assert statuses[:-1] == [401] * live_review.settings.review_max_failed_logins
    assert statuses[-1] == 429
    page = client.get("/login")
    right = client.post(
        "/login",
        data={"csrf": csrf_of(page.text), "username": "ben", "password": PASSWORDS["ben"]},
    )
    assert right.status_code == 429  # even the right password waits out the lock
    logged = "\n".join(r.getMessage() for r in caplog.records)
    assert "failed sign-in for 'ben' from 127.0.0.1" in logged and "refused" in logged
    assert wrong not in logged and PASSWORDS["ben"] not in logged
    sessions = [c for c in client.cookies.values()]
    assert sessions and not any(s in logged for s in sessions)


def test_review_unknown_user_names_are_not_logged(
    live_review: LiveReview, caplog: pytest.LogCaptureFixture
) -> None:
    """A password typed into the user-name box must not land in the log."""
    caplog.set_level(logging.INFO, logger="handoff.review_app")
    client = httpx.Client(base_url=live_review.url, timeout=120)
    page = client.get("/login")
    typed = "Tr0ub4dor-typed-in-the-wrong-box"
    response = client.post(
        "/login", data={"csrf": csrf_of(page.text), "username": typed, "password": "x"}
    )
    assert response.status_code == 401
    logged = "\n".join(r.getMessage() for r in caplog.records)
    assert "an unknown user name" in logged and typed.lower() not in logged.lower()


def test_review_sign_off_is_the_same_record_as_the_cli(
    live_review: LiveReview, governance: Any
) -> None:
    v1, v2 = governance.versions
    client = signed_in(live_review, "mara")
    response = decide(client, v1, team="marketing", decision="approve", comment="fits our ICP")
    assert response.status_code == 200 and "marketing approved version" in response.text
    record_signoff(
        v2,
        team="marketing",
        by="Mara (CLI)",
        approve=True,
        comment="cli",
        **ACKNOWLEDGED,
        settings=governance.settings,
    )
    page_tags, cli_tags = _tags(governance, v1), _tags(governance, v2)
    fields = ("decision", "by", "at", "comment", "binding")
    assert all(signoff_tag("marketing", f) in page_tags for f in fields)
    assert {k for k in page_tags if k.startswith("signoff.")} == {
        k for k in cli_tags if k.startswith("signoff.")
    }
    assert page_tags[signoff_tag("marketing", "by")] == "Mara Marketing (mara)"
    assert page_tags[signoff_tag("marketing", "binding")] == page_tags["handoff.binding"]
    page_event, cli_event = read_events(governance.settings)
    assert page_event.keys() == cli_event.keys() and page_event["action"] == "signoff"


@pytest.mark.parametrize(
    ("form", "status", "said"),
    [
        ({"team": "bdr", "decision": "approve"}, 403, "signs for marketing only, not for bdr"),
        ({"team": "marketing", "decision": "approve", "by": "Ben"}, 403, "never as someone else"),
        ({"team": "marketing", "decision": "maybe"}, 400, "decision: must be approve or reject"),
        ({"team": "marketing", "decision": "approve", "comment": "x" * 1001}, 400, "at most"),
        ({"team": "marketing", "decision": "approve", "binding": "0" * 64}, 409, "as it is now"),
    ],
)
def test_review_refuses_what_the_reviewer_may_not_sign(
    live_review: LiveReview, governance: Any, form: dict[str, str], status: int, said: str
) -> None:
    v1 = governance.versions[0]
    client = signed_in(live_review, "mara")
    response = decide(client, v1, **form)
    assert response.status_code == status and said in response.text, response.text[-800:]
    assert not any(k.startswith("signoff.") for k in _tags(governance, v1))


def test_review_form_without_this_sessions_csrf_token_changes_nothing(
    live_review: LiveReview, governance: Any
) -> None:
    v1 = governance.versions[0]
    client = signed_in(live_review, "mara")
    page = client.get(f"/versions/{v1}").text
    form = {"team": "marketing", "decision": "approve", "binding": BINDING.search(page).group(1)}
    missing = client.post(f"/versions/{v1}/decision", data=form)
    forged = client.post(f"/versions/{v1}/decision", data={**form, "csrf": "f" * 43})
    cross_site = client.post(
        f"/versions/{v1}/decision",
        data={**form, "csrf": csrf_of(page)},
        headers={"Origin": "https://evil.example"},
    )
    for response in (missing, forged, cross_site):
        assert response.status_code == 403 and "This form has expired" in response.text
    assert not any(k.startswith("signoff.") for k in _tags(governance, v1))


def test_review_only_an_admin_promotes_and_refusals_list_every_reason(
    live_review: LiveReview, governance: Any
) -> None:
    v1 = governance.versions[0]
    reviewer = signed_in(live_review, "mara")
    page = reviewer.get(f"/versions/{v1}").text
    assert 'id="promote-form"' not in page
    refused = reviewer.post(f"/versions/{v1}/promote", data={"csrf": csrf_of(page)})
    assert refused.status_code == 403 and "Only an admin promotes" in refused.text
    admin = signed_in(live_review, "ada")
    page = admin.get(f"/versions/{v1}").text
    assert 'id="decision-form"' not in page  # an admin without a team signs for nobody
    response = admin.post(f"/versions/{v1}/promote", data={"csrf": csrf_of(page)})
    assert response.status_code == 409
    assert (
        "marketing has not signed off" in response.text
        and "bdr has not signed off" in response.text
    )
    (event,) = read_events(governance.settings)
    assert event["action"] == "refusal" and event["by"] == "Ada Admin (ada)"


def test_review_trusted_proxy_header_signs_in_only_from_the_proxy(
    governance: Any, users_file: Any
) -> None:
    from tests.training.review.conftest import review_settings

    trusted = LiveReview.start(
        review_settings(
            governance,
            users_file,
            review_cookie_secure=False,
            review_trusted_user_header="X-Forwarded-User",
        )
    )
    elsewhere = LiveReview.start(
        review_settings(
            governance,
            users_file,
            review_cookie_secure=False,
            review_trusted_user_header="X-Forwarded-User",
            review_trusted_proxies=["10.11.12.13"],
        )
    )
    try:
        proxied = httpx.get(f"{trusted.url}/", headers={"X-Forwarded-User": "Ben"})
        assert proxied.status_code == 200 and "Ben BDR" in proxied.text
        stranger = httpx.get(f"{trusted.url}/", headers={"X-Forwarded-User": "mallory"})
        assert stranger.status_code == 403 and "list of reviewers" in stranger.text
        ignored = httpx.get(f"{elsewhere.url}/", headers={"X-Forwarded-User": "ben"})
        assert ignored.status_code == 303 and ignored.headers["location"] == "/login"
    finally:
        trusted.stop()
        elsewhere.stop()


def test_review_refuses_a_body_that_is_not_a_small_form(live_review: LiveReview) -> None:
    client = httpx.Client(base_url=live_review.url, timeout=120)
    page = client.get("/login")
    as_json = client.post("/login", json={"csrf": csrf_of(page.text), "username": "mara"})
    assert as_json.status_code == 400 and "url-encoded forms only" in as_json.text
    huge = client.post("/login", data={"csrf": csrf_of(page.text), "username": "m" * 20_000})
    assert huge.status_code == 400 and "larger than 16 KiB" in huge.text


def test_review_version_page_shows_the_reports_decision_box(
    live_review: LiveReview, governance: Any
) -> None:
    """The same box as the report's first (`decision.html.j2`), with the verdict line in
    the versions list, and its sign-off state following the decisions taken."""
    import html

    from training.promote import check_gates, configured_gates

    v2 = governance.versions[1]
    settings = live_review.settings
    client = registry_client(settings)
    check = check_gates(
        client, settings, get_version(client, settings, v2), None, configured_gates(settings)
    )
    assert check.verdict is not None
    reviewer = signed_in(live_review, "mara")
    listing = html.unescape(reviewer.get("/").text)
    assert check.verdict.headline() in listing
    page = html.unescape(reviewer.get(f"/versions/{v2}").text)
    assert 'id="decision"' in page and page.index('id="decision"') < page.index("Sign-offs")
    assert "there is no champion: promoting it makes it the first version to route leads" in page
    if check.verdict.baseline is not None:
        assert check.verdict.baseline.sentence() in page
    assert ("Passes every promotion gate." in page) == (not check.failures)
    assert "sales now (tier 1, immediate_contact)" in page and "speed-to-lead load:" in page
    assert "marketing has not signed off" in page and "bdr has not signed off" in page
    assert 'id="decision-family"' in page  # which learner serves, as in the report
    decide(reviewer, v2, team="marketing", decision="approve", comment="fits")
    after = reviewer.get(f"/versions/{v2}").text
    box = after[after.index('id="decision"') : after.index("Sign-offs")]
    assert "bdr has not signed off" in box and "marketing has not signed off" not in box


def test_review_small_data_approval_needs_the_box_ticked(
    live_review: LiveReview, governance: Any
) -> None:
    """A version trained on too few wins asks each approver to acknowledge it, as the CLI's
    --acknowledge-small-data does; unticked, the approval is refused and nothing recorded."""
    v1 = governance.versions[0]
    client = signed_in(live_review, "mara")
    page = client.get(f"/versions/{v1}").text
    assert ACKNOWLEDGE_BOX.findall(page) == ["acknowledge_small_data"]
    assert "too small to trust" in page
    refused = decide(client, v1, acknowledge=False, team="marketing", decision="approve")
    assert refused.status_code == 409 and "does not acknowledge" in refused.text
    assert "signoff.marketing.decision" not in _tags(governance, v1)
    accepted = decide(client, v1, team="marketing", decision="approve", comment="small, known")
    assert accepted.status_code == 200 and "marketing approved version" in accepted.text
    assert _tags(governance, v1)["signoff.marketing.acknowledged"] == "small_data"
