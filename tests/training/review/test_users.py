"""The users file: teams, roles and argon2 hashes; a problem names the field."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.training.review.conftest import PASSWORDS, write_users
from training.review.users import (
    UsersFileError,
    check_password,
    load_users,
    new_user,
    users_toml,
)


def test_users_file_as_written_by_review_user_loads(tmp_path: Path) -> None:
    users = load_users(write_users(tmp_path / "users.toml"))
    assert set(users) == {"mara", "ben", "ada"}
    assert (users["mara"].team, users["mara"].role) == ("marketing", "reviewer")
    assert users["ada"].is_admin and users["ada"].team is None
    assert all(u.password_hash and u.password_hash.startswith("$argon2") for u in users.values())
    assert PASSWORDS["mara"] not in (tmp_path / "users.toml").read_text()


def test_password_check_accepts_only_the_right_password(tmp_path: Path) -> None:
    users = load_users(write_users(tmp_path / "users.toml"))
    assert check_password(users, "ben", PASSWORDS["ben"]) == users["ben"]
    assert check_password(users, "ben", PASSWORDS["mara"]) is None
    assert check_password(users, "nobody", PASSWORDS["ben"]) is None


def test_new_user_entry_round_trips_through_the_file(tmp_path: Path) -> None:
    user = new_user("sam", name='Sam "BDR" Lee', team="bdr", role="reviewer", password="p" * 12)
    path = tmp_path / "users.toml"
    path.write_text(users_toml(user), encoding="utf-8")
    loaded = load_users(path)["sam"]
    assert loaded == user and check_password({"sam": loaded}, "sam", "p" * 12) == loaded


@pytest.mark.parametrize(
    ("body", "said"),
    [
        ('[users.dana]\nname = "Dana"\nteam = "sales"\n', "users.dana.team"),
        ('[users.dana]\nname = "Dana"\n', "users.dana.team: a reviewer signs for"),
        ('[users.dana]\nname = "Dana"\nteam = "bdr"\nrole = "boss"\n', "users.dana.role"),
        ('[users.dana]\nname = "Dana"\nteam = "bdr"\npassword_hash = "hunter2"\n', "argon2"),
        ('[users.dana]\nname = "Dana"\nteam = "bdr"\nshoe = 9\n', "users.dana.shoe"),
        ('[users."Dana Smith"]\nname = "Dana"\nteam = "bdr"\n', "a user name is"),
        ("[people]\n", "no [users.<name>] tables"),
        ("not toml [", "not valid TOML"),
    ],
)
def test_users_file_problem_names_the_field(tmp_path: Path, body: str, said: str) -> None:
    path = tmp_path / "users.toml"
    path.write_text(body, encoding="utf-8")
    with pytest.raises(UsersFileError, match=said.replace(".", r"\.").replace("[", r"\[")):
        load_users(path)


def test_new_user_refuses_a_short_password_and_a_reviewer_without_a_team() -> None:
    with pytest.raises(UsersFileError, match="at least 12"):
        new_user("sam", name="Sam", team="bdr", role="reviewer", password="short")
    with pytest.raises(UsersFileError, match="team"):
        new_user("sam", name="Sam", team=None, role="reviewer", password="p" * 12)
