"""``python -m jconv bench``: the command line over :func:`jconv.bench.benchmark`."""

from __future__ import annotations

import argparse
import json
from collections.abc import Sequence

from jconv.bench.report import format_report
from jconv.bench.runner import benchmark
from jconv.bench.workloads import FRAMEWORKS, OTHER_WORKLOADS, WORKLOADS


def main(argv: Sequence[str] | None = None, prog: str = "python -m jconv bench") -> int:
    """Command line: run the benchmark, print the report, optionally write the JSON.

    ``python -m jconv bench ARGS`` calls ``main(ARGS)``; bad arguments exit with status 2 and a
    usage message (argparse's convention), a finished run returns 0.
    """
    parser = argparse.ArgumentParser(
        prog=prog,
        description=(
            "Time jconv's transposed and forward convolutions (forward, and a training step: "
            "value and gradients w.r.t. input and kernel of sum(out**2) for decoders, "
            "sum(out * r) for encoders) against plain JAX (jax.lax.conv_transpose / "
            "conv_general_dilated under jax.grad), jconv's naive vjp method (decoders), PyTorch "
            "and TensorFlow, each framework in its own subprocess, on decoder- and "
            "encoder-style workloads: "
            + "; ".join(
                f"{w.name} ({w.kind}) {w.input_shape}->{w.output_shape} k={w.kernel[0]} "
                f"s={w.strides[0]} {w.padding}" + (f" groups={w.groups}" if w.groups > 1 else "")
                for w in WORKLOADS.values()
            )
            + ". Prints ms, GFLOP/s, the fraction of this run's matmul peak, each step's peak "
            "memory and peer/jconv time ratios with their geometric means (decoders and "
            "encoders apart)."
        ),
    )
    parser.add_argument("--json", metavar="PATH", help="write every number and the machine here")
    parser.add_argument(
        "--repeats",
        type=int,
        metavar="N",
        help="minimum timed runs per measurement (default 5 forward, 3 step)",
    )
    parser.add_argument(
        "--workloads",
        metavar="A,B",
        default=None,
        help=f"comma-separated subset of {','.join(WORKLOADS)} (or of the --small/--other "
        "set's names; default all)",
    )
    parser.add_argument(
        "--frameworks",
        metavar="A,B",
        default=None,
        help=f"comma-separated subset of {','.join(FRAMEWORKS)} (default: all "
        "installed; jconv is always run)",
    )
    parser.add_argument(
        "--rounds",
        type=int,
        default=1,
        metavar="N",
        help="run every implementation N times in turn and pool the runs (default 1)",
    )
    sizes = parser.add_mutually_exclusive_group()
    sizes.add_argument("--small", action="store_true", help="quarter-size workloads")
    sizes.add_argument(
        "--other",
        action="store_true",
        help="the five kinds at other batches, resolutions and channel counts: "
        + ", ".join(OTHER_WORKLOADS),
    )
    parser.add_argument(
        "--no-check", action="store_true", help="skip the cross-implementation value check"
    )
    args = parser.parse_args(argv)
    try:
        result = benchmark(
            args.workloads,
            args.frameworks,
            small=args.small,
            other=args.other,
            repeats=args.repeats,
            rounds=args.rounds,
            check=not args.no_check,
            verbose=True,
        )
    except ValueError as e:
        parser.error(str(e))
    print(format_report(result))
    if args.json:
        with open(args.json, "w") as f:
            json.dump(result, f, indent=1)
        print(f"\nwrote {args.json}")
    return 0
