"""Multi-step (multi-document) answers resolved in code from the notes and the timeline.

Each resolver looks at the question's *shape* (what it asks for), follows the chain through dated note
sentences, and returns a ``Computed`` fact with the option it singles out (or none) plus the exact note spans
it used, so the extractive and the LLM paths both see the same computed evidence:

* ``anchored``   -- a question that names a date ("the follow-up CT on 27 Sep 2017: what did it show?") is
                     answered from the passages dated that day (note date or in-sentence date), not from the
                     whole record; with two dates "later/follow-up" / "earlier/baseline" picks the anchor.
* ``dose_path``  -- "how did the dose of X change": the drug's dose history (start dose, "from A to B"
                     changes) in date order, compared with each option's direction and numbers.
* ``replacement``-- "which drug replaced ...": switch sentences ("A was switched to B", "replaced A with B",
                     "stopped A and started B", "B instead of A") give (from, to); the one linked to the
                     question's other terms (the adverse event) wins.
* ``indication`` -- "what was that medication prescribed for": the adverse event's onset is dated, the
                     medication started last before it is found, and its indication ("started ... for Y")
                     is the option.
* ``cycles``     -- "how many cycles of X": treatment cycles are numbered in the notes ("Cycle 4 of CAPOX was
                     administered", "after 4 cycles of X"); the count is the highest cycle given, not the
                     number of notes that happen to mention one (a cycle without its own note still counts),
                     and planned / postponed cycles do not.
* ``stop_reason`` -- "which adverse effect led to the switch away from X / X being stopped": the sentences
                     that stop or switch X give the cause ("because of ACE-inhibitor-associated dry cough",
                     "X - stopped 09/15/2015 (Achilles tendinopathy)"); the option the cause names is the answer.
* ``exam_finding`` -- "which examination showed X" with options "<exam> on <date>": each option is matched to
                     the report of that exam on that date (the note's heading names the exam, its date is the
                     note's or written there) and to sentences elsewhere that name that date; the option whose
                     passages state X (negated findings only where the sentence is negated too) is the answer.
* ``onset_interval`` -- "how many days after starting X did Y begin": X's start date (its start sentence), and
                     Y's onset told as a duration or a date in the note that diagnoses Y ("restlessness since
                     Mar 27" in the visit where "X was switched ... because of X-induced akathisia"); the
                     symptom is often described in other words than the diagnosis, so the onset sentence is
                     found through the note that links X and Y. Onsets before X's start are another episode.
"""
from __future__ import annotations

import datetime as dt
import re

from agent.tools import Computed, Passage, Toolbox, _CUE_WORDS
from agent.understand import STOPWORDS, content_tokens, find_dates, find_numbers

_GENERIC = frozenset(content_tokens(
    "dose dosage change changed medication medications drug drugs started start patient received receive "
    "develop developed later study show caused cause replaced replace new prescribed treatment therapy "
    "after before follow followed up"))


def _weights(tools: Toolbox, pid: str, option: str) -> dict[str, float]:
    return {t: tools.idf(pid, t) for t in set(content_tokens(option))}


def _coverage(tools: Toolbox, pid: str, option: str, text: str, w: dict | None = None, toks=None) -> float:
    """IDF-weighted share of the option's words that the text has (weights / text tokens may be passed in)."""
    w = _weights(tools, pid, option) if w is None else w
    if not w:
        return 0.0
    toks = set(content_tokens(text)) if toks is None else toks
    return sum(v for t, v in w.items() if t in toks) / (sum(w.values()) or 1.0)


def _sent_date(p: Passage) -> dt.date | None:
    ds = find_dates(p.text)
    return ds[0][0] if ds else p.note_date


def _as_timeline(p: Passage) -> Passage:
    return Passage(p.patient_id, p.note_id, p.start, p.end, p.text, p.note_date, None, 1.0, "timeline")


def _numbers_match(xs, ys) -> bool:
    return len(xs) == len(ys) and all(abs(a - b) < 1e-6 for a, b in zip(xs, ys))


def _single_out(scores: dict[str, float], floor: float, margin: float = 0.15) -> str | None:
    """The best-scoring option if it reaches ``floor`` and leads the runner-up by ``margin``, else None."""
    ranked = sorted(scores, key=lambda k: -scores[k])
    if not ranked:
        return None
    second = scores[ranked[1]] if len(ranked) > 1 else 0.0
    return ranked[0] if scores[ranked[0]] >= floor and scores[ranked[0]] - second >= margin else None


