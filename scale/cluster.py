"""Connecting `--ray ADDRESS` to a Ray cluster, or starting one on this machine (`--ray local`).

An address that cannot be reached is a clear error naming it, raised before the workspace is opened, so a
failed connection writes nothing. The dashboard and usage statistics stay off (on-prem hosts have no
network beyond the cluster). Workers get the driver's ``CLINQA_*`` and offline settings, so they load the
same embedder, extractor resources and LLM endpoint as a single-process run (``worker_env``).
"""
from __future__ import annotations

import contextlib
import logging
import os
import socket
from collections.abc import Iterator
from dataclasses import dataclass

from clinqa.errors import InputError, NotAvailableError

LOCAL = "local"  # `--ray local`: start a one-machine cluster for this command
CONNECT_TIMEOUT_S = 5.0
_FORWARDED_ENV = ("HF_HUB_OFFLINE", "TRANSFORMERS_OFFLINE", "TOKENIZERS_PARALLELISM")


@dataclass(frozen=True)
class Cluster:
    """What the command may use of the connected cluster (logical resources as Ray counts them)."""

    address: str
    cpus: int
    gpus: int


def _ray():
    os.environ.setdefault("RAY_USAGE_STATS_ENABLED", "0")
    try:
        import ray
    except ImportError as e:
        raise NotAvailableError(f"--ray needs the scale extra: pip install -e \".[scale]\" ({e})") from None
    return ray


def _host_port(address: str) -> tuple[str, int] | None:
    """(host, port) of a ``host:port`` or ``ray://host:port`` address; None for ``auto`` (found by Ray itself)."""
    rest = address.removeprefix("ray://")
    if address == "auto":
        return None
    host, sep, port = rest.rpartition(":")
    if not sep or not host or not port.isdigit():
        raise InputError(f"bad Ray address {address!r}: use local, auto, HOST:PORT (the head's GCS port, "
                         "usually 6379) or ray://HOST:PORT (Ray Client, usually 10001)")
    return host.strip("[]"), int(port)


def _check_reachable(address: str) -> None:
    hp = _host_port(address)
    if hp is None:
        return
    try:
        with socket.create_connection(hp, timeout=CONNECT_TIMEOUT_S):
            pass
    except OSError as e:
        raise InputError(f"cannot reach the Ray cluster at {address!r} ({e.strerror or e}); is `ray start --head` "
                         "running there and the port open? Nothing was written") from None


def worker_env() -> dict:
    """The Ray ``runtime_env`` for this command's actors: the driver's clinqa settings at the time of the call."""
    return {"env_vars": {k: v for k, v in os.environ.items() if k.startswith("CLINQA_") or k in _FORWARDED_ENV}}


@contextlib.contextmanager
def connect(address: str, num_cpus: int | None = None) -> Iterator[Cluster]:
    """Connect to (or start, for ``local``) a Ray cluster for the length of one command.

    A Ray session this process already holds (a test's local cluster, a notebook's) is used as it is and
    left running; one started or joined here is shut down on exit. A ``HOST:PORT`` address is checked first
    either way, so a typo is an error, never a silent fall-back to another cluster.
    """
    ray = _ray()
    if address != LOCAL:
        _check_reachable(address)
    owned = not ray.is_initialized()
    if owned:
        if address == LOCAL:
            ray.init(num_cpus=num_cpus or os.cpu_count(), include_dashboard=False, log_to_driver=False,
                     logging_level=logging.WARNING)
        else:
            try:
                ray.init(address=address, log_to_driver=False, logging_level=logging.WARNING)
            except (ConnectionError, RuntimeError, TimeoutError, ValueError) as e:
                raise InputError(f"cannot connect to the Ray cluster at {address!r}: {str(e).splitlines()[0]}; "
                                 "nothing was written") from None
    logging.getLogger("ray.data").setLevel(logging.WARNING)  # per-dataset INFO lines drown the ingest summary
    try:
        res = ray.cluster_resources()
        yield Cluster(address, int(res.get("CPU", 0)), int(res.get("GPU", 0)))
    finally:
        if owned:
            ray.shutdown()
