"""``conformance check`` orchestration: selection, judging, concurrency, baseline, exit codes.

The target is a fake runner here (the real client and server are exercised in
test_check_reference.py and the broken-server tests); the judges are replaced where a test is
about orchestration rather than about rules.
"""

from __future__ import annotations

import argparse
import asyncio
import functools
import http.server
import io
import json
import threading
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import httpx
import pytest

from conformance import check, step_findings, target_setup
from conformance.baseline import Baseline
from conformance.client import ScenarioError, TargetUnreachable
from conformance.compare import Relax
from conformance.findings import Finding, Severity
from conformance.live_mode import LIVE_STEP_TIMEOUT_SECONDS, refusing_model_url
from conformance.processes import free_port
from conformance.report.results import ScenarioResult
from conformance.scenarios.model import Request, Scenario
from conformance.transcript import (
    Chunk,
    Exchange,
    RecordedRequest,
    RecordedResponse,
    Transcript,
    dump,
)


def _scenario(name: str, capability: str = "runs", *, model_dependent: bool = True) -> Scenario:
    return Scenario(
        name=name,
        description=f"{name} story",
        capability=capability,
        model_dependent=model_dependent,
        steps=(Request("create", "POST", "/assistants", body={"graph_id": "agent"}),),
    )


def _transcript(name: str, *, stream: bool = True) -> Transcript:
    path = "/threads/t/runs/stream" if stream else "/threads"
    content_type = "text/event-stream; charset=utf-8" if stream else "application/json"
    return Transcript(
        scenario=name,
        exchanges=[
            Exchange(
                step="only",
                request=RecordedRequest(method="POST", path=path),
                response=RecordedResponse(
                    status=200,
                    headers=[("content-type", content_type)],
                    chunks=[Chunk(at_ms=1.0, data=b"{}")],
                ),
            )
        ],
    )


@pytest.fixture
def fixtures_dir(tmp_path: Path) -> Path:
    directory = tmp_path / "fixtures"
    directory.mkdir()
    for name in ("alpha", "beta", "gamma", "delta"):
        dump(_transcript(name), directory / f"{name}.json")
    return directory


@pytest.fixture
def fake_judge(monkeypatch: pytest.MonkeyPatch) -> dict[str, Any]:
    """Judge by a table: scenario -> findings; records the relaxed modes each one got."""
    table: dict[str, Any] = {"findings": {}, "relax": {}}

    def judge(
        name: str,
        fixture: Transcript,
        actual: Transcript,
        *,
        relax: Any,
        graph_map: Any,
        live_model: bool = False,
        runs_deleted_in: Any = frozenset(),
    ) -> list[Finding]:
        table["relax"][name] = relax
        table.setdefault("live_model", {})[name] = live_model
        return list(table["findings"].get(name, []))

    monkeypatch.setattr(check, "judge_transcript", judge)
    return table


async def _runner(scenario: Scenario, base_url: str, **options: Any) -> Transcript:
    return _transcript(scenario.name)


def _must(rule: str) -> Finding:
    return Finding(rule=rule, severity=Severity.MUST, message=f"{rule} broken")


async def _judge(
    scenario_name: str, fixtures_dir: Path, runner: Any
) -> tuple[ScenarioResult, Transcript | None]:
    """``judge_scenario`` on a target the runner stands in for, with no baseline."""
    return await check.judge_scenario(
        _scenario(scenario_name),
        check.Target(url="http://x", llm_url="http://llm"),
        fixtures_dir=fixtures_dir,
        baseline=Baseline(),
        runner=runner,
    )


def _cut_short(message: str, step: str) -> Any:
    """A runner whose scenario stops at ``step`` with a transcript of what came before."""

    async def runner(scenario: Scenario, base_url: str, **options: Any) -> Transcript:
        raise ScenarioError(
            message, scenario=scenario.name, step=step, transcript=_transcript(scenario.name)
        )

    return runner


# --- parsing and selection ---------------------------------------------------------------------


