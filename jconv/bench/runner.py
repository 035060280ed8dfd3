"""The parent: choose the workloads, run every worker in turn, pool the rounds, compare.

:func:`benchmark` returns everything the report and ``--json`` use; :func:`run` is its
notebook-sized entry (the rows only, no value check).
"""

from __future__ import annotations

import dataclasses
import datetime
import importlib.util
import os
import platform
import tempfile
import time
from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np

from jconv.bench.checks import CHECK_RTOL, compare
from jconv.bench.processes import Result, spawn
from jconv.bench.results import Row, geomeans, geomeans_by_kind, pool, to_rows
from jconv.bench.timing import cpu_count
from jconv.bench.workloads import FRAMEWORKS, JAX_IMPLS, select

_MODULES = {"torch": "torch", "tf": "tensorflow"}
"""The Python package each non-JAX framework needs."""


def _parse_list(
    fn: str, name: str, values: Sequence[str] | str, legal: Sequence[str]
) -> tuple[str, ...]:
    """``values`` (a sequence or a comma-separated string) as a tuple of names from ``legal``.

    Raises:
      ValueError: an unknown name, or none (the message names ``fn``, ``name`` and ``legal``).
    """
    if isinstance(values, str):
        values = [v for v in values.split(",") if v]
    values = tuple(values)
    unknown = [v for v in values if v not in legal]
    if unknown or not values:
        raise ValueError(f"{fn}: {name}={values!r}: unknown or empty; choose from {legal}")
    return values


def _machine(workers: Mapping[str, Result]) -> dict[str, Any]:
    """Platform, CPU model and counts, date, every framework's version and thread settings."""
    versions = {"python": platform.python_version(), "numpy": np.__version__}
    for result in workers.values():
        versions.update(result.get("versions", {}))
    model = platform.processor()
    try:
        with open("/proc/cpuinfo") as cpuinfo:
            model = next(
                (ln.split(":", 1)[1].strip() for ln in cpuinfo if ln.startswith("model name")),
                model,
            )
    except OSError:
        pass
    info: dict[str, Any] = {
        "platform": platform.platform(),
        "machine": platform.machine(),
        "cpu_model": model,
        "cpu_count": os.cpu_count(),
        "cpus_usable": cpu_count(),
        "date": datetime.datetime.now().astimezone().isoformat(timespec="seconds"),
        "versions": versions,
    }
    if "jax" in workers:
        info["jax_backend"] = workers["jax"]["backend"]
        info["jax_devices"] = workers["jax"]["devices"]
    if "torch" in workers:
        info["torch_threads"] = workers["torch"]["threads"]
    if "tf" in workers:
        info["tf_threads"] = workers["tf"]["threads"]
    return info


