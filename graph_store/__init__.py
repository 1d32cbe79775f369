"""graph_store."""
