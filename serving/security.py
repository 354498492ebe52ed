"""API keys: stored and compared as sha256 hashes, never logged.

Keys are compared by hash with `hmac.compare_digest` so neither the key nor how much
of it matched leaks through timing. Only in dev mode is there a default key.
"""

from __future__ import annotations

import hashlib
import hmac

from serving.settings import ServingSettings

API_KEY_HEADER = "X-API-Key"
# Publicly known on purpose: it only works when HANDOFF_DEV_MODE=true.
DEV_API_KEY = "handoff-dev-key"


class ServingConfigError(RuntimeError):
    """The service cannot start safely with this configuration."""


def hash_key(key: str) -> str:
    """The sha256 hex digest that settings store in place of a key."""
    return hashlib.sha256(key.encode("utf-8")).hexdigest()


class KeyChecker:
    """Holds the accepted key hashes and checks a presented key against all of them."""

    def __init__(self, hashes: list[str]) -> None:
        self._hashes = [bytes.fromhex(h) for h in hashes]

    @classmethod
    def from_settings(cls, settings: ServingSettings) -> KeyChecker:
        """Configured hashes; in dev mode plus the default key; otherwise refuse an empty set."""
        hashes = list(settings.api_key_hashes)
        if settings.dev_mode:  # the app says so, key included, once at start-up
            hashes.append(hash_key(DEV_API_KEY))
        if not hashes:
            raise ServingConfigError(
                "no API keys configured: set HANDOFF_API_KEY_HASHES to the sha256 hex digests "
                "of your keys (JSON list or comma-separated), or HANDOFF_DEV_MODE=true for local "
                "development only. Refusing to start an unauthenticated scoring API."
            )
        return cls(hashes)

    def check(self, presented: str | None) -> bool:
        """True when the presented key hashes to one of the accepted digests."""
        if not presented:
            return False
        digest = hashlib.sha256(presented.encode("utf-8")).digest()
        ok = False
        for accepted in self._hashes:
            ok |= hmac.compare_digest(digest, accepted)
        return ok
