"""Helpers shared by test modules."""

import contextlib
import json
import os

import jax
import numpy as np


@contextlib.contextmanager
def count_compiles():
    """Collect one entry per XLA backend compile while the block runs."""
    events = []

    def listener(name, duration, **kwargs):
        if name == "/jax/core/compile/backend_compile_duration":
            events.append(name)

    jax.monitoring.register_event_duration_secs_listener(listener)
    try:
        yield events
    finally:
        jax.monitoring.unregister_event_duration_listener(listener)


def fast_codegen(env=None):
    """A copy of ``env`` (default: this process's environment) whose XLA compiles its CPU code
    with LLVM's optimisation at level 0: about half the compile time, and no value changes on the
    integer data the subprocess checks use. XLA's HLO passes (the algebraic simplifier, where the
    known aborts happen) run at every level, so a check of the abort guards stays a check."""
    env = dict(os.environ if env is None else env)
    env["XLA_FLAGS"] = f"{env.get('XLA_FLAGS', '')} --xla_backend_optimization_level=0".strip()
    return env


def load_golden(path):
    """Cases of a ``tests/data/golden_*.npz`` written by ``make_golden.py``, in file order:
    ``[{"config": {...}, "arrays": {name: array}, "out": array}, ...]``."""
    cases: dict[str, dict] = {}
    with np.load(path) as z:
        for key in z.files:
            prefix, name = key.split("/")
            if not prefix.startswith("case"):
                continue
            case = cases.setdefault(prefix, {"arrays": {}})
            if name == "config":
                case["config"] = json.loads(str(z[key]))
            elif name == "out":
                case["out"] = z[key]
            else:
                case["arrays"][name] = z[key]
    return [cases[k] for k in sorted(cases)]
