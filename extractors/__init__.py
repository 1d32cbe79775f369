"""Extractors layer: clinical notes -> typed facts (sections, problems, drugs, labs, vitals, procedures, dates).

    from extractors import ClinicalExtractor
    x = ClinicalExtractor(); x.warm_up(); facts = x.run(note)
    for facts in extractors.pipe(notes, n_process=2): ...
"""
from extractors.pipeline import ClinicalExtractor, ExtractorConfig, pipe

__all__ = ["ClinicalExtractor", "ExtractorConfig", "pipe", "facts_frame"]


def facts_frame(facts):
    """A pandas DataFrame of facts (one row per fact); see extractors.commands."""
    from extractors.commands import facts_frame as _ff

    return _ff(facts)
