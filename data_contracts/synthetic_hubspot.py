"""The generator's truth as a HubSpot export (CRM exports and their associations).

Files, with HubSpot's internal property names and every date in epoch milliseconds:

* `contacts.csv`: `hs_object_id, createdate, email, company, phone, mobilephone, industry,
  numemployees, annualrevenue, country, jobtitle, hs_seniority, hs_role,
  associatedcompanyid, lifecyclestage, hs_lead_status`, the lifecycle dates
  `hs_lifecyclestage_marketingqualifiedlead_date` and `..._salesqualifiedlead_date` (the
  portal marks a lead sales-qualified when a BDR accepts it), and the portal's own
  `lead_source` and AE verdict (`ae_decision`, `ae_decision_date`, `ae_reject_reason`);
* `companies.csv`: `hs_object_id, name, domain, industry, numberofemployees,
  annualrevenue, country, hs_parent_company_id, hubspot_owner_id, hs_is_target_account,
  hs_ideal_customer_profile` (the ABM tier, `tier_1`..`tier_3`) and the portal's own
  `business_unit`: the generator's `accounts` table, with HubSpot's keys;
* `deals.csv`: `hs_object_id, dealname, pipeline, dealstage, createdate, closedate,
  amount, hs_is_closed, hs_is_closed_won`, and `deal_contacts.csv` (`deal_id, contact_id`);
* `engagements.csv`: `hs_object_id, hs_timestamp, hs_engagement_type, channel, campaign,
  meeting_rating` (meetings are the engagements of type `MEETING`), and
  `engagement_contacts.csv` (`engagement_id, contact_id`).

A deal has one `amount`: the latest. A won deal's opening amount is therefore not in the
export (its `opportunity` stage carries the closing amount); everything else is exact.
"""

from __future__ import annotations

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from data_contracts.synthetic_events import DAY_US
from data_contracts.synthetic_shapes import (
    account_numbers,
    chunk_stages,
    either,
    epoch_ms,
    keyed,
    lead_positions,
    owner_numbers,
    relabel,
    stamps,
    strings,
)

CONTACT_IDS, COMPANY_IDS, DEAL_IDS, ENGAGEMENT_IDS, OWNER_IDS = (
    100_000_000,
    200_000_000,
    300_000_000,
    400_000_000,
    50_000_000,
)
SOURCE_LABELS = {
    "inbound_form": "Website form",
    "webinar": "Webinar",
    "tradeshow": "Trade show",
    "content": "Content",
    "paid": "Paid ads",
    "outbound": "Outbound",
    "referral": "Referral",
    "partner": "Partner",
    "other": "Other",
}
SENIORITY_LABELS = {
    "ic": "employee",
    "manager": "manager",
    "director": "director",
    "vp": "vice_president",
    "c_level": "executive",
}  # unknown: left blank
ROLE_LABELS = {
    "sales": "sales",
    "marketing": "marketing",
    "engineering": "engineering",
    "it": "information_technology",
    "finance": "finance",
    "operations": "operations",
    "hr": "human_resources",
    "executive": "leadership",
    "product": "product",
    "education": "education",
    "other": "other",
}  # unknown: left blank
TYPE_LABELS = {
    "web_visit": "PAGE_VIEW",
    "pricing_page": "PRICING_PAGE_VIEW",
    "content_download": "CONTENT_DOWNLOAD",
    "webinar_registered": "WEBINAR_REGISTRATION",
    "webinar_attended": "WEBINAR_ATTENDED",
    "tradeshow_visit": "BOOTH_VISIT",
    "email_open": "EMAIL_OPEN",
    "email_click": "EMAIL_CLICK",
    "contact_us": "CONTACT_FORM",
    "demo_request": "DEMO_REQUEST",
    "free_trial": "FREE_TRIAL_SIGNUP",
    "unsubscribe": "UNSUBSCRIBE",
}
CHANNEL_LABELS = {
    "web": "WEBSITE",
    "email": "EMAIL_MARKETING",
    "event": "OFFLINE_EVENT",
    "paid_search": "PAID_SEARCH",
    "paid_social": "PAID_SOCIAL",
    "organic": "ORGANIC_SEARCH",
    "direct": "DIRECT_TRAFFIC",
    "partner": "PARTNER",
    "phone": "PHONE",
    "other": "OTHER",
}
MEETING = "MEETING"
OPEN_DEAL_DAYS = 90  # an open deal's expected close date


