"""Plain-text rendering of an Answer (CLI `clinqa ask`, `clinqa demo`)."""
from __future__ import annotations

from agent.records import Answer

BADGES = {"verified": "[VERIFIED]", "partial": "[PARTIAL]", "unsupported": "[NOT VERIFIED]", "abstained": "[NOT DOCUMENTED]",
          "conflict": "[CONFLICT]"}


def conflicts_shown(ans: Answer) -> list[str]:
    """The verifier's conflict findings ('"<claim>" vs "<fact>": why'), once each: the answer rests on a sentence
    that the record's allergy or medication list contradicts, so it is shown as a conflict, not as an answer."""
    return list(dict.fromkeys(f.detail for f in ans.verification.findings
                              if f.check == "conflict" and f.status == "contradicted"))


def render_answer(ans: Answer, width: int = 100) -> str:
    lines = []
    conflicts = conflicts_shown(ans)
    if conflicts:
        lines.append(f"{BADGES['conflict']} not answered: the evidence contradicts the record's lists")
        lines += [f"   conflict: {c}" for c in conflicts]
    else:
        choice = f"{ans.choice}. " if ans.choice else ""
        lines.append(f"{BADGES.get(ans.verification.status, ans.verification.status)} {choice}{ans.text}")
        if ans.verification.reason:
            lines.append(f"   why: {ans.verification.reason}")
    passed = [f.check for f in ans.verification.findings if f.status == "supported" and f.check != "citation"]
    typed_only = any(f.check == "entailment" and f.status == "skipped" for f in ans.verification.findings)
    if passed or typed_only:
        lines.append(f"   checks passed: {', '.join(dict.fromkeys(passed)) or 'none'}"
                     + (" (typed checks only: no LLM entailment)" if typed_only else ""))
    for letter, check in sorted(ans.option_checks.items()):
        mark = "*" if letter == ans.choice else " "
        lines.append(f"  {mark}option {letter}: {check if len(check) <= width else check[: width - 3] + '...'}")
    for i, c in enumerate(ans.citations, 1):
        quote = " ".join(c.quote.split())
        if len(quote) > width:
            quote = quote[: width - 3] + "..."
        lines.append(f"   [{i}] {c.note_id} ({c.note_date or 'undated'}) chars {c.start}-{c.end}: \"{quote}\"")
    if ans.excluded_notes:
        lines.append(f"   note: {len(ans.excluded_notes)} note(s) of this chart name another patient and were left out: "
                     + ", ".join(ans.excluded_notes[:5]) + (" ..." if len(ans.excluded_notes) > 5 else ""))
    for f in ans.flagged:
        lines.append(f"   flagged, not evidence: {f.note_id} chars {f.start}-{f.end} ({f.reason}): "
                     f"\"{' '.join(f.quote.split())[:width]}\"")
    for f in ans.facts_used:
        if f.kind != "fact":
            lines.append(f"   computed: {f.text}")
    t = ans.timings.get("total")
    tok = ans.tokens
    lines.append(f"   route: {' -> '.join(r.split(':')[0] for r in ans.route)} | kind={ans.kind} backend={ans.backend}"
                 + (f" model={ans.model}" if ans.model else "") + (f" | {t:.2f}s" if t is not None else "")
                 + (f" | tokens {tok.get('prompt', 0)}+{tok.get('completion', 0)}" if tok.get("prompt") else ""))
    return "\n".join(lines)