def sentence_dates(tools: Toolbox, pid: str) -> list[tuple[Passage, set, frozenset]]:
    """Each sentence with the dates written in it and its content tokens (cached per patient and store generation)."""
    cache = tools.__dict__.setdefault("_chain_dates", {})
    gen = tools._patient(pid)[0]
    hit = cache.get(pid)
    if hit is None or hit[0] != gen:
        hit = (gen, [(p, {d for d, _ in find_dates(p.text)}, toks) for p, toks in zip(tools.sentences(pid), tools._patient(pid)[5])])
        cache[pid] = hit
    return hit[1]


# -- date-anchored passages -------------------------------------------------------------------------------
_LATER = re.compile(r"\b(later|latter|follow(?:ed)?[- ]?up|subsequent|second|latest|most recent|repeat|last)\b", re.I)
_EARLIER = re.compile(r"\b(earlier|former|first|initial|baseline|original|prior|index)\b", re.I)


_PURPOSE = re.compile(r"\b(?:started|prescribed|given|begun|initiated|introduced)\b.*?\bfor\s+(?!the patient\b)(.+?)\s*\??$", re.I)


def _after_for(text: str) -> int:
    """Where the purpose clause of a start sentence begins ("... was started on 2019-03-14 for ...")."""
    m = re.search(r"\bfor\b", text, re.I)
    return m.end() if m else len(text)


def anchored(tools: Toolbox, pid: str, a) -> Computed | None:
    if not a.dates or not a.real_options:
        return None
    ds = sorted(set(a.dates))
    if len(ds) == 1:
        anchor = ds[0]
    else:
        # the clause of the question that asks ("What did the later study show?") decides which date
        ask = re.split(r"(?<=[.;])\s+", a.question.strip())[-1]
        later, earlier = bool(_LATER.search(ask)), bool(_EARLIER.search(ask))
        if later == earlier:
            return None
        anchor = ds[-1] if later else ds[0]
    others = [d for d in ds if d != anchor]

    dated = sentence_dates(tools, pid)

    def on(day):
        return [(p, toks) for p, own, toks in dated if (p.note_date == day and not [d for d in own if d != day]) or day in own]

    here, there = on(anchor), [p for d in others for p in on(d)]
    if not here:
        return None
    # "started on March 14 for heart failure therapy": of two drugs started that day, the one started for that
    purpose = _PURPOSE.search(re.split(r"(?<=[.;])\s+", a.question.strip())[-1])
    pw = {t: tools.idf(pid, t) for t in content_tokens(purpose.group(1)) if t not in _GENERIC} if purpose else {}
    scores, best_p = {}, {}
    for k, t in a.real_options.items():
        w = _weights(tools, pid, t)
        cov = [(_coverage(tools, pid, t, p.text, w, toks)
                + (0.2 * _coverage(tools, pid, "", p.text[_after_for(p.text):], pw) if pw else 0.0), p) for p, toks in here]
        s, p = max(cov, key=lambda x: x[0]) if cov else (0.0, None)
        onums = [n[0] for n in find_numbers(t)]
        if onums and p is not None and not all(any(abs(n - m[0]) < 1e-6 for m in find_numbers(p.text)) for n in onums):
            s *= 0.6
        # an option that describes the other date's study better than this one is that study's finding
        s_other = max((_coverage(tools, pid, t, q.text, w, toks) for q, toks in there), default=0.0)
        if s_other > s + 1e-9:
            s *= 0.5
        scores[k], best_p[k] = s, p
    choice = _single_out(scores, 0.6)
    text = f"Passages dated {anchor.isoformat()} (the date the question asks about)"
    if choice:
        text += f" document: \"{best_p[choice].text}\"; matching option: {choice}"
    else:
        text += ": no option is clearly documented there"
    ps = [_as_timeline(best_p[choice])] if choice else [_as_timeline(p) for p, _ in here[:3]]
    return Computed("anchored", text, {"date": anchor, "choice": choice, "scores": scores}, ps, choice is not None)


# -- dose history -----------------------------------------------------------------------------------------
_DIR = {"up": re.compile(r"\b(increas|uptitrat|escalat|rais|doubl|higher)", re.I),
        "down": re.compile(r"\b(reduc|decreas|lower|halv|de-?escalat|tapere?d? down)", re.I),
        "same": re.compile(r"\b(unchanged|same|constant|stable|not changed|no change|remained)", re.I),
        "stop": re.compile(r"\b(stopp|discontinu|ceased|withdrawn)", re.I)}
_NUM = r"(\d+(?:\.\d+)?)\s*(mg/m2|mg/kg|mcg|µg|mg|g|units?|iu|ml)\b"
_FROM_TO = re.compile(r"\bfrom\s+" + _NUM + r"\s+to\s+" + _NUM, re.I)


