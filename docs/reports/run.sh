#!/usr/bin/env bash
# Re-run the third-party conformance reports (docs/reports/README.md tells the story).
#
#   docs/reports/run.sh aegra            Aegra (PyPI aegra-cli/aegra-api) on a throwaway Postgres
#   docs/reports/run.sh fractal          fractal-agents-runtime's Robyn server (needs FRACTAL_SRC)
#   docs/reports/run.sh oracle-mapped    langgraph dev itself, mapped the way fractal is mapped
#                                        (run it before fractal: fractal's triage uses it as the
#                                        control, a finding they share being the mapping's)
#
# Run from the repository root after `python3 -m tox -e tests --notest` (the suite comes from
# .tox/tests). Everything listens on 127.0.0.1 on free ports (never 2024); every process this
# script starts is stopped by its pid on exit, and the Postgres cluster is removed.
#
# Environment:
#   OUT            where reports go (default /tmp/thirdparty-reports)
#   WORK           where venvs, clusters and sources go (default /tmp/thirdparty-work)
#   PYTHON312      a Python >= 3.12 (Aegra >= 0.7 needs it; default: pyenv's 3.12, else python3.12)
#   AEGRA_VERSION  pin Aegra (default: the newest the index offers for PYTHON312)
#   FRACTAL_SRC    a checkout of the fractal-agents-runtime repository (it has apps/python);
#                  this machine has no network but package registries, so bring it with the
#                  session's `fetch` tool and `git --git-dir=<mirror> archive <commit> apps/python`
#   FRACTAL_COMMIT the commit FRACTAL_SRC was taken from (recorded in fractal.versions)
#   CONFORMANCE    the suite's CLI (default .tox/tests/bin/conformance); another checkout's suite
#                  can be run through a wrapper script (the "before" reports were made so)
#   SUITE_COMMIT   the commit CONFORMANCE comes from, for the log (default: this checkout's HEAD)
#   SUITE_PYTHON   the Python that starts langgraph dev (default .tox/tests/bin/python)
#   SUITE_ARGS     extra options for `conformance check`
set -euo pipefail

TARGET=${1:?"usage: $0 aegra|fractal|oracle-mapped"}
REPO=$(cd "$(dirname "$0")/../.." && pwd)
OUT=${OUT:-/tmp/thirdparty-reports}
WORK=${WORK:-/tmp/thirdparty-work}
CONFORMANCE=${CONFORMANCE:-$REPO/.tox/tests/bin/conformance}
# the Python that starts langgraph dev for oracle-mapped (conformance.oracle)
SUITE_PYTHON=${SUITE_PYTHON:-$REPO/.tox/tests/bin/python}
mkdir -p "$OUT" "$WORK"
COMMIT=${SUITE_COMMIT:-$(git -C "$REPO" rev-parse --short HEAD)}

PIDS=()
PGDATA=""
cleanup() {
    # Robyn forks a worker that keeps the port: each server runs in its own process group
    local pid
    for pid in "${PIDS[@]}"; do kill -- "-$pid" 2>/dev/null || kill "$pid" 2>/dev/null || true; done
    # Robyn's server ignores SIGTERM: whatever of our groups is left after 5 s gets SIGKILL
    for pid in "${PIDS[@]}"; do
        for _ in $(seq 50); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
        kill -9 -- "-$pid" 2>/dev/null || true
    done
    if [[ -n "$PGDATA" ]]; then
        su postgres -c "/usr/lib/postgresql/*/bin/pg_ctl -D $PGDATA -m fast stop" >/dev/null 2>&1 || true
        rm -rf "$(dirname "$PGDATA")"
    fi
}
trap cleanup EXIT

start_group() { # PIDFILE COMMAND...: run COMMAND in a process group of its own, its pid in PIDFILE
    setsid sh -c 'echo $$ > "$0"; exec "$@"' "$@"
}

wait_file() { for _ in $(seq 300); do [[ -s $1 ]] && return 0; sleep 0.1; done; return 1; }

