"""Every key a mapping file may hold, with what it means: the one home of the format.

The parser refuses any key not listed here for its section, and the reference a user reads
(`handoff mapping keys`, `docs/MAPPING.md`) is generated from the same list, so the two
cannot drift; `tests/data_contracts/test_mapping_keys.py` checks the committed file.
"""

from __future__ import annotations

from dataclasses import dataclass

from data_contracts.export_read import FILE_FORMATS
from data_contracts.schemas import ABSENTABLE_FIELDS, ACCOUNT_ABSENTABLE_FIELDS, SCHEMAS
from data_contracts.timestamps import TIME_FORMATS
from data_contracts.vocab import ABM_TIERS, CHANNELS, EVENT_TYPES, REJECT_REASONS, STAGES

ROLES: tuple[str, ...] = ("fit", "interest")
KINDS: tuple[str, ...] = ("numeric", "categorical")
DERIVED: tuple[str, ...] = ("day_of_week", "hour", "count")
VERSIONS: tuple[int, ...] = (1, 2)
# The account fields `[accounts.columns]` fills (the key comes from `accounts.id`).
ACCOUNT_FIELDS: tuple[str, ...] = tuple(c for c in SCHEMAS["accounts"].columns if c != "account_id")


@dataclass(frozen=True)
class Key:
    """One key of a section: its name, the kind of value, and what it does."""

    name: str
    value: str
    doc: str
    required: bool = False


@dataclass(frozen=True)
class Section:
    """A table of the mapping file (`[tables.<name>]`, `[[stages]]`, an inline rule)."""

    name: str
    doc: str
    keys: tuple[Key, ...] = ()
    version: int = 2
    any_key: str = ""  # what a free key names, for tables like [excluded]

    @property
    def names(self) -> frozenset[str]:
        return frozenset(k.name for k in self.keys)


def _words(values: tuple[object, ...]) -> str:
    return ", ".join(f"`{v}`" for v in values)


_TIME_RULE = (
    "a column name, or a table with `from` (the column), `format` and `timezone`: see "
    "[timestamp rules](#timestamp-rules)"
)

