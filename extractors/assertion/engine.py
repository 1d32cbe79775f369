"""Compact ConText-style scope engine (rules are data, see resources/context_rules.json).

Design (Chapman et al. ConText / medspaCy ConText, re-implemented for speed):

* text is lower-cased and split into tokens ``\\w+`` / single punctuation; a written variant listed in
  ``defaults.spellings`` ("-ve", "w/o") is one token read as its word ("negative", "without") by every lexicon;
* rule literals and medspaCy-style token patterns (``LOWER``, ``IN``, ``REGEX``,
  ``OP: "?"``) are compiled to regexes over the space-joined tokens, indexed by
  their first token (or first two, for the long literal lists); matching is
  greedy, left to right, longest match first, so a PSEUDO rule ("no increase",
  "gram negative") swallows the trigger it contains; when the longest match reads one way only (FORWARD
  or BACKWARD), the best rule of the same category reading the other way from the same token, or from a
  token inside the match, is kept too ("not seen": "no [mass] seen" and "[mass] not seen"; "was not given":
  "[aspirin] was not given" and "was not given [aspirin]");
* each trigger has a direction (FORWARD / BACKWARD / BIDIRECTIONAL), a
  max_scope (in word tokens, list separators not counted), and a scope that
  ends at the sentence edge, at a TERMINATE match that applies to its category,
  or at a trigger of a category listed in its ``terminated_by``, or at one of its own ``scope_breaks``
  words ("stopped X (cough)", "stopped X because of cough": the reason is not stopped); a BACKWARD trigger
  skips a target whose clause opens with one of its ``not_after`` words ("once the infection has resolved");
* clause scope: a scope does not reach into another finite clause, i.e. a BACKWARD scope stops at a
  clause verb followed by a clause separator ("[vomiting] was noted, fever was not seen"), a FORWARD scope
  at a separator followed by a clause verb or a subject ("denies fever and has [cough]", "no bleeding, the
  patient remained [stable]"; not after a relative pronoun: "her father, who had a [stroke]"); the word
  lists are data (``defaults.clause_verbs`` / ``clause_separators`` / ``clause_subjects`` /
  ``clause_relatives``), and so are the categories it applies to (``clause_categories``; not HYPOTHETICAL in
  the shipped rules: a condition spans its coordinated clauses, "if the pain worsens and he has [fever]");
* list scope: a trigger also covers a target further than max_scope when
  everything between them is a comma / "or" / "and" separated list of short
  items ("no fever, chills, or night sweats");
* nearest trigger wins per field (assertion, temporality, experiencer).

The project file lists general lexicons under ``imports`` (medspaCy's ConText rules, the GenNegEx trigger
list); they are converted to rules here, after the project's own rules, so a project rule wins a tie.
Every rule carries its ``origin``; ``RuleSet.without`` drops rules by id (used to tune and cross-validate the
project's additions in ``evals.negex --cv``).
"""
from __future__ import annotations

import json
import re
from dataclasses import dataclass
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
    also: tuple[str, ...] = ()  # further modifier categories the same trigger carries ("quit" -> negated + historical)
    # which lexicon the rule comes from: "medspacy" / "negex" (imported), "general" (a project-file rule whose cue
    # is a published lexicon item or on the list of clinical phrases: its "source" says which; always on)
    # or "clinqa" (the project's own additions, tuned and cross-validated by evals.negex --cv)
    origin: str = "clinqa"
    sentence_initial: bool = False  # only a trigger when it opens the sentence ("Should pain recur, ...")
    scope_breaks: frozenset[str] = frozenset()  # tokens that end this rule's scope ("(" , "because")
    # a BACKWARD trigger does not read a target whose clause opens with one of these words: "once the infection
    # has [resolved]", "until the rash [clears]" name a change still expected, not one that happened
    not_after: frozenset[str] = frozenset()

    @property
    def categories(self) -> tuple[str, ...]:
        """The modifier categories the trigger sets (a TERMINATE rule: only its ``also``)."""
        return self.also if self.category == "TERMINATE" else (self.category,) + self.also


