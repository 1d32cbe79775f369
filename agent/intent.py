"""Question intent: what a question asks, as the typed slots of ``agent.records.Intent``.

The router picks tools and the verifier picks the claim to check from these slots, so they must come
from any wording a user types, not from the dev sets' templates. Two parsers, one record:

* with an LLM: one chat call constrained to the Intent JSON schema. The fixed instructions come first and
  the question last, so llama.cpp / vLLM prefix caching reuses the instructions across questions; the
  options go along because they show which slot is asked (five dates -> a date question).
* rules: cue patterns from the versioned resource ``agent/resources/intent_cues.json`` (asked slot, negation,
  time roles, relatives), entity types from the extractors' dictionaries (DrugBank/MeSH drugs, MeSH and
  ICD-10-CM problems, procedures, lab and vital names). They are the fallback: any LLM failure (timeout,
  server error, output that is not a valid Intent) yields the rules' answer, never an exception.

``Intent.source`` says which parser produced the record.
"""
from __future__ import annotations

import json
import logging
import re
from dataclasses import dataclass
from functools import cached_property, lru_cache
from typing import Any

from pydantic import ValidationError

from agent.records import Intent, IntentEntity
from agent.resources import load
from agent.understand import STOPWORDS, content_tokens, find_dates, find_numbers, validate_options
from clinqa.errors import InputError

log = logging.getLogger(__name__)

MAX_QUESTION_CHARS = 2000
MAX_OPTION_CHARS = 60  # options are hints for the slot; long ones are cut to keep the prompt short
MAX_ENTITIES = 6

# Dictionary entry types (extractors.vocab.Entry.type) -> entity types; AMBIG abbreviations stay untyped.
VOCAB_TYPES = {"DRUG": "drug", "PROBLEM": "problem", "PROCEDURE": "procedure", "LABNAME": "test", "VITALNAME": "test"}

SYSTEM_PROMPT = (
    "Describe what a clinical question asks as JSON; do not answer it.\n"
    "asked: value (which drug/finding), dose, date (when), reason (why), count, order (first/last), "
    "interval (how long), presence (yes/no), test_result (lab value, test finding), trend, other.\n"
    "entities: drugs, problems, tests, procedures, relatives named, verbatim.\n"
    "time_role: initial (starting dose), current, on_date, before, after, between, first, last, none; "
    "anchor: its date or event.\n"
    "experiencer: family if about a relative.\n"
    "negated: true if asking what was NOT done/present, denied, ruled out.\n"
    "relations: events named (start, stop, replace, cause, onset, change)."
)
# Two worked examples (fixed, so the server's prefix cache keeps them): small models copy a shown form far more
# reliably than they follow a described one.
EXAMPLES = (
    ("What was the potassium after dialysis started?",
     {"asked": "test_result", "entities": [{"text": "potassium", "type": "test"}, {"text": "dialysis", "type": "procedure"}],
      "time_role": "after", "anchor": "dialysis started", "experiencer": "patient", "relative": None, "negated": False,
      "relations": ["start"]}),
    ("Which drug was NOT given for her mother's anemia on 2021-04-02?",
     {"asked": "value", "entities": [{"text": "mother", "type": "relative"}, {"text": "anemia", "type": "problem"}],
      "time_role": "on_date", "anchor": "2021-04-02", "experiencer": "family", "relative": "mother", "negated": True,
      "relations": []}),
)

def intent_schema() -> dict[str, Any]:
    """The JSON schema the LLM's output is constrained to: Intent's fields without ``source``, all required,
    entity definitions inlined (llguidance and xgrammar both take it) and bounded so decoding ends."""
    full = Intent.model_json_schema()
    defs = full.get("$defs", {})
    props: dict[str, Any] = {}
    for name, spec in full["properties"].items():
        if name == "source":
            continue
        spec = {k: v for k, v in spec.items() if k not in ("default", "title", "description")}
        if name == "entities":
            ref = spec["items"]["$ref"].rsplit("/", 1)[-1]
            ent = defs[ref]
            eprops = {k: {kk: vv for kk, vv in v.items() if kk not in ("default", "title")}
                      for k, v in ent["properties"].items()}
            eprops["text"]["maxLength"] = 80
            spec = {"type": "array", "maxItems": MAX_ENTITIES,
                    "items": {"type": "object", "properties": eprops, "required": list(eprops),
                              "additionalProperties": False}}
        elif name == "relations":
            spec = {"type": "array", "maxItems": 6, "items": spec["items"]}
        elif name in ("anchor", "relative"):
            spec = {"anyOf": [{"type": "string", "maxLength": 80}, {"type": "null"}]}
        props[name] = spec
    return {"type": "object", "properties": props, "required": list(props), "additionalProperties": False}


