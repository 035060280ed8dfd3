"""Helpers shared by test modules."""

import contextlib
import json

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