def benchmark(
    workloads: Sequence[str] | str | None = None,
    frameworks: Sequence[str] | str | None = None,
    *,
    small: bool = False,
    other: bool = False,
    repeats: int | None = None,
    rounds: int = 1,
    check: bool = True,
    verbose: bool = False,
) -> dict[str, Any]:
    """Run the benchmark and return everything :func:`format_report` and ``--json`` use.

    Args:
      workloads: names from :data:`WORKLOADS` (a sequence or a comma-separated string); all
        when None.
      frameworks: names from :data:`FRAMEWORKS`; when None, every one whose framework is
        installed. ``jconv`` is added when missing: the ratios are against it. A requested
        framework that is not installed is skipped and listed in ``"skipped"``.
      small: use :data:`SMALL_WORKLOADS`.
      other: use :data:`OTHER_WORKLOADS` (not with ``small``).
      repeats: minimum timed runs per measurement; None: 5 forward, 3 step.
      rounds: run every worker this many times, in turn (jconv, lax, vjp, torch, tf, jconv,
        ...); each measurement is then the median of all its timed runs from every round, so a
        burst of load from elsewhere lands on every implementation rather than on one.
      check: compute the check case in every implementation and compare with jconv.
      verbose: stream each worker's progress to stderr.

    Returns:
      A dict with ``machine`` (platform, CPU, versions, date, threads), ``settings``,
      ``matmul`` (``gflops``: the peak), ``workloads`` (their shapes), ``rows`` (see
      :func:`run`), ``geomeans`` (:func:`geomeans`), ``geomeans_by_kind`` (decoders and
      encoders apart), ``checks`` (per peer and workload:
      relative errors and ``ok``), ``skipped`` and ``wall_s``.

    Raises:
      ValueError: unknown workload or framework names, ``repeats < 1``, ``small`` and
        ``other`` both set.
      RuntimeError: a worker subprocess failed (its stderr is in the message).
    """
    start = time.perf_counter()
    fn = "jconv.bench.benchmark"
    table = select(fn, small, other)
    names = _parse_list(fn, "workloads", workloads or tuple(table), tuple(table))
    if frameworks is None:
        frameworks = FRAMEWORKS
    frameworks = _parse_list(fn, "frameworks", frameworks, FRAMEWORKS)
    if repeats is not None and (not isinstance(repeats, int) or repeats < 1):
        raise ValueError(f"{fn}: repeats={repeats!r} must be an int >= 1")
    if not isinstance(rounds, int) or isinstance(rounds, bool) or rounds < 1:
        raise ValueError(f"{fn}: rounds={rounds!r} must be an int >= 1")
    skipped = [
        f for f in frameworks if f in _MODULES and importlib.util.find_spec(_MODULES[f]) is None
    ]
    impls = [f for f in FRAMEWORKS if f == "jconv" or (f in frameworks and f not in skipped)]
    chosen = [table[n] for n in names]
    checks_on = [w.check_case() for w in chosen]
    reps = (repeats, repeats) if repeats else (5, 3)
    with tempfile.TemporaryDirectory(prefix="jconv-bench-") as check_dir:
        spec = {
            "workloads": [dataclasses.asdict(w) for w in chosen],
            "check_workloads": [dataclasses.asdict(w) for w in checks_on],
            "repeats": reps,
            "check_dir": check_dir if check else None,
            "impls": [i for i in impls if i in JAX_IMPLS],
            "torch_check": "torch" in impls,
        }
        # One process per implementation, the JAX ones too: lax's and vjp's steps allocate
        # hundreds of MiB per call, which leaves the allocator in another state for whatever
        # runs after them in the same process.
        runs = []
        for r in range(rounds):
            first = {**spec, "check_dir": spec["check_dir"] if r == 0 else None}
            workers = {"jax": spawn("jax", {**first, "impls": ["jconv"]}, verbose)}
            for impl in [i for i in impls if i in JAX_IMPLS and i != "jconv"]:
                alone = {**first, "impls": [impl], "torch_check": False, "matmul": False}
                workers[impl] = spawn("jax", alone, verbose)
            for impl in ("torch", "tf"):
                if impl in impls:
                    workers[impl] = spawn(impl, {**first, "impls": [impl]}, verbose)
            runs.append(workers)
        checks = compare(check_dir, checks_on, impls) if check else []
    matmul = runs[0]["jax"]["matmul"]
    if rounds > 1:
        matmul = {
            **matmul,
            "rounds": [w["jax"]["matmul"] for w in runs],
            "gflops": max(w["jax"]["matmul"]["gflops"] for w in runs),
        }
    peak = matmul["gflops"]
    measurements = pool([m for w in runs for r in w.values() for m in r["measurements"]])
    rows = to_rows(measurements, chosen, peak)
    return {
        "machine": _machine(runs[0]),
        "settings": {
            "small": small,
            "other": other,
            "repeats": {"forward": reps[0], "step": reps[1]},
            "rounds": rounds,
            "workloads": list(names),
            "frameworks": impls,
            "check_rtol": CHECK_RTOL,
        },
        "matmul": matmul,
        "workloads": {
            w.name: {
                **dataclasses.asdict(w),
                "input_shape": w.input_shape,
                "output_shape": w.output_shape,
                "filter_shape": w.filter_shape,
                "gflop": w.gflop,
                "torch_exact": w.torch_exact,
                "kind": w.kind,
            }
            for w in chosen
        },
        "rows": rows,
        "geomeans": geomeans(rows),
        "geomeans_by_kind": geomeans_by_kind(rows),
        "checks": checks,
        "skipped": skipped,
        "wall_s": time.perf_counter() - start,
    }


def run(
    workloads: Sequence[str] | str | None = None,
    frameworks: Sequence[str] | str | None = ("jconv", "lax"),
    *,
    small: bool = False,
    other: bool = False,
    repeats: int | None = None,
    verbose: bool = False,
) -> list[Row]:
    """Time the workloads in each framework; one row per (workload, op, implementation).

    The notebook-sized entry to :func:`benchmark` (which also returns the machine, the matmul
    peak and the checks). Each implementation runs in its own subprocess.

    Args:
      workloads: names from :data:`WORKLOADS`; all when None.
      frameworks: from :data:`FRAMEWORKS`; None for every installed one.
      small: the quarter-size :data:`SMALL_WORKLOADS`.
      other: :data:`OTHER_WORKLOADS`, the five kinds at other sizes.
      repeats: minimum runs per measurement (None: 5 forward, 3 step).
      verbose: stream progress to stderr.

    Returns:
      Dicts with ``workload``, ``op`` (``"forward"``/``"step"``), ``impl``, ``ms`` (median),
      ``min_ms``, ``runs``, ``times_ms``, ``gflop`` (useful work), ``gflops``,
      ``peak_fraction`` (of this run's matmul peak) and ``jconv_speedup``
      (``ms / jconv's ms``: above 1 jconv is faster; 1.0 on jconv's rows).

    Examples:
      >>> import jconv.bench
      >>> rows = jconv.bench.run(["patch2d", "gan2d"], small=True, repeats=3)  # doctest: +SKIP
      >>> [(r["workload"], r["op"], r["impl"]) for r in rows][:3]  # doctest: +SKIP
      [('patch2d', 'forward', 'jconv'), ('patch2d', 'forward', 'lax'), ('patch2d', 'step', 'jconv')]
    """
    return benchmark(
        workloads,
        frameworks,
        small=small,
        other=other,
        repeats=repeats,
        check=False,
        verbose=verbose,
    )["rows"]
