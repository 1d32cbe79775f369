"""Packaged rule data (JSON) for extractors.assertion."""
