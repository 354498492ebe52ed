"""The review report: one self-contained HTML file whose numbers are the run's numbers."""

from __future__ import annotations

import json
import math
import shutil
import subprocess
from html.parser import HTMLParser
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pytest

from tests.conftest import ACKNOWLEDGED
from training.evaluate import calibration_bins
from training.promote import promote_version
from training.report import (
    build_context,
    calibration_figure,
    distribution_figure,
    gain_figure,
    importance_figure,
    quadrant_figure,
    render_report,
    write_report,
)
from training.report_metrics import gain_curve, psi
from training.signoff import record_signoff

Store = Any  # tests/training/conftest.py::GovernanceStore
LOOSE: dict[str, float] = {"auc_tolerance": 1.0, "max_ece": 1.0, "baseline_margin": -1.0}
CHROMIUM = Path("/usr/bin/chromium")


class ReportParser(HTMLParser):
    """Collects data-metric / data-key cells, ids, images and external references."""

    def __init__(self) -> None:
        super().__init__()
        self.metrics: dict[str, str] = {}
        self.keys: dict[str, list[str]] = {}
        self.ids: dict[str, str] = {}
        self.images: list[str] = []
        self.external: list[str] = []
        self._open: list[tuple[str, str]] = []
        self.text: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        a = {k: v or "" for k, v in attrs}
        for attr in ("src", "href"):
            if attr in a and not a[attr].startswith(("data:", "#")):
                self.external.append(a[attr])
        if tag == "img":
            self.images.append(a.get("src", ""))
        if tag in ("link", "script"):
            self.external.append(tag)
        for attr, kind in (("data-metric", "metric"), ("data-key", "key"), ("id", "id")):
            if attr in a:
                self._open.append((kind, a[attr]))
                self._buf: list[str] = []

    def handle_data(self, data: str) -> None:
        self.text.append(data)
        if self._open:
            self._buf.append(data)

    def handle_endtag(self, tag: str) -> None:
        if self._open and tag in ("td", "span", "strong", "code"):
            kind, name = self._open.pop()
            value = "".join(self._buf).strip()
            if kind == "metric":
                self.metrics[name] = value
            elif kind == "key":
                self.keys.setdefault(name, []).append(value)
            else:
                self.ids[name] = value


@pytest.fixture(scope="module")
def report(
    governance_module: Store, tmp_path_factory: pytest.TempPathFactory
) -> tuple[Path, ReportParser]:
    """Version 2's report with version 1 as the champion and both teams' sign-offs."""
    governance = governance_module
    tmp_path = tmp_path_factory.mktemp("report")
    v1, v2 = governance.versions
    for version in (v1, v2):
        record_signoff(
            version,
            team="marketing",
            by="Mara M.",
            approve=True,
            **ACKNOWLEDGED,
            comment="fits our ICP",
            settings=governance.settings,
        )
        record_signoff(
            version,
            team="bdr",
            by="Ben B.",
            approve=True,
            **ACKNOWLEDGED,
            comment="load is workable",
            settings=governance.settings,
        )
    promote_version(v1, settings=governance.settings, **LOOSE)
    path = write_report(v2, out=tmp_path / "review.html", settings=governance.settings)
    parser = ReportParser()
    parser.feed(path.read_text(encoding="utf-8"))
    return path, parser


def test_report_numbers_are_the_runs_metrics(
    governance_module: Store, report: tuple[Path, ReportParser]
) -> None:
    _, parsed = report
    metrics = governance_module.results[1].metrics
    checked = 0
    for key, shown in parsed.metrics.items():
        if key.startswith("champion_") or shown == "-":
            continue
        digits = 2 if "lift" in key else 4
        assert shown == f"{metrics[key]:.{digits}f}", key
        checked += 1
    assert checked >= 6 * 5  # six metrics for combined, fit, interest and the baselines
    assert parsed.metrics["test_combined_roc_auc"] == f"{metrics['test_combined_roc_auc']:.4f}"
    summary = governance_module.results[1].summary
    assert parsed.keys["n_leads"] == [f"{summary['n_leads']:,}"]
    assert parsed.keys["n_censored"] == [f"{summary['n_censored']:,}"]
    assert parsed.keys["rows_test"] == [str(int(metrics["n_test"]))]


