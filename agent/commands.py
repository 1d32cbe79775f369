"""`clinqa ask`: answer a question about one patient with a verification badge and numbered citations."""
from __future__ import annotations

import json
import os
from typing import Optional

import typer

from clinqa.errors import InputError


def _parse_options(raw: list[str] | None) -> dict[str, str] | None:
    if not raw:
        return None
    out: dict[str, str] = {}
    for item in raw:
        if "=" not in item:
            raise InputError(f"option {item!r} must look like A=\"answer text\"")
        k, v = item.split("=", 1)
        if k.strip().upper() in out:
            raise InputError(f"option {k.strip().upper()} given twice")
        out[k.strip().upper()] = v.strip()
    return out


def register(app: typer.Typer) -> None:
    @app.command()
    def ask(
        patient: str = typer.Argument(..., help="Patient id (see `clinqa patients`)."),
        question: str = typer.Argument(..., help="The question, in quotes."),
        option: Optional[list[str]] = typer.Option(None, "--option", "-o", help='Answer option, e.g. -o A="R-CHOP" (repeat).'),
        backend: str = typer.Option(os.environ.get("CLINQA_LLM_BACKEND", "local"), help="local | openai | extractive"),
        model: Optional[str] = typer.Option(None, help="qwen2.5-1.5b (default) | qwen2.5-0.5b | path to a .gguf"),
        base_url: Optional[str] = typer.Option(None, help="OpenAI-compatible server URL (openai backend)."),
        mode: str = typer.Option("stack", help="stack | collapsed (raw notes, for comparison)"),
        no_abstain: bool = typer.Option(False, "--no-abstain", help="Always pick an option."),
        no_entail: bool = typer.Option(False, "--no-entail", help="LLM backends: skip the model's entailment check on "
                                       "the cited clause (the answer is then verified by the typed checks alone)."),
        as_json: bool = typer.Option(False, "--json", help="Print the full Answer as JSON."),
    ) -> None:
        """Answer a question about a patient, with verified, cited evidence."""
        from agent.qa import ClinicalQA
        from agent.render import render_answer
        from clinqa.workspace import Workspace

        opts = _parse_options(option)
        ws = Workspace()
        ws.store.require_patient(patient)
        qa = ClinicalQA(ws, backend=backend, model=model, mode=mode, base_url=base_url,
                        entail=False if no_entail else None)
        try:
            ans = qa.ask(patient, question, options=opts, allow_abstain=not no_abstain)
        finally:
            qa.close()
        if as_json:
            typer.echo(json.dumps(ans.model_dump(mode="json"), indent=2))
        else:
            typer.echo(render_answer(ans))
