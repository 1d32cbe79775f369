"""clinqa: on-prem clinical question answering over a patient's notes, with cited, verified answers."""

__version__ = "0.1.0"
