"""Assertion status (present / absent / possible / hypothetical), temporality and experiencer.

ConText-style rules kept as versioned data in ``resources/``: the general lexicons (medspaCy's ConText
rules, MIT; the GenNegEx triggers, Apache-2.0) imported by ``context_rules.json``, which adds general rules
(published pyConText / medspaCy / NegEx items and the issue's clinical phrases, each naming its source), the
project's own rules, section rules, time expressions (``extractors.dates``, read against the note date) and concept
priors. ``python -m evals.negex --cv`` shows how the project's additions carry over to unseen reports::

    from extractors.assertion import AssertionClassifier
    clf = AssertionClassifier()
    clf.classify("Patient denies chest pain.", 15, 25).assertion  # Assertion.ABSENT
"""
from .classifier import DEFAULT_RULES, AssertionClassifier, AssertionResult, split_sentences
from .engine import RuleError, RuleSet, load_rules

__all__ = [
    "AssertionClassifier",
    "AssertionResult",
    "DEFAULT_RULES",
    "RuleError",
    "RuleSet",
    "load_rules",
    "split_sentences",
]
