"""`/docs` and `/redoc` work on a machine with no internet: every asset is the service's own."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import httpx
import pytest

from tests.conftest import loopback_only
from tests.serving.conftest import Api


@pytest.mark.parametrize("page", ["/docs", "/redoc"])
def test_docs_pages_load_only_assets_the_service_serves(api: Api, page: str) -> None:
    response = httpx.get(f"{api.url}{page}")
    assert response.status_code == 200
    refs = re.findall(r"""(?:src|href)=["']([^"']+)["']""", response.text)
    assert refs and all(ref.startswith("/") for ref in refs), refs
    assert "http://" not in response.text and "https://" not in response.text
    for ref in refs:
        assert httpx.get(f"{api.url}{ref}").status_code == 200, ref


def test_docs_render_offline_with_a_copyable_example_in_a_browser(
    chromium: Any, api: Api, screenshots: Path
) -> None:
    """Swagger UI draws every operation, and the score call's example, with the network
    beyond this machine refused."""
    context = chromium.new_context(viewport={"width": 1280, "height": 900})
    refused = loopback_only(context)
    page = context.new_page()
    page.goto(f"{api.url}/docs")
    page.wait_for_selector(".opblock", timeout=60_000)
    summaries = page.locator(".opblock-summary-path").all_inner_texts()
    assert "/v1/score" in summaries and "/v1/score/batch" in summaries
    page.locator("#operations-score-score_one_v1_score_post .opblock-summary").click()
    page.wait_for_selector("#operations-score-score_one_v1_score_post .body-param__example")
    example = page.inner_text("#operations-score-score_one_v1_score_post .body-param__example")
    assert "L-20261102-0042" in example and "pricing_page" in example
    page.screenshot(path=str(screenshots / "api-docs-offline.png"))
    assert refused == [], refused
    context.close()