def test_parse_header_and_graph() -> None:
    assert check.parse_header("Authorization: Bearer a:b") == ("Authorization", "Bearer a:b")
    assert check.parse_graph_mapping("agent = mine") == ("agent", "mine")
    for bad in ("no colon", ": value", "two words: x"):
        with pytest.raises(check.UsageError, match="expected 'Name: value'"):
            check.parse_header(bad)
    for bad in ("agent", "=mine", "agent="):
        with pytest.raises(check.UsageError, match="expected 'scenario_graph=target_graph'"):
            check.parse_graph_mapping(bad)


def test_select_scenarios() -> None:
    catalogue = {s.name: s for s in (_scenario("a", "runs"), _scenario("b", "store"))}
    assert check.select_scenarios(catalogue) == list(catalogue.values())
    assert [s.name for s in check.select_scenarios(catalogue, ["b"])] == ["b"]
    assert [s.name for s in check.select_scenarios(catalogue, [], ["runs"])] == ["a"]
    assert check.select_scenarios(catalogue, [], ["join"]) == []
    with pytest.raises(check.UsageError, match=r"unknown scenario.*nope"):
        check.select_scenarios(catalogue, ["nope"])
    with pytest.raises(check.UsageError, match=r"unknown capability.*nope"):
        check.select_scenarios(catalogue, [], ["nope"])


def test_relaxation_for_live_llm_and_mapped_graphs() -> None:
    model = _scenario("m", model_dependent=True)
    fixed = _scenario("f", model_dependent=False)
    assert check.relaxation(model, llm_mode="fake", graph_map={}) == ""
    assert check.relaxation(model, llm_mode="live", graph_map={}) == check.LIVE_LLM_RELAXATION
    assert check.relaxation(fixed, llm_mode="live", graph_map={}) == ""
    assert (
        check.relaxation(fixed, llm_mode="fake", graph_map={"agent": "b"})
        == check.GRAPH_MAP_RELAXATION
    )
    # a mapped graph the scenario does not run relaxes nothing
    assert check.relaxation(fixed, llm_mode="fake", graph_map={"other": "b"}) == ""
    assert check.relaxations(model, llm_mode="live", graph_map={"agent": "b"}) == frozenset(
        {Relax.GRAPH, Relax.MODEL}
    )


# --- judging ----------------------------------------------------------------------------------


async def test_missing_fixture_is_an_error_not_a_pass(tmp_path: Path, fake_judge: Any) -> None:
    result, transcript = await _judge("absent", tmp_path, _runner)
    assert result.status.value == "error"
    assert "no recorded fixture" in result.error and "--scenario absent" in result.error
    assert transcript is None


async def test_scenario_cut_short_is_judged_and_fails(fixtures_dir: Path, fake_judge: Any) -> None:
    fake_judge["findings"]["alpha"] = [_must("stream.metadata-first")]
    result, _ = await _judge(
        "alpha", fixtures_dir, _cut_short("no complete answer within 1 s", "stream")
    )
    assert [f.rule for f in result.failures] == [check.INCOMPLETE_RULE, "stream.metadata-first"]
    assert result.failures[0].step == "stream"
    assert result.also_exercised == {"sse_framing"}


async def test_steps_a_cut_short_scenario_never_sent_are_named_not_counted(
    fixtures_dir: Path, fake_judge: Any
) -> None:
    def missing(step: str) -> Finding:
        return Finding(
            rule=step_findings.MISSING_STEP_RULE,
            severity=Severity.MUST,
            message=f"the target's transcript has no step {step!r}",
            step=step,
        )

    fake_judge["findings"]["alpha"] = [
        _must("replay.status"),
        missing("get_state"),
        missing("next_run"),
    ]
    result, _ = await _judge(
        "alpha", fixtures_dir, _cut_short("did not reach 404 within 30 s", "run_deleted")
    )
    assert [f.rule for f in result.failures] == [check.INCOMPLETE_RULE, "replay.status"]
    assert result.failures[0].step == "run_deleted"
    assert result.failures[0].message.endswith("(steps not run: get_state, next_run)")