@dataclass
class _Span:
    start: int
    end: int
    type: str


class IntentParser:
    """``run(question, options) -> Intent``; ``llm``: any ``agent.llm.LLM`` (None: rules only)."""

    def __init__(self, llm=None, max_tokens: int = 200) -> None:
        self.llm = llm
        self.max_tokens = max_tokens
        self.cues = load("intent_cues")
        self.stats = {"llm": 0, "rules": 0, "llm_failed": 0}
        self._compile()

    # -- component interface -------------------------------------------------------------------------------
    def warm_up(self) -> None:
        """Load the dictionaries (~1 s from the on-disk cache) so the first question does not pay for them."""
        self._vocab  # noqa: B018 (cached property: the load is the point)

    def run(self, question: str, options: dict[str, str] | None = None) -> Intent:
        if not isinstance(question, str) or not question.strip():
            raise InputError("empty question: type a question about the patient")
        q = " ".join(question.split())
        if len(q) > MAX_QUESTION_CHARS:
            raise InputError(f"question too long ({len(q)} characters; at most {MAX_QUESTION_CHARS})")
        opts = validate_options(options)
        if self.llm is not None:
            intent = self._from_llm(q, opts)
            if intent is not None:
                self.stats["llm"] += 1
                return intent
            self.stats["llm_failed"] += 1
        self.stats["rules"] += 1
        return self.rules(q, opts)

    # -- LLM path --------------------------------------------------------------------------------------------
    @cached_property
    def schema(self) -> dict[str, Any]:
        return intent_schema()

    def messages(self, question: str, options: dict[str, str]) -> list[dict[str, str]]:
        """System instructions (fixed, cached by the server) then the question and its options."""
        user = f"Question: {question}"
        if options:
            user += "\nOptions:\n" + "\n".join(
                f"{k}) {v if len(v) <= MAX_OPTION_CHARS else v[:MAX_OPTION_CHARS] + '...'}" for k, v in options.items())
        shots: list[dict[str, str]] = []
        for example, answer in EXAMPLES:
            shots += [{"role": "user", "content": f"Question: {example}"},
                      {"role": "assistant", "content": json.dumps(answer, separators=(",", ":"))}]
        return [{"role": "system", "content": SYSTEM_PROMPT}, *shots, {"role": "user", "content": user}]

    def _from_llm(self, question: str, options: dict[str, str]) -> Intent | None:
        """The LLM's Intent, or None (logged) when the call fails or the output is not a valid Intent."""
        try:
            r = self.llm.chat(self.messages(question, options), json_schema=self.schema, max_tokens=self.max_tokens,
                              temperature=0.0, seed=0)
        except Exception as e:  # noqa: BLE001 (server down, timeout, refused request, a broken backend: the
            # question must still be understood, so every failure means the rules)
            log.warning("intent LLM call failed (%s: %s); using the rules", type(e).__name__, e)
            return None
        data = r.parsed
        if not isinstance(data, dict) or getattr(r, "truncated", False):
            log.warning("intent LLM output is not a complete JSON object (%r); using the rules", (r.text or "")[:200])
            return None
        try:
            intent = Intent(**{k: v for k, v in data.items() if k != "source"}, source="llm")
        except (ValidationError, TypeError) as e:
            log.warning("intent LLM output does not fit the Intent schema (%s); using the rules", e)
            return None
        return self._ground(intent, question)

    def _ground(self, intent: Intent, question: str) -> Intent:
        """Keep the entities the question does name (a small model may invent some or copy them from the options),
        drop 'relatives' that are no relative words, and give each the dictionary type when the dictionaries know
        the whole phrase; an anchor only goes with a time role."""
        q_tokens = set(content_tokens(question))
        kept = []
        for e in intent.entities:
            toks = set(content_tokens(e.text))
            if not toks or not toks & q_tokens:
                continue
            if e.type == "relative" and not self._relative.search(e.text):
                continue  # a person's name ('Andrea') is not a relative
            spans = self._vocab_spans(e.text)
            if len(spans) == 1 and spans[0].end - spans[0].start >= len(e.text.strip()) - 1:
                e = IntentEntity(text=e.text, type=spans[0].type)
            kept.append(e)
        relative = intent.relative if intent.experiencer == "family" else None
        anchor = intent.anchor
        if intent.time_role == "none" or (anchor or "").strip().lower() in ("", "none", "null", "n/a"):
            anchor = None  # small models write the string "none" where the form wants null
        return intent.model_copy(update={"entities": kept, "relative": relative, "anchor": anchor})

    # -- rules -------------------------------------------------------------------------------------------------
    def _compile(self) -> None:
        c = self.cues
        flags = re.I
        self._asked = [(r["asked"], bool(r.get("requires_no_options")), bool(r.get("generic")),
                        [re.compile(p, flags) for p in r["patterns"]]) for r in c["asked"]]
        neg = c["negation"]
        self._neg = [re.compile(p, flags) for p in neg["patterns"]]
        self._pseudo = [re.compile(p, flags) for p in neg["pseudo"]]
        tr = c["time_roles"]
        self._roles = [(r["role"], bool(r.get("date")), r.get("cut_anchor", True),
                        [re.compile(p, flags) for p in r.get("patterns", [])]) for r in tr["order"]]
        self._direction = {k: re.compile(v, flags) for k, v in tr["direction"].items()}
        self._month_year = re.compile(tr["month_year"], flags)
        self._anchor_stop = re.compile(tr["anchor_stop"], flags)
        ex = c["experiencer"]
        self._family_words = set(ex["family"])
        self._other_words = set(ex["other"])
        self._relative = re.compile(ex["relative_phrase"].format(
            words="|".join(sorted(ex["family"] + ex["other"], key=len, reverse=True))), flags)
        self._family_phrases = [re.compile(p, flags) for p in ex["family_phrases"]]
        ent = c["entities"]
        self._class_nouns = {w: t for t, ws in ent["class_nouns"].items() for w in ws}
        opt = c["options"]
        self._drug_units = set(opt["drug_units"])
        self._result_nouns = set(c["entity_type_asked"]["result_nouns"])
        self._result_noun = re.compile(r"\s+(?:%s)\b" % "|".join(c["entity_type_asked"]["result_nouns"]), flags)
        self._attribute_noun = re.compile(r"\s*(?:of|'s|%s)\b" % "|".join(c["attribute_nouns"]["nouns"]), flags)
        self._typed_contexts = [(t, re.compile(p + r"\s+(?:the\s+)?$", flags))
                                for t, ps in ent["typed_contexts"].items() if t != "why" for p in ps]
        self._verb_before = set(ent["verb_before"]["words"])
        self._sequence = re.compile(opt["sequence_pattern"], flags)
        self._relations = {rel: [re.compile(x, flags) for x in ps] for rel, ps in c["relations"].items() if rel != "why"}

    @cached_property
    def _vocab(self):
        from extractors.vocab import vocabulary

        return vocabulary()

    def rules(self, question: str, options: dict[str, str] | None = None) -> Intent:
        """The rule parser on its own (also what ``run`` falls back to)."""
        q = " ".join(question.split())
        opts = options or {}
        entities = self.entities(q)
        asked = self.asked(q, opts, entities)
        role, anchor = self.time_role(q, asked)
        experiencer, relative = self.experiencer(q)
        return Intent(asked=asked, entities=entities, time_role=role, anchor=anchor, experiencer=experiencer,
                      relative=relative, negated=self.negated(q), relations=self.relations(q), source="rules")

    def asked(self, q: str, options: dict[str, str], entities: list[IntentEntity]) -> str:
        """The first cue rule that matches; a bare what/which question (a ``generic`` rule, or none matched) is
        refined by what its options look like and by the entities it names."""
        found, generic = "other", True
        for asked, needs_no_options, is_generic, patterns in self._asked:
            if needs_no_options and options:
                continue
            if any(p.search(q) for p in patterns):
                found, generic = asked, is_generic
                break
        if not generic:
            return found
        if options:
            found = self._asked_from_options(options, entities) or found
        if found in ("value", "other"):
            types = {e.type for e in entities}
            result_of = any(e.type in ("test", "procedure") and self._result_noun.match(q, q.find(e.text) + len(e.text))
                            for e in entities)
            if result_of or ("test" in types and not types & {"drug", "problem"}):
                found = self.cues["entity_type_asked"]["test"]
        return found

    def _asked_from_options(self, options: dict[str, str], entities: list[IntentEntity]) -> str | None:
        """date when most options are dates, order when most are sequences, dose / test_result when most are
        bare quantities (dose when the question names a drug and the units are drug units); None otherwise."""
        oc = self.cues["options"]
        vals = list(options.values())
        need = oc["share"] * len(vals)
        dated = sum(sum(len(s) for _, s in find_dates(v)) + sum(len(m.group(0)) for m in self._month_year.finditer(v))
                    >= oc["date_fraction"] * len(v) for v in vals)
        if dated >= need:
            return "date"
        if sum(bool(self._sequence.search(v)) for v in vals) >= need:
            return "order"
        quantities = []
        for v in vals:
            nums = find_numbers(v)
            numeric = {w for _, u, surface in nums for w in content_tokens(surface)}
            others = [t for t in content_tokens(v) if t not in numeric]
            if nums and len(others) <= oc["max_other_words"] and not any(s.type == "drug" for s in self._vocab_spans(v)):
                quantities.append({u for _, u, _ in nums if u})
        if len(quantities) < need:
            return None
        units = set().union(*quantities)
        if any(e.type == "drug" for e in entities) and (units & self._drug_units or not units):
            return "dose"
        return "test_result"

    def relations(self, q: str) -> list[str]:
        """Every event the question names (start, stop, replace, cause, onset, change), in the cue file's order."""
        return [rel for rel, ps in self._relations.items() if any(p.search(q) for p in ps)]

    def relation_spans(self, text: str) -> list[tuple[str, int, int]]:
        """(relation, start, end) of each event word in ``text`` ("Domperidone was started" -> start at 15-22)."""
        return sorted(((rel, m.start(), m.end()) for rel, ps in self._relations.items() for p in ps
                       for m in p.finditer(text)), key=lambda x: x[1])

    def negated(self, q: str) -> bool:
        from agent.understand import wh_clause

        masked = wh_clause(q)[1]  # "Because X was not covered, how will ...": the fronted clause asks nothing
        for p in self._pseudo:
            masked = p.sub(" ", masked)
        return any(p.search(masked) for p in self._neg)

    def time_role(self, q: str, asked: str) -> tuple[str, str | None]:
        """(role, anchor as worded) by the first role rule that matches, in the cue file's order."""
        for role, by_date, cut, patterns in self._roles:
            if role == "order_direction":
                if asked == "order":
                    for direction, rx in self._direction.items():
                        if rx.search(q):
                            return direction, None
                continue
            if by_date:
                dates = find_dates(q)
                if dates:
                    return role, dates[-1][1]
                m = self._month_year.search(q)
                if m:
                    return role, m.group(0)
            for p in patterns:
                m = p.search(q)
                if m is None:
                    continue
                if "anchor" not in p.groupindex:
                    return role, None
                anchor = m.group("anchor")
                stop = self._anchor_stop.search(anchor) if cut else None
                anchor = (anchor[: stop.start()] if stop else anchor).strip(" ?.,;:")
                if anchor:  # "after what" names no anchor: try the next rule
                    return role, anchor
        return "none", None

    def experiencer(self, q: str) -> tuple[str, str | None]:
        """family when a relative or the family history is named (relative: the relative's words), other for
        another named person, else patient."""
        m = self._relative.search(q)
        if m:
            word = m.group(0).lower()
            head = word.split()[-1]
            if head in self._other_words:
                return "other", None
            return "family", word
        if any(p.search(q) for p in self._family_phrases):
            return "family", None
        return "patient", None

    # -- entities ------------------------------------------------------------------------------------------------
    def _vocab_spans(self, text: str) -> list[_Span]:
        """Dictionary matches in ``text`` (a plural form also tried: 'sugars' finds 'sugar'), typed."""
        from extractors.vocab import tokenize

        plural = re.compile(r"(?<=[a-z]{3})(?<![su])s\b")
        variants = [text, plural.sub(" ", text)]  # same length: spans stay valid
        spans: list[_Span] = []
        for variant in variants:
            for m in self._vocab.index.match(variant, tokenize(variant)):
                typ = next((VOCAB_TYPES[e.type] for e in m.entries if e.type in VOCAB_TYPES), None)
                if typ is None or any(s.start < m.end and m.start < s.end for s in spans):
                    continue
                end = m.end
                while end < len(text) and text[end].isalpha():  # the plural's 's' belongs to the entity
                    end += 1
                spans.append(_Span(m.start, end, typ))
        return sorted(spans, key=lambda s: s.start)

    def typed_mentions(self, text: str) -> list[tuple[int, int, str]]:
        """(start, end, entity type) of every dictionary term in ``text``: the verifier's competing entities."""
        return [(s.start, s.end, s.type) for s in self._vocab_spans(text)]

    def entities(self, q: str) -> list[IntentEntity]:
        """Dictionary terms, relatives, phrases ending in a class noun ('segment VI lesion', 'ankle exam'), an
        abbreviation in brackets after an entity, and unknown names typed by their context ('cycles of CAPOX');
        never the patient's name nor the noun a wh-word asks for ('which medication', 'which antibiotic')."""
        from extractors.vocab import tokenize

        toks, spans = tokenize(q)
        found: list[tuple[int, int, str]] = []  # (start, end, type)

        def add(start: int, end: int, typ: str) -> None:
            if any(start < e and s < end for s, e, _ in found):
                return
            if typ != "test" and self._asks_for(q, start, end):  # 'what hemoglobin level' still names a lab
                return
            found.append((start, end, typ))

        for s in self._vocab_spans(q):
            add(s.start, s.end, s.type)
        for m in self._relative.finditer(q):
            if m.group(0).lower().split()[-1] in self._family_words:
                add(m.start(), m.end(), "relative")
        for m in re.finditer(r"\(([A-Za-z][A-Za-z0-9-]{1,9})\)", q):  # "hydroxychloroquine (HCQ)"
            prev = next((f for f in found if f[1] <= m.start() and not q[f[1]: m.start()].strip()), None)
            if prev is not None:
                add(m.start(1), m.end(1), prev[2])
        for run in self._runs(q, toks, spans):
            start, end = spans[run[0]][0], spans[run[-1]][1]
            context = next((t for t, rx in self._typed_contexts if rx.search(q[:start])), None)
            if context is not None:
                add(start, end, context)
                continue
            last_class = max((j for j, i in enumerate(run) if toks[i] in self._class_nouns), default=None)
            if last_class is None:
                if len(run) > 1 and toks[run[-1]] in self._result_nouns:  # 'CA 15-3 results': the test measured
                    add(start, spans[run[-2]][1], "test")
                continue
            head = toks[run[last_class]]
            kept = run[max(0, last_class - 3): last_class + 1]
            first, last = spans[kept[0]][0], spans[kept[-1]][1]
            prev_word = q[:first].split()[-1].lower() if q[:first].split() else ""
            if len(kept) == 1 and (self._class_nouns[head] == "test" or prev_word in self._verb_before):
                continue  # a bare 'level' names nothing; 'did not report' is a verb
            add(first, last, self._class_nouns[head])
        found.sort()
        out, seen = [], set()
        for s, e, t in found:
            if q[s:e].lower() not in seen:
                seen.add(q[s:e].lower())
                out.append(IntentEntity(text=q[s:e], type=t))
        return out[:MAX_ENTITIES]

    def _runs(self, q: str, toks: list[str], spans: list[tuple[int, int]]) -> list[list[int]]:
        """Token indexes of the runs of content words (stopwords, punctuation and names break a run)."""
        runs: list[list[int]] = []
        run: list[int] = []
        for i, t in enumerate(toks):
            if t.isalnum() and t not in STOPWORDS and not _is_name(q, spans[i]):
                if run and q[spans[run[-1]][1]: spans[i][0]] not in (" ", "-", "/"):
                    runs.append(run)  # "(IV)" or a comma between: a new run
                    run = []
                run.append(i)
            else:
                if run:
                    runs.append(run)
                run = []
        if run:
            runs.append(run)
        return runs

    def _asks_for(self, q: str, start: int, end: int) -> bool:
        """True for the phrase right after which/what ('which further imaging'): the kind of answer asked for; not
        when an attribute of it is asked ('what lisinopril dose', 'which drug of', "which drug's")."""
        return bool(re.search(r"\b(?:which|what)\s+$", q[:start], re.I)) and not self._attribute_noun.match(q, end)


@lru_cache(maxsize=1)
def shared_parser() -> IntentParser:
    """One rules parser per process for typing option texts (its dictionaries load once)."""
    return IntentParser()


def _is_name(q: str, span: tuple[int, int]) -> bool:
    """A person's name: a capitalised word with a possessive ('Andrea's') or after a title ('Mr. Clark')."""
    s, e = span
    word = q[s:e]
    if not word[:1].isupper() or word.isupper():
        return False
    if q[e: e + 2] in ("'s", "’s"):
        return True
    return bool(re.search(r"\b(?:mr|mrs|ms|miss|dr)\.?\s+$", q[:s], re.I))