launch() { # NAME LOG COMMAND...: start COMMAND in the background in its own process group;
    # its pid goes to $WORK/NAME.pid and PIDS (removed first: a stale file must not be read)
    local pidfile=$WORK/$1.pid log=$2
    shift 2
    rm -f "$pidfile"
    (start_group "$pidfile" "$@" > "$log" 2>&1 < /dev/null &)
    wait_file "$pidfile"
    PIDS+=("$(cat "$pidfile")")
}

free_port() {
    # a free loopback port, never 2024 (the machine's own service)
    python3 -c 'import socket
while True:
    s = socket.socket(); s.bind(("127.0.0.1", 0)); p = s.getsockname()[1]; s.close()
    if p != 2024: print(p); break'
}

wait_ok() { # URL PATH: wait up to 120 s for a 200
    for _ in $(seq 240); do
        curl -fsS -m 2 "$1$2" >/dev/null 2>&1 && return 0
        sleep 0.5
    done
    echo "server at $1 did not answer $2" >&2
    return 1
}

python312() {
    if [[ -n "${PYTHON312:-}" ]]; then echo "$PYTHON312"; return; fi
    local pyenv_python
    pyenv_python=$(ls -d "$HOME"/.pyenv/versions/3.12.*/bin/python3.12 2>/dev/null | tail -1 || true)
    echo "${pyenv_python:-python3.12}"
}

start_fake_llm() {
    # the suite's deterministic fake LLM, on a port we know before the servers start: the suite
    # passes its URL to the graphs (configurable.base_url), and every server's default model
    # endpoint points at it too, so a graph that gets no base_url stays on loopback
    local port
    port=$(free_port)
    launch fake-llm "$OUT/fake-llm.log" "$CONFORMANCE" fake-llm --port "$port"
    LLM_URL=http://127.0.0.1:$port/v1
    wait_ok "$LLM_URL" /models
    export LLM_BASE_URL=$LLM_URL OPENAI_BASE_URL=$LLM_URL OPENAI_API_BASE=$LLM_URL
}

run_suite() { # NAME URL [conformance options...]
    local name=$1 url=$2
    shift 2
    echo "== conformance check against $name at $url (suite commit $COMMIT)"
    set +e
    # shellcheck disable=SC2086
    "$CONFORMANCE" check --target "$url" --llm-url "$LLM_URL" "$@" ${SUITE_ARGS:-} \
        --markdown "$OUT/$name.md" --report-json "$OUT/$name.json" > "$OUT/$name.txt" 2>&1
    echo "exit $?" >> "$OUT/$name.txt"
    set -e
    tail -2 "$OUT/$name.txt"
    # group the findings and apply docs/reports/verdicts.json: prints the triage table's summary
    local control=()
    if [[ $name == fractal-agents-runtime && -s $OUT/oracle-mapped.json ]]; then
        # a finding langgraph dev itself gets under the same mapping is the mapping's
        control=(--control "$OUT/oracle-mapped.json")
    fi
    python3 "$REPO/docs/reports/triage.py" "$OUT/$name.json" --target "$name" "${control[@]}" \
        > "$OUT/$name.triage.md" || true
    tail -1 "$OUT/$name.triage.md"
}

use_stream() { # NAME URL [use_stream.py options...]: what the useStream page shows there
    local name=$1 url=$2
    shift 2
    if [[ ! -d $REPO/tests/clients/use_stream/node_modules ]]; then
        npm ci --prefix "$REPO/tests/clients/use_stream" > "$OUT/$name.use_stream.log" 2>&1
    fi
    echo "== useStream in Chromium against $name"
    "$SUITE_PYTHON" "$REPO/docs/reports/use_stream.py" "$url" --llm-url "$LLM_URL" "$@" \
        > "$OUT/$name.use_stream.md" 2>> "$OUT/$name.use_stream.log" || true
    cat "$OUT/$name.use_stream.md"
}

