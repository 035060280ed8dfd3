"""The main job: the classic Stack Overflow conv2d_transpose example by every method, then a
verification sweep.

Each op of a built-in grid of configurations is computed by every derivation, under ``jax.jit``,
in float32 and float64, on integer-valued data (so every derivation must agree *exactly*), and
compared with :mod:`jconv.reference` and with the other derivations.
"""

from __future__ import annotations

import itertools
import sys
import time

import jax
import jax.numpy as jnp
import numpy as np

import jconv
from jconv import reference

SEED_INPUT = [[-67.0, -77.0], [-117.0, -127.0]]
SEED_FILTER = [[-1.0, 2.0, -3.0], [4.0, -5.0, 6.0], [-7.0, 8.0, -9.0]]

# (spatial input, kernel, strides, dilations, padding, C_in, C_out, groups)
GRID = [
    ((9,), (4,), (2,), (1,), "SAME", 2, 3, 1),
    ((10,), (3,), (3,), (2,), "VALID", 4, 2, 2),
    ((5, 5), (3, 3), (2, 2), (1, 1), "VALID", 1, 1, 1),
    ((7, 6), (4, 4), (2, 2), (1, 1), "SAME", 4, 6, 2),
    ((6, 7), (3, 2), (2, 3), (1, 1), "SAME", 3, 2, 1),
    ((8, 8), (2, 2), (2, 2), (1, 1), "VALID", 3, 4, 1),
    ((7, 5), (3, 3), (1, 2), (2, 1), ((1, 2), (0, 3)), 2, 2, 1),
    ((1, 4), (2, 2), (1, 2), (1, 1), ((0, 1), (1, 1)), 2, 3, 1),
    ((5, 4, 6), (3, 2, 4), (2, 1, 2), (1, 1, 1), "SAME", 2, 4, 2),
    ((4, 5, 5), (2, 3, 3), (2, 2, 1), (1, 1, 2), "VALID", 3, 3, 1),
]


def _fmt_config(cfg) -> str:
    n, k, s, d, p, cin, cout, g = cfg
    x = "x".join
    pad = p if isinstance(p, str) else "pad" + ",".join(f"{a}{b}" for a, b in p)
    extra = "" if all(v == 1 for v in d) else f" d{x(map(str, d))}"
    groups = f" g{g}" if g > 1 else ""
    return f"{len(n)}d n{x(map(str, n))} k{x(map(str, k))} s{x(map(str, s))}{extra} {pad}{groups}"


def seed_example(out=sys.stdout) -> bool:
    """Print the classic example's 5x5 result by every method; True when all match the reference."""
    x = jnp.array(SEED_INPUT).reshape(1, 2, 2, 1)
    f = jnp.array(SEED_FILTER).reshape(3, 3, 1, 1)
    want = reference.conv_transpose(np.asarray(x), np.asarray(f), (5, 5), 2, "VALID")[0, :, :, 0]
    print(
        "The classic Stack Overflow example: conv2d_transpose of [[-67, -77], [-117, -127]] "
        "with the 3x3 filter -1..-9,\nstride 2, VALID, output_shape (1, 5, 5, 1). The first "
        "element is 67 = -67 * -1 (not 603 = -67 * -9).",
        file=out,
    )
    ok = True
    for method in jconv.TRANSPOSE_METHODS:
        y = jconv.conv2d_transpose(x, f, (1, 5, 5, 1), strides=2, padding="VALID", method=method)
        same = bool(np.array_equal(np.asarray(y[0, :, :, 0]), want))
        ok &= same
        print(f"\nmethod={method!r}: {'ok' if same else 'FAIL'}", file=out)
        print(np.asarray(y[0, :, :, 0]).astype(np.int64), file=out)
    return ok