@dataclass
class Match:
    rule: Rule
    start: int  # token index (inclusive)
    end: int  # token index (exclusive)
    text: str


class RuleError(ValueError):
    pass


@dataclass(frozen=True)
class Prior:
    """A concept-level lean: a target whose own words name one of ``terms`` gets ``category`` unless a
    ``blocked_by`` word is in the target or just before it (used only when no trigger or section decides)."""

    id: str
    category: str
    terms: frozenset[tuple[str, ...]]
    blocked_by: frozenset[str]
    origin: str = "clinqa"
    window: int = 4

    def __post_init__(self) -> None:
        object.__setattr__(self, "firsts", frozenset(t[0] for t in self.terms))

    def applies(self, toks: Sequence[str], ts: int, te: int, lo: int) -> tuple[int, int] | None:
        """Token span of the term found in toks[ts:te], or None."""
        firsts = self.firsts  # type: ignore[attr-defined]
        for i in range(ts, te):
            if toks[i] not in firsts:
                continue
            for n in (4, 3, 2, 1):
                if i + n <= te and tuple(toks[i:i + n]) in self.terms:
                    for j in range(max(lo, ts - self.window), te):
                        if toks[j] in self.blocked_by:
                            return None
                    return i, i + n
        return None


def _tokenize(s: str) -> list[str]:
    return TOKEN_RE.findall(s.lower())


WS_TOKEN_RE = re.compile(r"(\s*)(" + TOKEN_RE.pattern + ")")  # (leading whitespace, token)


def _spelling_res(spellings: dict[str, str]) -> tuple[re.Pattern[str] | None, re.Pattern[str], re.Pattern[str]]:
    """(finder of any written variant, TOKEN_RE and WS_TOKEN_RE that also keep each variant ("-ve", "w/o") as
    one token, so it can be read as its word: the variants are tried first, and only where a token starts)."""
    if not spellings:
        return None, TOKEN_RE, WS_TOKEN_RE
    alts = "|".join(re.escape(v) + r"(?!\w)" for v in sorted(spellings, key=len, reverse=True))
    token_re = re.compile(f"(?:{alts})|{TOKEN_RE.pattern}")
    return re.compile(alts), token_re, re.compile(r"(\s*)(" + token_re.pattern + ")")


def _compile_token_spec(spec: Any, rule_id: str, tokenize: Any = _tokenize) -> "_Elem":
    """One pattern element -> _Elem (alternative token tuples / regexes, optional flag)."""
    if isinstance(spec, str):
        spec = {"LOWER": spec}
    if not isinstance(spec, dict):
        raise RuleError(f"rule {rule_id}: bad pattern element {spec!r}")
    op = spec.get("OP")
    if op not in (None, "?"):
        raise RuleError(f"rule {rule_id}: only OP '?' is supported, got {op!r}")
    val = spec.get("LOWER", spec.get("TEXT"))
    seqs: list[tuple[str, ...]] = []
    regexes: list[re.Pattern[str]] = []
    if isinstance(val, str):
        seqs.append(tuple(tokenize(val)))
    elif isinstance(val, dict) and "IN" in val:
        seqs.extend(tuple(tokenize(str(v))) for v in val["IN"])
    elif isinstance(val, dict) and "REGEX" in val:
        regexes.append(re.compile(val["REGEX"]))
    else:
        raise RuleError(f"rule {rule_id}: unsupported pattern element {spec!r}")
    seqs = [q for q in seqs if q]
    if not seqs and not regexes:
        raise RuleError(f"rule {rule_id}: empty pattern element {spec!r}")
    return _Elem(tuple(sorted(set(seqs))), tuple(regexes), op == "?")