aegra() {
    local venv=$WORK/aegra-venv py
    py=$(python312)
    if [[ ! -x $venv/bin/aegra ]]; then
        "$py" -m venv "$venv"
        # Aegra itself, plus what this repository's graphs import (agent/: langchain, OpenAI, MCP)
        "$venv/bin/pip" install -q "aegra-cli${AEGRA_VERSION:+==$AEGRA_VERSION}" \
            "aegra-api${AEGRA_VERSION:+==$AEGRA_VERSION}" langchain langchain-openai \
            langchain-mcp-adapters mcp
    fi
    "$venv/bin/pip" list 2>/dev/null | grep -iE "^(aegra-api|aegra-cli|langgraph) " | tee "$OUT/aegra.versions"

    # a throwaway Postgres cluster (initdb must run as the postgres user)
    local pg_port pg_root
    pg_port=$(free_port)
    pg_root=$(mktemp -d "$WORK/pg.XXXX")
    chown postgres "$pg_root"
    PGDATA=$pg_root/data
    su postgres -c "/usr/lib/postgresql/*/bin/initdb -D $PGDATA -U postgres --auth=trust" >/dev/null
    su postgres -c "/usr/lib/postgresql/*/bin/pg_ctl -D $PGDATA -o '-p $pg_port -h 127.0.0.1 -k $pg_root' -l $pg_root/log -w start" >/dev/null
    su postgres -c "psql -h 127.0.0.1 -p $pg_port -c 'create database aegra'" >/dev/null

    # Aegra loads graphs from file paths only (no `module:attr`), so its aegra.json names the
    # files of the graphs this repository's langgraph.json serves, every one of them
    local project=$WORK/aegra-project port
    mkdir -p "$project"
    python3 - "$REPO" > "$project/aegra.json" <<'EOF'
import json, sys
from pathlib import Path
repo = Path(sys.argv[1])
config = json.loads((repo / "langgraph.json").read_text())
graphs = {}
for graph, spec in config["graphs"].items():
    target, _, attribute = spec.rpartition(":")
    # ./agent/graph.py stays a file; agent.scenario_graphs becomes agent/scenario_graphs.py
    path = repo / target if target.endswith(".py") else repo / (target.replace(".", "/") + ".py")
    graphs[graph] = f"{path.resolve()}:{attribute}"
print(json.dumps({"dependencies": [str(repo)], "graphs": graphs}, indent=2))
EOF
    port=$(free_port)
    (cd "$project" && export DATABASE_URL="postgresql://postgres:postgres@127.0.0.1:$pg_port/aegra" \
        AEGRA_CONFIG="$project/aegra.json" && launch aegra "$OUT/aegra.server.log" \
        "$venv/bin/aegra" serve --host 127.0.0.1 --port "$port" -c "$project/aegra.json"
        cat "$WORK/aegra.pid" > "$WORK/aegra.pid.outer")
    PIDS+=("$(cat "$WORK/aegra.pid.outer")")
    wait_ok "http://127.0.0.1:$port" /info
    # all graphs served unchanged: values compared, no --graph
    run_suite aegra "http://127.0.0.1:$port"
    use_stream aegra "http://127.0.0.1:$port"
}

