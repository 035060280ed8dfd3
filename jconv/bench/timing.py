"""Timing one call in a worker: warm-up, the median of repeated runs, the CPU share it got.

Every worker (JAX, PyTorch, TensorFlow) times through :func:`measure`, so every implementation
is measured the same way; only ``sync``, which waits for a result, differs between frameworks.
"""

from __future__ import annotations

import os
import statistics
import sys
import time
from collections.abc import Callable, Sequence
from typing import Any

from jconv.bench.workloads import OPS, Workload

Measurement = dict[str, Any]
"""``workload``, ``op``, ``impl``, ``times_ms`` (every timed run), ``cpu_share`` and
``peak_mib``."""


def _status_kib(field: str) -> int | None:
    """``field`` (``VmRSS``, ``VmHWM``) of ``/proc/self/status`` in KiB; None off Linux."""
    try:
        with open("/proc/self/status") as status:
            for line in status:
                if line.startswith(field + ":"):
                    return int(line.split()[1])
    except OSError:
        pass
    return None


def _reset_peak() -> int | None:
    """Give freed heap pages back (``malloc_trim``), reset the resident-set high-water mark
    (``/proc/self/clear_refs``, Linux 4.0+) and return the resident set now (KiB)."""
    try:
        import ctypes

        ctypes.CDLL("libc.so.6").malloc_trim(0)
        with open("/proc/self/clear_refs", "w") as refs:
            refs.write("5")
    except (OSError, AttributeError):
        return None
    return _status_kib("VmRSS")


def cpu_count() -> int:
    """The cores this process may run on (its affinity mask; all of them off Linux)."""
    try:
        return len(os.sched_getaffinity(0))
    except AttributeError:  # not on Linux
        return os.cpu_count() or 1


def time_calls(
    fn: Callable[..., Any],
    args: Sequence[Any],
    sync: Callable[[Any], object],
    repeats: int,
    budget_s: float = 0.5,
    max_runs: int = 50,
) -> dict[str, Any]:
    """Milliseconds of ``max(repeats, ...)`` runs of ``fn(*args)`` after two warm-up calls.

    The first warm-up call compiles; when the second shows that a run is fast, more runs fill
    about ``budget_s`` (at most ``max_runs``). ``sync(result)`` waits until the result is
    computed. ``cpu_share`` is this process's CPU time over the timed runs' wall time times the
    usable cores: well under 1 when other processes took cores (the times are then inflated),
    though threads that spin while waiting count as busy.

    ``peak_mib``: the most memory the timed runs held beyond what was resident before them (the
    process's resident high-water mark over the runs, less its resident set after the warm-up
    calls, with freed heap pages given back first); None where Linux's counters are missing.

    Returns:
      ``{"times_ms": [...], "cpu_share": float, "peak_mib": float | None}``.
    """
    sync(fn(*args))
    start = time.perf_counter()
    sync(fn(*args))
    first = time.perf_counter() - start
    base = _reset_peak()
    runs = max(repeats, min(max_runs, int(budget_s / max(first, 1e-6))))
    times = []
    cpu_start, wall_start = time.process_time(), time.perf_counter()
    for _ in range(runs):
        start = time.perf_counter()
        sync(fn(*args))
        times.append((time.perf_counter() - start) * 1e3)
    cpu, wall = time.process_time() - cpu_start, time.perf_counter() - wall_start
    high = _status_kib("VmHWM") if base is not None else None
    peak = None if high is None or base is None else max(high - base, 0) / 1024
    return {"times_ms": times, "cpu_share": cpu / (wall * cpu_count()), "peak_mib": peak}


def log(framework: str, text: str) -> None:
    """One progress line on stderr (the parent shows it when verbose)."""
    print(f"  [{framework}] {text}", file=sys.stderr, flush=True)


def measure(
    framework: str,
    impl: str,
    w: Workload,
    op: str,
    repeats: Sequence[int],
    fn: Callable[..., Any],
    args: Sequence[Any],
    sync: Callable[[Any], object],
) -> Measurement:
    """Time ``fn(*args)`` as ``impl``'s ``op`` on ``w``, log the median, return the runs.

    ``repeats`` holds the minimum runs per op, in :data:`~jconv.bench.workloads.OPS` order.
    """
    timing = time_calls(fn, args, sync, repeats[OPS.index(op)])
    log(
        framework,
        f"{w.name:8s} {op:7s} {impl:5s} {statistics.median(timing['times_ms']):9.2f} ms "
        f"(median of {len(timing['times_ms'])}, CPU share {timing['cpu_share']:.0%}"
        + ("" if timing["peak_mib"] is None else f", peak +{timing['peak_mib']:.0f} MiB")
        + ")",
    )
    return {"workload": w.name, "op": op, "impl": impl, **timing}
