"""agent: LangGraph clinical QA over the patient graph, timeline and retrieval, with verified, cited answers."""
from agent.records import AgentEvent, Answer, Citation, FactUsed, Finding, Verification

__all__ = ["ClinicalQA", "Answer", "Citation", "Verification", "AgentEvent", "FactUsed", "Finding"]


def __getattr__(name: str):
    # ClinicalQA pulls in LangGraph and the layers below: import it on first use only
    if name == "ClinicalQA":
        from agent.qa import ClinicalQA

        return ClinicalQA
    raise AttributeError(name)
