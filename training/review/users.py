"""Who may review: users with their team and role, from a TOML file, passwords as argon2 hashes.

```toml
[users.dana]
name = "Dana Reyes"
team = "marketing"                # marketing or bdr; an admin may have none
role = "reviewer"                 # reviewer (signs for their team) or admin (also promotes)
password_hash = "$argon2id$..."   # `handoff review-user` makes one; none behind a sign-on proxy
```

Passwords are checked with pwdlib's argon2 hasher; the file never holds a password, and an
unknown user name costs the same hash check as a known one, so timing does not tell which
names exist.
"""

from __future__ import annotations

import re
import secrets
import tomllib
from dataclasses import dataclass
from functools import cache
from pathlib import Path
from typing import TYPE_CHECKING, Literal

from pwdlib import PasswordHash
from pwdlib.exceptions import UnknownHashError
from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator

from models.mlflow_layout import TEAMS

ROLES: tuple[str, ...] = ("reviewer", "admin")
ADMIN = "admin"
USERNAME_PATTERN = r"^[a-z0-9][a-z0-9._-]{0,63}$"
MIN_PASSWORD_CHARS = 12

if TYPE_CHECKING:
    Team = str
    Role = str
else:
    Team = Literal[TEAMS]
    Role = Literal[ROLES]


class UsersFileError(ValueError):
    """The users file cannot be used; the message names the file and the field."""


@dataclass(frozen=True)
class User:
    """A signed-in reviewer: signs for `team` (if any); an admin may also promote."""

    username: str
    name: str
    team: str | None
    role: str
    password_hash: str | None = None

    @property
    def is_admin(self) -> bool:
        return self.role == ADMIN

    @property
    def signer(self) -> str:
        """What the sign-off records as `by`: the person, and the account they signed in as."""
        return f"{self.name} ({self.username})"


class _Entry(BaseModel):
    model_config = ConfigDict(extra="forbid")

    name: str = Field(min_length=1, max_length=100)
    team: Team | None = None
    role: Role = "reviewer"
    password_hash: str | None = None

    @field_validator("password_hash")
    @classmethod
    def _argon2(cls, value: str | None) -> str | None:
        if value is not None and not value.startswith("$argon2"):
            raise ValueError("must be an argon2 hash (`handoff review-user` makes one)")
        return value


def load_users(path: Path) -> dict[str, User]:
    """Every user in the file, by user name; a problem names the file and the field."""
    try:
        raw = tomllib.loads(Path(path).read_text(encoding="utf-8"))
    except OSError as error:
        raise UsersFileError(f"{path}: cannot be read ({error.strerror})") from None
    except tomllib.TOMLDecodeError as error:
        raise UsersFileError(f"{path}: not valid TOML ({error})") from None
    table = raw.get("users")
    if not isinstance(table, dict) or not table:
        raise UsersFileError(f"{path}: no [users.<name>] tables")
    users: dict[str, User] = {}
    for username, entry in table.items():
        where = f"{path}: users.{username}"
        if not _valid_username(username):
            raise UsersFileError(f"{where}: a user name is 1-64 of a-z, 0-9, '.', '_', '-'")
        try:
            parsed = _Entry.model_validate(entry)
        except ValidationError as error:
            first = error.errors()[0]
            field = ".".join(str(p) for p in first["loc"])
            raise UsersFileError(f"{where}.{field}: {first['msg']}") from None
        if parsed.role != ADMIN and parsed.team is None:
            raise UsersFileError(f"{where}.team: a reviewer signs for marketing or bdr")
        users[username] = User(
            username, parsed.name, parsed.team, parsed.role, parsed.password_hash
        )
    return users


def _valid_username(name: str) -> bool:
    return re.fullmatch(USERNAME_PATTERN, name) is not None


@cache
def _hasher() -> PasswordHash:
    return PasswordHash.recommended()


@cache
def _decoy_hash() -> str:
    """A hash of nothing anyone types, checked for unknown names to take the same time."""
    return _hasher().hash(secrets.token_urlsafe(32))


def hash_password(password: str) -> str:
    """An argon2 hash with pwdlib's recommended cost, for the users file."""
    return _hasher().hash(password)


def check_password(users: dict[str, User], username: str, password: str) -> User | None:
    """The user when the password matches their hash; None otherwise (same cost either way)."""
    user = users.get(username)
    stored = user.password_hash if user is not None else None
    try:
        ok = _hasher().verify(password, stored or _decoy_hash())
    except UnknownHashError:
        ok = False
    return user if ok and user is not None and stored else None


def new_user(username: str, *, name: str, team: str | None, role: str, password: str) -> User:
    """A user for the file, checked as the file is, with the password hashed."""
    if not _valid_username(username):
        raise UsersFileError(f"{username!r}: a user name is 1-64 of a-z, 0-9, '.', '_', '-'")
    if len(password) < MIN_PASSWORD_CHARS:
        raise UsersFileError(f"password: at least {MIN_PASSWORD_CHARS} characters")
    try:
        entry = _Entry(name=name, team=team, role=role)
    except ValidationError as error:
        first = error.errors()[0]
        raise UsersFileError(f"{first['loc'][0]}: {first['msg']}") from None
    if entry.role != ADMIN and entry.team is None:
        raise UsersFileError("team: a reviewer signs for marketing or bdr")
    return User(username, entry.name, entry.team, entry.role, hash_password(password))


def users_toml(user: User) -> str:
    """The users-file table for one user."""
    lines = [f"[users.{user.username}]", f"name = {_quoted(user.name)}"]
    if user.team:
        lines.append(f'team = "{user.team}"')
    lines.append(f'role = "{user.role}"')
    if user.password_hash:
        lines.append(f'password_hash = "{user.password_hash}"')
    return "\n".join(lines) + "\n"


def _quoted(text: str) -> str:
    return '"' + text.replace("\\", "\\\\").replace('"', '\\"') + '"'
