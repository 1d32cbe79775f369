"""`clinqa eval --ray`: the questions fan out over Ray actors, one patient's questions to one actor at a time.

A patient's questions go together to one actor, asked in their planned order, so an LLM server's prefix
cache (system prompt, the patient's note index) stays warm for that patient. Each actor opens the run's
workspace read-only in practice (the driver ingested and indexed it before fanning out) and builds one
``ClinicalQA``. Records come back to the driver, which alone appends them to the run log
(``evals.harness.run_eval``), so the log stays the single source of truth: a run interrupted with or
without ``--ray`` resumes either way, and the report is computed from the same records as a
single-process run's.

On one machine the actors read the workspace's files directly. On many machines (design) each actor needs
its patients' shard: the patient-sharded layout of ``scale.ingest`` places a patient's group on a node that
holds (or mounts) that shard.
"""
from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path

from evals.harness import EvalConfig, TaskItem, answer_item
from scale.cluster import Cluster, worker_env


class _Answerer:
    """Ray actor: one warmed ``ClinicalQA`` over the run's workspace."""

    def __init__(self, home: str, cfg: EvalConfig):
        from agent import ClinicalQA
        from clinqa.workspace import Workspace

        self.ws = Workspace(Path(home))
        self.qa = ClinicalQA(self.ws, backend=cfg.backend, model=cfg.model, mode=cfg.mode, base_url=cfg.base_url)
        self._texts: dict[str, dict[str, str]] = {}

    def answer(self, group: list[TaskItem]) -> list[dict]:
        pid = group[0].patient_id
        if pid not in self._texts:
            self._texts[pid] = {n.note_id: n.text for n in self.ws.store.notes(pid)}
        return [answer_item(self.qa, it, self._texts[pid]) for it in group]


def by_patient(items: list[TaskItem]) -> list[list[TaskItem]]:
    """Items grouped by their workspace patient, groups and questions in planned order."""
    groups: dict[str, list[TaskItem]] = {}
    for it in items:
        groups.setdefault(it.patient_id, []).append(it)
    return list(groups.values())


def ray_fan_out(cfg: EvalConfig, cluster: Cluster, workers: int | None = None) -> Callable:
    """A ``fan_out`` for ``run_eval``: answers on ``workers`` Ray actors (default: the cluster's CPUs)."""

    def fan_out(ws, todo: list[TaskItem]) -> Iterator[dict]:
        import ray
        from ray.util import ActorPool

        groups = by_patient(todo)
        if not groups:
            return
        n = max(1, min(workers or cluster.cpus, cluster.cpus, len(groups)))  # an actor per CPU at most
        actor = ray.remote(num_cpus=1, max_restarts=1, max_task_retries=1, runtime_env=worker_env())(_Answerer)
        actors = [actor.remote(str(Path(ws.home).resolve()), cfg) for _ in range(n)]
        try:
            pool = ActorPool(actors)
            for records in pool.map_unordered(lambda a, g: a.answer.remote(g), groups):
                yield from records
        finally:
            for a in actors:
                ray.kill(a)

    return fan_out