def _drug_of(tools: Toolbox, pid: str, a) -> str | None:
    """The question words that name a drug with doses in the notes (a graph concept is preferred, then the
    longer name: "insulin glargine", not any "insulin")."""
    best = None
    qwords = re.findall(r"[A-Za-z][A-Za-z\-/]{2,}", a.question)
    phrases = [" ".join(qwords[i:i + n]) for n in (1, 2, 3) for i in range(len(qwords) - n + 1)]
    for w in dict.fromkeys(phrases):
        parts = w.split()
        if any(x.lower() in STOPWORDS or not content_tokens(x) or content_tokens(x)[0] in _GENERIC for x in parts):
            continue
        body = r"\s+".join(re.escape(x) for x in parts)
        rx = re.compile(r"\b" + body + r"\b[^.\n]{0,40}?" + _NUM, re.I)
        n = sum(1 for p in tools.sentences(pid) if rx.search(p.text) or (re.search(r"\b" + body + r"\b", p.text, re.I)
                                                                        and (_FROM_TO.search(p.text) or _FROM_TO_PHRASE.search(p.text))))
        if n:
            key = (bool(tools.resolve(pid, w)), len(parts), n)
            if best is None or key > best[0]:
                best = (key, w)
    return best[1] if best else None


# "from 160/4.5 mcg one inhalation to 160/4.5 mcg two inhalations": a dose is a strength and a count of units
_DOSE_CHARS = r"(?:[^.;]|\.(?=\d))"  # a decimal point belongs to the dose, a full stop ends it
_FROM_TO_PHRASE = re.compile(rf"\bfrom\s+(\d{_DOSE_CHARS}{{0,50}}?)\s+to\s+(\d{_DOSE_CHARS}{{0,50}}?)(?=\s+(?:at bedtime|"
                             r"daily|once|twice|three times|every|because|due|for|in the|per day)\b|\.(?!\d)|[;,)]|$)", re.I)
_COUNT_NUMW = {"one": "1", "two": "2", "three": "3", "four": "4", "five": "5", "six": "6", "half": "0.5"}


def _dose_key(phrase: str) -> tuple:
    """A dose phrase as comparable tokens: numbers (160/4.5 -> 160, 4.5), count words as digits, units singular."""
    out = []
    for t in re.findall(r"\d+(?:\.\d+)?|[a-zµ]+", phrase.lower()):
        t = _COUNT_NUMW.get(t, t)
        if t[0].isdigit():
            out.append(str(float(t)))
        elif t not in STOPWORDS and t not in ("at", "of"):
            out.append(t[:-1] if t.endswith("s") and len(t) > 3 else t)
    return tuple(out)


def _phrase_change(tools: Toolbox, pid: str, a, drug: str) -> Computed | None:
    """A documented dose change whose doses are not one number each (strength + inhalations / tablets)."""
    name = re.compile(r"\b" + r"\s+".join(re.escape(x) for x in drug.split()) + r"\b", re.I)
    for p in tools.sentences(pid):
        if not name.search(p.text):
            continue
        m = _FROM_TO_PHRASE.search(p.text)
        trend = "up" if _DIR["up"].search(p.text) else "down" if _DIR["down"].search(p.text) else None
        if not m or trend is None or _FROM_TO.search(p.text):
            continue  # one number each ("from 50 mg to 100 mg"): the dose history below compares those
        want = (_dose_key(m.group(1)), _dose_key(m.group(2)))
        hits = []
        for k, t in a.real_options.items():
            om = _FROM_TO_PHRASE.search(t + ".")
            if om and _DIR[trend].search(t) and (_dose_key(om.group(1)), _dose_key(om.group(2))) == want:
                hits.append(k)
        if len(hits) == 1:
            words = "increased" if trend == "up" else "reduced"
            text = (f"Dose change of {drug} (computed from the notes): {words} from {m.group(1)} to {m.group(2)} "
                    f"(\"{p.text.strip()}\"); matching option: {hits[0]}")
            return Computed("dose_path", text, {"drug": drug, "start": None, "changed_to": None, "trend": trend,
                                                "from": m.group(1), "to": m.group(2), "choice": hits[0]},
                            [_as_timeline(p)], True)
    return None