SECTIONS: tuple[Section, ...] = (
    Section(
        "mapping",
        "The top level of a version 2 mapping.",
        (
            Key(
                "version", "2", "The format version; a file without it is read as version 1.", True
            ),
            Key("name", "text", "Name shown in runs and reports (default: the file's stem)."),
            Key("description", "text", "One line on what the export is."),
            Key(
                "timezone",
                "IANA zone",
                "Zone of timestamps written without one, and of dates (default `UTC`).",
            ),
            Key(
                "extracted_at",
                "ISO timestamp",
                "When the export was taken: leads whose horizon runs past it are censored. "
                "Default: `extracted_at` of a `manifest.json` beside the files, else the "
                "latest timestamp in the data.",
            ),
            Key("tables", "tables", "The export's files, one `[tables.<name>]` each.", True),
            Key(
                "leads", "table", "Which table holds one row per lead, and its key and time.", True
            ),
            Key("columns", "tables", "How each lead contract field is filled."),
            Key("extras", "tables", "Export columns kept as model inputs, with their words."),
            Key("stages", "array of tables", "Lifecycle stages read from the data (`[[stages]]`)."),
            Key(
                "events",
                "array of tables",
                "Engagement events from activity tables (`[[events]]`).",
            ),
            Key("label", "table", "Outcomes made from a yes/no label, for exports without dates."),
            Key(
                "accounts",
                "table",
                "The CRM's account (company) table as the contract's `accounts` table. "
                "Without it no accounts are read and leads score alone.",
            ),
            Key("excluded", "table", "Leakage columns, never inputs, each with its reason."),
            Key(
                "keep", "table", "Columns kept as inputs despite the leakage guard, with a reason."
            ),
        ),
    ),
    Section(
        "tables.<name>",
        "One table of the export. `<name>` is how the rest of the mapping refers to it. "
        "A table is the lead table, a lookup joined onto leads (`join`: at most one row per "
        "lead, e.g. accounts), a table with many rows per lead (`link`: activities, stage "
        "histories, deals), or an association table another table links through.",
        (
            Key("file", "path", "The file, relative to the data folder (or `files`).", True),
            Key("files", "list of paths", "Several files of the same layout, stacked in order."),
            Key("format", _words(FILE_FORMATS), "Default: by the file's suffix."),
            Key("separator", "text", "CSV field separator (default `,`)."),
            Key("encoding", "text", "CSV text encoding (default `utf-8`)."),
            Key(
                "na_values",
                "list of text",
                "Values meaning missing, besides the usual (an empty cell, `NA`, `null`, ...).",
            ),
            Key(
                "default_na",
                "boolean",
                "Read the usual markers (`NA`, `n/a`, `null`, ...) as missing (default true); "
                "false: only empty cells and `na_values` (a title `n/a`, Namibia's `NA`).",
            ),
            Key("drop_columns", "list of text", "Columns to ignore (e.g. an unnamed last column)."),
            Key(
                "time_format",
                _words(TIME_FORMATS),
                "Default format of this table's timestamp rules (default `iso`).",
            ),
            Key("join", "table", "Left join onto the leads: `key` and `on`."),
            Key("link", "table", "Many rows per lead: `column`, `on`, `through`..."),
        ),
    ),
    Section(
        "tables.<name>.join",
        "A lookup table joined onto leads: a lead gets the row whose `key` equals its `on` "
        "value (no row: its columns are missing). A key found twice joins its first row; "
        "the check reports how many.",
        (
            Key("key", "column", "This table's key column (e.g. Account `Id`).", True),
            Key(
                "on",
                "column",
                "The lead table's column holding it (e.g. `Matched_Account__c`).",
                True,
            ),
        ),
    ),
    Section(
        "tables.<name>.link",
        "Rows of this table belong to leads: directly, when `column` holds the lead's key "
        "(or its `on` column), or through an association table. Rows that reach no lead "
        "are counted, never used.",
        (
            Key(
                "column",
                "column",
                "This table's column matched against the lead key (through an association: "
                "this table's own key).",
                True,
            ),
            Key("on", "column", "The lead table's column to match instead of its key."),
            Key("through", "table name", "An association table between this table and leads."),
            Key("through_key", "column", "The association's column holding this table's key."),
            Key("through_lead", "column", "The association's column holding the lead key."),
        ),
    ),
    Section(
        "leads",
        "The lead table: one row per lead.",
        (
            Key("table", "table name", "The table holding the leads.", True),
            Key("id", "column", "The lead key (or `row_number = true`)."),
            Key("row_number", "boolean", "Number the rows instead of reading a key."),
            Key("id_prefix", "text", "Prefix put before every lead id (e.g. `sf-`)."),
            Key(
                "created_at",
                "timestamp rule",
                "When the lead was created: "
                + _TIME_RULE
                + "; for exports without dates also `order_by`/`row_order` with `origin` "
                "and `step`.",
                True,
            ),
            Key(
                "absent",
                "list of fields",
                "Lead contract fields the export does not have: no feature is built from "
                "them and no reason names them. Every field is either in `[columns]` or "
                "here. Allowed: " + _words(ABSENTABLE_FIELDS) + ".",
            ),
        ),
    ),
    Section(
        "accounts",
        "The accounts the leads belong to (contract 1.2.0): every row of `table` is one "
        "account, whether or not a lead joins it. The leads' own `account_id` "
        "(`[columns]`) holds their account's key; a lead whose key is not in this table, "
        "two accounts with one web domain, or a lead whose company is not its account's "
        "name are row-level failures of validation. Added to version 2 without a new "
        "version: a version 2 file without it reads as before.",
        (
            Key("table", "table name", "The account table (not the lead table).", True),
            Key("id", "column", "The account key, as the leads' `account_id` holds it.", True),
            Key("columns", "tables", "How each account field is filled (`[accounts.columns]`)."),
            Key(
                "absent",
                "list of fields",
                "Account fields the export does not have (read as missing). Every field is "
                "either in `[accounts.columns]` or here. Allowed: "
                + _words(ACCOUNT_ABSENTABLE_FIELDS)
                + ".",
            ),
        ),
    ),
    Section(
        "accounts.columns.<field>",
        'How one account field is filled; `field = "Column"` is short for `from`. Fields: '
        + _words(ACCOUNT_FIELDS)
        + ". A `domain` given as a URL (`https://www.acme.com/about`) is read as its host "
        "(`acme.com`); `abm_tier` is one of "
        + _words(ABM_TIERS)
        + "; `parent_account_id` is the parent account's key (the account is a business "
        "unit of it).",
        (
            Key("from", "column", "The account table's column (or `value`)."),
            Key("value", "value", "A constant, e.g. `false` for an export without an ABM list."),
            Key("map", "table", 'Export value -> contract value (e.g. `"Tier 1" = "tier_1"`).'),
            Key("default", "value", "For values the map does not name (default: kept as is)."),
            Key("missing", "value", "For missing values (default: missing)."),
        ),
    ),
    Section(
        "timestamp rules",
        "`created_at`, a stage's `at` and an event's `at`. A timestamp that cannot be read "
        "is a row-level failure naming the file, row and column; the row is quarantined "
        "with the rest of validation's findings.",
        (
            Key("from", "column", "The column holding the time (needed but for the two below)."),
            Key("format", _words(TIME_FORMATS), "Default: the table's `time_format`."),
            Key("timezone", "IANA zone", "Zone of values without one (default: the mapping's)."),
            Key(
                "order_by",
                "column",
                "`created_at` only, instead of `from`: a number rising with creation time.",
            ),
            Key(
                "row_order",
                "boolean",
                "`created_at` only, instead of `from`: the row order is the time order.",
            ),
            Key("origin", "ISO timestamp", "`created_at` only: the time of the first lead."),
            Key("step", "duration", "`created_at` only: time per unit of `order_by` or per row."),
        ),
    ),
    Section(
        "columns.<field>",
        'How one lead contract field is filled; `field = "Column"` is short for `from`.',
        (
            Key("from", "column", "The export column (or `value`)."),
            Key("table", "table name", "A joined table to read it from (default: the lead table)."),
            Key("value", "value", "A constant, where the export says it for all leads at once."),
            Key("map", "table", 'Export value -> contract value (e.g. `"Web" = "inbound_form"`).'),
            Key("default", "value", "For values the map does not name (default: kept as is)."),
            Key("missing", "value", "For missing values (default: missing)."),
        ),
    ),
    Section(
        "extras.<name>",
        "An export column kept as a model input. `<name>` is its column name in the data; "
        "the feature is `x_<name>`. Its label and phrase are how reasons say it.",
        (
            Key(
                "role",
                _words(ROLES),
                "Which model reads it: who the lead is, or what it did.",
                True,
            ),
            Key("kind", _words(KINDS), "How the model reads it.", True),
            Key("label", "text", "What it is, in words (e.g. `Landing page`).", True),
            Key(
                "phrase",
                "template",
                "How a reason says a value: `{value}`, `{Value}` (capitalised) and "
                "`{description}` (the label), e.g. `Landed on {value}` (default: "
                "`<label>: {value}`).",
            ),
            Key("from", "column", "The export column (for `count`: not used)."),
            Key(
                "table",
                "table name",
                "A joined table to read it from; for `count`, the linked table.",
            ),
            Key("map", "table", "Export value -> the words a reason should use."),
            Key("default", "text", "For values the map does not name."),
            Key(
                "derive",
                _words(DERIVED),
                "Computed: the weekday name or hour of a timestamp column, or the number of "
                "rows a linked table holds for the lead before it was created.",
            ),
            Key("at", "timestamp rule", "`count` only: the linked table's time column."),
            Key("format", _words(TIME_FORMATS), "For `day_of_week`/`hour`: the column's format."),
            Key(
                "id_like",
                "text",
                "The reason to keep a column that looks like an identifier (nearly one value "
                "per row, or hash-like values), which is otherwise refused.",
            ),
        ),
    ),
    Section(
        "[stages]",
        "One source of lifecycle stages (" + _words(STAGES) + "). Rows of `table` (the "
        "lead table, a joined table or a linked one) become outcome rows. Either `stage` "
        "(one stage, or a column mapped onto stages) or `won` with `closed`.",
        (
            Key("table", "table name", "Where the stage is read (default: the lead table)."),
            Key(
                "stage",
                "stage or table",
                "A stage name (rows without a time have not reached it), or `{ from, map }` "
                "mapping a column's values onto stages; unmapped values are counted.",
            ),
            Key(
                "won", "column", "True when the deal was won (`true`/`false`, `1`/`0`, `yes`/`no`)."
            ),
            Key(
                "closed",
                "column",
                "True when the deal is closed: closed and not won is `closed_lost`; not "
                "closed is open, and counted (its lead is censored until its horizon ends).",
            ),
            Key("at", "timestamp rule", "When the stage was reached: " + _TIME_RULE + ".", True),
            Key("where", "table", "Only rows whose `column` is `in` (or `not_in`) the values."),
            Key("amount", "column", "The deal amount."),
            Key(
                "reason",
                "column or table",
                "The AE's reject reason, or `{ from, map, default }` onto "
                + _words(REJECT_REASONS)
                + ".",
            ),
            Key("rating", "column", "The AE's 1-5 rating of the meeting."),
        ),
    ),
    Section(
        "[events]",
        "One activity table as engagement events (" + _words(EVENT_TYPES) + ").",
        (
            Key("table", "table name", "The activity table (usually a linked one).", True),
            Key("at", "timestamp rule", "When it happened: " + _TIME_RULE + ".", True),
            Key(
                "type",
                "table",
                "`{ from, map, default }` onto the event types; rows of an unmapped type "
                "(and no default) are counted, never used.",
                True,
            ),
            Key(
                "channel",
                "column or table",
                "A column, or `{ from, map, default, missing }` / `{ value }` onto "
                + _words(CHANNELS)
                + ".",
            ),
            Key("campaign", "column", "The campaign name."),
            Key("where", "table", "Only rows whose `column` is `in` (or `not_in`) the values."),
        ),
    ),
    Section(
        "where",
        "A row filter of a stage or event rule; rows left out are counted.",
        (
            Key("column", "column", "The column tested.", True),
            Key("in", "list of text", "Keep rows with one of these values."),
            Key("not_in", "list of text", "Keep rows with none of these values."),
        ),
    ),
    Section(
        "label",
        "For exports with a final yes/no outcome and no dates (Leads X, UCI bank): every "
        "lead is an MQL at creation and closes won or lost a fixed time later. Not together "
        "with `[[stages]]`.",
        (
            Key("from", "column", "The label column of the lead table.", True),
            Key("positive", "list of text", "Values meaning won.", True),
            Key("won_after", "duration", "Time from creation to the win (default `30D`)."),
            Key("lost_after", "duration", "Time from creation to the loss (default `30D`)."),
            Key("mql", "boolean", "Write the MQL stage at creation (default true)."),
        ),
    ),
    Section(
        "excluded",
        "Columns that leak the outcome (entered by sales after contact, latest-state "
        "snapshots): recorded in every run, refused as inputs.",
        any_key='`"<column>" = "why it leaks"`',
    ),
    Section(
        "keep",
        "Inputs kept although the leakage guard would refuse them: recorded in every run "
        "with the reason and shown to the reviewers. A key is an export column (it stands "
        "for every extra read from it) or an extra's name; a key that is no input refuses "
        "training. Not together with `[excluded]` for the same column. Version 1 files "
        "take it too.",
        any_key='`"<column>" = "why it is known at hand-off"`',
    ),
    Section(
        "source",
        "Version 1: the export file(s), stacked row-wise.",
        (
            Key("file", "path", "The export file.", True),
            Key("files", "list of paths", "Several files stacked."),
            Key("separator", "text", "CSV separator."),
            Key("encoding", "text", "CSV encoding."),
            Key("drop_columns", "list of text", "Columns to ignore."),
            Key("na_values", "list of text", "Extra missing markers."),
        ),
        version=1,
    ),
    Section(
        "lead_id",
        "Version 1: the lead key.",
        (
            Key("from", "column", "The key column (or `row_number`)."),
            Key("row_number", "boolean", "Number the rows."),
            Key("prefix", "text", "Prefix of every lead id."),
        ),
        version=1,
    ),
    Section(
        "time",
        "Version 1: a time axis made from a number or the row order.",
        (
            Key("origin", "ISO timestamp", "Time of the first lead."),
            Key("step", "duration", "Time per unit of `order_by` or per row."),
            Key("order_by", "column", "A number rising with creation time."),
            Key("extracted_at", "ISO timestamp", "When the export was taken."),
        ),
        version=1,
    ),
    Section(
        "label (version 1)",
        "Version 1: outcomes from a label, as `[label]` above.",
        (
            Key("from", "column", "The label column.", True),
            Key("positive", "list of text", "Values meaning won.", True),
            Key("won_after", "duration", "Creation to win."),
            Key("lost_after", "duration", "Creation to loss."),
            Key("mql", "boolean", "Write the MQL stage."),
        ),
        version=1,
    ),
    Section(
        "columns.<field> (version 1)",
        "Version 1: as `[columns.<field>]` above, without `table`; fields not named stay empty.",
        (
            Key("from", "column", "The export column."),
            Key("value", "value", "A constant."),
            Key("map", "table", "Export value -> contract value."),
            Key("default", "value", "For unmapped values."),
            Key("missing", "value", "For missing values."),
        ),
        version=1,
    ),
    Section(
        "extras.<name> (version 1)",
        "Version 1: an export column as a model input.",
        (
            Key("from", "column", "The export column.", True),
            Key("role", _words(ROLES), "Which model reads it.", True),
            Key("dtype", _words(KINDS), "How the model reads it.", True),
        ),
        version=1,
    ),
)

