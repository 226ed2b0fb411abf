"""What the official ``useStream`` hook shows on one server: the page of tests/clients in
headless Chromium (a greeting, a tool round trip, the tool thread reopened), for run.sh.

    python docs/reports/use_stream.py URL --llm-url URL [--assistant ID ...] [--header 'K: V']

Prints one Markdown table row per assistant and case. Run it with the suite's Python
(.tox/tests/bin/python) after ``npm ci --prefix tests/clients/use_stream``; Chromium at
/usr/bin/chromium (or CHROMIUM_PATH).
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))

from tests.clients.use_stream_page import CASES, Target, drive, missing_pieces


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("url")
    parser.add_argument("--llm-url", required=True)
    parser.add_argument("--assistant", action="append", default=[])
    parser.add_argument("--header", action="append", default=[])
    options = parser.parse_args()
    missing = missing_pieces()
    if missing:
        print("cannot run the useStream page: needs " + "; ".join(missing), file=sys.stderr)
        return 2
    headers = dict(
        (name.strip(), value.strip())
        for name, _, value in (header.partition(":") for header in options.header)
    )
    targets = {
        assistant: Target(options.url, assistant, headers)
        for assistant in options.assistant or ["weather_agent"]
    }
    shown = drive(targets, options.llm_url)
    print("| assistant | case | messages (type: text) | answer streamed | error | console errors |")
    print("|---|---|---|---|---|---|")
    for assistant, cases in shown.items():
        for case in CASES:
            seen = cases[case]
            messages = "; ".join(
                f"{kind}: {text[:40]!r}" + (f" calls {', '.join(calls)}" if calls else "")
                for kind, text, calls in seen.messages
            )
            timed_out = " (timed out)" if seen.timed_out else ""
            print(
                f"| {assistant} | {case}{timed_out} | {messages or '(none)'} | "
                f"{'yes' if seen.streamed else 'no'} | {seen.error or ''} | {seen.console_errors} |"
            )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
