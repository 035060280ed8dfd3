"""``python -m jconv``: verify every derivation on this machine's backend (see ``--help``).

``python -m jconv bench ...`` runs the benchmark instead (:mod:`jconv.bench`).
"""

from __future__ import annotations

import argparse
import sys


def main(argv=None) -> int:
    argv = sys.argv[1:] if argv is None else list(argv)
    if argv[:1] == ["bench"]:
        from jconv import bench

        return bench.main(argv[1:])
    if argv[:1] == ["fuzz"]:
        from jconv import fuzz

        return fuzz.main(argv[1:])
    parser = argparse.ArgumentParser(
        prog="python -m jconv",
        description=(
            "Verify jconv on this machine: print the backend and devices, the classic Stack "
            "Overflow conv2d_transpose example (5x5, first element 67) by every method, then a "
            "sweep over "
            "a built-in grid of 1-D/2-D/3-D configurations (SAME/VALID/explicit padding, "
            "strides, dilations, groups, every legal transposed output size): each op by every "
            "derivation, jit-compiled, in float32 and float64, on integer-valued data, compared "
            "with the NumPy loop reference (jconv.reference) and with the other derivations. "
            "Prints a table of max |diff| and ok/FAIL; exits 1 on any mismatch."
        ),
        epilog=(
            "subcommand: 'python -m jconv bench [--json PATH] [--repeats N] [--workloads A,B] "
            "[--frameworks jconv,lax,vjp,torch,tf] [--small]' times jconv's transposed "
            "convolutions and training steps against jax.lax, PyTorch and TensorFlow instead "
            "(see 'python -m jconv bench --help'). 'python -m jconv fuzz [--n N] [--seed S]' runs "
            "the crash campaign (see 'python -m jconv fuzz --help')."
        ),
    )
    parser.add_argument("--quick", action="store_true", help="a third of the grid")
    parser.add_argument("--no-x64", action="store_true", help="float32 only")
    args = parser.parse_args(argv)

    import jax

    if not args.no_x64:
        jax.config.update("jax_enable_x64", True)
    import jconv
    from jconv import _verify

    print(f"jconv {jconv.__version__}, jax {jax.__version__}, backend {jax.default_backend()}")
    print("devices: " + ", ".join(str(d) for d in jax.devices()))
    print(
        f"transpose methods: {jconv.TRANSPOSE_METHODS}; "
        f"filter-gradient methods: {jconv.FILTER_GRAD_METHODS}\n"
    )
    ok = _verify.seed_example()
    print("\nVerification sweep (every op x method vs jconv.reference and vs each other):")
    ok &= _verify.sweep(quick=args.quick)
    print("all ok" if ok else "MISMATCH: see FAIL rows above")
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