def dose_path(tools: Toolbox, pid: str, a) -> Computed | None:
    opts = a.real_options
    with_dir = [k for k, t in opts.items() if find_numbers(t) and any(rx.search(t) for rx in _DIR.values())]
    if len(with_dir) < max(2, len(opts) - 1):
        return None
    drug = _drug_of(tools, pid, a)
    if drug is None:
        return None
    body = r"\s+".join(re.escape(x) for x in drug.split())
    name = re.compile(r"\b" + body + r"\b", re.I)
    at = re.compile(r"\b" + body + r"\b[^.\n;]{0,40}?" + _NUM, re.I)
    by_phrase = _phrase_change(tools, pid, a, drug)
    if by_phrase is not None:
        return by_phrase
    events = []  # (date, note, start, kind, values, passage)
    for p in tools.sentences(pid):
        if not name.search(p.text):
            continue
        d = _sent_date(p)
        if d is None:
            continue
        m = _FROM_TO.search(p.text)
        if m and (_DIR["up"].search(p.text) or _DIR["down"].search(p.text)):
            events.append((d, p.note_id, p.start, "change", (float(m.group(1)), float(m.group(3))), p))
            continue
        m = at.search(p.text)
        if m:
            events.append((d, p.note_id, p.start, "dose", (float(m.group(1)),), p))
        elif _DIR["stop"].search(p.text):
            events.append((d, p.note_id, p.start, "stop", (), p))
    if not events:
        return None
    events.sort(key=lambda e: (e[0], e[1], e[2]))
    start = next((e for e in events if e[3] == "dose"), None)
    change = next((e for e in events if e[3] == "change" and (start is None or e[0] >= start[0])), None)
    d0 = change[4][0] if change and start is None else (start[4][0] if start else None)
    if d0 is None:
        return None
    if change is not None:
        d1 = change[4][1]
    else:
        later = [e for e in events if e[3] == "dose" and e[0] > start[0] and abs(e[4][0] - d0) > 1e-6]
        d1 = later[0][4][0] if later else None
    stopped = any(e[3] == "stop" for e in events) and d1 is None
    if d1 is not None and abs(d1 - d0) > 1e-6:
        trend, want = ("up" if d1 > d0 else "down"), [d0, d1]
    elif stopped:
        trend, want = "stop", [d0]
    else:
        trend, want = "same", [d0]
    hits = [k for k, t in opts.items() if _DIR[trend].search(t) and _numbers_match([n[0] for n in find_numbers(t)], want)]
    choice = hits[0] if len(hits) == 1 else None
    words = {"up": "increased", "down": "reduced", "same": "unchanged", "stop": "stopped"}[trend]
    text = (f"Dose history of {drug} (computed from the notes): started at {d0:g}"
            + (f", {words} to {d1:g}" if trend in ("up", "down") else f", {words}") + (f"; matching option: {choice}" if choice else ""))
    ps = [_as_timeline(e[5]) for e in (start, change) if e is not None]
    return Computed("dose_path", text, {"drug": drug, "start": d0, "changed_to": d1, "trend": trend, "choice": choice},
                    ps, choice is not None)


# -- replacement ------------------------------------------------------------------------------------------
_ASK_REPLACE = re.compile(r"\b(replac|switch|substitut|instead|in place of|changed to|converted to|alternative)", re.I)
# (cue, which side of the cue is the new drug)
_SWITCH = [(re.compile(r"\b(?:switched|changed|converted|rotated)\s+(?:over\s+)?(?:to|for)\b", re.I), "after"),
           (re.compile(r"\breplaced\s+(?:by|with)\b", re.I), "after"),
           (re.compile(r"\b(?:started|begun|initiated|commenced)\b", re.I), "after_stop"),
           (re.compile(r"\b(?:instead of|in place of|as a replacement for|to replace)\b", re.I), "before")]


