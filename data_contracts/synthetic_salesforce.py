"""The generator's truth as a Salesforce export (Data Export / Data Loader CSVs).

Files and the standard fields they carry (custom fields end in `__c`, as in any org):

* `Lead.csv`: `Id, CreatedDate, Email, Company, Phone, MobilePhone, Industry,
  NumberOfEmployees, AnnualRevenue, Country, Title, LeadSource, Status, IsConverted,
  ConvertedDate, ConvertedOpportunityId`, plus `Seniority__c`, `Job_Function__c`, the
  lead-to-account match `Matched_Account__c` and the AE's verdict (`AE_Decision__c`,
  `AE_Decision_Date__c`, `AE_Reject_Reason__c`);
* `Account.csv`: `Id, Name, Website, Industry, NumberOfEmployees, AnnualRevenue,
  BillingCountry, ParentId` (a business unit's parent), `OwnerId` (a User id), and the
  custom `Named_Account__c`, `ABM_Tier__c`, `Business_Unit__c` (the ABM list is an
  account's property); the generator's `accounts` table, with Salesforce's keys;
* `LeadHistory.csv`: `Id, LeadId, CreatedDate, Field, OldValue, NewValue` (status changes:
  marketing qualified, then worked by a BDR);
* `Event.csv`: the meetings BDRs book (`WhoId, ActivityDateTime, Type, Meeting_Rating__c`);
* `Task.csv`: engagement activities (`WhoId, Type, Subject, Status, ActivityDate,
  CompletedDateTime, Channel__c, Campaign__c`);
* `Opportunity.csv` (`Id, AccountId, Name, CreatedDate, StageName, IsClosed, IsWon,
  CloseDate, Amount`) and `OpportunityHistory.csv` (`OpportunityId, CreatedDate, StageName,
  Amount`): the deal and its stage changes, each with the amount at that moment.

Salesforce's `CloseDate` and `ActivityDate` are dates (and an open deal's `CloseDate` is
an expected date); the moments are in the history's and the task's datetime fields.
"""

from __future__ import annotations

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from data_contracts.synthetic_events import DAY_US
from data_contracts.synthetic_shapes import (
    account_numbers,
    chunk_stages,
    day,
    either,
    iso_ms,
    keyed,
    lead_positions,
    owner_numbers,
    padded,
    relabel,
    stamps,
    strings,
)

SOURCE_LABELS = {
    "inbound_form": "Web Form",
    "webinar": "Webinar",
    "tradeshow": "Trade Show",
    "content": "Content Syndication",
    "paid": "Paid Search",
    "outbound": "Outbound Prospecting",
    "referral": "Customer Referral",
    "partner": "Partner",
    "other": "Other",
}
SENIORITY_LABELS = {
    "ic": "Individual Contributor",
    "manager": "Manager",
    "director": "Director",
    "vp": "VP",
    "c_level": "C-Level",
}  # unknown: left blank
FUNCTION_LABELS = {
    "sales": "Sales",
    "marketing": "Marketing",
    "engineering": "Engineering",
    "it": "IT",
    "finance": "Finance",
    "operations": "Operations",
    "hr": "Human Resources",
    "executive": "Executive",
    "product": "Product",
    "education": "Education",
    "other": "Other",
}  # unknown: left blank
TYPE_LABELS = {
    "web_visit": "Web Visit",
    "pricing_page": "Pricing Page Visit",
    "content_download": "Content Download",
    "webinar_registered": "Webinar Registration",
    "webinar_attended": "Webinar Attendance",
    "tradeshow_visit": "Trade Show Visit",
    "email_open": "Email Open",
    "email_click": "Email Click",
    "contact_us": "Contact Us Form",
    "demo_request": "Demo Request",
    "free_trial": "Free Trial Signup",
    "unsubscribe": "Unsubscribe",
}
CHANNEL_LABELS = {
    "web": "Website",
    "email": "Email",
    "event": "Event",
    "paid_search": "Paid Search",
    "paid_social": "Paid Social",
    "organic": "Organic Search",
    "direct": "Direct",
    "partner": "Partner",
    "phone": "Phone",
    "other": "Other",
}
REASON_LABELS = {
    "no_budget": "No Budget",
    "no_authority": "No Authority",
    "no_need": "No Need",
    "bad_timing": "Bad Timing",
    "poor_fit": "Poor Fit",
    "competitor": "Competitor",
    "duplicate": "Duplicate",
    "no_show": "No Show",
    "unreachable": "Unreachable",
    "other": "Other",
}
STATUS = {
    "open": "Open - Not Contacted",
    "mql": "Marketing Qualified",
    "worked": "Working - Contacted",
    "rejected": "Closed - Not Converted",
    "converted": "Closed - Converted",
}
ABM_TIER_LABELS = {"tier_1": "Tier 1", "tier_2": "Tier 2", "tier_3": "Tier 3"}
OPEN_DEAL_DAYS = 90  # an open deal's expected CloseDate


