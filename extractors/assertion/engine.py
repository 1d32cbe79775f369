"""Compact ConText-style scope engine (rules are data, see resources/context_rules.json).

Design (Chapman et al. ConText / medspaCy ConText, re-implemented for speed):

* text is lower-cased and split into tokens ``\\w+`` / single punctuation;
* rule literals and medspaCy-style token patterns (``LOWER``, ``IN``, ``REGEX``,
  ``OP: "?"``) are compiled into one token trie; matching is greedy, left to
  right, longest match first, so a PSEUDO rule ("no increase", "gram negative")
  swallows the trigger it contains;
* each trigger has a direction (FORWARD / BACKWARD / BIDIRECTIONAL), a
  max_scope (in word tokens, list separators not counted), and a scope that
  ends at the sentence edge, at a TERMINATE match that applies to its category,
  or at a trigger of a category listed in its ``terminated_by``;
* list scope: a trigger also covers a target further than max_scope when
  everything between them is a comma / "or" / "and" separated list of short
  items ("no fever, chills, or night sweats");
* nearest trigger wins per field (assertion, temporality, experiencer).
"""
from __future__ import annotations

import json
import re
from bisect import bisect_left, bisect_right
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Sequence

TOKEN_RE = re.compile(r"\w+|[^\w\s]")

ASSERTION_CATEGORIES = ("NEGATED_EXISTENCE", "POSSIBLE_EXISTENCE", "HYPOTHETICAL")
TEMPORAL_CATEGORIES = ("HISTORICAL",)
EXPERIENCER_CATEGORIES = ("FAMILY", "OTHER_EXPERIENCER")
MODIFIER_CATEGORIES = ASSERTION_CATEGORIES + TEMPORAL_CATEGORIES + EXPERIENCER_CATEGORIES
SPECIAL_CATEGORIES = ("PSEUDO", "TERMINATE")
CATEGORIES = MODIFIER_CATEGORIES + SPECIAL_CATEGORIES
DIRECTIONS = ("FORWARD", "BACKWARD", "BIDIRECTIONAL", "TERMINATE", "PSEUDO")
FIELD_OF = {c: "assertion" for c in ASSERTION_CATEGORIES}
FIELD_OF.update({c: "temporality" for c in TEMPORAL_CATEGORIES})
FIELD_OF.update({c: "experiencer" for c in EXPERIENCER_CATEGORIES})


@dataclass(frozen=True)
class Rule:
    id: str
    category: str
    direction: str
    literal: str
    max_scope: int | None
    applies_to: frozenset[str] = frozenset()  # TERMINATE: categories it ends (empty = all)
    terminated_by: frozenset[str] = frozenset()  # modifier categories that end this rule's scope
    section_tags: frozenset[str] = frozenset()  # only active in sections carrying one of these tags
    list_scope: bool = True
    index: int = 0


@dataclass
class Match:
    rule: Rule
    start: int  # token index (inclusive)
    end: int  # token index (exclusive)
    text: str


class RuleError(ValueError):
    pass


def _tokenize(s: str) -> list[str]:
    return TOKEN_RE.findall(s.lower())


def _compile_token_spec(spec: Any, rule_id: str) -> tuple[list[Any], bool]:
    """One pattern element -> (alternatives, optional). An alternative is a str or a compiled regex."""
    if isinstance(spec, str):
        return [spec.lower()], False
    if not isinstance(spec, dict):
        raise RuleError(f"rule {rule_id}: bad pattern element {spec!r}")
    op = spec.get("OP")
    if op not in (None, "?"):
        raise RuleError(f"rule {rule_id}: only OP '?' is supported, got {op!r}")
    val = spec.get("LOWER", spec.get("TEXT"))
    if isinstance(val, str):
        alts: list[Any] = [val.lower()]
    elif isinstance(val, dict) and "IN" in val:
        alts = [str(v).lower() for v in val["IN"]]
    elif isinstance(val, dict) and "REGEX" in val:
        alts = [re.compile(val["REGEX"])]
    else:
        raise RuleError(f"rule {rule_id}: unsupported pattern element {spec!r}")
    # multi-token alternatives ("risk of") are split into token sequences
    return alts, op == "?"


def _expand(pattern: list[Any], rule_id: str) -> list[list[Any]]:
    seqs: list[list[Any]] = [[]]
    for spec in pattern:
        alts, optional = _compile_token_spec(spec, rule_id)
        new: list[list[Any]] = []
        for seq in seqs:
            if optional:
                new.append(seq)
            for a in alts:
                if isinstance(a, str):
                    toks = _tokenize(a)
                    if toks:
                        new.append(seq + toks)
                else:
                    new.append(seq + [a])
        seqs = new
        if len(seqs) > 5000:
            raise RuleError(f"rule {rule_id}: pattern expands to too many sequences")
    return [s for s in seqs if s]


class _Node:
    __slots__ = ("children", "regex_children", "rule")

    def __init__(self) -> None:
        self.children: dict[str, _Node] = {}
        self.regex_children: list[tuple[re.Pattern[str], _Node]] = []
        self.rule: Rule | None = None