def replacement(tools: Toolbox, pid: str, a) -> Computed | None:
    if not _ASK_REPLACE.search(a.question) or not a.real_options:
        return None
    opt_rx = {k: re.compile(r"\b" + re.escape(t.strip()) + r"\b", re.I) for k, t in a.real_options.items() if t.strip()}
    rest = {t for t in content_tokens(a.question) if t not in _GENERIC}
    found = []  # (linked, date, new letter, old letter, passage)
    for p in tools.sentences(pid):
        pos = {k: [m.start() for m in rx.finditer(p.text) if not p.text[m.end():m.end() + 1] == "-"]
               for k, rx in opt_rx.items()}
        pos = {k: v for k, v in pos.items() if v}
        if len(pos) < 2:
            continue
        for cue, side in _SWITCH:
            m = cue.search(p.text)
            if not m:
                continue
            if side == "after_stop" and not _DIR["stop"].search(p.text[:m.start()]):
                continue
            after = sorted((min(x for x in v if x >= m.end()), k) for k, v in pos.items() if any(x >= m.end() for x in v))
            before = sorted((max(x for x in v if x < m.start()), k) for k, v in pos.items() if any(x < m.start() for x in v))
            if not after or not before:
                continue
            new, old = (after[0][1], before[-1][1]) if side != "before" else (before[-1][1], after[0][1])
            if new == old:
                continue
            near = set(content_tokens(p.text)) | {t for q in tools.neighbors(pid, p, 1) for t in content_tokens(q.text)}
            linked = len(rest & near)
            found.append((linked, _sent_date(p) or dt.date.min, new, old, p))
            break
    if not found:
        return None
    found.sort(key=lambda x: (-x[0], x[1]))
    best = found[0]
    rivals = {f[2] for f in found if f[0] == best[0]}
    choice = best[2] if len(rivals) == 1 else None
    text = (f"Switch documented: {a.real_options[best[3]]} -> {a.real_options[best[2]]} (\"{best[4].text}\")"
            + (f"; the replacing drug: option {choice}" if choice else "; several switches, none singled out"))
    return Computed("replacement", text, {"old": best[3], "new": best[2], "choice": choice},
                    [_as_timeline(best[4])], choice is not None)


# -- adverse event -> drug -> indication -------------------------------------------------------------------
_ASK_INDICATION = re.compile(r"\b(prescribed|given|started|indicat|used|taken|ordered)\w*\s+for\s*\?|\bindication\b|"
                             r"\bwhy was\b|\breason for (?:starting|prescribing)", re.I)
_AE_CUE = re.compile(r"\b(?:developed|experienced|suffered|had|presented with|complained of)\s+(?:an?\s+|the\s+)?"
                     r"(.+?)\s+(?:after|following|since|while|when|on)\b", re.I)


def indication(tools: Toolbox, pid: str, a) -> Computed | None:
    if not _ASK_INDICATION.search(a.question) or not a.real_options:
        return None
    m = _AE_CUE.search(a.question)
    if not m:
        return None
    ae = m.group(1)
    onset = tools.event_date(pid, f"onset of {ae}")
    if onset is None:
        return None
    day = onset[0]
    start_rx = re.compile(_CUE_WORDS["start"], re.I)
    cands = []  # (start date, letter, passage)
    for k, t in a.real_options.items():
        for p in tools.lexical(pid, t, k=12):
            if p.score < 0.75 or not start_rx.search(p.text) or not re.search(r"\bfor\b", p.text, re.I):
                continue
            # the option must be what the drug is *for*: after "for" in the start sentence
            tail = p.text[re.search(r"\bfor\b", p.text, re.I).end():]
            if _coverage(tools, pid, t, tail) < 0.75:
                continue
            d = _sent_date(p)
            if d is not None and d <= day:
                cands.append((d, k, p))
    if not cands:
        return None
    cands.sort(key=lambda x: x[0])
    last = cands[-1]
    tied = [(k, p) for d, k, p in cands if d == last[0]]
    if len({k for k, _ in tied}) > 1:
        # several medications started that day: the one a note names together with the adverse event
        # ("Ciprofloxacin - stopped Mar 19 (Achilles tendinopathy)", "X-induced ...") is its cause
        ae_t = {t for t in content_tokens(ae) if t not in _GENERIC}
        sents = [set(toks) for toks in tools._patient(pid)[5]]
        link = {}
        for k, p in tied:
            cue = start_rx.search(p.text)
            drug_t = {t for t in content_tokens(p.text[:cue.start()]) if not t[0].isdigit()} - _GENERIC
            link[k] = sum(1 for toks in sents if toks & drug_t and toks & ae_t)
        best_k = max(link, key=lambda k: link[k])
        if link[best_k] > 0 and sum(1 for v in link.values() if v == link[best_k]) == 1:
            last = next((d, k, p) for d, k, p in cands if k == best_k and d == last[0])
            tied = [(best_k, last[2])]
    rivals = {k for k, _ in tied}
    choice = last[1] if len(rivals) == 1 else None
    text = (f"Onset of {ae}: {day.isoformat()} ({onset[2]}); the medication started last before it "
            f"({last[0].isoformat()}): \"{last[2].text}\"" + (f"; its indication: option {choice}" if choice else ""))
    return Computed("indication", text, {"onset": day, "started": last[0], "choice": choice},
                    [_as_timeline(onset[1]), _as_timeline(last[2])], choice is not None)


# -- explicitly documented absence -------------------------------------------------------------------------
_ASK_ABSENT = re.compile(r"\b(den(?:y|ies|ied)|ruled? out|rules out|absent|absence|negative for|excluded|exclusion)\b", re.I)


