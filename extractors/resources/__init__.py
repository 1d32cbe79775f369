"""Versioned JSON rule resources of the extractors layer."""
