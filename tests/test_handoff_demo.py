"""The README's main job: `handoff demo` runs the whole loop on embedded defaults."""

from __future__ import annotations

import re
from pathlib import Path

import pandas as pd
import pytest

from handoff_demo import run_demo
from serving.settings import ServingSettings


@pytest.mark.slow
def test_demo_runs_the_whole_loop_with_defaults(tmp_path: Path) -> None:
    lines: list[str] = []
    settings = ServingSettings(home=tmp_path / "home")
    run_demo(settings, echo=lines.append)
    text = "\n".join(lines)
    assert "7/7 scoring every lead with the champion, as `handoff score` does" in text
    assert "is now the champion" in text
    assert "DEMO, not a real person" in text
    assert (tmp_path / "home" / "demo" / "report-v1.html").exists()
    scored = [line for line in lines if line.startswith("  L")]
    quadrants = {line.split()[1] for line in scored}
    assert len(quadrants) >= 3, quadrants
    assert any(re.search(r"fit: \S.* \([+-]\)", line) for line in lines)
    # Step 7 is `handoff score`'s own path: every lead of the demo folder, written to a file.
    scores = pd.read_parquet(tmp_path / "home" / "demo" / "scores.parquet")
    assert len(scores) == 20_000 and scores["lead_id"].is_unique
    assert f"scored {len(scores)} leads with model version 1" in text
    report = (tmp_path / "home" / "demo" / "report-v1.html").resolve()
    assert lines[-1].endswith(f"Review report: {report}")
    assert not any(" min)" in line for line in scored), "speed-to-lead said in words"
