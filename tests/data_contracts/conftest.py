"""A tiny CRM export in several tables, and its version 2 mapping, for the mapping tests.

Three leads (one with an unreadable creation time), an account table joined by key (one key
twice), activities linked by the lead key (one of an unmapped type, one reaching no lead,
one with an unreadable time), deals linked through an association table (one won, one
open), epoch-millisecond deal times and a Berlin time zone for zoneless ones.
"""

from __future__ import annotations

from pathlib import Path

import pytest

EXPORT: dict[str, str] = {
    "Lead.csv": """\
Id,CreatedDate,Email,Company,Title,LeadSource,AccountKey,MQL_Date__c,Landing,Status
L1,2025-01-06T09:00:00Z,ann@acme.io,Acme,CTO,Web,A1,2025-01-07,b76ef37428e6799c421989521c0e5077,Open
L2,2025-01-07 10:30,bob@gmail.com,,Manager,Webinar,A2,,a1b2c3d4e5f60718293a4b5c6d7e8f90,Open
L3,not-a-date,cy@globex.com,Globex,,Web,A9,2025-01-09,b76ef37428e6799c421989521c0e5077,Open
""",
    "Account.csv": """\
Id,Industry,Employees,Named
A1,Software,250,true
A2,Retail,12,false
A2,Retail,13,false
""",
    "Task.csv": """\
Id,WhoId,Type,When,Channel
T1,L1,Web Visit,2025-01-06T10:00:00Z,Web
T2,L1,Pricing,2025-01-07T08:00:00Z,Web
T3,L2,Call,2025-01-08T08:00:00Z,Phone
T4,L9,Web Visit,2025-01-08T08:00:00Z,Web
T5,L2,Web Visit,yesterday,Web
""",
    "deals.csv": """\
deal_id,created_ms,closed_ms,is_won,is_closed,amount
D1,1736409600000,1739001600000,true,true,5000
D2,1736409600000,1739001600000,false,false,100
""",
    "deal_leads.csv": """\
deal_id,lead
D1,L1
D2,L2
""",
}

MAPPING = """\
version = 2
name = "tiny"
timezone = "Europe/Berlin"
extracted_at = "2025-12-31T00:00:00Z"

[tables.Lead]
file = "Lead.csv"
[tables.Account]
file = "Account.csv"
join = { key = "Id", on = "AccountKey" }
[tables.Task]
file = "Task.csv"
link = { column = "WhoId" }
[tables.deals]
file = "deals.csv"
time_format = "epoch_ms"
link = { column = "deal_id", through = "deal_leads", through_key = "deal_id", through_lead = "lead" }
[tables.deal_leads]
file = "deal_leads.csv"

[leads]
table = "Lead"
id = "Id"
created_at = "CreatedDate"
absent = ["phone", "mobile", "employees", "annual_revenue", "country", "seniority", "function"]

[columns]
email = "Email"
company = "Company"
title = "Title"
account_id = "AccountKey"
industry = { table = "Account", from = "Industry" }
is_named_account = { table = "Account", from = "Named", missing = false }
source = { from = "LeadSource", map = { Web = "inbound_form", Webinar = "webinar" }, default = "other" }

[extras.account_size]
table = "Account"
from = "Employees"
role = "fit"
kind = "numeric"
label = "Account headcount"
phrase = "Account of {value:,.0f} people"

[extras.created_dow]
derive = "day_of_week"
from = "CreatedDate"
role = "fit"
kind = "categorical"
label = "Day the lead came in"
phrase = "Came in on a {value}"

[extras.landing]
from = "Landing"
role = "interest"
kind = "categorical"
label = "Landing page"
id_like = "the export keys pages by a hash; a page is a real place"

[[stages]]
stage = "mql"
at = "MQL_Date__c"

[[stages]]
table = "deals"
stage = "opportunity"
at = "created_ms"
amount = "amount"

[[stages]]
table = "deals"
won = "is_won"
closed = "is_closed"
at = "closed_ms"
amount = "amount"

[[events]]
table = "Task"
at = "When"
type = { from = "Type", map = { "Web Visit" = "web_visit", "Pricing" = "pricing_page" } }
channel = { from = "Channel", map = { Web = "web", Phone = "phone" } }

[excluded]
Status = "current state, set after the outcome"
"""


def write_export(folder: Path, mapping: str = MAPPING, **replace: str) -> Path:
    """The export in `folder` (files in `replace` swapped for the given text), and the
    mapping's path."""
    folder.mkdir(parents=True, exist_ok=True)
    for name, text in {**EXPORT, **replace}.items():
        (folder / name).write_text(text)
    path = folder / "map.toml"
    path.write_text(mapping)
    return path


@pytest.fixture
def tiny_export(tmp_path: Path) -> Path:
    """The mapping file of the tiny export, written into a fresh folder."""
    return write_export(tmp_path / "export")
