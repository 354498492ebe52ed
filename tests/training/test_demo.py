"""The README's main job: `handoff demo` runs the whole loop on embedded defaults."""

from __future__ import annotations

from pathlib import Path

import pytest

from models.settings import Settings
from training.demo import run_demo


@pytest.mark.slow
def test_demo_runs_the_whole_loop_with_defaults(tmp_path: Path) -> None:
    lines: list[str] = []
    settings = Settings(home=tmp_path / "home")
    run_demo(settings, echo=lines.append)
    text = "\n".join(lines)
    assert "7/7 scoring recent leads with the champion" in text
    assert "is now the champion" in text
    assert "DEMO, not a real person" in text
    assert (tmp_path / "home" / "demo" / "report-v1.html").exists()
    scored = [line for line in lines if line.startswith("  L")]
    quadrants = {line.split()[1] for line in scored}
    assert len(quadrants) >= 3, quadrants
    assert any("fit: +" in line or "fit: -" in line for line in lines)
