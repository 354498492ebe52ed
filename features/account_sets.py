"""The declared account feature sets: what a lead's account looks like and how engaged its
buying group is, as inputs a lead model may read beside `fit_v1` and `interest_v1`.

Built by `features.accounts`; kept apart from `feature_sets.py` because they need the
accounts table, which a folder may not have. Names start with `acct_` so they never clash
with a lead feature or a mapped extra (`x_`).
"""

from __future__ import annotations

from data_contracts.vocab import ABM_TIERS, BUYING_ROLE_WORDS, BUYING_ROLES, ENGAGED_DAYS
from features.feature_sets import (
    DEFAULT_HALF_LIFE_DAYS,
    FeatureSet,
    category_spec,
    flag_spec,
    number_spec,
)

# The roles a buying group is complete with (unknown is no role at all).
GROUP_ROLES: tuple[str, ...] = tuple(r for r in BUYING_ROLES if r != "unknown")
NO_TIER = "none"


def engaged_role_column(role: str) -> str:
    """The column counting the account's engaged contacts in `role`."""
    return f"acct_engaged_{role}s"


ACCOUNT_FIT_V1 = FeatureSet(
    name="account_fit_v1",
    version="1.0.0",
    role="fit",
    features=(
        flag_spec(
            "acct_known",
            "The lead is linked to an account in the accounts table",
            "Linked to an account",
            "Not linked to an account",
            missing_when=0,
        ),
        number_spec(
            "acct_log_employees",
            "float64",
            "The account's headcount, log10; NaN when unknown or no account",
            "Account of about {value}",
            scale="log10",
            display="count",
            unit="employee",
            units="employees",
            phrase_missing="Account headcount not known",
        ),
        number_spec(
            "acct_log_revenue",
            "float64",
            "The account's annual revenue, log10(1 + revenue); NaN when unknown or no account",
            "Account revenue of about {value}",
            scale="log10_1p",
            display="money",
            unit="USD",
            phrase_missing="Account revenue not known",
        ),
        flag_spec(
            "acct_is_named",
            "The account is on the ABM named-account list",
            "Named ABM account",
            "Not a named ABM account",
        ),
        category_spec(
            "acct_abm_tier",
            f"The account's ABM tier ({', '.join(ABM_TIERS)}; '{NO_TIER}' when not tiered)",
            "ABM {value}",
            "No ABM tier",
            words={t: t.replace("_", " ") for t in ABM_TIERS} | {NO_TIER: "no tier"},
        ),
        flag_spec(
            "acct_is_business_unit",
            "The account is a business unit of a parent account",
            "Business unit of a larger account",
            "Not a business unit",
        ),
    ),
)

ACCOUNT_INTEREST_V1 = FeatureSet(
    name="account_interest_v1",
    version="1.2.0",  # 1.1.0: acct_engagement_max_contact; 1.2.0: touches count once known
    role="interest",
    features=(
        number_spec(
            "acct_contacts",
            "int32",
            "Contacts (leads) of the account created before the snapshot, the lead included",
            "{value} at the account",
            display="count",
            unit="contact",
            units="contacts",
            phrase_zero="No contacts at the account",
        ),
        number_spec(
            "acct_engagement_decayed",
            "float64",
            "Engagement of all the account's contacts, weighted by type and halved every "
            f"half-life (default {DEFAULT_HALF_LIFE_DAYS:g} days), summed",
            "Account engagement score of {value:.1f}",
            phrase_zero="No recent engagement at the account",
        ),
        number_spec(
            "acct_engagement_max_contact",
            "float64",
            "Engagement of the account's most engaged single contact, weighted and decayed "
            "as the account's sum",
            "Most engaged contact at the account scores {value:.1f}",
            phrase_zero="No contact at the account engaged recently",
        ),
        number_spec(
            "acct_engaged_contacts",
            "int32",
            f"Contacts of the account with a touch in the {ENGAGED_DAYS} days before the snapshot",
            "{value} at the account",
            display="count",
            unit="engaged contact",
            units="engaged contacts",
            phrase_zero="No engaged contacts at the account",
        ),
        *(
            number_spec(
                engaged_role_column(role),
                "int32",
                f"Engaged contacts (a touch in {ENGAGED_DAYS} days) who are a "
                f"{BUYING_ROLE_WORDS[role]} (`features.roles`)",
                "{value} engaged",
                display="count",
                unit=BUYING_ROLE_WORDS[role],
                units=f"{BUYING_ROLE_WORDS[role]}s",
                phrase_zero=f"No {BUYING_ROLE_WORDS[role]} engaged yet",
            )
            for role in GROUP_ROLES
        ),
        number_spec(
            "acct_roles_covered",
            "int32",
            f"Buying-group roles ({', '.join(GROUP_ROLES)}) with an engaged contact",
            "{value} of the buying group engaged",
            display="count",
            unit="role",
            units="roles",
            phrase_zero="No buying-group role engaged",
        ),
        number_spec(
            "acct_days_since_last_high_intent",
            "float64",
            "Days from the last high-intent touch by anyone at the account to the snapshot; "
            "NaN when none",
            "Last high-intent touch at the account {value} ago",
            display="days",
            phrase_missing="No high-intent touch at the account yet",
        ),
    ),
)