async def test_a_judge_that_raises_is_reported_as_a_suite_error(
    fixtures_dir: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    def broken_judge(*args: Any, **kwargs: Any) -> list[Finding]:
        raise KeyError("boom")

    monkeypatch.setattr(check, "judge_transcript", broken_judge)
    result, _ = await _judge("alpha", fixtures_dir, _runner)
    assert result.status.value == "error"
    assert "KeyError: 'boom'" in result.error


async def test_an_unforeseen_runner_failure_is_a_suite_error(
    fixtures_dir: Path, fake_judge: Any
) -> None:
    async def crashes(scenario: Scenario, base_url: str, **options: Any) -> Transcript:
        raise RuntimeError("client bug")

    result, transcript = await _judge("alpha", fixtures_dir, crashes)
    assert result.status.value == "error"
    assert "RuntimeError: client bug" in result.error
    assert transcript is None


async def test_check_target_bounds_concurrency_and_keeps_order(
    fixtures_dir: Path, fake_judge: Any, reachable_url: str
) -> None:
    running = 0
    peak = 0

    async def slow_runner(scenario: Scenario, base_url: str, **options: Any) -> Transcript:
        nonlocal running, peak
        running += 1
        peak = max(peak, running)
        await asyncio.sleep(0.05)
        running -= 1
        return _transcript(scenario.name)

    scenarios = [_scenario(name) for name in ("alpha", "beta", "gamma", "delta")]
    finished: list[str] = []
    result = await check.check_target(
        scenarios,
        check.Target(url=reachable_url, llm_url="http://llm", llm_mode="live"),
        fixtures_dir=fixtures_dir,
        concurrency=2,
        on_result=lambda r: finished.append(r.name),
        runner=slow_runner,
    )
    assert peak == 2
    assert sorted(finished) == sorted(s.name for s in scenarios)
    assert [r.name for r in result.scenarios] == ["alpha", "beta", "gamma", "delta"]
    assert result.exit_code == 0
    # live LLM, model-dependent scenarios: values never compared, and the report says so
    assert set(fake_judge["relax"].values()) == {frozenset({Relax.MODEL})}
    # ... and the rules know the model is real: its tokens are judged by their timing
    assert set(fake_judge["live_model"].values()) == {True}
    assert all(r.relaxed == check.LIVE_LLM_RELAXATION for r in result.scenarios)
    note = check.relaxed_comparisons_note(frozenset({Relax.MODEL}))
    assert note in result.run.notes
    assert "live model mode relaxes" in note and "mapped graph" not in note


async def test_baseline_expected_new_and_stale(
    fixtures_dir: Path, fake_judge: Any, reachable_url: str
) -> None:
    fake_judge["findings"] = {
        "alpha": [_must("rule.expected")],
        "beta": [_must("rule.new")],
    }
    baseline = Baseline(
        entries=frozenset(
            {("alpha", "rule.expected"), ("gamma", "rule.fixed"), ("delta", "rule.x")}
        ),
        path="b.txt",
    )
    scenarios = [_scenario(name) for name in ("alpha", "beta", "gamma")]
    result = await check.check_target(
        scenarios,
        check.Target(url=reachable_url, llm_url="http://llm"),
        fixtures_dir=fixtures_dir,
        baseline=baseline,
        runner=_runner,
    )
    statuses = {r.name: r.status.value for r in result.scenarios}
    assert statuses == {"alpha": "pass", "beta": "fail", "gamma": "pass"}
    # delta did not run: its entry is neither confirmed nor stale
    assert [entry.id for entry in result.stale] == ["gamma::rule.fixed"]
    assert result.exit_code == 1
    assert result.run.baseline_path == "b.txt"


async def test_only_baselined_failures_pass(
    fixtures_dir: Path, fake_judge: Any, reachable_url: str
) -> None:
    fake_judge["findings"] = {"alpha": [_must("rule.expected")]}
    result = await check.check_target(
        [_scenario("alpha")],
        check.Target(url=reachable_url, llm_url="http://llm"),
        fixtures_dir=fixtures_dir,
        baseline=Baseline(entries=frozenset({("alpha", "rule.expected")})),
        runner=_runner,
    )
    assert result.exit_code == 0


async def test_unreachable_target_is_fatal_never_a_pass(fixtures_dir: Path) -> None:
    url = f"http://127.0.0.1:{free_port()}"
    result = await check.check_target(
        [_scenario("alpha")],
        check.Target(url=url, llm_url="http://llm"),
        fixtures_dir=fixtures_dir,
        runner=_runner,
    )
    assert result.exit_code == 2
    assert "unreachable" in result.fatal_error and url in result.fatal_error
    assert result.level == "none"


async def test_target_lost_mid_run_is_fatal(
    fixtures_dir: Path, fake_judge: Any, reachable_url: str
) -> None:
    async def dies(scenario: Scenario, base_url: str, **options: Any) -> Transcript:
        if scenario.name == "beta":
            raise TargetUnreachable("connection refused")
        return _transcript(scenario.name)

    result = await check.check_target(
        [_scenario("alpha"), _scenario("beta")],
        check.Target(url=reachable_url, llm_url="http://llm"),
        fixtures_dir=fixtures_dir,
        concurrency=1,
        runner=dies,
    )
    assert result.exit_code == 2
    assert "became unreachable" in result.fatal_error


async def test_nothing_selected_is_fatal(fixtures_dir: Path) -> None:
    result = await check.check_target(
        [], check.Target(url="http://127.0.0.1:9", llm_url="x"), fixtures_dir=fixtures_dir
    )
    assert result.exit_code == 2
    assert "no scenario selected" in result.fatal_error


async def test_mapped_graphs_are_judged_by_shapes_and_the_report_says_so(
    fixtures_dir: Path, fake_judge: Any, reachable_url: str
) -> None:
    result = await check.check_target(
        [_scenario("alpha", model_dependent=False)],
        check.Target(url=reachable_url, llm_url="http://llm", graph_map={"agent": "mine"}),
        fixtures_dir=fixtures_dir,
        runner=_runner,
    )
    assert fake_judge["relax"] == {"alpha": frozenset({Relax.GRAPH})}
    assert check.GRAPH_MAP_RELAXATION in result.run.notes
    assert result.run.graph_map == {"agent": "mine"}


# --- the command --------------------------------------------------------------------------------


def _cli(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, str]:
    # The check command alone: the other subcommands are not this module's business.
    parser = argparse.ArgumentParser(prog="conformance check")
    check.add_arguments(parser)
    code = check.run(parser.parse_args(argv))
    return code, capsys.readouterr().out


def test_cli_unreachable_target_exits_2(
    capsys: pytest.CaptureFixture[str], tmp_path: Path, fixtures_dir: Path
) -> None:
    url = f"http://127.0.0.1:{free_port()}"
    report = tmp_path / "report.json"
    junit = tmp_path / "junit.xml"
    code, out = _cli(
        capsys,
        "--target",
        url,
        "--llm-url",
        "http://127.0.0.1:1/v1",
        "--fixtures",
        str(fixtures_dir),
        "--report-json",
        str(report),
        "--junit",
        str(junit),
    )
    assert code == 2
    assert "COULD NOT RUN" in out and "unreachable" in out
    written = json.loads(report.read_text())
    assert written["exit_code"] == 2 and written["outcome"] == "could not run"
    assert "<error" in junit.read_text()


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        (["--scenario", "no_such_scenario"], "unknown scenario(s): no_such_scenario"),
        (["--capability", "teleport"], "unknown capability(ies): teleport"),
        (["--header", "broken"], "expected 'Name: value'"),
        (["--graph", "broken"], "expected 'scenario_graph=target_graph'"),
        (["--concurrency", "0"], "must be at least 1"),
        (["--llm-model", "m"], "--llm-model and --llm-api-key go with --llm live"),
        (["--llm-api-key", "k"], "--llm-model and --llm-api-key go with --llm live"),
        (["--fixtures", "/nonexistent/dir"], "not a directory"),
    ],
)
def test_cli_bad_input_exits_2_with_a_clear_message(
    capsys: pytest.CaptureFixture[str], argv: list[str], message: str
) -> None:
    code, out = _cli(capsys, "--target", "http://127.0.0.1:9", *argv)
    assert code == 2
    assert message in out