_BY_NAME = {section.name: section for section in SECTIONS}
V1_TOP: frozenset[str] = frozenset(
    {
        "name",
        "description",
        "source",
        "lead_id",
        "time",
        "label",
        "columns",
        "extras",
        "excluded",
        "keep",
    }
)


def section(name: str) -> Section:
    return _BY_NAME[name]


def allowed(name: str) -> frozenset[str]:
    """The keys a section may hold."""
    return _BY_NAME[name].names


def required(name: str) -> tuple[str, ...]:
    return tuple(k.name for k in _BY_NAME[name].keys if k.required)


def _title(s: Section) -> str:
    if s.name == "timestamp rules":
        return "Timestamp rules"
    if s.name == "where":
        return "`where`"
    if s.name.startswith("["):
        return f"`[{s.name}]`"
    if s.name in ("mapping",):
        return "Top level"
    return f"`[{s.name}]`"


def _section_text(s: Section) -> list[str]:
    lines = [f"### {_title(s)}", "", s.doc, ""]
    if s.any_key:
        lines += [f"Each key: {s.any_key}.", ""]
    if s.keys:
        lines += ["| key | value | required | meaning |", "| --- | --- | --- | --- |"]
        for k in s.keys:
            lines.append(f"| `{k.name}` | {k.value} | {'yes' if k.required else ''} | {k.doc} |")
        lines.append("")
    return lines


