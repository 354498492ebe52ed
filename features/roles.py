"""Buying-group roles: each lead's part in its account's decision, from a policy table.

A deal is decided by a group: a decision maker signs, a buyer (finance, procurement) runs
the purchase, influencers shape the choice and users live with it. Which seniority and
function play which part is something marketing and the BDRs agree on, so it is data
(`RolePolicy`, pydantic, JSON round-trip like the quadrant policy): the shipped default
(`vocab.DEFAULT_ROLE_RULES`, which the generator's truth reads too), or an override file. Where the CRM records each contact's role (Salesforce's
contact roles, HubSpot's buying role), the policy maps that column's values instead, and
the seniority/function rules fill in only where it is empty or unmapped.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import numpy.typing as npt
import pandas as pd
from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator

from data_contracts.vocab import BUYING_ROLES, DEFAULT_ROLE_RULES, FUNCTIONS, SENIORITIES

UNKNOWN_ROLE = "unknown"


def _allowed(values: list[str], vocab: tuple[str, ...], what: str) -> list[str]:
    wrong = [v for v in values if v not in vocab]
    if wrong:
        raise ValueError(f"unknown {what} {wrong}: allowed {list(vocab)}")
    return values


class RoleRule(BaseModel):
    """Leads of these seniorities and functions (empty: any) play `role`."""

    model_config = ConfigDict(extra="forbid")

    role: str
    seniority: list[str] = Field(default_factory=list)
    function: list[str] = Field(default_factory=list)

    @field_validator("role")
    @classmethod
    def _role(cls, value: str) -> str:
        return _allowed([value], BUYING_ROLES, "role")[0]

    @field_validator("seniority")
    @classmethod
    def _seniority(cls, values: list[str]) -> list[str]:
        return _allowed(values, SENIORITIES, "seniority")

    @field_validator("function")
    @classmethod
    def _function(cls, values: list[str]) -> list[str]:
        return _allowed(values, FUNCTIONS, "function")


def _default_rules() -> list[RoleRule]:
    return [
        RoleRule(role=role, seniority=list(seniority), function=list(function))
        for role, seniority, function in DEFAULT_ROLE_RULES
    ]


class RolePolicy(BaseModel):
    """The first rule that matches a lead gives its role; no match is `unknown`.

    `contact_role_column`: a mapped lead column holding the CRM's own contact role, read
    through `contact_roles` (CRM value -> role) before any rule.
    """

    model_config = ConfigDict(extra="forbid")

    rules: list[RoleRule] = Field(default_factory=_default_rules)
    contact_role_column: str | None = None
    contact_roles: dict[str, str] = Field(default_factory=dict)

    @field_validator("contact_roles")
    @classmethod
    def _mapped_roles(cls, mapping: dict[str, str]) -> dict[str, str]:
        _allowed(list(mapping.values()), BUYING_ROLES, "role")
        return mapping

    def save(self, path: str | Path) -> Path:
        path = Path(path)
        path.write_text(self.model_dump_json(indent=2), encoding="utf-8")
        return path

    @classmethod
    def load(cls, path: str | Path) -> RolePolicy:
        return cls.model_validate_json(Path(path).read_text(encoding="utf-8"))

    def codes(self, leads: pd.DataFrame) -> npt.NDArray[np.int64]:
        """Index into `BUYING_ROLES` per lead (row order of `leads`)."""
        n = len(leads)
        out = np.full(n, -1, dtype=np.int64)
        col = self.contact_role_column
        if col is not None and col in leads.columns and self.contact_roles:
            lookup = {k: BUYING_ROLES.index(v) for k, v in self.contact_roles.items()}
            mapped = leads[col].astype(object).map(lookup)
            out = np.asarray(mapped.fillna(-1).to_numpy(dtype=np.int64), dtype=np.int64)
        seniority = _column(leads, "seniority", n)
        function = _column(leads, "function", n)
        for rule in self.rules:
            hit = out < 0
            if rule.seniority:
                hit &= np.isin(seniority, rule.seniority)
            if rule.function:
                hit &= np.isin(function, rule.function)
            out[hit] = BUYING_ROLES.index(rule.role)
        out[out < 0] = BUYING_ROLES.index(UNKNOWN_ROLE)
        return out

    def assign(self, leads: pd.DataFrame) -> pd.Series:
        """Each lead's buying role, by lead_id when `leads` has one."""
        roles = np.asarray(BUYING_ROLES, dtype=object)[self.codes(leads)]
        index = pd.Index(leads["lead_id"]) if "lead_id" in leads.columns else leads.index
        return pd.Series(roles, index=index, name="buying_role", dtype=object)


class RolePolicyError(ValueError):
    """A role policy file that cannot be used; the message names the file and the field."""


def load_role_policy(path: str | Path) -> RolePolicy:
    """A role policy override file (JSON as `RolePolicy.save` writes it), or a
    `RolePolicyError` naming the file and the first field in error (an unknown role,
    seniority or function, a misspelt key), so a typo never silently falls back to the
    default roles."""
    path = Path(path)
    try:
        return RolePolicy.load(path)
    except OSError as err:
        raise RolePolicyError(f"{path}: cannot read the role policy: {err.strerror}") from None
    except ValidationError as err:
        first = err.errors()[0]
        where = ".".join(str(p) for p in first["loc"]) or "(the file)"
        raise RolePolicyError(f"{path}: not a role policy: {where}: {first['msg']}") from None


def _column(leads: pd.DataFrame, name: str, n: int) -> npt.NDArray[np.str_]:
    """A persona column as plain strings; a field the data lacks reads as `unknown`."""
    if name not in leads.columns:
        return np.full(n, "unknown")
    return leads[name].astype(object).fillna("unknown").to_numpy(dtype=str)
