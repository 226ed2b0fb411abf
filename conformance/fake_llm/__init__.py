"""A deterministic OpenAI-compatible chat-completion server for the conformance suite.

``conformance fake-llm`` (or ``python -m conformance.fake_llm``) serves it; tests and the
suite start it with :func:`conformance.fake_llm.process.start_fake_llm`. What it answers to
which prompt is the catalogue in :mod:`conformance.fake_llm.scripts`.
"""

DEFAULT_PORT = 7374
"""Where a local vLLM would listen."""
