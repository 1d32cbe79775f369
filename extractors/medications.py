"""Medication attributes next to a drug mention: dose, unit, route, frequency and change status."""
from __future__ import annotations

import re
from typing import Any

from extractors._resources import load_resource


def _alt(words, cs_short: bool = False) -> str:
    parts = []
    for w in sorted(words, key=len, reverse=True):
        body = re.escape(w).replace(r"\ ", r"\s+")
        if cs_short and w.isupper() and len(w) <= 4:
            body = f"(?-i:{body})"
        parts.append(body)
    return "|".join(parts)


class MedicationAttributes:
    def __init__(self) -> None:
        data = load_resource("medications")
        self.version = data["version"]
        self.routes = {k.lower(): v for k, v in data["routes"].items()}
        self.freqs = {re.sub(r"\s+", " ", k.lower()): v for k, v in data["frequencies"].items()}
        unit_alt = _alt(data["dose_units"])
        num = r"\d+(?:[.,]\d+)?"
        self.dose_rx = re.compile(
            r"(?<![\w.])(?P<dose>" + num + r"(?:\s*(?:-|–|to|/)\s*" + num + r")?)\s*(?P<unit>" + unit_alt + r")(?![\w/])",
            re.I,
        )
        self.route_rx = re.compile(r"(?<![\w/])(?:" + _alt(data["routes"].keys(), cs_short=True) + r")(?![\w/])", re.I)
        self.freq_rx = re.compile(r"(?<![\w/])(?:" + _alt(data["frequencies"].keys()) + r")(?![\w/])", re.I)
        trig = []
        self.trigger_status: dict[str, str] = {}
        for status, words in data["change_triggers"].items():
            for w in words:
                self.trigger_status[re.sub(r"\s+", " ", w.lower())] = status
                trig.append(w)
        self.change_rx = re.compile(r"(?<![\w/])(?:" + _alt(trig) + r")(?![\w/])", re.I)
        self.passive_rx = re.compile(r"\b(?:" + _alt(data["passive_auxiliaries"]) + r")\s+$", re.I)

    def attributes(self, text: str, start: int, end: int, limit: int) -> tuple[dict[str, Any], tuple[int, int] | None]:
        """Attributes in text[end:limit] right after a drug mention (or a dose right before it: "40 mg of
        furosemide"); returns (attrs, absolute char span of the dose or None)."""
        attrs: dict[str, Any] = {}
        window = text[end:limit]
        # stop at the next clause that is clearly about something else
        cut = re.search(r"[;\n]|\.\s|,\s+(?:and\s+)?(?=[A-Z])|\bfor\b|\bdue to\b|\bbecause\b", window)
        if cut:
            window = window[: cut.start()]
        dose_span = None
        m = self.dose_rx.search(window)
        if m and m.start() <= 40:
            attrs["dose"] = _num(m.group("dose"))
            attrs["unit"] = m.group("unit")
            dose_span = (end + m.start(), end + m.end())
        for rx, key, table in ((self.route_rx, "route", self.routes), (self.freq_rx, "frequency", self.freqs)):
            for m in rx.finditer(window):
                if m.start() > 60:
                    break
                val = table.get(re.sub(r"\s+", " ", m.group().lower()))
                if val is None:
                    continue
                attrs[key] = val
                attrs[f"{key}_text"] = m.group()
                break
        if "dose" not in attrs:  # "40 mg of furosemide"
            lo = max(0, start - 30)
            lm = re.search(r"(?P<dose>\d+(?:[.,]\d+)?)\s*(?P<unit>mg|mcg|g|units|mL|IU)\s+(?:of\s+)?$", text[lo:start], re.I)
            if lm:
                attrs["dose"] = _num(lm.group("dose"))
                attrs["unit"] = lm.group("unit")
                dose_span = (lo + lm.start(), lo + lm.end("unit"))
        return attrs, dose_span

    def change(self, text: str, sent_start: int, sent_end: int, start: int, end: int,
               others: list[tuple[int, int]]) -> tuple[str, str] | None:
        """(status, trigger text) of the change trigger nearest the mention within its sentence, if any.

        A trigger closer to another drug mention of the same sentence belongs to that one, unless the
        drugs are coordinated ("started lisinopril and metformin").
        """
        best = None
        for m in self.change_rx.finditer(text, sent_start, sent_end):
            ts, te = m.span()
            if te <= start:
                if self.passive_rx.search(text[max(sent_start, ts - 12):ts]):
                    continue  # "X was stopped, and Y ...": a passive trigger names the drug before it
                dist = start - te
                between = text[te:start]
            elif ts >= end:
                dist = ts - end
                between = text[end:ts]
            else:
                continue
            if dist > 60:
                continue
            word = re.sub(r"\s+", " ", m.group().lower())
            status = self.trigger_status.get(word)
            if status is None:
                continue
            if word in ("new", "newly", "add", "added") and not (te <= start and dist <= 12):
                continue  # "new" only right before the drug ("new Lasix"), never "new onset" elsewhere
            if word in ("change", "changed") and ts >= end and "to" not in between:
                pass
            blocked = False
            for os_, oe in others:
                if (te <= start and te <= os_ < start) or (ts >= end and end <= oe <= ts):
                    o_dist = min(abs(os_ - te), abs(ts - oe))
                    if o_dist < dist and not re.search(r"\band\b|,|/", text[min(oe, start):max(os_, end)] if os_ < start else text[end:os_]):
                        blocked = True
                        break
            if blocked:
                continue
            if re.search(r"[.;:]\s", between):
                continue
            if best is None or dist < best[0]:
                best = (dist, status, m.group())
        if best is None:
            return None
        return best[1], best[2]


def _num(s: str):
    s = s.replace(",", ".").strip()
    try:
        f = float(s)
        return int(f) if f.is_integer() and "." not in s else f
    except ValueError:
        return s
