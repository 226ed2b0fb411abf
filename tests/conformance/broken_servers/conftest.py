"""The healthy upstream for the broken-server proofs: the bundled reference server."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from conformance import check


@pytest.fixture(scope="module")
def reference_url() -> Iterator[str]:
    server = check.start_reference_server()
    try:
        yield server.url
    finally:
        server.stop()