class _Elem:
    __slots__ = ("seqs", "singles", "regexes", "optional")

    def __init__(self, seqs: tuple[tuple[str, ...], ...], regexes: tuple[Any, ...], optional: bool):
        self.seqs = tuple(q for q in seqs if len(q) > 1)
        self.singles = frozenset(q[0] for q in seqs if len(q) == 1)
        self.regexes = regexes
        self.optional = optional

    def first_tokens(self) -> set[str] | None:
        """Tokens this element can start with; None when a regex can start it."""
        if self.regexes:
            return None
        return set(self.singles) | {q[0] for q in self.seqs}


def _elem_regex(e: _Elem) -> str:
    alts = [" ".join(q) for q in e.seqs] + sorted(e.singles)
    parts = [re.escape(a) + " " for a in sorted(alts, key=len, reverse=True)]
    for rx in e.regexes:  # a REGEX element matches one whole token (anchors implied)
        body = rx.pattern
        if body.startswith("^"):
            body = body[1:]
        if body.endswith("$") and not body.endswith("\\$"):
            body = body[:-1]
        parts.append(f"(?:{body})(?<! ) ")
    return "(?:" + "|".join(parts) + ")" + ("?" if e.optional else "")


class _Pattern:
    """A rule's token pattern, compiled to one regex over the space-joined token string."""

    __slots__ = ("elems", "rule", "rx")

    def __init__(self, elems: list[_Elem], rule: "Rule"):
        self.elems = elems
        self.rule = rule
        self.rx = re.compile("".join(_elem_regex(e) for e in elems))

    def first_tokens(self) -> set[str] | None:
        firsts: set[str] = set()
        for e in self.elems:
            f = e.first_tokens()
            if f is None:
                return None
            firsts |= f
            if not e.optional:
                return firsts
        return firsts

    def first_pairs(self) -> list[tuple[str, str]] | None:
        """The (first, second) token pairs a match must start with, when both elements are plain required words
        (lets the matcher index the long literal lists by two tokens); None otherwise."""
        if len(self.elems) < 2:
            return None
        a, b = self.elems[0], self.elems[1]
        for e in (a, b):
            if e.optional or e.regexes or e.seqs:
                return None
        if len(a.singles) * len(b.singles) > 400:
            return None
        return [(x, y) for x in a.singles for y in b.singles]