def test_report_shows_how_the_model_ranks_the_ae_decisions(
    governance_module: Store, report: tuple[Path, ReportParser]
) -> None:
    _, parsed = report
    metrics = governance_module.results[1].metrics
    assert parsed.keys["accept_auc"] == [f"{metrics['test_ae_accept_auc']:.3f}"]
    assert parsed.keys["rejected_percentile"] == [
        f"{metrics['test_ae_rejected_mean_percentile']:.0f}"
    ]
    assert parsed.keys["mean_rating"][0] == f"{metrics['test_band1_meeting_rating']:.2f}"
    assert len(parsed.keys["rejected_share"]) == 5


def test_report_quadrants_and_thresholds_come_from_the_run(
    governance_module: Store, report: tuple[Path, ReportParser]
) -> None:
    _, parsed = report
    from mlflow.artifacts import download_artifacts

    run_id = governance_module.results[1].run_id
    policy = json.loads(
        Path(download_artifacts(run_id=run_id, artifact_path="policy.json")).read_text()
    )
    assert parsed.ids["fit_threshold"] == str(policy["fit_threshold"])
    assert parsed.ids["interest_threshold"] == str(policy["interest_threshold"])
    scores = pd.read_parquet(
        download_artifacts(run_id=run_id, artifact_path="evaluation/test_scores.parquet")
    )
    counts = scores["quadrant"].value_counts()
    shown = [int(v) for v in parsed.keys["leads"]]
    assert shown == [
        int(counts.get(q, 0)) for q in ("sales_now", "nurture", "order_taker", "group_resources")
    ]
    assert sum(shown) == len(scores)
    expected = scores.loc[scores["quadrant"] == "sales_now", "combined_probability"].sum()
    assert parsed.keys["expected_wins"][0] == f"{expected:.1f}"


def test_report_compares_with_champion_and_shows_signoffs(
    governance_module: Store, report: tuple[Path, ReportParser]
) -> None:
    _, parsed = report
    text = " ".join(parsed.text)
    assert f"Current champion (version {governance_module.versions[0]})" in text
    assert "scored on version 2's test window" in text
    assert 0.5 < float(parsed.metrics["champion_roc_auc"]) <= 1.0
    assert "Mara M." in text and "Ben B." in text and "load is workable" in text
    assert "training leads against champion version 1" in text


def test_report_opens_with_the_verdict_against_baseline_and_champion(
    governance_module: Store, report: tuple[Path, ReportParser]
) -> None:
    """The logged verdict, with the champion as it serves now, is the report's first box."""
    from training.champion_compare import run_verdict

    path, parsed = report
    html = path.read_text(encoding="utf-8")
    assert html.index("1. Verdict") < html.index("2. What it was trained on")
    verdict = run_verdict(governance_module.results[1].run_id)
    assert parsed.ids["verdict_headline"] == verdict.headline()
    text = " ".join(parsed.text)
    assert f"champion version {governance_module.versions[0]}: AUC" in text
    assert "leakage guard" in text.lower() and "No suspect." in text
    assert "every category in the test window was already held by training leads" in text


def test_report_says_when_the_champion_was_trained_on_another_source(
    governance_module: Store, tmp_path: Path
) -> None:
    """A version trained through a mapping, reviewed while a model trained on a plain CRM
    folder serves under the same name: the report says the comparison crosses sources, and
    shows the guard's finding and the test leads' unseen categories."""
    from data_contracts.synthetic import generate_to_folder
    from models.mlflow_setup import configure_mlflow
    from models.settings import Settings
    from tests.conftest import export_mapping, write_mapped_export
    from training.train import run_training

    settings = Settings(home=tmp_path / "home")
    try:
        export = write_mapped_export(tmp_path / "export")
        mapping = tmp_path / "export.toml"
        mapping.write_text(export_mapping())
        mapped = run_training(export, mapping=mapping, settings=settings)
        generate_to_folder(n_leads=1_500, seed=8, out_dir=tmp_path / "crm")
        folder = run_training(tmp_path / "crm", settings=settings)
        for team, who in (("marketing", "Mara"), ("bdr", "Ben")):
            record_signoff(
                folder.version, team=team, by=who, approve=True, **ACKNOWLEDGED, settings=settings
            )
        promote_version(folder.version, settings=settings, **LOOSE)
        parsed = ReportParser()
        parsed.feed(
            write_report(mapped.version, out=tmp_path / "r.html", settings=settings).read_text()
        )
        assert "mapping:export" in parsed.ids["champion_source"]
        assert f"folder:{tmp_path / 'crm'}" in parsed.ids["champion_source"]
        text = " ".join(parsed.text)
        assert "x_business_type" in text and "excluded from every model and baseline" in text
        unseen = mapped.summary["unseen_categories"]
        assert unseen["unseen"] > 0 and parsed.keys["unseen_share"] == [
            f"{100 * unseen['share']:.1f}%"
        ]
    finally:  # the module's other tests read the governance store through MLflow
        configure_mlflow(governance_module.settings)


