"""From a graph's stream to SSE bytes: drive the graph, map its chunks to API events, encode
them, and fan them out to every listener of a run."""
