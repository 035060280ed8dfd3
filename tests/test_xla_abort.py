"""Shapes that make XLA abort the process under a naive lowering run cleanly through jconv.

jaxlib 0.10.2's conv-operand swap (see ``jconv._shapes.xla_swap_hazard``) aborts the whole
process on some lhs_dilation convs, which ``jax.vjp`` of a strided conv emits. Each check runs in
a subprocess so an abort fails the test instead of killing pytest.
"""

import itertools
import subprocess
import sys
import textwrap

from jconv import _shapes


def _hazard_configs(limit=6):
    """Forward 2-D/3-D convs whose input-gradient lhs_dilation conv trips the swap: one per
    (rank, kernel) combination, the first found in a small search."""
    found = []
    for rank in (2, 3):
        for ks in itertools.product((1, 2, 3), repeat=rank):
            for ss, ns, los, his in itertools.product(
                itertools.product((1, 2), repeat=rank),
                itertools.product((1, 2, 4, 6), repeat=rank),
                itertools.product((0, 1), repeat=rank),
                itertools.product((0, 1), repeat=rank),
            ):
                ms = [
                    _shapes.conv_output_size(n, k, s, 1, lo, hi)
                    for n, k, s, lo, hi in zip(ns, ks, ss, los, his)
                ]
                if min(ms) < 1:
                    continue
                pads = [
                    _shapes.transpose_padding(n, m, k, s, 1, lo)
                    for n, m, k, s, lo in zip(ns, ms, ks, ss, los)
                ]
                hazard = _shapes.xla_swap_hazard(ms, ks, (1,) * rank, pads, ss, (1,) * rank)
                # the aborts seen had a group-like dim of >= 3 rows
                if hazard and all(ms[i] >= 3 for i in hazard):
                    found.append((rank, ns, ks, ss, list(zip(los, his))))
                    break
            if sum(c[0] == rank for c in found) >= limit // 2:
                break
    return found


SCRIPT = textwrap.dedent("""
    import sys, json, numpy as np, jax, jax.numpy as jnp, jconv
    from jconv import reference, _shapes
    for rank, ns, ks, ss, pads in json.loads(sys.argv[1]):
        rng = np.random.default_rng(0)
        pads = [tuple(p) for p in pads]
        x = jnp.asarray(rng.integers(-3, 4, (1, *ns, 2)), jnp.float32)
        w = jnp.asarray(rng.integers(-3, 4, (*ks, 2, 3)), jnp.float32)
        y = jconv.conv(x, w, ss, pads)
        dy = jnp.asarray(rng.integers(-3, 4, y.shape), jnp.float32)
        want_dx = reference.conv_backprop_input(x.shape, w, dy, ss, pads)
        want_dw = reference.conv_backprop_filter(x, w.shape, dy, ss, pads)
        for m in jconv.TRANSPOSE_METHODS:
            f = lambda w, dy: jconv.conv_backprop_input(x.shape, w, dy, ss, pads, method=m)
            np.testing.assert_array_equal(f(w, dy), want_dx)
            np.testing.assert_array_equal(jax.jit(f)(w, dy), want_dx)
        for m in jconv.FILTER_GRAD_METHODS:
            f = lambda x, dy: jconv.conv_backprop_filter(x, w.shape, dy, ss, pads, method=m)
            np.testing.assert_array_equal(jax.jit(f)(x, dy), want_dw)
        g = jax.jit(jax.grad(lambda x, w: (jconv.conv(x, w, ss, pads) * dy).sum(), (0, 1)))
        gx, gw = g(x, w)
        np.testing.assert_array_equal(gx, want_dx)
        np.testing.assert_array_equal(gw, want_dw)
        print("ok", rank, ns, ks, ss, pads, flush=True)
    print("ALL OK")
""")


def test_hazard_configs_exist():
    configs = _hazard_configs()
    assert len(configs) >= 4
    assert {c[0] for c in configs} == {2, 3}


def test_hazard_shapes_run_cleanly_in_subprocess():
    import json

    configs = _hazard_configs()
    proc = subprocess.run(
        [sys.executable, "-c", SCRIPT, json.dumps(configs)],
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert proc.returncode == 0, proc.stdout[-2000:] + proc.stderr[-4000:]
    assert "ALL OK" in proc.stdout


NAIVE = textwrap.dedent("""
    import sys, json, jax, jax.numpy as jnp
    from jax import lax
    rank, ns, ks, ss, pads = json.loads(sys.argv[1])
    spec = {2: ("NHWC", "HWIO", "NHWC"), 3: ("NDHWC", "DHWIO", "NDHWC")}[rank]
    f = lambda x, w: lax.conv_general_dilated(x, w, tuple(ss), tuple(map(tuple, pads)),
                                              dimension_numbers=spec)
    x, w = jnp.ones((1, *ns, 2)), jnp.ones((*ks, 2, 3))
    g = jax.jit(lambda x, w, dy: jax.vjp(f, x, w)[1](dy))
    g(x, w, jnp.ones(f(x, w).shape))[0].block_until_ready()
""")


def test_the_same_shapes_abort_a_naive_vjp():
    """Keeps the test above honest: with the jaxlib this was written against, plain ``jax.vjp``
    of ``lax.conv_general_dilated`` on these shapes kills the process."""
    import json

    import jaxlib
    import pytest

    if jaxlib.__version__ != "0.10.2":
        pytest.skip(f"the abort was characterised on jaxlib 0.10.2, not {jaxlib.__version__}")
    config = _hazard_configs()[0]
    proc = subprocess.run(
        [sys.executable, "-c", NAIVE, json.dumps(config)],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert proc.returncode != 0
    assert "Window dimensions do not match RHS shape" in proc.stderr