def test_report_is_self_contained_and_logged_to_the_run(
    governance_module: Store, report: tuple[Path, ReportParser]
) -> None:
    path, parsed = report
    assert parsed.external == []
    assert len(parsed.images) == 5
    assert all(src.startswith("data:image/png;base64,") for src in parsed.images)
    size = path.stat().st_size
    assert 20_000 < size < 2_000_000, size
    from mlflow.artifacts import download_artifacts

    logged = Path(
        download_artifacts(run_id=governance_module.results[1].run_id, artifact_path="report.html")
    )
    assert logged.read_text(encoding="utf-8") == path.read_text(encoding="utf-8")


@pytest.mark.skipif(not CHROMIUM.exists(), reason="no /usr/bin/chromium for a headless render")
def test_report_renders_in_headless_chromium(
    report: tuple[Path, ReportParser], tmp_path: Path
) -> None:
    path, _ = report
    shot = tmp_path / "shot.png"
    subprocess.run(
        [
            str(CHROMIUM),
            "--headless",
            "--no-sandbox",
            "--disable-gpu",
            f"--screenshot={shot}",
            "--window-size=1200,3000",
            path.as_uri(),
        ],
        check=True,
        timeout=60,
        capture_output=True,
    )
    assert shot.stat().st_size > 10_000


def test_report_metrics_helpers_agree_with_logged_definitions() -> None:
    from training.evaluate import expected_calibration_error, lift_and_capture

    rng = np.random.default_rng(0)
    p = rng.uniform(0, 0.4, 2_000)
    y = (rng.uniform(size=2_000) < p).astype(int)
    _, gain = gain_curve(y, p)
    assert gain[0] == 0.0 and gain[-1] == pytest.approx(1.0)
    assert gain[10] == pytest.approx(lift_and_capture(y, p)[1])
    bins = calibration_bins(y, p)
    ece = float((bins["n"] * (bins["observed"] - bins["predicted"]).abs()).sum() / bins["n"].sum())
    assert ece == pytest.approx(expected_calibration_error(y, p))
    same = pd.Series(rng.normal(size=5_000))
    shifted = pd.Series(rng.normal(loc=1.0, size=5_000))
    assert psi(same, same.sample(frac=1.0, random_state=1)) < 0.01
    assert psi(same, shifted) > 0.25
    cats = pd.Series(["a"] * 90 + ["b"] * 10, dtype="category")
    assert psi(cats, pd.Series(["a"] * 50 + ["b"] * 50)) > 0.25
    assert math.isnan(psi(pd.Series([], dtype=float), same))


def test_report_write_without_out_goes_under_home(governance_module: Store) -> None:
    path = write_report(governance_module.versions[0], settings=governance_module.settings)
    assert path.parent == Path(governance_module.settings.home) / "reports"
    assert path.read_text(encoding="utf-8").startswith("<!DOCTYPE html>")
    shutil.rmtree(path.parent)


def test_report_says_which_learner_serves_and_that_the_data_is_too_small(
    governance_module: Store, report: tuple[Path, ReportParser]
) -> None:
    from html import escape

    from training.sample_size import LIGHTGBM_OVERTAKES_AT_WINS, choice_sentence

    path, _ = report
    page = path.read_text(encoding="utf-8")
    summary = governance_module.results[1].summary
    combined = summary["model_choice"]["combined"]
    said = choice_sentence(combined["chosen"], combined["runner_up"], summary["n_train_wins"])
    assert escape(said) in page
    assert f"about {LIGHTGBM_OVERTAKES_AT_WINS:,} wins" in said
    assert summary["small_data"] and "The data is too small to trust." in page
    assert "--acknowledge-small-data" in page


