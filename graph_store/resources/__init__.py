"""Versioned JSON resources of the graph layer (package data)."""
