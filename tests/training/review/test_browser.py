"""The review pages in a real headless Chromium against a real server, as the leaders use them.

The cookie keeps its default Secure flag: browsers treat http://127.0.0.1 as a secure
context, so this is how a local `handoff review` behaves. Every context refuses requests
that leave the machine: the pages must need nothing but Handoff.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.conftest import loopback_only
from tests.training.review.conftest import PASSWORDS, LiveReview, review_settings
from training.versions import get_version, registry_client

TIMEOUT_MS = 120_000  # a report renders plots and scores the champion: slow on a busy box


@pytest.fixture
def live(governance: Any, users_file: Path) -> Iterator[LiveReview]:
    server = LiveReview.start(review_settings(governance, users_file))
    yield server
    server.stop()


class Reviewer:
    """One person's browser: their own context (cookies), one page, refused off-box requests."""

    def __init__(self, chromium: Any, live: LiveReview, username: str) -> None:
        self.context = chromium.new_context(viewport={"width": 1280, "height": 900})
        self.context.set_default_timeout(TIMEOUT_MS)
        self.refused = loopback_only(self.context)
        self.page = self.context.new_page()
        self.live = live
        self.username = username

    def sign_in(self) -> Reviewer:
        self.page.goto(f"{self.live.url}/versions/1")
        assert self.page.url.endswith("/login")  # not signed in yet: sent to sign in
        self.page.fill("#username", self.username)
        self.page.fill("#password", PASSWORDS[self.username])
        self.page.click("button[type=submit]")
        self.page.wait_for_selector("#versions")
        return self

    def open_version(self, version: str) -> None:
        self.page.click(f"a[href='/versions/{version}']")
        self.page.wait_for_selector("#signoffs")

    def decide(self, version: str, button: str, comment: str) -> str:
        """Decide as a reviewer who reads the page: every acknowledgement it asks for ticked."""
        self.page.goto(f"{self.live.url}/versions/{version}")
        self.page.fill("#comment", comment)
        for box in self.page.locator("input[name^=acknowledge_]").all():
            box.check()
        self.page.click(button)
        self.page.wait_for_load_state()
        return self.page.inner_text("main")

    def close(self) -> None:
        assert self.refused == [], self.refused
        self.context.close()


def _signoff_tags(store: Any, version: str) -> dict[str, str]:
    tags = get_version(registry_client(store.settings), store.settings, version).tags
    return {k: v for k, v in tags.items() if k.startswith("signoff.")}


def test_review_marketing_approves_bdr_rejects_and_the_version_is_blocked(
    chromium: Any, live: LiveReview, governance: Any, screenshots: Path
) -> None:
    v1 = governance.versions[0]
    mara = Reviewer(chromium, live, "mara").sign_in()
    mara.page.screenshot(path=str(screenshots / "review-versions.png"), full_page=True)
    mara.open_version(v1)
    mara.page.click("#report-link")
    mara.page.wait_for_selector("#version")
    assert "what it does and how well" in mara.page.inner_text("h1")
    box = mara.page.locator("#decision").bounding_box()
    assert box is not None and box["y"] < 900  # the decision is on the first screen
    assert "What changes for the BDR team" in mara.page.inner_text("#decision")
    mara.page.screenshot(path=str(screenshots / "report-first-screen.png"))
    mara.page.go_back()
    said = mara.decide(v1, "#approve", "ICP fits: software, marketing leaders")
    assert f"marketing approved version {v1}" in said and "still waiting for: bdr" in said
    row = mara.page.inner_text("#signoffs tr[data-team=marketing]")
    assert "approved" in row and "Mara Marketing (mara)" in row

    ben = Reviewer(chromium, live, "ben").sign_in()
    ben.open_version(v1)
    assert "Mara Marketing (mara)" in ben.page.inner_text("#signoffs")  # who else has signed
    assert ben.page.locator("#approve").inner_text() == "Approve for bdr"
    said = ben.decide(v1, "#reject", "no BDR capacity for this volume")
    assert f"bdr REJECTED version {v1}" in said
    assert ben.page.inner_text("#status") == "rejected"
    assert "bdr rejected it" in ben.page.inner_text("#blocked")
    assert "bdr rejected it" in ben.page.inner_text("#promotion")
    ben.page.screenshot(path=str(screenshots / "review-version-blocked.png"), full_page=True)
    ben.page.goto(f"{live.url}/")
    assert "rejected" in ben.page.inner_text(f"tr[data-version='{v1}']")
    tags = _signoff_tags(governance, v1)
    assert tags["signoff.marketing.decision"] == "approved"
    assert tags["signoff.bdr.decision"] == "rejected"
    mara.close()
    ben.close()


