"""roles.py: the role policy table, its override file and a CRM's own contact roles."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pytest
from pydantic import ValidationError

from features.roles import RolePolicy, RolePolicyError, RoleRule, load_role_policy


def _leads() -> pd.DataFrame:
    return pd.DataFrame(
        {
            "lead_id": ["a", "b", "c", "d", "e", "f"],
            "seniority": ["c_level", "director", "manager", "ic", "unknown", "vp"],
            "function": ["executive", "finance", "marketing", "engineering", "it", "unknown"],
        }
    )


def test_default_policy_roles_from_seniority_and_function() -> None:
    roles = RolePolicy().assign(_leads())
    assert roles.to_dict() == {
        "a": "decision_maker",
        "b": "buyer",
        "c": "influencer",
        "d": "user",
        "e": "unknown",
        "f": "decision_maker",
    }


def test_override_file_round_trip_changes_roles(tmp_path: Path) -> None:
    policy = RolePolicy(rules=[RoleRule(role="buyer", function=["it"])])
    path = policy.save(tmp_path / "roles.json")
    roles = RolePolicy.load(path).assign(_leads())
    assert roles["e"] == "buyer"
    assert (roles.drop("e") == "unknown").all()  # no other rule: the rest are unknown


def test_contact_role_column_wins_where_mapped_rules_fill_the_rest() -> None:
    leads = _leads().assign(crm_role=["Influencer", None, "Economic Buyer", "???", None, None])
    policy = RolePolicy(
        contact_role_column="crm_role",
        contact_roles={"Economic Buyer": "buyer", "Influencer": "influencer"},
    )
    roles = policy.assign(leads)
    assert roles.tolist() == [
        "influencer",
        "buyer",
        "buyer",
        "user",  # an unmapped CRM value falls back to the rules
        "unknown",
        "decision_maker",
    ]


def test_policy_missing_persona_columns_read_as_unknown() -> None:
    roles = RolePolicy().assign(pd.DataFrame({"lead_id": ["a"], "seniority": ["vp"]}))
    assert roles["a"] == "decision_maker"
    assert RolePolicy().assign(pd.DataFrame({"lead_id": ["a"]}))["a"] == "unknown"


@pytest.mark.parametrize(
    "bad",
    [
        {"rules": [{"role": "champion"}]},
        {"rules": [{"role": "buyer", "seniority": ["boss"]}]},
        {"contact_roles": {"Signer": "signer"}},
        {"rules": [], "surprise": 1},
    ],
)
def test_policy_rejects_unknown_names(bad: dict[str, object]) -> None:
    with pytest.raises(ValidationError):
        RolePolicy.model_validate(bad)


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ('{"rules": [{"role": "champion"}]}', r"rules\.0\.role: .*unknown role \['champion'\]"),
        ('{"rulez": []}', r"rulez: Extra inputs are not permitted"),
        ("{not json", r"not a role policy"),
    ],
)
def test_load_role_policy_bad_file_names_file_and_field(
    tmp_path: Path, text: str, message: str
) -> None:
    path = tmp_path / "roles.json"
    path.write_text(text)
    with pytest.raises(RolePolicyError, match=message) as raised:
        load_role_policy(path)
    assert str(raised.value).startswith(str(path))


def test_load_role_policy_reads_what_save_wrote(tmp_path: Path) -> None:
    policy = RolePolicy(rules=[RoleRule(role="buyer", function=["finance"])])
    assert load_role_policy(policy.save(tmp_path / "roles.json")) == policy
    with pytest.raises(RolePolicyError, match="cannot read"):
        load_role_policy(tmp_path / "missing.json")
