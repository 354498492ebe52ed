"""The monitor's self-contained HTML page: the summary's tables and plots, nothing fetched.

Plots are matplotlib PNGs inlined as data: URIs, as the training report draws them.
"""

from __future__ import annotations

import base64
import io
from html import escape
from typing import Any

from matplotlib.figure import Figure

from models.drift import psi_label

_STYLE = """
body{font-family:system-ui,sans-serif;max-width:1100px;margin:2em auto;color:#222}
table{border-collapse:collapse;margin:.5em 0 1.5em}td,th{border:1px solid #ccc;padding:3px 8px}
th{background:#f3f3f3}.bad{color:#b00020;font-weight:600}.ok{color:#11703a}
"""


def _png(fig: Figure) -> str:
    buf = io.BytesIO()
    fig.savefig(buf, format="png")
    return "data:image/png;base64," + base64.b64encode(buf.getvalue()).decode("ascii")


def _pct(value: float | None) -> str:
    return "–" if value is None else f"{100 * value:.1f}%"


def _table(headers: list[str], rows: list[list[Any]]) -> str:
    head = "".join(f"<th>{escape(h)}</th>" for h in headers)
    body = "".join(
        "<tr>" + "".join(f"<td>{escape(str(c))}</td>" for c in row) + "</tr>" for row in rows
    )
    return f"<table><tr>{head}</tr>{body}</table>"


def _promise_plot(outcomes: dict[str, Any]) -> str:
    """Realised win rate per quadrant with its interval, beside the promised one."""
    fig = Figure(figsize=(6.4, 3.6), dpi=96, layout="constrained")
    ax = fig.subplots()
    rows = outcomes["quadrants"]
    for i, row in enumerate(rows):
        r = row["realised"]
        if r["rate"] is not None:
            ax.errorbar(
                [i],
                [100 * r["rate"]],
                yerr=[[100 * (r["rate"] - r["low"])], [100 * (r["high"] - r["rate"])]],
                fmt="o",
                color="tab:blue",
                capsize=4,
                label="realised (95%)" if i == 0 else None,
            )
        if row["promised"] is not None:
            ax.plot(
                [i],
                [100 * row["promised"]],
                "x",
                color="tab:red",
                ms=9,
                label="promised at sign-off" if i == 0 else None,
            )
    ax.set_xticks(range(len(rows)), [r["quadrant"] for r in rows])
    ax.set_ylabel("win rate (%)")
    ax.set_title("Outcomes vs promise, per quadrant")
    ax.legend(fontsize=7)
    ax.grid(alpha=0.3)
    return _png(fig)


def _calibration_plot(bands: list[dict[str, Any]]) -> str:
    """Realised win rate per band with its interval, against the predicted one."""
    fig = Figure(figsize=(6.4, 3.6), dpi=96, layout="constrained")
    ax = fig.subplots()
    x = [100 * b["mean_predicted"] for b in bands]
    rate = [100 * b["realised"]["rate"] for b in bands]
    low = [r - 100 * b["realised"]["low"] for r, b in zip(rate, bands, strict=True)]
    high = [100 * b["realised"]["high"] - r for r, b in zip(rate, bands, strict=True)]
    ax.errorbar(x, rate, yerr=[low, high], fmt="o", capsize=4, label="realised (95%)")
    top = max([*x, *(r + h for r, h in zip(rate, high, strict=True))], default=1.0)
    ax.plot([0, top], [0, top], ls="--", color="grey", label="predicted = realised")
    ax.set_xlabel("mean predicted win probability (%)")
    ax.set_ylabel("realised win rate (%)")
    ax.set_title("Calibration on resolved hand-offs, per score band")
    ax.legend(fontsize=7)
    ax.grid(alpha=0.3)
    return _png(fig)


def _weekly_psi_plot(
    weeks: list[dict[str, Any]], names: list[str], threshold: float, *, against: str, title: str
) -> str:
    """Weekly PSI of each of `names` (a week without one shows a gap), beside the threshold."""
    fig = Figure(figsize=(6.4, 3.2), dpi=96, layout="constrained")
    ax = fig.subplots()
    for name in names:
        ax.plot(
            [w["week"] for w in weeks],
            [w["psi"].get(name, float("nan")) for w in weeks],
            marker="o",
            label=name,
        )
    ax.axhline(threshold, color="tab:red", ls="--", label=f"retrain threshold {threshold:g}")
    ax.set_ylabel(f"PSI vs {against}")
    ax.set_title(title)
    ax.tick_params(axis="x", rotation=45, labelsize=7)
    ax.legend(fontsize=7)
    ax.grid(alpha=0.3)
    return _png(fig)


