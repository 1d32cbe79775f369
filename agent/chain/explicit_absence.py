"""A question that asks for a stated absence (denied, ruled out, absent): the option the notes mention negated.

"Which drug was NOT given" asks for what the record omits instead; that is left to the option judgment."""
from __future__ import annotations

from agent.intent import shared_parser
from agent.records import Intent
from agent.tools import Computed, Toolbox
from agent.understand import content_tokens
from agent.chain.common import as_timeline, register


@register("explicit_absence", kind="absence")
def explicit_absence(tools: Toolbox, pid: str, a, intent: Intent, assertions=None) -> Computed | None:
    """"Which symptom did the patient deny / what was ruled out": the answer is the option the notes mention
    *negated* ("denies dysuria", "no liver metastases"), not one they never mention."""
    if (not intent.negated or not a.real_options or assertions is None
            or not shared_parser().documented_absence(a.question)):
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
                    [as_timeline(where[k]) for k in ([choice] if choice else list(where)[:3])], choice is not None)