def test_cli_baseline_naming_an_unknown_scenario_exits_2(
    capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    baseline = tmp_path / "baseline.txt"
    baseline.write_text("no_such_scenario::stream.metadata-first\n")
    code, out = _cli(capsys, "--target", "http://127.0.0.1:9", "--baseline", str(baseline))
    assert code == 2
    assert "names unknown scenario(s): no_such_scenario" in out


def test_cli_zero_scenarios_selected_exits_2(
    capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch, fixtures_dir: Path
) -> None:
    monkeypatch.setattr(check, "_catalogue", lambda: {"alpha": _scenario("alpha", "runs")})
    code, out = _cli(
        capsys,
        "--target",
        "http://127.0.0.1:9",
        "--fixtures",
        str(fixtures_dir),
        "--capability",
        "store",
    )
    assert code == 2
    assert "no scenario selected" in out


def test_cli_full_run_writes_every_report(
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
    tmp_path: Path,
    fixtures_dir: Path,
    fake_judge: Any,
    reachable_url: str,
) -> None:
    catalogue = {name: _scenario(name) for name in ("alpha", "beta")}
    monkeypatch.setattr(check, "_catalogue", lambda: catalogue)

    async def runner(scenario: Scenario, base_url: str, **options: Any) -> Transcript:
        assert options["headers"] == {"Authorization": "Bearer t"}
        return _transcript(scenario.name)

    monkeypatch.setattr("conformance.client.run_scenario", runner)
    fake_judge["findings"] = {"beta": [_must("stream.metadata-first")]}
    paths = {name: tmp_path / name for name in ("r.json", "j.xml", "m.md", "base.txt")}
    target = ("--target", reachable_url, "--llm-url", "http://127.0.0.1:1/v1")
    options = ("--fixtures", str(fixtures_dir), "--header", "Authorization: Bearer t")
    code, out = _cli(
        capsys,
        *target,
        *options,
        "--report-json",
        str(paths["r.json"]),
        "--junit",
        str(paths["j.xml"]),
        "--markdown",
        str(paths["m.md"]),
        "--write-baseline",
        str(paths["base.txt"]),
    )
    assert code == 1
    assert "FAIL  beta" in out and "PASS  alpha" in out
    report = json.loads(paths["r.json"].read_text())
    assert report["summary"]["failed"] == 1 and report["target"] == reachable_url
    assert 'name="beta"' in paths["j.xml"].read_text()
    assert "| beta | runs | FAIL |" in paths["m.md"].read_text()
    assert paths["base.txt"].read_text().splitlines()[-1] == "beta::stream.metadata-first"
    # the written baseline turns that run green
    code, out = _cli(capsys, *target, *options, "--baseline", str(paths["base.txt"]))
    assert code == 0, out
    assert io.StringIO(out).read().count("CONFORMANT") == 1


def test_cli_live_model_endpoint_down_exits_2_naming_it(
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
    fixtures_dir: Path,
    reachable_url: str,
    tmp_path: Path,
) -> None:
    ran: list[str] = []

    async def runner(scenario: Scenario, base_url: str, **options: Any) -> Transcript:
        ran.append(scenario.name)
        return _transcript(scenario.name)

    monkeypatch.setattr("conformance.client.run_scenario", runner)
    report = tmp_path / "report.json"
    with refusing_model_url() as llm_url:
        code, out = _cli(
            capsys,
            "--target",
            reachable_url,
            "--llm",
            "live",
            "--llm-url",
            llm_url,
            "--fixtures",
            str(fixtures_dir),
            "--report-json",
            str(report),
        )
    assert code == 2
    assert f"the model endpoint {llm_url} is unreachable" in out
    assert ran == [], "the target is not judged when the model cannot answer"
    assert json.loads(report.read_text())["outcome"] == "could not run"


def test_cli_live_mode_defaults_and_model_settings_reach_the_runner(
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
    fixtures_dir: Path,
    fake_judge: Any,
    reachable_url: str,
    fake_llm_url: str,
) -> None:
    monkeypatch.setattr(check, "_catalogue", lambda: {"alpha": _scenario("alpha")})
    seen: dict[str, Any] = {}

    async def runner(scenario: Scenario, base_url: str, **options: Any) -> Transcript:
        seen.update(options)
        return _transcript(scenario.name)

    monkeypatch.setattr("conformance.client.run_scenario", runner)
    code, out = _cli(
        capsys,
        "--target",
        reachable_url,
        "--llm",
        "live",
        "--llm-url",
        fake_llm_url,
        "--llm-model",
        "served-name",
        "--llm-api-key",
        "sesame",
        "--fixtures",
        str(fixtures_dir),
    )
    assert code == 0, out
    assert seen["timeout"] == LIVE_STEP_TIMEOUT_SECONDS
    assert (seen["llm_url"], seen["llm_model"], seen["llm_api_key"]) == (
        fake_llm_url,
        "served-name",
        "sesame",
    )
    # the fault scenarios' model: a fake LLM the suite started for them
    failing = urlsplit(seen["failing_llm_url"])
    assert failing.hostname == "127.0.0.1" and failing.port != urlsplit(fake_llm_url).port


async def test_scenario_on_a_graph_the_target_does_not_serve_is_not_tested(
    fixtures_dir: Path, fake_judge: Any
) -> None:
    ran: list[str] = []

    async def runner(scenario: Scenario, base_url: str, **options: Any) -> Transcript:
        ran.append(scenario.name)
        return _transcript(scenario.name)

    judge = functools.partial(
        check.judge_scenario, fixtures_dir=fixtures_dir, baseline=Baseline(), runner=runner
    )
    unserved = check.Target(
        url="http://x", llm_url="u", unserved_graphs={"agent": "no assistant for graph 'agent'"}
    )
    result, transcript = await judge(_scenario("alpha"), unserved)
    assert result.status.value == "not tested" and transcript is None and ran == []
    assert result.not_tested == "no assistant for graph 'agent'"
    # a target that serves the graph: run and judged
    result, _ = await judge(_scenario("alpha"), check.Target(url="http://x", llm_url="u"))
    assert result.status.value == "pass" and ran == ["alpha"]


def test_graphs_of_a_scenario_skip_captured_ids_and_graphs_expected_to_fail() -> None:
    scenario = Scenario(
        name="s",
        description="",
        capability="runs",
        model_dependent=False,
        steps=(
            Request("a", "POST", "/assistants", body={"graph_id": "weather_agent"}),
            Request("b", "POST", "/runs/wait", body={"assistant_id": "{assistant_id}"}),
            Request("c", "POST", "/runs", body={"assistant_id": "nope"}, expect_status=422),
        ),
    )
    assert check.graphs_of(scenario) == frozenset({"weather_agent"})


def _assistants_target(served: set[str]) -> tuple[http.server.HTTPServer, str]:
    """A target with a system assistant per graph in ``served``, refusing to create others."""

    class Handler(http.server.BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            body = json.loads(self.rfile.read(int(self.headers.get("content-length", 0))))
            if self.path == "/assistants/search":
                found = body["graph_id"] in served
                self._send(200, [{"assistant_id": body["graph_id"]}] if found else [])
            else:
                self._send(404, {"detail": f"graph {body['graph_id']} not found"})

        def _send(self, status: int, value: Any) -> None:
            data = json.dumps(value).encode()
            self.send_response(status)
            self.send_header("content-type", "application/json")
            self.send_header("content-length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)

        def log_message(self, *args: Any) -> None:
            return

    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    threading.Thread(target=server.serve_forever, args=(0.05,), daemon=True).start()
    return server, f"http://127.0.0.1:{server.server_address[1]}"


async def test_a_graph_the_target_will_not_serve_is_unserved_unless_none_is_served() -> None:
    server, url = _assistants_target({"agent"})
    try:
        async with httpx.AsyncClient(base_url=url) as client:
            plan = await target_setup.prepare_assistants(
                client, ["agent", "custom_events"], named={}, graph_map={}, create=True
            )
            assert plan.assistants == {} and plan.created == []
            assert list(plan.unserved) == ["custom_events"]
            assert "answered 404" in plan.unserved["custom_events"]
            assert "--graph custom_events=THEIRS" in plan.unserved["custom_events"]
            # not one graph can be set up: the target is not ready, the check cannot run
            with pytest.raises(target_setup.SetupError, match="would not create one"):
                await target_setup.prepare_assistants(
                    client, ["custom_events"], named={}, graph_map={}, create=True
                )
    finally:
        server.shutdown()
        server.server_close()