def _drift_plot(drift: dict[str, Any], threshold: float) -> str:
    weeks = drift["weeks"]
    scores = list(weeks[0]["psi"]) if weeks else []
    return _weekly_psi_plot(
        weeks,
        scores,
        threshold,
        against="the test window",
        title="Drift of served scores, per week",
    )


def _version(v: dict[str, Any], threshold: float) -> str:
    out = [f"<h2>Version {escape(v['version'])}: {v['leads']} leads handed off</h2>"]
    retrain = v["retrain"]
    if retrain["recommended"]:
        out.append('<p class="bad">Retrain recommended: ' + escape("; ".join(retrain["why"])))
    else:
        out.append('<p class="ok">No retrain signal.</p>')
    o = v["outcomes"]
    out.append("<h3>Outcomes vs promise</h3>")
    out.append(
        _table(
            [
                "quadrant",
                "served",
                "open (censored)",
                "resolved",
                "won",
                "realised",
                "95%",
                "promised",
            ],
            [
                [
                    r["quadrant"],
                    r["served"],
                    r["censored"],
                    r["realised"]["n"],
                    r["realised"]["wins"],
                    _pct(r["realised"]["rate"]),
                    f"{_pct(r['realised']['low'])} – {_pct(r['realised']['high'])}",
                    _pct(r["promised"]),
                ]
                for r in o["quadrants"]
            ],
        )
    )
    q = o["quality"]
    if q["auc"] is not None:
        out.append(
            f"<p>Realised AUC {q['auc']:.3f}; mean predicted {_pct(q['mean_predicted'])} vs "
            f"realised {_pct(q['realised_rate'])}.</p>"
        )
    out.append(f'<img alt="outcomes vs promise" src="{_promise_plot(o)}">')
    bands = o.get("calibration") or []
    out.append("<h3>Calibration: predicted vs realised, per score band</h3>")
    if bands:
        out.append(
            _table(
                [
                    "band",
                    "predicted range",
                    "mean predicted",
                    "resolved",
                    "won",
                    "realised",
                    "95%",
                    "predicted within",
                ],
                [
                    [
                        b["band"],
                        f"{_pct(b['predicted_low'])} – {_pct(b['predicted_high'])}",
                        _pct(b["mean_predicted"]),
                        b["realised"]["n"],
                        b["realised"]["wins"],
                        _pct(b["realised"]["rate"]),
                        f"{_pct(b['realised']['low'])} – {_pct(b['realised']['high'])}",
                        "yes" if b["predicted_within_interval"] else "NO",
                    ]
                    for b in bands
                ],
            )
        )
        out.append(f'<img alt="calibration per score band" src="{_calibration_plot(bands)}">')
    else:
        out.append("<p>No resolved hand-off yet: open leads are censored.</p>")
    s = v["speed_to_lead"]
    out.append(f"<h3>Speed to lead (slowest: {escape(str(s['slowest_quadrant']))})</h3>")
    out.append(
        _table(
            [
                "quadrant",
                "tier",
                "target (min)",
                "judged",
                "untouched",
                "median (min)",
                "within target",
            ],
            [
                [
                    r["quadrant"],
                    r["tier"],
                    r["target_minutes"],
                    r["judged"],
                    r["untouched"],
                    "–" if r["median_minutes"] is None else f"{r['median_minutes']:.0f}",
                    _pct(r["within_target_share"]),
                ]
                for r in s["quadrants"]
            ],
        )
    )
    out.append(
        _table(
            ["tier", "judged", "within target"],
            [[t["tier"], t["judged"], _pct(t["within_target_share"])] for t in s["tiers"]],
        )
    )
    f = v["sales_feedback"]
    out.append("<h3>Sales feedback</h3>")
    out.append(
        _table(
            ["quadrant", "AE decisions", "accepted", "acceptance", "rated", "mean rating"],
            [
                [
                    r["quadrant"],
                    r["decided"],
                    r["accepted"],
                    _pct(r["acceptance_rate"]),
                    r["rated"],
                    "–" if r["mean_rating"] is None else f"{r['mean_rating']:.2f}",
                ]
                for r in f["quadrants"]
            ],
        )
    )
    out.append("<p>Rejection reasons, most frequent first:</p>")
    out.append(
        _table(
            ["reason", "n", "share"],
            [[r["reason"], r["n"], _pct(r["share"])] for r in f["reject_reasons"]],
        )
    )
    sn = f["sales_now_rejected"]
    out.append(f"<p><b>sales now</b> leads the AEs rejected: {sn['n']}</p>")
    out.append(
        _table(
            ["lead", "combined score", "reason", "rating"],
            [
                [r["lead_id"], r["combined_score"], r["reject_reason"], r["meeting_rating"] or "–"]
                for r in sn["leads"][:50]
            ],
        )
    )
    d = v["drift"]
    out.append("<h3>Drift</h3>")
    if d["worst"] is not None:
        out.append(
            f"<p>Worst shift overall: {escape(d['worst']['score'])} PSI {d['worst']['psi']:.3f}"
            f"; past {threshold:g} since: {escape(str(d['since']))}.</p>"
        )
        out.append(f'<img alt="drift" src="{_drift_plot(d, threshold)}">')
    else:
        out.append("<p>No reference scores for this version.</p>")
    out.append(_feature_section(v["feature_drift"], threshold))
    return "\n".join(out)


