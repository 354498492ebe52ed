"""Sessions, CSRF tokens and the failed-sign-in throttle of the review app.

A session is a random id kept in this process, sent to the browser in a cookie signed with a
key made at start-up (itsdangerous) and refused after its expiry, both by the signature's age
and by the record here, which sign-out deletes. Each session carries its own CSRF token,
which every state-changing form must send back. Nothing here is ever logged: a session id,
a cookie or a token in a log would let its reader act as the reviewer.
"""

from __future__ import annotations

import secrets
import threading
import time
from collections import deque
from dataclasses import dataclass, field

from itsdangerous import BadSignature, SignatureExpired, TimestampSigner

COOKIE = "handoff_review"
MAX_TRACKED = 10_000  # user names and addresses with recent failures kept in memory


@dataclass
class Session:
    """One browser's session: anonymous until a sign-in, then one user's."""

    sid: str
    csrf: str
    expires: float
    username: str | None = None
    notice: str | None = None  # shown once on the next page (after a redirect)

    def take_notice(self) -> str | None:
        notice, self.notice = self.notice, None
        return notice


@dataclass
class SessionStore:
    """The live sessions of this process, by id."""

    max_age_seconds: int
    _signer: TimestampSigner = field(
        default_factory=lambda: TimestampSigner(secrets.token_bytes(32), salt="handoff-review")
    )
    _sessions: dict[str, Session] = field(default_factory=dict)
    _lock: threading.Lock = field(default_factory=threading.Lock)

    def start(self, username: str | None = None) -> tuple[Session, str]:
        """A new session (a fresh id and CSRF token) and the cookie value that names it."""
        session = Session(
            sid=secrets.token_urlsafe(32),
            csrf=secrets.token_urlsafe(32),
            expires=time.time() + self.max_age_seconds,
            username=username,
        )
        with self._lock:
            self._drop_expired()
            self._sessions[session.sid] = session
        return session, self._signer.sign(session.sid).decode("ascii")

    def find(self, cookie: str | None) -> Session | None:
        """The live session a cookie names; None for a forged, expired or ended one."""
        if not cookie:
            return None
        try:
            sid = self._signer.unsign(cookie, max_age=self.max_age_seconds).decode("ascii")
        except (BadSignature, SignatureExpired, UnicodeDecodeError):
            return None
        with self._lock:
            session = self._sessions.get(sid)
            if session is not None and session.expires < time.time():
                del self._sessions[sid]
                return None
            return session

    def end(self, session: Session) -> None:
        with self._lock:
            self._sessions.pop(session.sid, None)

    def _drop_expired(self) -> None:
        now = time.time()
        for sid in [s for s, session in self._sessions.items() if session.expires < now]:
            del self._sessions[sid]


def same_token(sent: str | None, session: Session | None) -> bool:
    """True when a form's CSRF token is its session's (compared in constant time)."""
    return bool(sent) and session is not None and secrets.compare_digest(sent or "", session.csrf)


@dataclass
class LoginThrottle:
    """Failed sign-ins per user name and per client address, over a sliding window."""

    max_failures: int
    window_seconds: float
    _failures: dict[str, deque[float]] = field(default_factory=dict)
    _lock: threading.Lock = field(default_factory=threading.Lock)

    def wait_seconds(self, username: str, client: str) -> float:
        """How long until either key may try again (0: now)."""
        now = time.monotonic()
        with self._lock:
            waits = [self._wait(key, now) for key in self._keys(username, client)]
        return max(waits)

    def failed(self, username: str, client: str) -> int:
        """Record one failure; return the larger failure count of the two keys."""
        now = time.monotonic()
        with self._lock:
            if len(self._failures) > MAX_TRACKED:  # names sprayed at the form: forget the stale
                for stale in [k for k in self._failures if not self._recent(k, now)]:
                    del self._failures[stale]
            counts = []
            for key in self._keys(username, client):
                recent = self._recent(key, now)
                recent.append(now)
                counts.append(len(recent))
        return max(counts)

    def succeeded(self, username: str) -> None:
        with self._lock:
            self._failures.pop(f"user:{username}", None)

    @staticmethod
    def _keys(username: str, client: str) -> tuple[str, str]:
        return f"user:{username}", f"client:{client}"

    def _recent(self, key: str, now: float) -> deque[float]:
        recent = self._failures.setdefault(key, deque())
        while recent and recent[0] <= now - self.window_seconds:
            recent.popleft()
        return recent

    def _wait(self, key: str, now: float) -> float:
        recent = self._recent(key, now)
        if len(recent) < self.max_failures:
            return 0.0
        return recent[-self.max_failures] + self.window_seconds - now
