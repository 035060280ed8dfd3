"""The printed report: machine, settings and checks, then the workloads, every row, the ratios.

:func:`format_report` turns :func:`jconv.bench.benchmark`'s result (or the JSON it was written
to) into markdown; ``python -m jconv bench`` prints it.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from jconv.bench.workloads import OPS


def _sizes_name(settings: Mapping[str, Any]) -> str:
    """``small``, ``other`` or ``default``: which workload table a run used."""
    return "small" if settings["small"] else "other" if settings.get("other") else "default"


def _md_table(header: Sequence[str], rows: Sequence[Sequence[str]]) -> str:
    """A markdown table, columns padded; the first two left-aligned, the rest right-aligned."""
    widths = [max(len(str(c)) for c in col) for col in zip(header, *rows)]
    right = [i > 1 for i in range(len(header))]

    def line(cells: Sequence[str]) -> str:
        return (
            "| "
            + " | ".join(
                str(c).rjust(w) if r else str(c).ljust(w) for c, w, r in zip(cells, widths, right)
            )
            + " |"
        )

    sep = (
        "|"
        + "|".join("-" * (w + 1) + ":" if r else ":" + "-" * (w + 1) for w, r in zip(widths, right))
        + "|"
    )
    return "\n".join([line(header), sep, *(line(r) for r in rows)])


def format_report(result: Mapping[str, Any]) -> str:
    """The markdown report :func:`benchmark`'s result prints as (machine, checks, tables)."""
    machine, versions = result["machine"], result["machine"]["versions"]
    peak = result["matmul"]["gflops"]
    out = [
        f"date: {machine['date']}",
        f"machine: {machine['platform']}, {machine['cpu_model']}, {machine['cpu_count']} CPUs "
        f"({machine['cpus_usable']} usable)",
        "versions: " + ", ".join(f"{k} {v}" for k, v in versions.items()),
        f"matmul peak: {peak:.1f} GFLOP/s, jnp.dot {result['matmul']['size']}^2 float32, the "
        "best of "
        + ", ".join(
            f"{m['start']['gflops']:.1f} (before the workloads) and {m['end']['gflops']:.1f} "
            "(after)"
            for m in result["matmul"].get("rounds", [result["matmul"]])
        )
        + ", medians",
        f"settings: {_sizes_name(result['settings'])} sizes, repeats "
        f"{result['settings']['repeats']['forward']} forward / "
        f"{result['settings']['repeats']['step']} step (median; more runs when fast), "
        f"{result['settings'].get('rounds', 1)} round(s) pooled, wall {result['wall_s']:.0f} s",
    ]
    if result["skipped"]:
        out.append(f"skipped (not installed): {', '.join(result['skipped'])}")
    bad = [c for c in result["checks"] if not c["ok"]]
    if result["checks"]:
        out.append(
            f"checks vs jconv (rel. err <= {result['settings']['check_rtol']:g}): "
            f"{len(result['checks']) - len(bad)} ok, {len(bad)} differ"
        )
    for c in bad:
        errs = ", ".join(f"{k} {v:.1e}" for k, v in c["rel_err"].items())
        out.append(f"WARNING: {c['impl']} differs from {c['reference']} on {c['workload']}: {errs}")
    out.append("")
    shapes = [
        [
            name,
            w["description"],
            w.get("kind", "decoder"),
            f"{tuple(w['input_shape'])} -> {tuple(w['output_shape'])}",
            f"k={w['kernel'][0]} s={w['strides'][0]} {w['padding']}"
            + (f" groups={w['groups']}" if w.get("groups", 1) > 1 else ""),
            f"{w['gflop']:.3f}",
        ]
        for name, w in result["workloads"].items()
    ]
    header = ["workload", "what", "kind", "shape (channels last)", "conv", "GFLOP fwd"]
    out += [_md_table(header, shapes), ""]
    detail = [
        [
            r["workload"],
            r["op"],
            r["impl"],
            f"{r['ms']:.2f}",
            f"{r['gflops']:.1f}",
            f"{100 * r['peak_fraction']:.0f}%",
            f"{r['jconv_speedup']:.2f}",
            f"{r['cpu_share']:.0%}",
            "-" if r.get("peak_mib") is None else f"{r['peak_mib']:.0f}",
        ]
        for r in result["rows"]
    ]
    header = [
        "workload",
        "op",
        "impl",
        "ms",
        "GFLOP/s",
        "% peak",
        "impl ms / jconv ms",
        "CPU",
        "peak MiB",
    ]
    out += [
        _md_table(header, detail),
        "",
    ]
    peers = [f for f in result["settings"]["frameworks"] if f != "jconv"]
    by_key = {(r["workload"], r["op"], r["impl"]): r for r in result["rows"]}
    summary = []
    kinds = list(dict.fromkeys(w.get("kind", "decoder") for w in result["workloads"].values()))
    by_kind = result.get("geomeans_by_kind", {})
    for kind, op in ((k, op) for k in kinds for op in OPS):
        names = [n for n, w in result["workloads"].items() if w.get("kind", "decoder") == kind]
        for name in names:
            j = by_key[(name, op, "jconv")]
            summary.append(
                [
                    name,
                    op,
                    f"{j['ms']:.2f}",
                    f"{100 * j['peak_fraction']:.0f}%",
                    *(
                        f"{by_key[(name, op, p)]['jconv_speedup']:.2f}"
                        if (name, op, p) in by_key
                        else "-"
                        for p in peers
                    ),
                ]
            )
        gm = by_kind.get(kind, result["geomeans"] if len(kinds) == 1 else {}).get(op, {})
        summary.append(
            [f"geomean ({kind}s)", op, "", "", *(f"{gm[p]:.2f}" if p in gm else "-" for p in peers)]
        )
    out.append(
        _md_table(["workload", "op", "jconv ms", "% peak", *(f"{p}/jconv" for p in peers)], summary)
    )
    out.append(
        "\nratios: peer ms / jconv ms (> 1: jconv is faster); % peak: useful GFLOP/s "
        "over the matmul peak (a step counts 3x the forward FLOPs); CPU: the process's CPU time "
        "over wall time x cores while timed (well under 100%: other processes had cores); peak "
        "MiB: the most resident memory the timed runs added to what the process held before "
        "them (Linux's high-water mark, reset after the warm-up calls)."
    )
    return "\n".join(out)
