"""From the workers' measurements to rows: pooled rounds, medians, GFLOP/s, ratios, geomeans.

Useful FLOPs of one transposed conv are ``2 * N * prod(m) * C_in * C_out * prod(k)`` (``m`` its
input sizes), the multiplies a dense implementation cannot skip; a training step counts three
times that (forward, input gradient, kernel gradient). Ratios are ``peer_ms / jconv_ms``: above 1
jconv is faster.
"""

from __future__ import annotations

import math
import statistics
from collections.abc import Iterable, Sequence
from typing import Any

from jconv.bench.timing import Measurement
from jconv.bench.workloads import FRAMEWORKS, OPS, Workload

Row = dict[str, Any]
"""One (workload, op, implementation): see :func:`rows`."""


def pool(measurements: Iterable[Measurement]) -> list[Measurement]:
    """One measurement per (workload, op, impl): the timed runs of every round together.

    Each pooled measurement also keeps ``round_medians_ms`` (one per round), ``cpu_shares`` and
    their mean as ``cpu_share``.
    """
    pooled: dict[tuple[str, str, str], Measurement] = {}
    for m in measurements:
        key = (m["workload"], m["op"], m["impl"])
        if key not in pooled:
            pooled[key] = {**m, "times_ms": list(m["times_ms"]), "round_medians_ms": []}
        else:
            pooled[key]["times_ms"] += m["times_ms"]
        pooled[key]["round_medians_ms"].append(statistics.median(m["times_ms"]))
        shares = pooled[key].setdefault("cpu_shares", [])
        shares.append(m["cpu_share"])
        pooled[key]["cpu_share"] = statistics.mean(shares)
        peaks = [p for p in (pooled[key].get("peak_mib"), m.get("peak_mib")) if p is not None]
        pooled[key]["peak_mib"] = max(peaks) if peaks else None
    return list(pooled.values())


def to_rows(
    measurements: Sequence[Measurement], workloads: Sequence[Workload], peak_gflops: float
) -> list[Row]:
    """The report's rows, in workload, op and :data:`FRAMEWORKS` order.

    Returns:
      Dicts with ``workload``, ``op``, ``impl``, ``ms`` (median), ``min_ms``, ``runs``,
      ``times_ms``, ``round_medians_ms``, ``cpu_share``, ``gflop`` (useful work), ``gflops``,
      ``peak_fraction`` (of ``peak_gflops``; None without a peak), ``jconv_speedup``
      (``ms / jconv's ms``; 1.0 on jconv's rows), ``kind`` (the workload's) and ``peak_mib``
      (the most memory the timed runs held beyond what was resident before them; None where
      not measured).
    """
    by_key = {(m["workload"], m["op"], m["impl"]): m for m in measurements}
    out = []
    for w in workloads:
        for op in OPS:
            jconv_ms = statistics.median(by_key[(w.name, op, "jconv")]["times_ms"])
            gflop = w.gflop * (3 if op == "step" else 1)
            for impl in FRAMEWORKS:
                m = by_key.get((w.name, op, impl))
                if m is None:
                    continue
                ms = statistics.median(m["times_ms"])
                gflops = gflop / ms * 1e3
                out.append(
                    {
                        "workload": w.name,
                        "op": op,
                        "impl": impl,
                        "ms": ms,
                        "min_ms": min(m["times_ms"]),
                        "runs": len(m["times_ms"]),
                        "times_ms": m["times_ms"],
                        "round_medians_ms": m["round_medians_ms"],
                        "cpu_share": m["cpu_share"],
                        "gflop": gflop,
                        "gflops": gflops,
                        "peak_fraction": gflops / peak_gflops if peak_gflops else None,
                        "jconv_speedup": ms / jconv_ms,
                        "kind": w.kind,
                        "peak_mib": m.get("peak_mib"),
                    }
                )
    return out


def geomeans_by_kind(rows: Sequence[Row]) -> dict[str, dict[str, dict[str, float]]]:
    """:func:`geomeans` over each kind of workload (``"decoder"``, ``"encoder"``) apart.

    Examples:
      >>> import jconv.bench
      >>> rows = [{"op": "step", "impl": "lax", "jconv_speedup": s, "kind": k}
      ...         for s, k in ((2.0, "encoder"), (8.0, "decoder"))]
      >>> jconv.bench.results.geomeans_by_kind(rows)["encoder"]
      {'step': {'lax': 2.0}}
    """
    kinds = dict.fromkeys(r.get("kind", "decoder") for r in rows)
    return {k: geomeans([r for r in rows if r.get("kind", "decoder") == k]) for k in kinds}


def geomeans(rows: Sequence[Row]) -> dict[str, dict[str, float]]:
    """Geometric mean over workloads of ``jconv_speedup`` (``peer_ms / jconv_ms``), per op/peer.

    Examples:
      >>> import jconv.bench
      >>> rows = [{"op": "step", "impl": "lax", "jconv_speedup": s} for s in (2.0, 8.0)]
      >>> jconv.bench.geomeans(rows)
      {'step': {'lax': 4.0}}
    """
    out: dict[str, dict[str, float]] = {}
    for op in OPS:
        for impl in FRAMEWORKS:
            ratios = [r["jconv_speedup"] for r in rows if r["op"] == op and r["impl"] == impl]
            if ratios and impl != "jconv":
                out.setdefault(op, {})[impl] = math.exp(
                    sum(math.log(r) for r in ratios) / len(ratios)
                )
    return out