FEATURES_SHOWN = 10  # the worst shifts; the JSON summary holds every feature


def _feature_section(fd: dict[str, Any], threshold: float) -> str:
    """Served features against the training rows: the worst overall, and per week the worst
    one and every feature past the threshold."""
    out = ["<h3>Drift of served features (PSI vs the training rows)</h3>"]
    if not fd["measured"]:
        out.append(f"<p>Not measured: {escape(fd['reason'])}.</p>")
        return "\n".join(out)
    out.append(f"<p>Features past {threshold:g} since: {escape(str(fd['since']))}.</p>")
    out.append(
        _table(
            ["feature", "PSI overall", "reading"],
            [
                [r["feature"], f"{r['psi']:.3f}", _reading(r["psi"], threshold)]
                for r in fd["overall"][:FEATURES_SHOWN]
            ],
        )
    )
    out.append(
        _table(
            ["week", "leads", "worst feature", "PSI", f"past {threshold:g}"],
            [
                [
                    w["week"],
                    w["leads"],
                    w["worst"],
                    f"{w['psi'][w['worst']]:.3f}",
                    ", ".join(f"{p['feature']} {p['psi']:.2f}" for p in w["past_threshold"])
                    or "none",
                ]
                for w in fd["weeks"]
            ],
        )
    )
    if fd["weeks"]:
        out.append(f'<img alt="feature drift" src="{_feature_plot(fd, threshold)}">')
    return "\n".join(out)


def _reading(value: float, threshold: float) -> str:
    return "past the threshold" if value > threshold else psi_label(value)


def _feature_plot(fd: dict[str, Any], threshold: float, shown: int = 5) -> str:
    """Weekly PSI of the features that moved most overall."""
    return _weekly_psi_plot(
        fd["weeks"],
        [row["feature"] for row in fd["overall"][:shown]],
        threshold,
        against="the training rows",
        title="Drift of served features, per week (worst overall)",
    )


def render(summary: dict[str, Any]) -> str:
    """The page for one summary."""
    threshold = float(summary["drift_threshold"])
    parts = [
        "<!doctype html><html><head><meta charset='utf-8'><title>Handoff monitor</title>",
        f"<style>{_STYLE}</style></head><body>",
        "<h1>Handoff monitor: what happened after the hand-off</h1>",
        f"<p>Computed {escape(summary['computed_at'])}; since "
        f"{escape(str(summary['since'] or 'the start of the score log'))}; horizon "
        f"{summary['horizon_days']} days (open leads younger than that are censored).</p>",
    ]
    parts += [_version(v, threshold) for v in summary["versions"]]
    for c in summary.get("challengers", []):
        parts.append(
            f"<h2>Challenger {escape(c['challenger'])} vs champion {escape(c['champion'])}</h2>"
            f"<p>{c['leads']} leads scored by both; same quadrant for {_pct(c['agreement'])}.</p>"
        )
        parts.append(
            _table(
                ["champion quadrant", "challenger quadrant", "leads"],
                [[d["champion"], d["challenger"], d["n"]] for d in c["disagreements"]],
            )
        )
        parts.append(
            _table(
                ["quadrant", "champion: won / resolved", "challenger: won / resolved"],
                [
                    [
                        r["quadrant"],
                        f"{r['champion']['wins']} / {r['champion']['n']}",
                        f"{r['challenger']['wins']} / {r['challenger']['n']}",
                    ]
                    for r in c["realised_by_quadrant"]
                ],
            )
        )
    if not summary["versions"]:
        parts.append("<p>The score log is empty: nothing has been served yet.</p>")
    parts.append("</body></html>")
    return "\n".join(parts)
