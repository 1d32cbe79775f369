"""Assertion status (present / absent / possible / hypothetical), temporality and experiencer.

ConText-style rules kept as versioned data in ``resources/context_rules.json``::

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