def test_review_refuses_a_sign_off_for_the_other_team(
    chromium: Any, live: LiveReview, governance: Any
) -> None:
    v1 = governance.versions[0]
    mara = Reviewer(chromium, live, "mara").sign_in()
    mara.open_version(v1)
    mara.page.locator("input[name=team]").evaluate("field => { field.value = 'bdr'; }")
    mara.page.click("#approve")
    mara.page.wait_for_load_state()
    assert "signs for marketing only, not for bdr" in mara.page.inner_text("#error")
    assert _signoff_tags(governance, v1) == {}
    mara.close()


def test_review_refuses_a_stale_or_missing_csrf_token(
    chromium: Any, live: LiveReview, governance: Any
) -> None:
    v1 = governance.versions[0]
    mara = Reviewer(chromium, live, "mara").sign_in()
    mara.open_version(v1)
    other_tab = mara.context.new_page()  # same browser: signs out and in again
    other_tab.goto(f"{live.url}/")
    other_tab.click("text=Sign out")
    other_tab.wait_for_selector("#username")
    other_tab.fill("#username", "mara")
    other_tab.fill("#password", PASSWORDS["mara"])
    other_tab.click("button[type=submit]")
    other_tab.wait_for_selector("#versions")
    mara.page.click("#approve")  # the first tab's form still holds the old session's token
    mara.page.wait_for_load_state()
    assert "This form has expired" in mara.page.inner_text("h1")

    mara.page.goto(f"{live.url}/versions/{v1}")
    mara.page.locator("#decision-form input[name=csrf]").evaluate("field => field.remove()")
    mara.page.click("#approve")
    mara.page.wait_for_load_state()
    assert "This form has expired" in mara.page.inner_text("h1")
    assert _signoff_tags(governance, v1) == {}
    mara.close()


def test_review_admin_promotes_after_both_approvals(
    chromium: Any, live: LiveReview, governance: Any, screenshots: Path
) -> None:
    v1, v2 = governance.versions
    ada = Reviewer(chromium, live, "ada").sign_in()
    ada.open_version(v2)
    refused = ada.page.inner_text("#promotion")
    assert "marketing has not signed off" in refused and "bdr has not signed off" in refused
    for name in ("mara", "ben"):
        person = Reviewer(chromium, live, name).sign_in()
        assert "approved version" in person.decide(v2, "#approve", f"{name}: looks right")
        person.close()
    ada.page.goto(f"{live.url}/versions/{v2}")
    assert "every promotion gate passes" in ada.page.inner_text("#promotion")
    ada.page.click("#promote")
    ada.page.wait_for_load_state()
    assert f"version {v2} is now the champion" in ada.page.inner_text("#notice")
    assert ada.page.inner_text("#status") == "champion"
    ada.page.goto(f"{live.url}/")
    assert "serving now" in ada.page.inner_text(f"tr[data-version='{v2}']")

    ada.page.goto(f"{live.url}/versions/{v1}")
    ada.page.click("#compare-link")
    ada.page.wait_for_selector("#compare-metrics")
    assert f"beside champion version {v2}" in ada.page.inner_text("h1")
    ada.page.screenshot(path=str(screenshots / "review-compare.png"), full_page=True)
    ada.page.goto(f"{live.url}/versions/{v1}")
    ada.page.click("#promote")  # nobody signed version 1: every reason is given
    ada.page.wait_for_load_state()
    reasons = ada.page.inner_text("#error")
    assert "marketing has not signed off" in reasons and "bdr has not signed off" in reasons
    ada.close()