class RuleSet:
    """Compiled rules. Built from plain JSON data; picklable via the raw data."""

    def __init__(self, data: dict[str, Any]):
        self.data = data
        self.version = str(data.get("version", ""))
        defaults = data.get("defaults", {})
        self.default_max_scope = defaults.get("max_scope")
        self.list_item_max_words = int(defaults.get("list_item_max_words", 4))
        self.list_separators = frozenset(defaults.get("list_separators", [",", "or", "and", "/", "nor"]))
        self.rules: list[Rule] = []
        self._root = _Node()
        seen: set[str] = set()
        for i, raw in enumerate(data.get("rules", [])):
            rule = self._make_rule(raw, i)
            if rule.id in seen:
                raise RuleError(f"duplicate rule id {rule.id}")
            seen.add(rule.id)
            self.rules.append(rule)
            pattern = raw.get("pattern")
            seqs = _expand(pattern, rule.id) if pattern else [_tokenize(rule.literal)]
            if not seqs or not seqs[0]:
                raise RuleError(f"rule {rule.id}: empty literal/pattern")
            for seq in seqs:
                self._insert(seq, rule)
        self.sections: list[dict[str, Any]] = []
        self._section_index: dict[str, dict[str, Any]] = {}
        for sec in data.get("sections", []):
            entry = {
                "id": sec["id"],
                "titles": [t.lower() for t in sec.get("titles", [])],
                "tags": frozenset(sec.get("tags", [])),
                "historical": bool(sec.get("historical", False)),
                "experiencer": sec.get("experiencer"),
            }
            self.sections.append(entry)
            for t in entry["titles"]:
                self._section_index[_norm_title(t)] = entry

    def _make_rule(self, raw: dict[str, Any], index: int) -> Rule:
        rid = raw.get("id")
        if not rid:
            raise RuleError(f"rule #{index} has no id")
        cat = raw.get("category")
        if cat not in CATEGORIES:
            raise RuleError(f"rule {rid}: unknown category {cat!r}")
        direction = raw.get("direction", "BIDIRECTIONAL")
        if cat in SPECIAL_CATEGORIES:
            direction = cat
        if direction not in DIRECTIONS:
            raise RuleError(f"rule {rid}: unknown direction {direction!r}")
        if "literal" not in raw and "pattern" not in raw:
            raise RuleError(f"rule {rid}: needs a literal or a pattern")
        ms = raw.get("max_scope", self.default_max_scope)
        return Rule(
            id=rid,
            category=cat,
            direction=direction,
            literal=raw.get("literal") or rid,
            max_scope=None if ms is None else int(ms),
            applies_to=frozenset(raw.get("applies_to", [])),
            terminated_by=frozenset(raw.get("terminated_by", [])),
            section_tags=frozenset(raw.get("section_tags", [])),
            list_scope=bool(raw.get("list_scope", True)),
            index=index,
        )

    def _insert(self, seq: list[Any], rule: Rule) -> None:
        node = self._root
        for tok in seq:
            if isinstance(tok, str):
                nxt = node.children.get(tok)
                if nxt is None:
                    nxt = node.children[tok] = _Node()
            else:
                for rx, child in node.regex_children:
                    if rx.pattern == tok.pattern:
                        nxt = child
                        break
                else:
                    nxt = _Node()
                    node.regex_children.append((tok, nxt))
            node = nxt
        if node.rule is None or _priority(rule) > _priority(node.rule):
            node.rule = rule

    def section_entry(self, title: str | None) -> dict[str, Any] | None:
        if not title:
            return None
        return self._section_index.get(_norm_title(title))

    # ------------------------------------------------------------------ matching
    def match(self, toks: Sequence[str], lo: int, hi: int) -> list[Match]:
        """Greedy longest-first matches over toks[lo:hi]."""
        out: list[Match] = []
        root = self._root
        i = lo
        while i < hi:
            best_end = -1
            best_rule: Rule | None = None
            # walk the trie; regex edges make it a small frontier search
            frontier = [(root, i)]
            while frontier:
                node, j = frontier.pop()
                if node.rule is not None and j > best_end:
                    best_end, best_rule = j, node.rule
                if j >= hi:
                    continue
                t = toks[j]
                child = node.children.get(t)
                if child is not None:
                    frontier.append((child, j + 1))
                for rx, c in node.regex_children:
                    if rx.fullmatch(t):
                        frontier.append((c, j + 1))
            if best_rule is not None and best_end > i:
                out.append(Match(best_rule, i, best_end, " ".join(toks[i:best_end])))
                i = best_end
            else:
                i += 1
        return out


def _priority(rule: Rule) -> int:
    # when two rules compile to the same token sequence: PSEUDO > TERMINATE > modifiers
    return {"PSEUDO": 3, "TERMINATE": 2}.get(rule.category, 1)


def _norm_title(t: str) -> str:
    return " ".join(_tokenize(t.replace("_", " ")))


def load_rules(path: str | Path) -> RuleSet:
    with open(path, encoding="utf-8") as fh:
        data = json.load(fh)
    if "version" not in data:
        raise RuleError(f"{path}: rules file has no 'version'")
    return RuleSet(data)