def _cases(cfg, rng, dtype):
    """(op, method, jconv result, reference result) for one configuration.

    Every op and method of the configuration runs under one ``jax.jit`` (one compile for the
    whole configuration instead of one per call; each op is a jit entry point itself)."""
    n, k, s, d, p, cin, cout, g = cfg
    ints = lambda shape: rng.integers(-3, 4, size=shape).astype(np.float64)  # noqa: E731
    x, w = ints((2, *n, cin)), ints((*k, cin // g, cout))
    m = jconv.conv_output_shape(n, k, s, p, d)
    dy = ints((2, *m, cout))
    ranges = jconv.conv_transpose_output_shapes(m, k, s, p, d)
    sizes_all = list(itertools.product(*(range(lo, hi + 1) for lo, hi in ranges)))
    wants = {
        sizes: reference.conv_transpose(dy, w, sizes, s, p, d, groups=g) for sizes in sizes_all
    }
    labels = [("conv", "-", reference.conv(x, w, s, p, d))]
    labels += [
        (f"conv_transpose->{'x'.join(map(str, sizes))}", method, wants[sizes])
        for sizes in sizes_all
        for method in jconv.TRANSPOSE_METHODS
    ]
    want_dw = reference.conv_backprop_filter(x, w.shape, dy, s, p, d)
    labels += [("conv_backprop_filter", method, want_dw) for method in jconv.FILTER_GRAD_METHODS]

    def every(x, w, dy):
        out = [jconv.conv(x, w, s, p, dilations=d)]
        out += [
            jconv.conv_transpose(dy, w, (2, *sizes, cin), s, p, dilations=d, method=method)
            for sizes in sizes_all
            for method in jconv.TRANSPOSE_METHODS
        ]
        out += [
            jconv.conv_backprop_filter(x, w.shape, dy, s, p, dilations=d, method=method)
            for method in jconv.FILTER_GRAD_METHODS
        ]
        return out

    got = jax.jit(every)(*(jnp.asarray(a, dtype) for a in (x, w, dy)))
    for (op, method, want), y in zip(labels, got, strict=True):
        yield op, method, y, want


def sweep(out=sys.stdout, quick: bool = False) -> bool:
    """Run the grid; print one table row per (config, op, method, dtype); True if all ok."""
    grid = GRID[::3] if quick else GRID
    rows = []
    start = time.perf_counter()
    dtypes = (jnp.float32, jnp.float64) if jax.config.read("jax_enable_x64") else (jnp.float32,)
    total = len(grid) * len(dtypes)
    for step, (cfg, dtype) in enumerate(itertools.product(grid, dtypes), 1):
        rng = np.random.default_rng(step)
        by_op: dict[str, list] = {}
        for op, method, got, want in _cases(cfg, rng, dtype):
            got = np.asarray(got, np.float64)
            diff = float(np.max(np.abs(got - want), initial=0.0))
            by_op.setdefault(op, []).append((method, got, diff))
        # one row per (op, method): transposes are summed up over every legal output size
        worst: dict[tuple[str, str], list] = {}
        for op, results in by_op.items():
            for method, got, diff in results:
                cross = max(
                    float(np.max(np.abs(got - other), initial=0.0)) for _, other, _ in results
                )
                name = op.split("->")[0]
                entry = worst.setdefault((name, method), [0.0, 0.0, 0])
                entry[0], entry[1], entry[2] = (
                    max(entry[0], diff),
                    max(entry[1], cross),
                    entry[2] + 1,
                )
        for (name, method), (diff, cross, count) in worst.items():
            if count > 1:
                name = f"{name} ({count} sizes)"
            rows.append((_fmt_config(cfg), name, method, jnp.dtype(dtype).name, diff, cross))
        print(
            f"\r  [{step}/{total}] {_fmt_config(cfg)} {jnp.dtype(dtype).name}"
            f"  ({time.perf_counter() - start:.1f} s)",
            end="",
            file=out,
            flush=True,
        )
    print(file=out)
    widths = [max(len(r[i]) for r in rows) for i in range(4)]
    head = ("config", "op", "method", "dtype")
    widths = [max(w, len(h)) for w, h in zip(widths, head)]
    line = "  ".join(h.ljust(w) for h, w in zip(head, widths))
    print(f"{line}  {'max|diff| vs ref':>16}  {'vs methods':>10}  result", file=out)
    ok = True
    for r in rows:
        good = r[4] == 0.0 and r[5] == 0.0
        ok &= good
        cells = "  ".join(c.ljust(w) for c, w in zip(r[:4], widths))
        print(f"{cells}  {r[4]:16.3g}  {r[5]:10.3g}  {'ok' if good else 'FAIL'}", file=out)
    n_fail = sum(1 for r in rows if not (r[4] == 0.0 and r[5] == 0.0))
    print(
        f"\n{len(rows)} checks, {len(rows) - n_fail} ok, {n_fail} FAIL "
        f"({time.perf_counter() - start:.1f} s)",
        file=out,
    )
    return ok