def explicit_absence(tools: Toolbox, pid: str, a, assertions=None) -> Computed | None:
    """"Which symptom did the patient deny / what was ruled out": the answer is the option the notes mention
    *negated* ("denies dysuria", "no liver metastases"), not one they never mention."""
    if not _ASK_ABSENT.search(a.question) or not a.real_options or assertions is None:
        return None
    neg, pos, where = {}, {}, {}
    for k, t in a.real_options.items():
        o = set(content_tokens(t))
        if not o:
            continue
        for p in tools.lexical(pid, t, k=10):
            if p.score < 0.75:
                continue
            shared = {x for x in o if x in set(content_tokens(p.text)) and not x[0].isdigit()}
            n = assertions.phrase_negated(p.text, shared) if shared else None
            if n:
                neg[k] = neg.get(k, 0) + 1
                where.setdefault(k, p)
            elif n is False:
                pos[k] = pos.get(k, 0) + 1
    only_neg = [k for k in neg if not pos.get(k)]
    pool = sorted(only_neg or list(neg), key=lambda k: -neg[k])
    # one option negated, or one negated clearly more often (across notes) than any other
    choice = pool[0] if pool and (len(pool) == 1 or neg[pool[0]] >= 2 * neg[pool[1]]) else None
    if not neg:
        return Computed("absence", "No option is mentioned negated in the notes", {"choice": None}, [], False)
    text = ("Mentioned as absent / denied in the notes: " + ", ".join(
        f"{a.real_options[k]} ({neg[k]}x negated" + (f", {pos[k]}x affirmed)" if pos.get(k) else ")") for k in neg)
        + (f"; the explicitly absent option: {choice}" if choice else ""))
    return Computed("absence", text, {"choice": choice, "negated": neg, "affirmed": pos},
                    [_as_timeline(where[k]) for k in ([choice] if choice else list(where)[:3])], choice is not None)


# -- treatment cycles ---------------------------------------------------------------------------------------
_ASK_CYCLES = re.compile(r"\bhow many\s+(?:\w+\s+){0,2}?(cycles|courses|rounds)\b", re.I)
_ORDINALS = {w: i for i, w in enumerate(
    "first second third fourth fifth sixth seventh eighth ninth tenth eleventh twelfth".split(), start=1)}
_COUNT_WORDS = {w: i for i, w in enumerate("one two three four five six seven eight nine ten eleven twelve".split(), start=1)}
_CYCLE_NO = re.compile(
    r"\b(?:cycle|course|round)\s*(?:#|no\.?\s*)?(\d{1,2})\b"
    r"|\b(\d{1,2})(?:st|nd|rd|th)\s+(?:cycle|course|round)\b"
    r"|\b(" + "|".join(_ORDINALS) + r")\s+(?:cycle|course|round)\b", re.I)
_CYCLES_DONE = re.compile(
    r"\b(?:completed|received|after|finished|underwent|had|total of|status post|s/p)\s+(?:\w+\s+)?"
    r"(\d{1,2}|" + "|".join(_COUNT_WORDS) + r")\s+(?:cycles|courses|rounds)\b", re.I)
_NOT_GIVEN = re.compile(r"\b(plan(?:ned|s)?|scheduled|will|to receive|recommend\w*|intend\w*|next|further|"
                        r"postpon\w*|cancel\w*|withheld|held|deferred|omitted|not (?:be )?given|delayed)\b", re.I)
_CYCLE_GENERIC = _GENERIC | frozenset(content_tokens("cycles cycle courses course rounds round many total chemotherapy"))


def _clause(text: str, pos: int) -> str:
    """The clause of a sentence around ``pos`` (split at ; : , and "and" / "but")."""
    cuts = [0] + [m.end() for m in re.finditer(r"[;:,]|\b(?:and|but|whereas)\b", text)] + [len(text)]
    return text[max(c for c in cuts if c <= pos):min((c for c in cuts if c > pos), default=len(text))]


