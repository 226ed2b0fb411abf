"""Tools the tools agent builds per run from its configuration (MCP servers, RAG collections)."""
