"""docs/rules.md is what the catalogue and the proofs table say, and names a proof per rule."""

from __future__ import annotations

from conformance.check import INCOMPLETE_RULE
from conformance.compare import REPLAY_RULES
from conformance.rules.catalog import ENGINE_ERROR_RULE, RULES
from tests.conformance.broken_servers.proofs import RELAXATION_PROOFS
from tests.conformance.broken_servers.rules_doc import DOC_PATH, render


def test_docs_rules_table_is_current() -> None:
    assert DOC_PATH.read_text(encoding="utf-8") == render(), (
        "docs/rules.md is stale: run `python -m tests.conformance.broken_servers.rules_doc`"
    )


def test_every_rule_has_a_row_with_a_proof_and_an_anchor() -> None:
    rows = {
        rule_id: line
        for line in render().splitlines()
        for rule_id in RULES
        if line.startswith(f'| <a id="{rule_id}"></a>')
    }
    assert set(rows) == set(RULES)
    assert all("**none**" not in row for row in rows.values())


def test_reports_link_to_an_anchor_of_every_rule_they_cite() -> None:
    # The Markdown report links each finding to docs/rules.md#<rule id>.
    text = render()
    for rule_id in [*RULES, *REPLAY_RULES, INCOMPLETE_RULE, ENGINE_ERROR_RULE]:
        assert f'<a id="{rule_id}"></a>' in text, rule_id


def test_every_acceptance_names_tests_that_exist() -> None:
    root = DOC_PATH.parents[1] / "tests" / "conformance"
    for name, proof in RELAXATION_PROOFS.items():
        module, _, tests = proof.test.partition("::")
        source = (root / module).read_text(encoding="utf-8")
        for test in tests.split(", "):
            assert f"def {test}(" in source, (name, test)
