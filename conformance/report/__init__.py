"""Reports of a ``conformance check``: the results model, then JSON (the source of truth) and
the formats made from it (terminal summary, JUnit XML, Markdown)."""
