"""The rules catalogue: well-formed data, every rule cited by a check."""

from __future__ import annotations

import importlib
import inspect
import pkgutil
import re

import pytest

from conformance.capabilities import CAPABILITIES
from conformance.findings import Severity
from conformance.rules import checks
from conformance.rules.catalog import ENGINE_ERROR_RULE, OBSERVED_ON, RULES, Source, rule
from conformance.rules.checks import CHECKS


def test_rules_are_well_formed() -> None:
    assert len(RULES) >= 31
    for rule_id, entry in RULES.items():
        assert entry.id == rule_id
        assert re.fullmatch(r"[a-z]+\.[a-z0-9-]+", rule_id), rule_id
        assert entry.capability in CAPABILITIES, rule_id
        assert isinstance(entry.severity, Severity)
        assert entry.text and entry.why, rule_id
        assert entry.observed_on == OBSERVED_ON
        assert isinstance(entry.source, Source), rule_id
    assert ENGINE_ERROR_RULE not in RULES


def test_every_rule_is_cited_by_a_check_and_every_citation_is_a_rule() -> None:
    modules = [
        importlib.import_module(f"{checks.__name__}.{info.name}")
        for info in pkgutil.iter_modules(checks.__path__)
    ]
    source = "\n".join(inspect.getsource(module) for module in modules)
    cited = set(
        re.findall(
            r'"((?:framing|stream|headers|modes|messages|resumable|runs|cors)\.[a-z0-9-]+)"', source
        )
    )
    # headers.location / headers.content-location are cited through f"headers.{header}".
    cited |= (
        {"headers.location", "headers.content-location"}
        if 'f"headers.{header}"' in source
        else set()
    )
    assert cited == set(RULES)
    assert len(CHECKS) == len(set(CHECKS))


def test_end_event_is_at_most_a_warning() -> None:
    # "A false positive is worse than a false negative": the SDKs accept an end event.
    assert RULES["stream.end-event"].severity is Severity.SHOULD
    assert RULES["resumable.event-ids-increasing"].severity is Severity.SHOULD


def test_unknown_rule_is_a_clear_error() -> None:
    with pytest.raises(KeyError, match=re.escape("unknown rule 'no.such'; known: framing.utf8")):
        rule("no.such")
    assert rule("stream.metadata-first").severity is Severity.MUST