def reference_text() -> str:
    """The mapping reference as Markdown (`docs/MAPPING.md`, `handoff mapping keys`)."""
    lines = [
        "# Mapping reference",
        "",
        "<!-- Generated from data_contracts/mapping_keys.py by `handoff mapping keys "
        "--out docs/MAPPING.md`; edit that file, not this one. -->",
        "",
        "A mapping is a TOML file that reads a CRM export onto Handoff's contracts "
        "(`data_contracts/schemas.py`) without code: `handoff validate|train|backtest|score "
        "DATA_DIR --mapping FILE`. `handoff mapping check FILE DATA_DIR` says what each table "
        "contributes before you train. Shipped examples: `data_contracts/mappings/` "
        "(`salesforce.toml`, `hubspot.toml` for the standard export shapes; "
        "`leads_x_education.toml`, `uci_bank_marketing.toml` for label-only exports).",
        "",
        "Values are read as text, mapped, then checked by the contracts: a value outside a "
        "vocabulary is a row-level failure, reported by file, row and column and "
        "quarantined, never a silently changed or dropped row. Rows a rule leaves out on "
        "purpose (an unmapped activity type, a row reaching no lead, a `where` filter) are "
        "counted in the check's and validation's report.",
        "",
        "## Version 2",
        "",
    ]
    for s in SECTIONS:
        if s.version == 2:
            lines += _section_text(s)
    lines += [
        "## Version 1 (still read)",
        "",
        "A file without `version` is version 1: one export file (or several stacked), a "
        "time axis from a number or the row order, outcomes from a label; `[excluded]` and "
        "`[keep]` as above.",
        "",
    ]
    for s in SECTIONS:
        if s.version == 1:
            lines += _section_text(s)
    return "\n".join(lines).rstrip() + "\n"