class RuleSet:
    """Compiled rules. Built from plain JSON data; picklable via the raw data."""

    def __init__(self, data: dict[str, Any]):
        self.data = data
        self.version = str(data.get("version", ""))
        defaults = data.get("defaults", {})
        self.default_max_scope = defaults.get("max_scope")
        self.list_item_max_words = int(defaults.get("list_item_max_words", 4))
        self.list_separators = frozenset(defaults.get("list_separators", [",", "or", "and", "/", "nor"]))
        self.clause_verbs = frozenset(defaults.get("clause_verbs", []))
        self.clause_separators = frozenset(defaults.get("clause_separators", []))
        self.clause_relatives = frozenset(defaults.get("clause_relatives", []))
        self.clause_subjects = frozenset(defaults.get("clause_subjects", []))
        self.clause_categories = frozenset(defaults.get("clause_categories", MODIFIER_CATEGORIES))
        spellings = defaults.get("spellings", {})
        if not isinstance(spellings, dict) or any(
                not isinstance(v, str) or len(_tokenize(v)) != 1 or len(_tokenize(k)) < 2 for k, v in spellings.items()):
            raise RuleError("defaults.spellings: maps a written variant of several tokens ('-ve') to one word")
        self.spellings = {k.lower(): v.lower() for k, v in spellings.items()}
        self.spelling_re, self.token_re, self.ws_token_re = _spelling_res(self.spellings)
        unknown = self.clause_categories - set(MODIFIER_CATEGORIES)
        if unknown:
            raise RuleError(f"defaults.clause_categories: unknown categories {sorted(unknown)}")
        self.rules: list[Rule] = []
        self._by_first: dict[str, list[_Pattern]] = {}
        self._any_first: list[_Pattern] = []
        self.patterns: list[_Pattern] = []
        seen: set[str] = set()
        for i, raw in enumerate(data.get("rules", [])):
            rule = self._make_rule(raw, i)
            if rule.id in seen:
                raise RuleError(f"duplicate rule id {rule.id}")
            seen.add(rule.id)
            self.rules.append(rule)
            pattern = raw.get("pattern") or [{"LOWER": t} for t in self.tokenize(rule.literal)]
            if not pattern:
                raise RuleError(f"rule {rule.id}: empty literal/pattern")
            pat = _Pattern([_compile_token_spec(e, rule.id, self.tokenize) for e in pattern], rule)
            if all(e.optional for e in pat.elems):
                raise RuleError(f"rule {rule.id}: every pattern element is optional")
            self.patterns.append(pat)
        disabled = set(data.get("disabled", []))
        self._index([p for p in self.patterns if p.rule.id not in disabled])
        self.priors: list[Prior] = []
        for raw in data.get("concept_priors", []):
            cat = raw.get("category")
            if cat not in TEMPORAL_CATEGORIES:
                raise RuleError(f"prior {raw.get('id')}: category must be one of {TEMPORAL_CATEGORIES}, got {cat!r}")
            terms = frozenset(tuple(self.tokenize(t)) for t in raw.get("terms", []))
            if not raw.get("id") or not terms or any(len(t) > 4 for t in terms):
                raise RuleError(f"prior {raw.get('id')!r}: needs an id and terms of at most 4 tokens")
            if raw["id"] in seen:
                raise RuleError(f"duplicate rule id {raw['id']}")
            seen.add(raw["id"])
            if raw["id"] not in disabled:
                self.priors.append(Prior(raw["id"], cat, terms, frozenset(raw.get("blocked_by", [])),
                                         str(raw.get("origin", "clinqa"))))
        self.prior_ids = [raw["id"] for raw in data.get("concept_priors", [])]
        tcfg = data.get("time_expressions")
        self.time: dict[str, Any] | None = None
        if tcfg is not None:
            self.time = {"historical_after_days": int(tcfg.get("historical_after_days", 14)),
                         "max_scope": tcfg.get("max_scope", self.default_max_scope)}
            self.time_rule = Rule("time_expression", "HISTORICAL", "BIDIRECTIONAL", "time_expression",
                                  self.time["max_scope"])
            self.time_recent_rule = Rule("time_recent", "TERMINATE", "TERMINATE", "time_recent", None,
                                         applies_to=frozenset({"HISTORICAL"}))
        self.header_rule = Rule("section_header", "TERMINATE", "TERMINATE", "section_header", None)
        self.sections: list[dict[str, Any]] = []
        self._section_index: dict[str, dict[str, Any]] = {}
        self._section_cache: dict[str, dict[str, Any] | None] = {}
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

    def tokenize(self, text: str) -> list[str]:
        """Lower-cased tokens as the rules read them: a written variant ("-ve") becomes its word ("negative")."""
        low = text.lower()
        if not self.has_variant(low):
            return TOKEN_RE.findall(low)
        sp = self.spellings
        return [sp.get(t, t) for t in self.token_re.findall(low)]

    def has_variant(self, low: str) -> bool:
        """The lower-cased text holds a written variant (a substring test first: most texts have none)."""
        return any(v in low for v in self.spellings) and self.spelling_re.search(low) is not None

    def _index(self, patterns: list[_Pattern]) -> None:
        self._by_first = {}
        self._by_two: dict[tuple[str, str], list[_Pattern]] = {}
        self._any_first = []
        for pat in patterns:
            pairs = pat.first_pairs()
            if pairs is not None:
                for pair in pairs:
                    self._by_two.setdefault(pair, []).append(pat)
                continue
            firsts = pat.first_tokens()
            if firsts is None:
                self._any_first.append(pat)
            else:
                for t in firsts:
                    self._by_first.setdefault(t, []).append(pat)
        self._two_firsts = frozenset(a for a, _ in self._by_two)
        # first tokens of the one-way rules, by direction (None: a regex may start one anywhere)
        self._one_way_firsts: dict[str, frozenset[str] | None] = {}
        for d in _ONE_WAY:
            firsts: set[str] | None = set()
            for pat in patterns:
                if pat.rule.direction == d:
                    f = pat.first_tokens()
                    if f is None:
                        firsts = None
                        break
                    firsts |= f
            self._one_way_firsts[d] = None if firsts is None else frozenset(firsts)
        if self._any_first:  # regex-first patterns are candidates at every token
            for lst in self._by_first.values():
                lst.extend(self._any_first)

    def without(self, rule_ids: set[str] | frozenset[str]) -> "RuleSet":
        """A copy that ignores the given rules (compiled patterns are shared, nothing is recompiled)."""
        unknown = set(rule_ids) - {r.id for r in self.rules} - set(self.prior_ids)
        if unknown:
            raise RuleError(f"unknown rule id(s) {sorted(unknown)}")
        twin = object.__new__(RuleSet)
        twin.__dict__.update(self.__dict__)
        twin.data = dict(self.data, disabled=sorted(set(self.data.get("disabled", [])) | set(rule_ids)))
        twin._index([p for p in self.patterns if p.rule.id not in rule_ids])
        twin.priors = [p for p in self.priors if p.id not in rule_ids]
        return twin

    def _make_rule(self, raw: dict[str, Any], index: int) -> Rule:
        rid = raw.get("id")
        if not rid:
            raise RuleError(f"rule #{index} has no id")
        cat = raw.get("category")
        if cat not in CATEGORIES:
            raise RuleError(f"rule {rid}: unknown category {cat!r}")
        also = tuple(raw.get("also", []))
        for a in also:  # a TERMINATE rule may also open a modifier scope ("personal history of")
            if a not in MODIFIER_CATEGORIES or cat == "PSEUDO":
                raise RuleError(f"rule {rid}: bad 'also' category {a!r}")
        direction = raw.get("direction", "BIDIRECTIONAL")
        if cat == "PSEUDO" or (cat == "TERMINATE" and not also):
            direction = cat
        if direction not in DIRECTIONS or (also and direction in SPECIAL_CATEGORIES):
            raise RuleError(f"rule {rid}: unknown direction {direction!r}")
        if "literal" not in raw and "pattern" not in raw:
            raise RuleError(f"rule {rid}: needs a literal or a pattern")
        origin = str(raw.get("origin", "clinqa"))
        if origin == "general" and not str(raw.get("source", "")).strip():
            raise RuleError(f"rule {rid}: origin 'general' (always on, never tuned) needs a 'source' naming the "
                            "published lexicon or the issue list the cue comes from")
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
            also=also,
            origin=origin,
            sentence_initial=bool(raw.get("sentence_initial", False)),
            scope_breaks=frozenset(t for w in raw.get("scope_breaks", []) for t in self.tokenize(w)),
            not_after=frozenset(t for w in raw.get("not_after", []) for t in self.tokenize(w)),
        )

    def section_entry(self, title: str | None) -> dict[str, Any] | None:
        if not title:
            return None
        try:
            return self._section_cache[title]
        except KeyError:
            entry = self._section_cache[title] = self._section_index.get(_norm_title(title))
            return entry

    # ------------------------------------------------------------------ matching
    def match(self, toks: Sequence[str], lo: int, hi: int, tags: frozenset[str] = frozenset()) -> list[Match]:
        """Greedy, left to right, longest-first matches over toks[lo:hi]; a rule limited to some sections
        takes part only when ``tags`` (the target section's) include one of them, so it never hides a general
        rule elsewhere. A one-way match is joined by the best rule of its category reading the other way that
        starts at the same token or inside it ("[aspirin] was not given" / "was not given [aspirin]")."""
        out: list[Match] = []
        if hi <= lo:
            return out
        seg = toks[lo:hi]
        joined = " ".join(seg) + " "  # every token is followed by exactly one space
        k = 0
        pos = 0  # char start of token lo+k in joined
        n = hi - lo
        by_first = self._by_first
        by_two = self._by_two
        two_firsts = self._two_firsts
        any_first = self._any_first
        while k < n:  # the candidate search of _one_way_at, inlined with the longest match: the hot path
            t = seg[k]
            cands = by_first.get(t, any_first)
            if k + 1 < n and t in two_firsts:
                two = by_two.get((t, seg[k + 1]))
                if two:
                    cands = cands + two if cands else two
            best_end = -1
            best_rule: Rule | None = None
            one_way: dict[str, tuple[int, Rule]] | None = None
            for pat in cands:
                rule = pat.rule
                st = rule.section_tags
                if st and not (st & tags):
                    continue
                m = pat.rx.match(joined, pos)
                if m is None:
                    continue
                e = m.end()
                if e > best_end or (e == best_end and _better(rule, best_rule)):
                    best_end, best_rule = e, rule
                d = rule.direction
                if d in _ONE_WAY:
                    if one_way is None:
                        one_way = {}
                    cur = one_way.get(d)
                    if cur is None or e > cur[0] or (e == cur[0] and rule.index < cur[1].index):
                        one_way[d] = (e, rule)
            if best_rule is None:
                pos += len(t) + 1
                k += 1
                continue
            ke = k + joined.count(" ", pos, best_end)
            out.append(Match(best_rule, lo + k, lo + ke, joined[pos:best_end - 1]))
            lacking = _ONE_WAY.get(best_rule.direction)
            if lacking is not None:
                j, p = k, pos
                while j < ke:
                    other = one_way.get(lacking) if one_way else None
                    if other is not None and other[1].category == best_rule.category:
                        e = other[0]
                        out.append(Match(other[1], lo + j, lo + j + joined.count(" ", p, e), joined[p:e - 1]))
                        break
                    p += len(seg[j]) + 1
                    j += 1
                    starts = self._one_way_firsts.get(lacking)
                    if j < ke and (starts is None or seg[j] in starts):
                        one_way = self._one_way_at(seg, j, n, joined, p, tags)
                    else:
                        one_way = None
            k, pos = ke, best_end
        return out

    def _one_way_at(self, seg: Sequence[str], k: int, n: int, joined: str, pos: int, tags: frozenset[str]
                    ) -> dict[str, tuple[int, Rule]]:
        """The longest FORWARD and BACKWARD matches from token k (char ``pos`` of ``joined``): direction ->
        (end, rule), the earlier rule on a tie."""
        t = seg[k]
        cands = self._by_first.get(t, self._any_first)
        if k + 1 < n and t in self._two_firsts:
            two = self._by_two.get((t, seg[k + 1]))
            if two:
                cands = cands + two if cands else two
        one_way: dict[str, tuple[int, Rule]] = {}
        for pat in cands:
            rule = pat.rule
            d = rule.direction
            if d not in _ONE_WAY or (rule.section_tags and not (rule.section_tags & tags)):
                continue
            m = pat.rx.match(joined, pos)
            if m is None:
                continue
            e = m.end()
            cur = one_way.get(d)
            if cur is None or e > cur[0] or (e == cur[0] and rule.index < cur[1].index):
                one_way[d] = (e, rule)
        return one_way