def cycle_count(tools: Toolbox, pid: str, a) -> Computed | None:
    m = _ASK_CYCLES.search(a.question)
    if not m or not a.real_options:
        return None
    unit = m.group(1).lower().rstrip("s")
    regimen = [t for t in content_tokens(a.question[m.end():]) if t not in _CYCLE_GENERIC]
    w = {t: tools.idf(pid, t) for t in regimen}
    best, best_p = 0, None
    for p, _own, toks in sentence_dates(tools, pid):
        if unit not in p.text.lower() or (w and _coverage(tools, pid, "", p.text, w, toks) < 0.6):
            continue
        for rx in (_CYCLE_NO, _CYCLES_DONE):
            for mm in rx.finditer(p.text):
                if _NOT_GIVEN.search(_clause(p.text, mm.start())):
                    continue  # "cycle 5 was postponed", "2 further cycles are planned"
                raw = next(g for g in mm.groups() if g)
                n = int(raw) if raw.isdigit() else _ORDINALS.get(raw.lower()) or _COUNT_WORDS.get(raw.lower())
                if n and n > best:
                    best, best_p = n, p
    if not best:
        return None
    hits = [k for k, t in a.real_options.items() if any(abs(v - best) < 1e-6 for v, _, _ in find_numbers(t))]
    choice = hits[0] if len(hits) == 1 else None
    text = (f"Highest {unit} given in the notes: {unit} {best} (\"{best_p.text.strip()}\")"
            + (f"; matching option: {choice}" if choice else "; no single option states that number"))
    return Computed("cycles", text, {"count": best, "choice": choice}, [_as_timeline(best_p)], choice is not None)


# -- which examination showed a finding --------------------------------------------------------------------
_ASK_EXAM = re.compile(
    r"\bwhich\s+(?:\w+\s+)?(?:examination|exam|study|imaging|scan|investigation|test|procedure|report)s?\s+"
    r"(?:showed|shows|revealed|demonstrated|found|detected|documented|confirmed|identified|described)\s+(.+?)\??\s*$", re.I)
_NEG_CUE = re.compile(r"\b(no|not|without|negative for|free of|absence of|absent|ruled? out)\b", re.I)
_EXAM_GENERIC = frozenset(content_tokens("examination exam study report imaging scan follow up"))


def exam_finding(tools: Toolbox, pid: str, a) -> Computed | None:
    m = _ASK_EXAM.search(a.question)
    if not m or not a.real_options:
        return None
    finding = m.group(1)
    fw = {t: tools.idf(pid, t) for t in content_tokens(finding)}
    if not fw:
        return None
    negated = bool(_NEG_CUE.search(finding))
    notes, foreign = tools.notes(pid), tools.foreign_notes(pid)
    dated = sentence_dates(tools, pid)
    scores, best_p = {}, {}
    for k, opt in a.real_options.items():
        days = {d for d, _ in find_dates(opt)}
        if len(days) != 1:
            return None  # the shape this resolver knows: one exam on one date per option
        day = next(iter(days))
        exam = opt
        for _, surface in find_dates(opt):
            exam = exam.replace(surface, " ")  # "abdominal ultrasound on June 6, 2017" -> the exam's words
        ew = {t: tools.idf(pid, t) for t in content_tokens(exam) if t not in _EXAM_GENERIC and not t[0].isdigit()}
        best, bp = 0.0, None
        for p, own, toks in dated:
            if p.note_id in foreign:
                continue
            note = notes.get(p.note_id)
            head = note.text[:300] if note else ""
            in_report = bool(ew) and p.note_date == day and _coverage(tools, pid, "", head, ew) >= 0.6
            named_here = day in own and (not ew or _coverage(tools, pid, "", p.text, ew, toks) >= 0.5)
            if not (in_report or named_here):
                continue
            cov = _coverage(tools, pid, "", p.text, fw, toks)
            if negated != bool(_NEG_CUE.search(p.text)):
                cov *= 0.3  # "no evidence of recurrence" is not shown by a sentence describing recurrence
            if cov > best:
                best, bp = cov, p
        scores[k], best_p[k] = best, bp
    ranked = sorted(scores, key=lambda k: -scores[k])
    choice = _single_out(scores, 0.7)
    if choice:
        text = f"The report of {a.real_options[choice]} states: \"{best_p[choice].text.strip()}\"; matching option: {choice}"
        ps = [_as_timeline(best_p[choice])]
    else:
        text = "No single examination's report clearly states the finding"
        ps = [_as_timeline(best_p[k]) for k in ranked[:2] if best_p[k] is not None]
    return Computed("exam_finding", text, {"choice": choice, "scores": scores}, ps, choice is not None)


# -- days from a drug's start to an adverse event's onset ---------------------------------------------------
_ASK_ONSET = re.compile(
    r"\bhow (?:many|long)\s+(days?|weeks?|months?)?\s*(?:after|following)\s+(?:starting|the start of|initiation of|"
    r"initiating|beginning|commencing|the first dose of)\s+(.+?)\s+(?:did|was|were|had)\s+(?:the\s+|an?\s+)?(.+?)\s+"
    r"(?:begin|start|develop|appear|occur|first appear|set in|manifest|emerge)\w*\b", re.I)
