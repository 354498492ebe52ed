"""Labelled, point-in-time features of validated data, and whether training may use it.

Its own module because the whole-folder path (`training.prepare`) and the bucketed one
(`training.bucket_prepare`, which `prepare` calls) both build on it.
"""

from __future__ import annotations

import pandas as pd

from data_contracts.crm_data import CrmData
from data_contracts.validate import ValidationResult
from features.build import Extras, FeatureFrame, build_features
from features.labels import make_labels
from features.lead_accounts import with_account_features
from features.roles import RolePolicy

# What a run says of the account features its lead models read (`account_features_use`).
ACCOUNT_FEATURES_USED = "used (the data has an accounts table)"
ACCOUNT_FEATURES_OFF = "off (--no-account-features)"
NO_ACCOUNTS_TABLE = "none (the data has no accounts table)"
NOT_ON_SPARK = "none (the Spark engine builds lead features only)"


def account_features_use(crm: CrmData, with_accounts: bool) -> str:
    """What `labelled_features(crm, with_accounts=...)` did with account features."""
    if crm.accounts is None:
        return NO_ACCOUNTS_TABLE
    return ACCOUNT_FEATURES_USED if with_accounts else ACCOUNT_FEATURES_OFF


class TrainingRefused(Exception):
    """The data failed its contracts (or is unusable); the message carries the report."""

    def __init__(self, message: str, validation: ValidationResult | None = None) -> None:
        super().__init__(message)
        self.validation = validation


def accepted(result: ValidationResult, skip_invalid_rows: bool) -> ValidationResult:
    """`result` if training may go on with it: it passed, or told to skip failing rows and
    some leads passed; otherwise `TrainingRefused` with the report (either engine)."""
    if result.ok:
        return result
    if not skip_invalid_rows:
        raise TrainingRefused(
            "the data fails its contracts; fix the quarantined rows and train again, or "
            "train on the rows that passed (skip_invalid_rows):\n" + result.report_text(),
            result,
        )
    if result.counts["leads"]["valid"] == 0:  # counted: a bucketed `valid` keeps no leads
        raise TrainingRefused("no lead passed the contracts:\n" + result.report_text(), result)
    return result


def labelled_features(
    crm: CrmData,
    horizon_days: int,
    half_life_days: float,
    *,
    extras: tuple[Extras, Extras] | None = None,
    with_accounts: bool = True,
    roles: RolePolicy | None = None,
) -> tuple[FeatureFrame, pd.DataFrame]:
    """Labels (snapshot, horizon, censoring) and the features as of each lead's snapshot.

    `extras`: the mapped fit and interest columns with their kinds, when they were judged
    on more leads than `crm` holds (Spark builds one partition at a time). With an accounts
    table and `with_accounts`, the account features (under `roles`) join the lead's own:
    only where `crm` holds every contact of each account (a lead-id bucket does not).
    """
    labels = make_labels(crm.leads, crm.outcomes, horizon_days=horizon_days, data_end=crm.data_end)
    fit_extras, interest_extras = extras or (crm.fit_columns, crm.interest_columns)
    features = build_features(
        crm.leads,
        crm.events,
        labels["snapshot_at"],
        fit_extras=fit_extras,
        interest_extras=interest_extras,
        half_life_days=half_life_days,
        absent_fields=crm.absent_fields,
        extra_words=crm.extra_words,
    )
    if with_accounts and crm.accounts is not None:
        features = with_account_features(
            features,
            crm.leads,
            crm.events,
            crm.accounts,
            labels["snapshot_at"],
            half_life_days=half_life_days,
            roles=roles,
        )
    return features, labels