_PRIORITY = {"PSEUDO": 3, "TERMINATE": 2}
_ONE_WAY = {"FORWARD": "BACKWARD", "BACKWARD": "FORWARD"}  # a one-way trigger -> the direction it lacks


def _better(rule: Rule, best: Rule | None) -> bool:
    """Two rules matching the same tokens: PSEUDO > TERMINATE > modifiers, then the earlier rule (project
    rules come before the imported lexicons)."""
    if best is None:
        return True
    a, b = _PRIORITY.get(rule.category, 1), _PRIORITY.get(best.category, 1)
    return a > b or (a == b and rule.index < best.index)


def _norm_title(t: str) -> str:
    return " ".join(_tokenize(t.replace("_", " ")))


def load_rules(path: str | Path) -> RuleSet:
    """Read a rules file and the general lexicons it imports (paths relative to the file)."""
    path = Path(path)
    data = _read_json(path)
    imported: list[dict[str, Any]] = []
    for imp in data.get("imports", []):
        fmt = imp.get("format")
        if fmt not in _IMPORTERS:
            raise RuleError(f"{path}: import {imp.get('file')!r} has unknown format {fmt!r}")
        lex = _read_json(path.parent / imp["file"])
        imported.extend(_IMPORTERS[fmt](lex, imp))
    if imported:
        data = dict(data, rules=list(data.get("rules", [])) + imported, imports=[])
    return RuleSet(data)