def _ids(base: int, numbers: np.ndarray) -> np.ndarray:
    return base + np.asarray(numbers, dtype=np.int64)


class HubSpot:
    """Writes each chunk of the truth as HubSpot records and associations."""

    def __init__(self) -> None:
        self.engagements = 0  # engagement ids run on across chunks

    def lead_ids(self, numbers: np.ndarray) -> pa.Array:
        return pc.cast(pa.array(_ids(CONTACT_IDS, numbers)), pa.string())

    def account_ids(self, numbers: np.ndarray) -> pa.Array:
        return pc.cast(pa.array(_ids(COMPANY_IDS, numbers)), pa.string())

    def owner_ids(self, numbers: np.ndarray) -> pa.Array:
        return pc.cast(pa.array(_ids(OWNER_IDS, numbers)), pa.string())

    def accounts(self, accounts: pa.Table) -> dict[str, pa.Table]:
        number, _ = account_numbers(accounts["account_id"])
        parent, is_unit = account_numbers(accounts["parent_account_id"])
        owner, owned = owner_numbers(accounts["owner"])
        table = strings(
            {
                "hs_object_id": self.account_ids(number),
                "name": accounts["name"],
                "domain": accounts["domain"],
                "industry": accounts["industry"],
                "numberofemployees": accounts["employees"],
                "annualrevenue": accounts["annual_revenue"],
                "country": accounts["country"],
                "hs_parent_company_id": keyed(self.account_ids(parent), is_unit),
                "hubspot_owner_id": keyed(self.owner_ids(owner), owned),
                "hs_is_target_account": accounts["is_named_account"],
                "hs_ideal_customer_profile": accounts["abm_tier"],
                "business_unit": accounts["business_unit"],
            }
        )
        return {"companies.csv": table}

    def chunk(
        self, tables: dict[str, pa.Table], company: np.ndarray, numbers: np.ndarray
    ) -> dict[str, pa.Table]:
        leads = tables["leads"]
        ids = self.lead_ids(numbers)
        stages = chunk_stages(tables)
        native, st, t, has_opp, decided = (
            stages.native,
            stages.times,
            stages.t,
            stages.has_opp,
            stages.decided,
        )
        lifecycle = np.select(
            [t["closed_won"] >= 0, has_opp, t["accepted"] >= 0, t["mql"] >= 0],
            ["customer", "opportunity", "salesqualifiedlead", "marketingqualifiedlead"],
            "lead",
        )
        status = np.select(
            [has_opp, t["sales_rejected"] >= 0, t["accepted"] >= 0],
            ["OPEN_DEAL", "UNQUALIFIED", "IN_PROGRESS"],
            "NEW",
        )
        verdict = either(t["sales_accepted"] >= 0, t["sales_rejected"] >= 0, "accepted", "rejected")
        contacts = strings(
            {
                "hs_object_id": ids,
                "createdate": epoch_ms(leads["created_at"]),
                "email": leads["email"],
                "company": leads["company"],
                "phone": leads["phone"],
                "mobilephone": leads["mobile"],
                "industry": leads["industry"],
                "numemployees": leads["employees"],
                "annualrevenue": leads["annual_revenue"],
                "country": leads["country"],
                "jobtitle": leads["title"],
                "hs_seniority": relabel(leads["seniority"], SENIORITY_LABELS),
                "hs_role": relabel(leads["function"], ROLE_LABELS),
                "lead_source": relabel(leads["source"], SOURCE_LABELS),
                "associatedcompanyid": self.account_ids(company + 1),
                "lifecyclestage": pa.array(lifecycle),
                "hs_lead_status": pa.array(status),
                "hs_lifecyclestage_marketingqualifiedlead_date": epoch_ms(stamps(t["mql"])),
                "hs_lifecyclestage_salesqualifiedlead_date": epoch_ms(stamps(t["accepted"])),
                "ae_decision": verdict,
                "ae_decision_date": epoch_ms(stamps(decided)),
                "ae_reject_reason": pa.array(st.reason, type=pa.string()),
            }
        )
        engagements, links = self._engagements(tables["events"], native, ids, t, st)
        deals, deal_links = self._deals(numbers, ids, leads, t, st)
        return {
            "contacts.csv": contacts,
            "deals.csv": deals,
            "deal_contacts.csv": deal_links,
            "engagements.csv": engagements,
            "engagement_contacts.csv": links,
        }

    def _engagements(self, events: pa.Table, native: pa.Array, ids: pa.Array, t, st):  # type: ignore[no-untyped-def]
        """Marketing and sales touches, then the booked meetings, each linked to its contact."""
        pos = lead_positions(events, native)
        meetings = np.flatnonzero(t["meeting_set"] >= 0)
        n_events, n_meetings = events.num_rows, len(meetings)
        first = self.engagements
        self.engagements += n_events + n_meetings
        numbers = _ids(ENGAGEMENT_IDS, np.arange(first + 1, first + 1 + n_events + n_meetings))
        rating = st.rating[meetings]
        touch = strings(
            {
                "hs_object_id": numbers[:n_events],
                "hs_timestamp": epoch_ms(events["occurred_at"]),
                "hs_engagement_type": relabel(events["type"], TYPE_LABELS),
                "channel": relabel(events["channel"], CHANNEL_LABELS),
                "campaign": events["campaign"],
                "meeting_rating": pa.nulls(n_events, pa.int64()),
            }
        )
        meeting = strings(
            {
                "hs_object_id": numbers[n_events:],
                "hs_timestamp": epoch_ms(stamps(t["meeting_set"][meetings])),
                "hs_engagement_type": pa.array([MEETING] * n_meetings, type=pa.string()),
                "channel": pa.nulls(n_meetings, pa.string()),
                "campaign": pa.nulls(n_meetings, pa.string()),
                "meeting_rating": pa.array(
                    np.nan_to_num(rating, nan=0).astype(np.int64), mask=np.isnan(rating)
                ),
            }
        )
        who = np.concatenate([pos, meetings]).astype(np.int64)
        links = strings({"engagement_id": numbers, "contact_id": ids.take(pa.array(who))})
        return pa.concat_tables([touch, meeting]), links

    def _deals(self, numbers: np.ndarray, ids: pa.Array, leads: pa.Table, t, st):  # type: ignore[no-untyped-def]
        rows = np.flatnonzero(t["opportunity"] >= 0)
        won, lost = t["closed_won"][rows] >= 0, t["closed_lost"][rows] >= 0
        closed_at = np.where(won, t["closed_won"][rows], t["closed_lost"][rows])
        expected = t["opportunity"][rows] + OPEN_DEAL_DAYS * DAY_US
        amount = np.where(won, st.amount_at("closed_won", rows), st.amount_at("opportunity", rows))
        deal_ids = _ids(DEAL_IDS, numbers[rows])
        names = pc.fill_null(leads["company"].take(pa.array(rows)), "Unnamed company")
        deals = strings(
            {
                "hs_object_id": deal_ids,
                "dealname": pc.binary_join_element_wise(names, " - new deal", ""),
                "pipeline": pa.array(["default"] * len(rows), type=pa.string()),
                "dealstage": pa.array(
                    np.where(won, "closedwon", np.where(lost, "closedlost", "contractsent")),
                    type=pa.string(),
                ),
                "createdate": epoch_ms(stamps(t["opportunity"][rows])),
                "closedate": epoch_ms(stamps(np.where(won | lost, closed_at, expected))),
                "amount": amount,
                "hs_is_closed": won | lost,
                "hs_is_closed_won": won,
            }
        )
        links = strings({"deal_id": deal_ids, "contact_id": ids.take(pa.array(rows))})
        return deals, links