fractal() {
    local src=${FRACTAL_SRC:?"FRACTAL_SRC: a checkout of fractal-agents-runtime"} venv=$WORK/fractal-venv py
    py=$(python312)
    if [[ ! -x $venv/bin/python ]]; then
        "$py" -m venv "$venv"
        "$venv/bin/pip" install -q "$src/apps/python"
    fi
    "$venv/bin/pip" list 2>/dev/null | grep -iE "^(fractal-agents-runtime|robyn|langgraph) " | tee "$OUT/fractal.versions"
    echo "fractal-agents-runtime commit ${FRACTAL_COMMIT:-$(git -C "$src" rev-parse HEAD 2>/dev/null || echo unknown)}" \
        | tee -a "$OUT/fractal.versions"

    # Its routes need a user even with auth "disabled", so enable Supabase auth with local HS256
    # verification (no call goes to SUPABASE_URL) and send a token of our own making
    local secret=conformance-secret token port
    token=$(python3 - "$secret" <<'EOF'
import base64, hashlib, hmac, json, sys, time
def b64(raw: bytes) -> str: return base64.urlsafe_b64encode(raw).rstrip(b"=").decode()
head = b64(json.dumps({"alg": "HS256", "typ": "JWT"}).encode())
body = b64(json.dumps({"sub": "00000000-0000-4000-8000-000000000001", "role": "authenticated",
                       "exp": int(time.time()) + 86400}).encode())
sig = b64(hmac.new(sys.argv[1].encode(), f"{head}.{body}".encode(), hashlib.sha256).digest())
print(f"{head}.{body}.{sig}")
EOF
)
    port=$(free_port)
    mkdir -p "$WORK/fractal-run"
    (cd "$WORK/fractal-run" && export ROBYN_HOST=127.0.0.1 ROBYN_PORT=$port \
        OPENAI_API_KEY=sk-unused SUPABASE_URL=http://127.0.0.1:9 SUPABASE_KEY=unused \
        SUPABASE_JWT_SECRET=$secret && launch fractal "$OUT/fractal.server.log" "$venv/bin/python" -m server
        cat "$WORK/fractal.pid" > "$WORK/fractal.pid.outer")
    PIDS+=("$(cat "$WORK/fractal.pid.outer")")
    wait_ok "http://127.0.0.1:$port" /ok
    # It serves only its own graphs (`agent`, `research_agent`) and makes no assistant per
    # graph: create the `agent` assistant a client would use, and map every scenario graph on it
    curl -fsS -X POST "http://127.0.0.1:$port/assistants" -H "authorization: Bearer $token" \
        -H 'content-type: application/json' \
        -d '{"graph_id": "agent", "assistant_id": "agent", "name": "agent", "if_exists": "do_nothing"}' >/dev/null
    run_suite fractal-agents-runtime "http://127.0.0.1:$port" --header "Authorization: Bearer $token" \
        "${GRAPH_MAP[@]}"
    use_stream fractal-agents-runtime "http://127.0.0.1:$port" --assistant agent \
        --header "Authorization: Bearer $token"
}

oracle_mapped() {
    # langgraph dev (the ground truth) under the same --graph mapping as fractal: any finding
    # it gets is the suite's, not the target's
    "$SUITE_PYTHON" - "$REPO/langgraph.json" > "$WORK/oracle.url" 2> "$OUT/oracle.server.log" <<'EOF' &
import signal, sys, time
from conformance.oracle import start_langgraph_dev
server = start_langgraph_dev(sys.argv[1])
print(server.url, flush=True)
signal.signal(signal.SIGTERM, lambda *_: (server.stop(), sys.exit(0)))
while True:
    time.sleep(3600)
EOF
    PIDS+=("$!")
    for _ in $(seq 120); do [[ -s $WORK/oracle.url ]] && break; sleep 1; done
    run_suite oracle-mapped "$(cat "$WORK/oracle.url")" "${GRAPH_MAP[@]}"
    # the ground truth for both: the graphs Aegra serves, and the `agent` fractal's stands for
    use_stream oracle-mapped "$(cat "$WORK/oracle.url")" --assistant weather_agent --assistant agent
}

# fractal serves only its own `agent`: every graph of our langgraph.json but `agent` is mapped on it
mapfile -t GRAPH_MAP < <(python3 -c 'import json, sys
for graph in json.load(open(sys.argv[1]))["graphs"]:
    if graph != "agent":
        print(f"--graph={graph}=agent")' "$REPO/langgraph.json")

start_fake_llm
case $TARGET in
    aegra) aegra ;;
    fractal) fractal ;;
    oracle-mapped) oracle_mapped ;;
    *) echo "unknown target $TARGET" >&2; exit 2 ;;
esac