def _read_json(path: Path) -> dict[str, Any]:
    try:
        with open(path, encoding="utf-8") as fh:
            data = json.load(fh)
    except (OSError, json.JSONDecodeError) as exc:
        raise RuleError(f"{path}: cannot read rules ({exc})") from None
    if not isinstance(data, dict) or "version" not in data:
        raise RuleError(f"{path}: rules file has no 'version'")
    return data


def _medspacy_rules(lex: dict[str, Any], imp: dict[str, Any]) -> list[dict[str, Any]]:
    """medspaCy ConTextRule JSON -> rules. A TERMINATE direction ends the scope of the rule's own category."""
    skip = set(imp.get("skip", []))
    out = []
    for r in lex.get("context_rules", []):
        if r["literal"] in skip:
            continue
        raw: dict[str, Any] = {"id": f"medspacy:{r['literal']}", "origin": "medspacy", "literal": r["literal"]}
        if r.get("pattern"):
            raw["pattern"] = r["pattern"]
        if r.get("direction") == "TERMINATE":
            raw.update(category="TERMINATE", applies_to=[r["category"]])
        else:
            raw.update(category=r["category"], direction=r.get("direction", "BIDIRECTIONAL"))
            if r.get("max_scope") is not None:
                raw["max_scope"] = r["max_scope"]
        out.append(raw)
    return out


