"""The review app on a real uvicorn server over the governance store's real versions.

Reviewers' passwords are hashed with argon2 at a low cost (the hash carries its cost, so the
app checks them exactly as it checks real ones), to keep sign-ins fast. The promotion gates
are loosened in the settings, explicitly and visibly (`LENIENT_GATES`), because a 3,000-lead
toy model does not reliably pass them; promotion still checks the sign-offs and the binding.
"""

from __future__ import annotations

import socket
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
import uvicorn
from pwdlib import PasswordHash
from pwdlib.hashers.argon2 import Argon2Hasher

from training.review.app import create_review_app
from training.review.settings import ReviewSettings
from training.review.users import User, load_users, users_toml

CHEAP = PasswordHash((Argon2Hasher(time_cost=1, memory_cost=1024, parallelism=1),))
PASSWORDS = {
    "mara": "mara-marketing-pass-1",
    "ben": "ben-bdr-pass-22",
    "ada": "ada-admin-pass-333",
}
PEOPLE = {
    "mara": ("Mara Marketing", "marketing", "reviewer"),
    "ben": ("Ben BDR", "bdr", "reviewer"),
    "ada": ("Ada Admin", None, "admin"),
}
LENIENT_GATES = {
    "promotion_max_ece": 1.0,
    "promotion_auc_tolerance": 1.0,
    "promotion_baseline_margin": -1.0,
}


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def write_users(path: Path) -> Path:
    """A users file for the three reviewers, as `handoff review-user` writes entries."""
    entries = [
        users_toml(User(name, *PEOPLE[name], password_hash=CHEAP.hash(PASSWORDS[name])))
        for name in PEOPLE
    ]
    path.write_text("\n".join(entries), encoding="utf-8")
    return path


def review_settings(store: Any, users_file: Path, **overrides: Any) -> ReviewSettings:
    """Review settings over a governance store's home (gates loosened, see the module doc)."""
    base = store.settings
    fields = {
        "home": base.home,
        "model_name": base.model_name,
        "review_users_file": users_file,
        **LENIENT_GATES,
        **overrides,
    }
    return ReviewSettings(**fields)


@dataclass
class LiveReview:
    """`create_review_app` under a real uvicorn server in a thread, on a loopback port."""

    settings: ReviewSettings
    port: int
    server: uvicorn.Server
    thread: threading.Thread

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    @classmethod
    def start(cls, settings: ReviewSettings) -> LiveReview:
        app = create_review_app(settings, load_users(settings.review_users_file))
        port = free_port()
        config = uvicorn.Config(app, host="127.0.0.1", port=port, log_config=None, lifespan="on")
        server = uvicorn.Server(config)
        thread = threading.Thread(target=server.run, daemon=True)
        thread.start()
        deadline = time.monotonic() + 60
        while not server.started:
            if time.monotonic() > deadline or not thread.is_alive():
                raise RuntimeError("review server did not start")
            time.sleep(0.05)
        return cls(settings, port, server, thread)

    def stop(self) -> None:
        self.server.should_exit = True
        self.thread.join(timeout=30)


@pytest.fixture(scope="module")
def users_file(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return write_users(tmp_path_factory.mktemp("review") / "users.toml")


@pytest.fixture
def live_review(governance: Any, users_file: Path) -> Iterator[LiveReview]:
    """A fresh review server over the governance store with no champion and no sign-offs;
    the cookie is not marked Secure, so a plain-HTTP client sends it back."""
    live = LiveReview.start(review_settings(governance, users_file, review_cookie_secure=False))
    yield live
    live.stop()
