"""Rule-based relations between concept mentions of one sentence.

* adverse_event_of (on the PROBLEM, target = drug): "rash after starting X", "X discontinued due to Y",
  "Y secondary to X", "X-induced Y", "allergic to X (rash)".
* indication_of (on the DRUG, target = problem): "X for Y", "started X for Y".
"""
from __future__ import annotations

import re

_STOP_VERBS = r"(?:discontinued|stopped|held|d/c'?d|dc'?d|ceased|withdrawn|switched|changed|reduced|decreased|tapered|halted|suspended|interrupted|taken off)"
DRUG_THEN_PROBLEM_ADVERSE = [
    ("ae:stopped_due_to", re.compile(r"^[^.;]{0,60}?\b" + _STOP_VERBS + r"\b[^.;]{0,30}?\b(?:due to|because of|secondary to|given|for|after|in the setting of|in setting of|owing to|as a result of)\s+(?:(?:an?|the|his|her|new|worsening|acute|severe|possible|suspected|presumed|likely)\s+){0,3}$", re.I)),
    ("ae:induced", re.compile(r"^\s*-?\s*(?:induced|associated|related|caused|provoked|triggered)\s+$", re.I)),
    ("ae:caused", re.compile(r"^\s*(?:caused|induced|provoked|triggered|led to|resulted in|precipitated)\s+(?:(?:an?|the|his|her)\s+)?$", re.I)),
    ("ae:allergy", re.compile(r"^\s*(?:allergy|intolerance|reaction)?\s*[(:-]\s*$", re.I)),
]
PROBLEM_THEN_DRUG_ADVERSE = [
    ("ae:after_starting", re.compile(r"^[^.;]{0,40}?\b(?:after|following|since|upon|with)\s+(?:(?:starting|initiation of|initiating|beginning|being started on|started on|taking|receiving|administration of|exposure to|treatment with|the first dose of|a dose of|the start of|start of|use of)\s+)(?:(?:the|his|her)\s+)?$", re.I)),
    ("ae:secondary_to", re.compile(r"^\s*(?:(?:was|is|were|likely|probably|possibly|thought to be|felt to be|presumed)\s+){0,3}(?:secondary to|due to|caused by|attributed to|induced by|related to|from|associated with|attributable to|because of)\s+(?:(?:the|his|her|recent|new)\s+)?$", re.I)),
    ("ae:on", re.compile(r"^\s*(?:developed|occurred)?\s*(?:while|when)\s+(?:on|taking|receiving)\s+$", re.I)),
]
DRUG_THEN_PROBLEM_INDICATION = re.compile(
    r"^(?P<gap>[^.;]{0,80}?)\bfor\s+(?:(?:his|her|their|the|a|an|presumed|possible|suspected|treatment of|management of|worsening|new|acute|chronic|known|ongoing|persistent|recurrent|control of|prophylaxis of|presumptive)\s+){0,3}$",
    re.I,
)
PROBLEM_THEN_DRUG_INDICATION = re.compile(
    r"^\s*(?:was|is|were|being|has been)?\s*(?:treated|managed|controlled)\s+with\s+(?:(?:the|oral|iv|intravenous)\s+)?$|^\s*,?\s*(?:on|requiring)\s+$",
    re.I,
)
_STOP_IN_GAP = re.compile(r"\b" + _STOP_VERBS + r"\b", re.I)


def relate(text: str, mentions: list, sent_of: dict[int, int]) -> list[tuple[object, str, object, str]]:
    """(source fact, kind, target fact, rule) for mentions (Facts sorted by start) of the same sentence."""
    out = []
    n = len(mentions)
    for i in range(n):
        a = mentions[i]
        for j in range(i + 1, min(n, i + 8)):
            b = mentions[j]
            if sent_of.get(id(a)) != sent_of.get(id(b)):
                break
            gap = text[a.end : b.start]
            ta, tb = a.type._value_, b.type._value_
            if ta == "DRUG" and tb == "PROBLEM":
                hit = next((r for r, rx in DRUG_THEN_PROBLEM_ADVERSE if rx.search(gap)), None)
                if hit == "ae:allergy" and not (a.section == "allergies" or "allerg" in text[max(0, a.start - 40):a.start].lower()):
                    hit = None
                if hit:
                    out.append((b, "adverse_event_of", a, hit))
                    continue
                m = DRUG_THEN_PROBLEM_INDICATION.search(gap)
                if m and not _STOP_IN_GAP.search(m.group("gap")) and not _has_between(mentions, i, j, "PROBLEM"):
                    out.append((a, "indication_of", b, "ind:for"))
            elif ta == "PROBLEM" and tb == "DRUG":
                hit = next((r for r, rx in PROBLEM_THEN_DRUG_ADVERSE if rx.search(gap)), None)
                if hit:
                    out.append((a, "adverse_event_of", b, hit))
                    continue
                if PROBLEM_THEN_DRUG_INDICATION.search(gap):
                    out.append((b, "indication_of", a, "ind:treated_with"))
    return out


def _has_between(mentions, i, j, type_name) -> bool:
    return any(mentions[k].type.value == type_name for k in range(i + 1, j))
