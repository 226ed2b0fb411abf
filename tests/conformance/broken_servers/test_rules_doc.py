"""docs/rules.md is what the catalogue and the proofs table say, and names a proof per rule."""

from __future__ import annotations

from conformance.rules.catalog import RULES
from tests.conformance.broken_servers.rules_doc import DOC_PATH, render


def test_docs_rules_table_is_current() -> None:
    assert DOC_PATH.read_text(encoding="utf-8") == render(), (
        "docs/rules.md is stale: run `python -m tests.conformance.broken_servers.rules_doc`"
    )


def test_every_rule_has_a_row_with_a_proof() -> None:
    rows = [line for line in render().splitlines() if line.startswith("| `")]
    assert len(rows) == len(RULES)
    assert all("**none**" not in row for row in rows)
