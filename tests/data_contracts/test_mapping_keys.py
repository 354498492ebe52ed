"""mapping_keys.py: the one list of mapping keys; the parser refuses what it does not list,
and docs/MAPPING.md is exactly what it generates."""

from __future__ import annotations

from pathlib import Path

from data_contracts.mapping_keys import SECTIONS, reference_text

DOC = Path(__file__).resolve().parents[2] / "docs" / "MAPPING.md"


def test_mapping_reference_doc_is_generated_from_the_keys() -> None:
    assert DOC.read_text(encoding="utf-8") == reference_text(), (
        "docs/MAPPING.md is stale: run `handoff mapping keys --out docs/MAPPING.md`"
    )


def test_mapping_reference_names_every_key_of_every_section() -> None:
    text = reference_text()
    for section in SECTIONS:
        for key in section.keys:
            assert f"| `{key.name}` |" in text, (section.name, key.name)
            assert key.doc.strip(), (section.name, key.name)
