"""Sessions in signed, expiring cookies; CSRF tokens per session; the sign-in throttle."""

from __future__ import annotations

import time

from training.review.sessions import LoginThrottle, SessionStore, same_token


def test_session_cookie_names_its_session_until_it_ends() -> None:
    store = SessionStore(max_age_seconds=60)
    session, cookie = store.start("mara")
    assert store.find(cookie) is session
    assert session.sid in cookie and cookie != session.sid  # the id, signed
    store.end(session)
    assert store.find(cookie) is None


def test_session_cookie_forged_or_from_another_process_is_refused() -> None:
    ours, theirs = SessionStore(max_age_seconds=60), SessionStore(max_age_seconds=60)
    session, cookie = ours.start("mara")
    assert theirs.find(cookie) is None  # another process's key: the signature does not hold
    assert ours.find(session.sid) is None and ours.find(cookie + "x") is None
    assert ours.find("") is None and ours.find(None) is None


def test_session_expired_is_refused() -> None:
    store = SessionStore(max_age_seconds=60)
    session, cookie = store.start("mara")
    session.expires = time.time() - 1
    assert store.find(cookie) is None


def test_csrf_token_is_per_session() -> None:
    store = SessionStore(max_age_seconds=60)
    first, _ = store.start()
    second, _ = store.start("mara")
    assert first.csrf != second.csrf
    assert same_token(first.csrf, first) and not same_token(first.csrf, second)
    assert not same_token(None, first) and not same_token("", first) and not same_token("x", None)


def test_throttle_locks_a_user_name_and_an_address_after_too_many_failures() -> None:
    throttle = LoginThrottle(max_failures=3, window_seconds=60)
    for _ in range(3):
        assert throttle.wait_seconds("ben", "10.0.0.1") == 0
        throttle.failed("ben", "10.0.0.1")
    assert 0 < throttle.wait_seconds("ben", "10.0.0.9") <= 60  # the name, from anywhere
    assert 0 < throttle.wait_seconds("mara", "10.0.0.1") <= 60  # the address, for any name
    assert throttle.wait_seconds("mara", "10.0.0.9") == 0
    throttle.succeeded("ben")
    assert throttle.wait_seconds("ben", "10.0.0.9") == 0


def test_throttle_forgets_failures_older_than_its_window() -> None:
    throttle = LoginThrottle(max_failures=2, window_seconds=0.2)
    throttle.failed("ben", "a")
    throttle.failed("ben", "a")
    assert throttle.wait_seconds("ben", "a") > 0
    time.sleep(0.25)
    assert throttle.wait_seconds("ben", "a") == 0