def onset_interval(tools: Toolbox, pid: str, a) -> Computed | None:
    m = _ASK_ONSET.search(a.question)
    if not m or not a.real_options:
        return None
    drug, event = m.group(2).strip(), m.group(3).strip()
    start = tools.event_date(pid, f"start of {drug}")
    if start is None:
        return None
    start_day, start_p = start[0], start[1]
    found = tools.onset_date(pid, event, drug=drug, not_before=start_day, ignore=_GENERIC)
    if found is None:
        return None
    onset_day, onset_p, how = found
    days = (onset_day - start_day).days
    choice = None
    for k, t in a.real_options.items():
        for v, u, _ in find_numbers(t):
            per = {"d": 1.0, None: 1.0, "wk": 7.0, "mo": 30.44}.get(u)
            if per is not None and abs(v * per - days) <= (0.5 if per == 1.0 else per / 2):
                choice = k if choice is None else (choice if choice == k else "ambiguous")
    if choice == "ambiguous":
        choice = None
    text = (f"{days} day(s) from the start of {drug} ({start_day.isoformat()}: \"{start_p.text.strip()}\") to the onset "
            f"of {event} ({onset_day.isoformat()}, {how}: \"{onset_p.text.strip()}\")"
            + (f"; matching option: {choice}" if choice else "; no option states that interval"))
    return Computed("onset_interval", text, {"days": days, "choice": choice, "start": start_day, "onset": onset_day},
                    [_as_timeline(start_p), _as_timeline(onset_p)], choice is not None)


# -- why a drug was stopped / switched ---------------------------------------------------------------------
_ASK_STOP_REASON = re.compile(
    r"\b(?:adverse (?:effect|event|reaction|drug reaction)|side[- ]effect|complication|reason|why|cause)\b.*?"
    r"\b(?:switch(?:ed|ing)? away from|switch(?:ed|ing)? from|chang\w* from|stop(?:ped|ping)?|discontinu\w*|"
    r"withdraw\w*|cessation of|replacement of|replac\w*)\s+(?:the\s+)?(.+?)\s*(?:\?|$|\b(?:was|to|in|on)\b)", re.I)
_CAUSE = re.compile(r"\b(?:because of|due to|owing to|secondary to|on account of|in view of|after developing)\s+|\(", re.I)
_STOP_OR_SWITCH = re.compile(r"\b(stopp|discontinu|ceased|withdrawn|switched|replaced|changed|held)\w*", re.I)


def stop_reason(tools: Toolbox, pid: str, a) -> Computed | None:
    m = _ASK_STOP_REASON.search(a.question)
    if not m or not a.real_options:
        return None
    dw = {t for t in content_tokens(m.group(1)) if t not in _GENERIC}
    if not dw:
        return None
    reasons = []  # (cause text, passage)
    for p, _own, toks in sentence_dates(tools, pid):
        if not dw <= toks:
            continue
        stop = _STOP_OR_SWITCH.search(p.text)
        if not stop:
            continue
        cause = _CAUSE.search(p.text, stop.end())
        if cause:
            reasons.append((p.text[cause.end():], p))
    if not reasons:
        return None
    scores, where = {}, {}
    for k, t in a.real_options.items():
        w = _weights(tools, pid, t)
        best = max(((_coverage(tools, pid, t, r, w), p) for r, p in reasons), key=lambda x: x[0])
        scores[k], where[k] = best
    choice = _single_out(scores, 0.6)
    if choice:
        text = f"Stopped / switched because of: \"{where[choice].text.strip()}\"; the cause named: option {choice}"
        ps = [_as_timeline(where[choice])]
    else:
        text = "The stop / switch sentences name no single option as the cause: " + "; ".join(
            f"\"{p.text.strip()}\"" for _, p in reasons[:3])
        ps = [_as_timeline(p) for _, p in reasons[:3]]
    return Computed("stop_reason", text, {"choice": choice, "scores": scores}, ps, choice is not None)


RESOLVERS = (onset_interval, cycle_count, exam_finding, stop_reason, dose_path, replacement, indication, explicit_absence, anchored)


def chain_answers(tools: Toolbox, pid: str, a, assertions=None) -> list[Computed]:
    """Every resolver whose question shape fits; the first one that singles out an option comes first."""
    out = []
    for fn in RESOLVERS:
        try:
            c = fn(tools, pid, a, assertions) if fn is explicit_absence else fn(tools, pid, a)
        except Exception:  # a resolver must never stop the answer
            c = None
        if c is not None:
            out.append(c)
            if c.documented:
                break
    return out
