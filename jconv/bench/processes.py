"""One process per implementation: the parent spawns a worker module, the worker answers.

The parent runs ``python -m jconv.bench.<framework>_worker --spec JSON`` (:func:`spawn`); the
worker's ``__main__`` block hands its ``work(spec)`` to :func:`serve`, which prints the result as
one marked JSON line on stdout, and the parent parses it. Workers run one after the other, so no
framework's thread pool (XLA's, PyTorch's OpenMP, TensorFlow's) competes with another's for the
cores, and no allocator state carries over. The PyTorch and TensorFlow workers import the
``jconv`` package (``python -m`` imports a module's parents) but never call JAX, so no XLA
backend, and none of its threads, starts in them.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
from collections.abc import Callable, Sequence
from typing import Any

Spec = dict[str, Any]
"""What a worker runs: ``workloads``, ``check_workloads`` (``dataclasses.asdict`` forms),
``repeats`` (minimum runs per op), ``check_dir`` (None: no check), ``impls``, ``torch_check``
(the JAX worker also writes ``jconv-torch-args``) and ``matmul`` (the JAX worker times the peak;
default True)."""

Result = dict[str, Any]
"""A worker's answer: ``framework``, ``measurements``, ``versions`` and framework details
(``backend``/``devices``/``matmul`` from JAX, ``threads`` from PyTorch and TensorFlow)."""

WORKER_MODULES = {
    "jax": "jconv.bench.jax_worker",
    "torch": "jconv.bench.torch_worker",
    "tf": "jconv.bench.tf_worker",
}
"""The module each worker runs as, by framework."""

_RESULT_MARK = "JCONV-BENCH-RESULT "


def spawn(worker: str, spec: Spec, verbose: bool) -> Result:
    """Run one worker in a fresh interpreter and parse its result line.

    The child imports ``jconv`` from the directory this process imported it from, so a source
    checkout need not be installed.

    Raises:
      RuntimeError: the worker exited with an error or printed no result (its stderr, unless
        ``verbose`` streamed it, and the end of its stdout are in the message).
    """
    import jconv

    root = os.path.dirname(os.path.abspath(next(iter(jconv.__path__))))
    env = dict(os.environ, TF_CPP_MIN_LOG_LEVEL="2")
    env["PYTHONPATH"] = os.pathsep.join(p for p in (root, env.get("PYTHONPATH")) if p)
    cmd = [sys.executable, "-m", WORKER_MODULES[worker], "--spec", json.dumps(spec)]
    proc = subprocess.run(
        cmd, stdout=subprocess.PIPE, stderr=None if verbose else subprocess.PIPE, text=True, env=env
    )
    lines = [ln for ln in proc.stdout.splitlines() if ln.startswith(_RESULT_MARK)]
    if proc.returncode or not lines:
        tail = (proc.stderr or "")[-2000:] + proc.stdout[-1000:]
        raise RuntimeError(
            f"jconv.bench: the {worker} worker failed (exit {proc.returncode}):\n{tail}"
        )
    return json.loads(lines[-1][len(_RESULT_MARK) :])


def serve(work: Callable[[Spec], Result], argv: Sequence[str] | None = None) -> int:
    """A worker's entry: parse ``--spec JSON``, run ``work(spec)``, print the result line."""
    parser = argparse.ArgumentParser(description="a jconv.bench worker (spawned by the parent)")
    parser.add_argument("--spec", required=True, help="the JSON spec (see jconv.bench.processes)")
    args = parser.parse_args(argv)
    result = work(json.loads(args.spec))
    print(_RESULT_MARK + json.dumps(result), flush=True)
    return 0