def test_report_charts_label_both_axes() -> None:
    rng = np.random.default_rng(1)
    y = (rng.uniform(size=400) < 0.3).astype(int)
    p = np.clip(0.3 + 0.2 * (y - 0.3) + rng.normal(0, 0.1, 400), 0.01, 0.99)
    scores = pd.DataFrame(
        {
            "label": y,
            **{f"{part}_score": np.rint(100 * p).astype(int) for part in ("fit", "interest")},
            "combined_score": np.rint(100 * p).astype(int),
        }
    )
    figures = [
        gain_figure(y, {"Handoff combined": p}),
        calibration_figure(y, {"Handoff combined": p}),
        quadrant_figure(scores, {"fit_threshold": 30, "interest_threshold": 30}),
        distribution_figure(scores),
        importance_figure({"fit": {"a": 2.0, "b": 1.0}, "interest": {"c": 1.0}}, {"a": "A"}),
    ]
    for fig in figures:
        assert all(ax.get_xlabel() for ax in fig.axes), fig.axes
        assert fig.axes[0].get_ylabel(), fig.axes


def test_report_without_a_champion_reads_as_sentences(
    governance_module: Store, tmp_path: Path
) -> None:
    """Version 1 is the champion: its own report has no other champion to compare with."""
    context = build_context(governance_module.versions[0], governance_module.settings, tmp_path)
    assert context["champion"] is None
    said = context["decision"].against_champion
    if context["is_champion"]:  # after the module's report fixture promoted it
        assert said == "this version is the champion: it is serving now"
    else:
        assert (
            said == "there is no champion: promoting it makes it the first version to route leads"
        )
    parsed = ReportParser()
    parsed.feed(render_report(context))
    text = " ".join(" ".join(parsed.text).split())
    assert (
        "There is no other champion to compare with, so the leads the model will meet next are "
        "compared with the leads it learned from. Population stability index (PSI) of this "
        "version's most recent (test-window) leads against its training leads" in text
    )
    assert "PSI) of there is" not in text
    assert "with no other champion, this gate has nothing to compare with" in text


def test_report_decision_box_comes_first_from_the_gates_and_verdicts(
    governance_module: Store, report: tuple[Path, ReportParser]
) -> None:
    """Version 2 against champion version 1: the gates `handoff promote` would apply, the
    verdicts in words with their intervals, the boxes on the same leads, the sign-offs."""
    from training.promote import check_gates, configured_gates
    from training.versions import get_version, registry_client

    path, parsed = report
    html = path.read_text(encoding="utf-8")
    assert html.index('id="decision"') < html.index("What this model is for")
    settings = governance_module.settings
    client = registry_client(settings)
    v1, v2 = governance_module.versions
    mv = get_version(client, settings, v2)
    check = check_gates(client, settings, mv, v1, configured_gates(settings))
    assert check.verdict is not None and check.verdict.champion is not None
    assert parsed.ids["decision-champion"] == check.verdict.champion.sentence()
    assert "95% interval" in parsed.ids["decision-champion"]
    if check.verdict.baseline is not None:
        assert parsed.ids["decision-baseline"] == check.verdict.baseline.sentence()
    text = " ".join(" ".join(parsed.text).split())
    if check.failures:
        assert f"Fails {len(check.failures)} promotion gate" in text
        assert all(" ".join(r.split()) in text for r in check.failures)
    else:
        assert "Passes every promotion gate." in text
    assert "sales now (tier 1, immediate_contact):" in text
    assert f"; champion version {v1}: " in text and "a week to reach within 5 minutes" in text
    assert "Both teams approved this exact model and policy." in text
    from training.sample_size import choice_sentence

    summary = governance_module.results[1].summary
    combined = summary["model_choice"]["combined"]
    family = choice_sentence(combined["chosen"], combined["runner_up"], summary["n_train_wins"])
    assert 'id="decision-family"' in html and family in text


def test_report_decision_box_lists_every_failing_gate(
    governance_module: Store, report: tuple[Path, ReportParser], tmp_path: Path
) -> None:
    """Bounds no model meets (version 1 the champion, as `report` leaves it): the box says
    it fails, with every reason promotion gives."""
    strict = governance_module.settings.model_copy(
        update={"promotion_auc_tolerance": -1.0, "promotion_baseline_margin": 1.0}
    )
    context = build_context(governance_module.versions[1], strict, tmp_path)
    decision = context["decision"]
    reasons = decision.gate_reasons
    assert not decision.passes
    assert any("whole interval is below the margin +1.0000" in r for r in reasons)
    assert any("more than the tolerance -1.0000 below zero" in r for r in reasons)
    parsed = ReportParser()
    parsed.feed(render_report(context))
    text = " ".join(" ".join(parsed.text).split())
    assert f"Fails {len(reasons)} promotion gates:" in text
    assert all(" ".join(r.split()) in text for r in decision.gate_reasons)
