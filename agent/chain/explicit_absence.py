"""A question that asks for an absence (denied, ruled out, not given): the option the notes mention negated.

Measured on the dev sets together: in visit dialogues "which did she NOT report" is what she denied, so every
negated question uses it (ACI-BENCH negation 42/53 this way, 37/53 when only 'denied / ruled out' questions did).
An option also affirmed elsewhere is taken only when negated more often than affirmed: a drug given for weeks and
once "stopped" is not the one never given."""
from __future__ import annotations

from agent.records import Intent
from agent.tools import Computed, Toolbox
from agent.understand import content_tokens
from agent.chain.common import as_timeline, register

FULL_COVER, HALF_COVER = 0.75, 0.5


@register("explicit_absence", kind="absence")
def explicit_absence(tools: Toolbox, pid: str, a, intent: Intent, assertions=None) -> Computed | None:
    """"Which symptom did the patient deny / what was ruled out": the answer is the option the notes mention
    *negated* ("denies dysuria", "no liver metastases"), not one they never mention."""
    if not intent.negated or not a.real_options or assertions is None:
        return None
    neg, pos, where = {}, {}, {}
    for k, t in a.real_options.items():
        o = set(content_tokens(t))
        if not o:
            continue
        df = tools._patient(pid)[3]
        seen = {x: tools.idf(pid, x) for x in o if df.get(x)}  # a word the record never uses is no evidence
        rarest = max(sorted(seen), key=seen.get) if seen else None  # a tie goes the same way every run
        for p in tools.lexical(pid, t, k=10):
            toks = set(content_tokens(p.text))
            # a paraphrased option ("black, tarry stools" for "dark, tarry stools") counts when its rarest word
            # is there and it is half covered
            if p.score < FULL_COVER and not (p.score >= HALF_COVER and rarest in toks):
                continue
            shared = {x for x in o if x in toks and not x[0].isdigit()}
            n = assertions.phrase_negated(p.text, shared) if shared else None
            if n:
                neg[k] = neg.get(k, 0) + 1
                where.setdefault(k, p)
            elif n is False:
                pos[k] = pos.get(k, 0) + 1
    only_neg = [k for k in neg if not pos.get(k)]
    # an option also affirmed elsewhere counts when it is negated more often than affirmed ("any chest pain?" -
    # "no"), not a drug given for weeks and once "stopped"
    pool = sorted(only_neg or [k for k in neg if neg[k] >= pos.get(k, 0)], key=lambda k: -neg[k])
    # one option negated, or one negated clearly more often (across notes) than any other
    choice = pool[0] if pool and (len(pool) == 1 or neg[pool[0]] >= 2 * neg[pool[1]]) else None
    if not neg:
        return Computed("absence", "No option is mentioned negated in the notes", {"choice": None}, [], False)
    text = ("Mentioned as absent / denied in the notes: " + ", ".join(
        f"{a.real_options[k]} ({neg[k]}x negated" + (f", {pos[k]}x affirmed)" if pos.get(k) else ")") for k in neg)
        + (f"; the explicitly absent option: {choice}" if choice else ""))
    # the negated mentions go to the reasoner only for options the record negates at least as often as it affirms
    return Computed("absence", text, {"choice": choice, "negated": neg, "affirmed": pos},
                    [as_timeline(where[k]) for k in ([choice] if choice else pool[:3])], choice is not None)