# GenNegEx tags: pre/post negation, pre/post possible, pseudo-trigger, termination (of negation / possible)
_NEGEX_TAGS = {
    "PREN": {"category": "NEGATED_EXISTENCE", "direction": "FORWARD"},
    "POST": {"category": "NEGATED_EXISTENCE", "direction": "BACKWARD"},
    "PREP": {"category": "POSSIBLE_EXISTENCE", "direction": "FORWARD"},
    "POSP": {"category": "POSSIBLE_EXISTENCE", "direction": "BACKWARD"},
    "PSEU": {"category": "PSEUDO"},
    "CONJ": {"category": "TERMINATE", "applies_to": ["NEGATED_EXISTENCE", "POSSIBLE_EXISTENCE"]},
}


def _negex_rules(lex: dict[str, Any], imp: dict[str, Any]) -> list[dict[str, Any]]:
    skip = set(imp.get("skip", []))
    out = []
    for phrase, tag in lex.get("triggers", []):
        if phrase in skip:
            continue
        if tag not in _NEGEX_TAGS:
            raise RuleError(f"NegEx trigger {phrase!r}: unknown tag {tag!r}")
        out.append({"id": f"negex:{phrase}", "origin": "negex", "literal": phrase, **_NEGEX_TAGS[tag]})
    return out


_IMPORTERS = {"medspacy": _medspacy_rules, "negex": _negex_rules}