def sf_id(prefix: str, numbers: np.ndarray) -> pa.Array:
    """An 18-character Salesforce-like record id: key prefix, 12 digits, `AAA`."""
    return padded(prefix, numbers, 12, "AAA")


def _where(mask: np.ndarray, values: pa.Array | str) -> pa.Array:
    return pc.if_else(pa.array(mask), values, pa.scalar(None, pa.string()))


class Salesforce:
    """Writes each chunk of the truth as Salesforce objects."""

    def __init__(self) -> None:
        self.tasks = 0  # Task ids run on across chunks

    def lead_ids(self, numbers: np.ndarray) -> pa.Array:
        return sf_id("00Q", numbers)

    def account_ids(self, numbers: np.ndarray) -> pa.Array:
        return sf_id("001", numbers)

    def owner_ids(self, numbers: np.ndarray) -> pa.Array:
        return sf_id("005", numbers)

    def accounts(self, accounts: pa.Table) -> dict[str, pa.Table]:
        """The contract accounts as `Account.csv`: the website written as users type it."""
        number, _ = account_numbers(accounts["account_id"])
        parent, is_unit = account_numbers(accounts["parent_account_id"])
        owner, owned = owner_numbers(accounts["owner"])
        domain = np.asarray(accounts["domain"].to_pylist(), dtype=object)
        forms = np.array(["https://www.{}/", "http://{}", "www.{}"], dtype=object)
        website = [
            None if d is None else form.format(d)
            for d, form in zip(domain, forms[number % len(forms)], strict=True)
        ]
        account = strings(
            {
                "Id": self.account_ids(number),
                "Name": accounts["name"],
                "Website": pa.array(website, type=pa.string()),
                "Industry": accounts["industry"],
                "NumberOfEmployees": accounts["employees"],
                "AnnualRevenue": accounts["annual_revenue"],
                "BillingCountry": accounts["country"],
                "ParentId": keyed(self.account_ids(parent), is_unit),
                "OwnerId": keyed(self.owner_ids(owner), owned),
                "Named_Account__c": accounts["is_named_account"],
                "ABM_Tier__c": relabel(accounts["abm_tier"], ABM_TIER_LABELS),
                "Business_Unit__c": accounts["business_unit"],
            }
        )
        return {"Account.csv": account}

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
        status = np.select(
            [
                has_opp,
                t["sales_rejected"] >= 0,
                (t["accepted"] >= 0) | (t["meeting_set"] >= 0) | (t["sales_accepted"] >= 0),
                t["mql"] >= 0,
            ],
            [STATUS["converted"], STATUS["rejected"], STATUS["worked"], STATUS["mql"]],
            STATUS["open"],
        )
        opp_ids = _where(has_opp, sf_id("006", numbers))
        lead = strings(
            {
                "Id": ids,
                "CreatedDate": iso_ms(leads["created_at"]),
                "Email": leads["email"],
                "Company": pc.fill_null(leads["company"], "[not provided]"),
                "Phone": leads["phone"],
                "MobilePhone": leads["mobile"],
                "Industry": leads["industry"],
                "NumberOfEmployees": leads["employees"],
                "AnnualRevenue": leads["annual_revenue"],
                "Country": leads["country"],
                "Title": leads["title"],
                "LeadSource": relabel(leads["source"], SOURCE_LABELS),
                "Seniority__c": relabel(leads["seniority"], SENIORITY_LABELS),
                "Job_Function__c": relabel(leads["function"], FUNCTION_LABELS),
                "Matched_Account__c": self.account_ids(company + 1),
                "Status": pa.array(status),
                "IsConverted": has_opp,
                "ConvertedDate": day(stamps(t["opportunity"])),
                "ConvertedOpportunityId": opp_ids,
                "AE_Decision__c": either(
                    t["sales_accepted"] >= 0, t["sales_rejected"] >= 0, "Accepted", "Rejected"
                ),
                "AE_Decision_Date__c": iso_ms(stamps(decided)),
                "AE_Reject_Reason__c": relabel(
                    pa.array(st.reason, type=pa.string()), REASON_LABELS
                ),
            }
        )
        return {
            "Lead.csv": lead,
            "LeadHistory.csv": self._history(ids, numbers, leads, t),
            "Event.csv": self._meetings(ids, numbers, t["meeting_set"], st.rating),
            "Task.csv": self._tasks(tables["events"], native, ids),
            "Opportunity.csv": self._opportunities(numbers, company, leads, t, st),
            "OpportunityHistory.csv": self._opportunity_history(numbers, t, st),
        }

    def _history(
        self, ids: pa.Array, numbers: np.ndarray, leads: pa.Table, t: dict[str, np.ndarray]
    ) -> pa.Table:
        """A `created` row per lead, then each status change with its moment."""
        parts = [
            strings(
                {
                    "Id": sf_id("017", numbers * 4),
                    "LeadId": ids,
                    "CreatedDate": iso_ms(leads["created_at"]),
                    "Field": pa.array(["created"] * len(numbers)),
                    "OldValue": pa.nulls(len(numbers), pa.string()),
                    "NewValue": pa.nulls(len(numbers), pa.string()),
                }
            )
        ]
        for k, (stage, old, new) in enumerate(
            (("mql", STATUS["open"], STATUS["mql"]), ("accepted", STATUS["mql"], STATUS["worked"])),
            start=1,
        ):
            rows = np.flatnonzero(t[stage] >= 0)
            parts.append(
                strings(
                    {
                        "Id": sf_id("017", numbers[rows] * 4 + k),
                        "LeadId": ids.take(pa.array(rows)),
                        "CreatedDate": iso_ms(stamps(t[stage][rows])),
                        "Field": pa.array(["Status"] * len(rows)),
                        "OldValue": pa.array([old] * len(rows)),
                        "NewValue": pa.array([new] * len(rows)),
                    }
                )
            )
        return pa.concat_tables(parts)

    def _meetings(
        self, ids: pa.Array, numbers: np.ndarray, when: np.ndarray, rating: np.ndarray
    ) -> pa.Table:
        rows = np.flatnonzero(when >= 0)
        score = rating[rows]
        return strings(
            {
                "Id": sf_id("00U", numbers[rows]),
                "WhoId": ids.take(pa.array(rows)),
                "Subject": pa.array(["Discovery meeting"] * len(rows)),
                "Type": pa.array(["Meeting"] * len(rows)),
                "ActivityDateTime": iso_ms(stamps(when[rows])),
                "Meeting_Rating__c": pa.array(
                    np.nan_to_num(score, nan=0).astype(np.int64), mask=np.isnan(score)
                ),
            }
        )

    def _tasks(self, events: pa.Table, native: pa.Array, ids: pa.Array) -> pa.Table:
        pos = lead_positions(events, native)
        kind = relabel(events["type"], TYPE_LABELS)
        first = self.tasks
        self.tasks += events.num_rows
        return strings(
            {
                "Id": sf_id("00T", np.arange(first + 1, first + 1 + events.num_rows)),
                "WhoId": ids.take(pa.array(pos)),
                "Type": kind,
                "Subject": kind,
                "Status": pa.array(["Completed"] * events.num_rows),
                "ActivityDate": day(events["occurred_at"]),
                "CompletedDateTime": iso_ms(events["occurred_at"]),
                "Channel__c": relabel(events["channel"], CHANNEL_LABELS),
                "Campaign__c": events["campaign"],
            }
        )

    def _opportunities(
        self,
        numbers: np.ndarray,
        company: np.ndarray,
        leads: pa.Table,
        t: dict[str, np.ndarray],
        st,
    ) -> pa.Table:  # type: ignore[no-untyped-def]
        rows = np.flatnonzero(t["opportunity"] >= 0)
        won, lost = t["closed_won"][rows] >= 0, t["closed_lost"][rows] >= 0
        closed_at = np.where(won, t["closed_won"][rows], t["closed_lost"][rows])
        expected = t["opportunity"][rows] + OPEN_DEAL_DAYS * DAY_US
        amount = np.where(won, st.amount_at("closed_won", rows), st.amount_at("opportunity", rows))
        names = pc.fill_null(leads["company"].take(pa.array(rows)), "Unnamed company")
        return strings(
            {
                "Id": sf_id("006", numbers[rows]),
                "AccountId": self.account_ids(company[rows] + 1),
                "Name": pc.binary_join_element_wise(names, " - New Business", ""),
                "CreatedDate": iso_ms(stamps(t["opportunity"][rows])),
                "StageName": pa.array(
                    np.where(won, "Closed Won", np.where(lost, "Closed Lost", "Negotiation/Review"))
                ),
                "IsClosed": won | lost,
                "IsWon": won,
                "CloseDate": day(stamps(np.where(won | lost, closed_at, expected))),
                "Amount": amount,
            }
        )

    def _opportunity_history(self, numbers: np.ndarray, t: dict[str, np.ndarray], st) -> pa.Table:  # type: ignore[no-untyped-def]
        parts = []
        for k, (stage, name) in enumerate(
            (
                ("opportunity", "Prospecting"),
                ("closed_won", "Closed Won"),
                ("closed_lost", "Closed Lost"),
            )
        ):
            rows = np.flatnonzero(t[stage] >= 0)
            parts.append(
                strings(
                    {
                        "Id": sf_id("008", numbers[rows] * 3 + k),
                        "OpportunityId": sf_id("006", numbers[rows]),
                        "CreatedDate": iso_ms(stamps(t[stage][rows])),
                        "StageName": pa.array([name] * len(rows)),
                        "Amount": st.amount_at(stage, rows),
                    }
                )
            )
        return pa.concat_tables(parts)
