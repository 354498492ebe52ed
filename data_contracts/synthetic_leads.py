"""Synthetic leads: companies, firmographics, personas, contact strings and the latent fit.

Part of `data_contracts.synthetic`. Everything is drawn with numpy for a whole chunk of
leads at once and strings are assembled with pyarrow compute, so a million leads take
seconds. The latent fit is computed from the *true* firmographics and persona, before
values are blanked out as missing: missingness is noise a model has to live with.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc

from data_contracts.vocab import FREE_MAIL_DOMAINS, FUNCTIONS, SENIORITIES, SOURCES

# name, base share, drift slope over the two years, fit weight, log revenue per employee
INDUSTRIES: tuple[tuple[str, float, float, float, float], ...] = (
    ("Software", 0.16, 0.6, 0.7, 12.4),
    ("Financial Services", 0.10, 0.2, 0.5, 12.9),
    ("Healthcare", 0.08, 0.3, 0.2, 12.0),
    ("Manufacturing", 0.10, -0.5, 0.1, 12.3),
    ("Retail", 0.07, -0.2, -0.1, 12.2),
    ("Education", 0.06, -0.3, -0.7, 11.3),
    ("Government", 0.04, -0.4, -0.5, 11.8),
    ("Media", 0.05, 0.0, 0.0, 12.1),
    ("Telecommunications", 0.05, -0.1, 0.3, 12.8),
    ("Logistics", 0.06, 0.1, 0.0, 12.0),
    ("Energy", 0.04, 0.0, 0.1, 13.0),
    ("Professional Services", 0.09, 0.2, 0.3, 11.9),
    ("Real Estate", 0.04, -0.2, -0.2, 12.3),
    ("Nonprofit", 0.03, 0.0, -0.8, 11.0),
    ("Hospitality", 0.03, -0.3, -0.4, 11.2),
)
INDUSTRY_NAMES = [row[0] for row in INDUSTRIES]

# ISO code, share, phone prefix, domain tld, legal form, fit weight (target markets up)
COUNTRIES: tuple[tuple[str, float, str, str, str, float], ...] = (
    ("US", 0.38, "+1", "com", "Inc.", 0.3),
    ("GB", 0.10, "+44", "co.uk", "Ltd", 0.3),
    ("DE", 0.09, "+49", "de", "GmbH", 0.2),
    ("FR", 0.06, "+33", "fr", "SA", 0.0),
    ("CA", 0.05, "+1", "ca", "Inc.", 0.2),
    ("AU", 0.04, "+61", "com.au", "Pty Ltd", 0.1),
    ("NL", 0.04, "+31", "nl", "B.V.", 0.1),
    ("IN", 0.06, "+91", "in", "Pvt Ltd", -0.6),
    ("BR", 0.04, "+55", "com.br", "Ltda", -0.4),
    ("ES", 0.03, "+34", "es", "S.L.", -0.1),
    ("SE", 0.02, "+46", "se", "AB", 0.1),
    ("SG", 0.02, "+65", "sg", "Pte Ltd", 0.0),
    ("JP", 0.02, "+81", "jp", "K.K.", -0.3),
    ("MX", 0.02, "+52", "mx", "S.A. de C.V.", -0.4),
    ("ZA", 0.01, "+27", "co.za", "(Pty) Ltd", -0.3),
    ("PL", 0.02, "+48", "pl", "Sp. z o.o.", -0.2),
)

SENIORITY_SHARE = dict(ic=0.30, manager=0.27, director=0.15, vp=0.07, c_level=0.08, unknown=0.13)
SENIORITY_FIT = dict(ic=-0.4, manager=0.1, director=0.5, vp=0.6, c_level=0.3, unknown=-0.6)
FUNCTION_SHARE = dict(
    sales=0.15,
    marketing=0.23,
    engineering=0.09,
    it=0.12,
    finance=0.06,
    operations=0.08,
    hr=0.04,
    executive=0.04,
    product=0.06,
    education=0.03,
    other=0.06,
    unknown=0.04,
)
FUNCTION_FIT = dict(
    sales=0.5,
    marketing=0.7,
    engineering=-0.2,
    it=0.1,
    finance=-0.1,
    operations=0.0,
    hr=-0.5,
    executive=0.4,
    product=0.1,
    education=-0.6,
    other=-0.4,
    unknown=-0.5,
)
# source share, drift slope (paid and inbound grow; events and outbound shrink)
SOURCE_MIX: dict[str, tuple[float, float]] = {
    "inbound_form": (0.20, 0.6),
    "webinar": (0.12, -0.7),
    "tradeshow": (0.10, -1.2),
    "content": (0.15, 0.4),
    "paid": (0.11, 1.0),
    "outbound": (0.12, -0.4),
    "referral": (0.06, 0.0),
    "partner": (0.08, 0.3),
    "other": (0.06, -0.2),
}
assert tuple(SOURCE_MIX) == SOURCES

_FN_LABEL = dict(
    sales="Sales",
    marketing="Marketing",
    engineering="Engineering",
    it="IT",
    finance="Finance",
    operations="Operations",
    hr="HR",
    product="Product",
    education="Academic",
    other="Procurement",
)
_C_LEVEL = dict(
    sales=["Chief Revenue Officer", "CRO", "Chief Sales Officer"],
    marketing=["CMO", "Chief Marketing Officer"],
    engineering=["CTO", "Chief Technology Officer"],
    it=["CIO", "Chief Information Officer"],
    finance=["CFO", "Chief Financial Officer"],
    operations=["COO", "Chief Operating Officer"],
    hr=["CHRO", "Chief People Officer"],
    executive=["CEO", "Founder & CEO", "President", "Owner"],
    product=["CPO", "Chief Product Officer"],
    education=["Provost", "Chancellor"],
    other=["Managing Partner", "Chief of Staff"],
    unknown=["Executive", "Chief"],
)
_IC_SPECIAL = dict(
    sales=["Account Executive", "Sales Development Representative", "Sales Representative"],
    engineering=["Software Engineer", "Senior Software Engineer", "Data Engineer"],
    it=["Systems Administrator", "IT Specialist", "Network Engineer"],
    finance=["Accountant", "Financial Analyst"],
    education=["Teacher", "Lecturer", "Professor"],
    executive=["Executive Assistant"],
)
_UNKNOWN_TITLES = ["Consultant", "Student", "Freelancer", "Member", "n/a", "Self-employed"]


def _titles(seniority: str, function: str) -> list[str]:
    """Plausible title strings for one (seniority, function) pair."""
    if seniority == "unknown":
        return _UNKNOWN_TITLES
    if seniority == "c_level":
        return _C_LEVEL[function]
    if function == "unknown":
        return dict(
            ic=["Associate", "Specialist", "Analyst"],
            manager=["Manager", "Team Lead"],
            director=["Director", "Head of Department"],
            vp=["Vice President", "SVP"],
        )[seniority]
    if function == "executive":
        return dict(
            ic=["Executive Assistant"],
            manager=["Office Manager", "General Manager"],
            director=["Managing Director"],
            vp=["Executive Vice President"],
        )[seniority]
    f = _FN_LABEL[function]
    return dict(
        ic=_IC_SPECIAL.get(function, [f"{f} Specialist", f"{f} Analyst", f"{f} Coordinator"]),
        manager=[f"{f} Manager", f"Senior {f} Manager", f"{f} Team Lead"],
        director=[f"Director of {f}", f"{f} Director", f"Head of {f}"],
        vp=[f"VP {f}", f"VP of {f}", f"Vice President, {f}", f"SVP {f}"],
    )[seniority]


_PAIRS = [(s, f) for s in SENIORITIES for f in FUNCTIONS]
_PAIR_TITLES = [_titles(s, f) for s, f in _PAIRS]
TITLE_VOCAB: list[str] = [t for titles in _PAIR_TITLES for t in titles]
_TITLE_OFFSET = np.cumsum([0] + [len(t) for t in _PAIR_TITLES[:-1]])
_TITLE_COUNT = np.array([len(t) for t in _PAIR_TITLES])


def _words(text: str) -> list[str]:
    """A word list written as one string, to keep the name pools compact."""
    return text.split()


_PREFIX = _words(
    "Nord Blue Bright Iron Silver Summit Apex North Clear Green Red Swift Bold Prime True "
    "Alpine Harbor Cedar Coral Delta Echo Falcon Granite Horizon Indigo Juniper Keystone "
    "Lumen Maple Nova Orbit Pioneer Quartz River Sierra Titan Union Vertex Willow Zenith "
    "Atlas Beacon Cobalt Dune Ember Fjord Glacier Helix Ivory Jade Kite Lotus Meridian"
)
_CORE = _words(
    "Analytics Systems Labs Works Logic Data Cloud Health Foods Motors Capital Logistics "
    "Media Energy Retail Learning Partners Solutions Networks Robotics Finance Pharma "
    "Textiles Studios Dynamics Foundry Supply Ventures Digital Holdings"
)
_FIRST = _words(
    "James Mary John Patricia Robert Jennifer Michael Linda David Elizabeth William Barbara "
    "Richard Susan Joseph Jessica Thomas Sarah Daniel Karen Matthew Lisa Anthony Nancy Mark "
    "Sandra Paul Ashley Steven Emily Andrew Anna Lukas Sophie Jonas Marie Pierre Camille "
    "Raj Priya Wei Mei Hiroshi Yuki Carlos Lucia Ahmed Fatima Olga Ivan Sven Ingrid"
)
_LAST = _words(
    "Smith Johnson Williams Brown Jones Garcia Miller Davis Rodriguez Martinez Hernandez "
    "Lopez Wilson Anderson Taylor Thomas Moore Jackson Martin Lee Thompson White Harris "
    "Clark Lewis Walker Hall Young King Wright Mueller Schmidt Schneider Fischer Weber "
    "Dubois Moreau Laurent Sharma Patel Kumar Wang Li Zhang Tanaka Suzuki Silva Santos "
    "Kowalski Nowak Johansson Andersson Jansen deVries Rossi Bianchi"
)


@dataclass
class Companies:
    """The account universe: each lead works for one of these (several leads may share one)."""

    industry: np.ndarray  # index into INDUSTRIES
    country: np.ndarray  # index into COUNTRIES
    employees: np.ndarray  # true headcount
    revenue: np.ndarray  # true annual revenue
    named: np.ndarray  # on the ABM named-account list
    name: pa.Array
    domain: pa.Array
    start: np.ndarray  # per industry: first company index (companies sorted by industry)
    count: np.ndarray  # per industry: number of companies


def _take(vocab: list[str], codes: np.ndarray, null: np.ndarray | None = None) -> pa.Array:
    """Strings `vocab[codes]` as an arrow string array, null where `null` is true."""
    indices = pa.array(codes.astype(np.int32), mask=null)
    return pa.DictionaryArray.from_arrays(indices, pa.array(vocab)).cast(pa.string())


def _pick(rng: np.random.Generator, probs: np.ndarray, n: int) -> np.ndarray:
    """n draws from one fixed categorical distribution."""
    return np.searchsorted(np.cumsum(probs / probs.sum()), rng.random(n), side="right").clip(
        0, len(probs) - 1
    )


def _pick_rows(rng: np.random.Generator, weights: np.ndarray) -> np.ndarray:
    """One draw per row of an (n, k) weight matrix: per-lead categorical distributions."""
    cum = np.cumsum(weights, axis=1)
    u = rng.random(len(weights)) * cum[:, -1]
    return (u[:, None] > cum).sum(axis=1).clip(0, weights.shape[1] - 1)


def make_companies(n_companies: int, rng: np.random.Generator) -> Companies:
    """Accounts with log-normal headcount and revenue that scales with it by industry."""
    shares = np.array([row[1] for row in INDUSTRIES])
    # Every industry gets at least one account, so every lead can be placed.
    n_extra = max(n_companies - len(INDUSTRIES), 0)
    industry = np.sort(np.concatenate([np.arange(len(INDUSTRIES)), _pick(rng, shares, n_extra)]))
    n_companies = len(industry)
    country = _pick(rng, np.array([row[1] for row in COUNTRIES]), n_companies)
    employees = np.exp(rng.normal(np.log(120.0), 1.7, n_companies)).round().clip(1, 2_000_000)
    rev_per_emp = np.array([row[4] for row in INDUSTRIES])[industry]
    revenue = np.exp(np.log(employees) + rev_per_emp + rng.normal(0.0, 0.6, n_companies))
    # ABM list: a few percent of accounts, mostly large ones.
    named = rng.random(n_companies) < 0.02 + 0.12 * (employees > 1000)
    prefix = rng.integers(0, len(_PREFIX), n_companies)
    core = rng.integers(0, len(_CORE), n_companies)
    legal = pa.array([row[4] for row in COUNTRIES]).take(pa.array(country))
    tld = pa.array([row[3] for row in COUNTRIES]).take(pa.array(country))
    p, c = _take(_PREFIX, prefix), _take(_CORE, core)
    name = pc.binary_join_element_wise(p, c, legal, " ")
    domain = _unique_domains(pc.utf8_lower(pc.binary_join_element_wise(p, c, "", "")), tld)
    counts = np.bincount(industry, minlength=len(INDUSTRIES))
    return Companies(
        industry=industry,
        country=country,
        employees=employees,
        revenue=revenue,
        named=named,
        name=name,
        domain=domain,
        start=np.concatenate([[0], np.cumsum(counts)[:-1]]),
        count=counts,
    )


def _unique_domains(stem: pa.Array, tld: pa.Array) -> pa.Array:
    """`stem.tld`, numbered from the second company on that would share one
    (`nordlabs.de`, `nordlabs2.de`): one domain is one account, as the contract checks."""
    plain = pc.binary_join_element_wise(stem, tld, ".")
    seen = pd.Series(plain.to_pylist()).groupby(plain.to_pylist(), sort=False).cumcount()
    number = pa.array(np.where(seen > 0, (seen + 1).astype(str), ""))
    return pc.binary_join_element_wise(pc.binary_join_element_wise(stem, number, ""), tld, ".")


@dataclass
class LeadDraw:
    """A chunk of leads: the contract table plus the hidden values the outcomes depend on."""

    table: pa.Table
    fit: np.ndarray  # latent fit, standardised
    source: np.ndarray  # index into SOURCES
    employees: np.ndarray  # true headcount (deal sizes scale with it)
    company: np.ndarray  # index into the Companies: the lead's account
    seniority: np.ndarray  # true seniority (index into SENIORITIES), before any blanking
    function: np.ndarray  # true function (index into FUNCTIONS)


FIT_CENTER, FIT_SCALE = 0.40, 0.85  # set from a large sample so latent_fit is ~N(0, 1)


def make_leads(
    lead_ids: pa.Array,
    created_us: np.ndarray,
    tau: np.ndarray,
    companies: Companies,
    rng: np.random.Generator,
) -> LeadDraw:
    """Leads created at `created_us` (µs since epoch); `tau` in [0, 1] is their time drift."""
    n = len(created_us)
    drift = tau[:, None] - 0.5
    ind_w = np.array([row[1] for row in INDUSTRIES]) * np.exp(
        np.array([row[2] for row in INDUSTRIES]) * drift
    )
    industry = _pick_rows(rng, ind_w)
    # Skewed pick within the industry, so some accounts have many leads.
    company = companies.start[industry] + (companies.count[industry] * rng.random(n) ** 2).astype(
        np.int64
    )
    country = companies.country[company]
    employees = companies.employees[company]
    revenue = companies.revenue[company]
    named = companies.named[company]
    src_w = np.array([v[0] for v in SOURCE_MIX.values()]) * np.exp(
        np.array([v[1] for v in SOURCE_MIX.values()]) * drift
    )
    source = _pick_rows(rng, src_w)

    seniority = _pick(rng, np.array(list(SENIORITY_SHARE.values())), n)
    function = _pick(rng, np.array(list(FUNCTION_SHARE.values())), n)
    c_level = seniority == SENIORITIES.index("c_level")
    to_exec = c_level & (rng.random(n) < 0.45)
    function = np.where(to_exec, FUNCTIONS.index("executive"), function)
    pair = seniority * len(FUNCTIONS) + function
    title = _TITLE_OFFSET[pair] + (rng.random(n) * _TITLE_COUNT[pair]).astype(np.int64)

    free_mail = rng.random(n) < np.where(employees < 20, 0.45, 0.15)
    log_emp = np.log(employees)
    raw_fit = (
        np.array([row[3] for row in INDUSTRIES])[industry]
        + 0.8 * np.exp(-0.5 * ((log_emp - np.log(800.0)) / 1.6) ** 2)
        - 0.3
        + np.array([row[5] for row in COUNTRIES])[country]
        + np.array(list(SENIORITY_FIT.values()))[seniority]
        + np.array(list(FUNCTION_FIT.values()))[function]
        + 0.9 * named
        - 0.4 * free_mail
    )
    fit = (raw_fit - FIT_CENTER) / FIT_SCALE

    # What the CRM shows: persona blanked out with the title, gaps in firmographics.
    no_title = rng.random(n) < 0.07
    seniority_seen = np.where(no_title, SENIORITIES.index("unknown"), seniority)
    function_seen = np.where(no_title, FUNCTIONS.index("unknown"), function)
    first = rng.integers(0, len(_FIRST), n)
    last = rng.integers(0, len(_LAST), n)
    f_s, l_s = _take(_FIRST, first), _take(_LAST, last)
    local = pc.utf8_lower(
        pc.if_else(
            pa.array(rng.random(n) < 0.7),
            pc.binary_join_element_wise(f_s, l_s, "."),
            pc.binary_join_element_wise(pc.utf8_slice_codeunits(f_s, 0, 1), l_s, ""),
        )
    )
    free_domain = _take(
        list(FREE_MAIL_DOMAINS), _pick(rng, 1.0 / np.arange(1.0, len(FREE_MAIL_DOMAINS) + 1), n)
    )
    num = pa.array(rng.integers(1, 99, n)).cast(pa.string())
    email = pc.if_else(
        pa.array(free_mail),
        pc.binary_join_element_wise(local, num, "@", free_domain, ""),
        pc.binary_join_element_wise(local, "@", companies.domain.take(pa.array(company)), ""),
    )
    email = pc.if_else(pa.array(rng.random(n) < 0.03), pa.scalar(None, pa.string()), email)
    company_name = companies.name.take(pa.array(company))
    company_name = pc.if_else(
        pa.array(rng.random(n) < np.where(free_mail, 0.25, 0.03)),
        pa.scalar(None, pa.string()),
        company_name,
    )
    prefix = pa.array([row[2] for row in COUNTRIES]).take(pa.array(country))
    digits = pa.array(rng.integers(1_000_000, 9_999_999, n)).cast(pa.string())
    area = pa.array(rng.integers(20, 999, n)).cast(pa.string())
    phone = pc.binary_join_element_wise(prefix, area, digits, " ")
    mob_area = pa.array(rng.integers(150, 180, n)).cast(pa.string())
    mob_digits = pa.array(rng.integers(1_000_000, 9_999_999, n)).cast(pa.string())
    mobile = pc.binary_join_element_wise(prefix, mob_area, mob_digits, " ")
    none = pa.scalar(None, pa.string())
    phone = pc.if_else(pa.array(rng.random(n) < 0.35), none, phone)
    mobile = pc.if_else(pa.array(rng.random(n) < 0.6), none, mobile)

    miss_firmo = rng.random(n) < np.where(free_mail, 0.35, 0.08)
    emp_seen = np.where(miss_firmo | (rng.random(n) < 0.15), -1, employees.astype(np.int64))
    rev_seen = np.where(miss_firmo | (rng.random(n) < 0.35), np.nan, revenue.round(-3))
    table = pa.table(
        {
            "lead_id": lead_ids,
            "created_at": pa.array(created_us, type=pa.timestamp("us", tz="UTC")),
            "email": email,
            "company": company_name,
            "phone": phone,
            "mobile": mobile,
            "industry": _take(INDUSTRY_NAMES, industry, miss_firmo | (rng.random(n) < 0.1)),
            "employees": pa.array(emp_seen, type=pa.int64(), mask=emp_seen < 0),
            "annual_revenue": pa.array(rev_seen, type=pa.float64(), from_pandas=True),
            "country": _take([row[0] for row in COUNTRIES], country, rng.random(n) < 0.05),
            "title": _take(TITLE_VOCAB, title, no_title),
            "seniority": _take(list(SENIORITIES), seniority_seen),
            "function": _take(list(FUNCTIONS), function_seen),
            "source": _take(list(SOURCES), source),
            "is_named_account": pa.array(named),
        }
    )
    return LeadDraw(
        table=table,
        fit=fit,
        source=source,
        employees=employees,
        company=company,
        seniority=seniority,
        function=function,
    )
