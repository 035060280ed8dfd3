"""The XLA-abort shapes of ``test_xla_abort`` run cleanly through every op and method of
``jconv.torch``.

``jax.vjp`` of a strided conv emits an ``lhs_dilation`` conv that jaxlib 0.10.2's operand swap
turns into an invalid one, aborting the whole process (see ``jconv._shapes.xla_swap_hazard``).
PyTorch's padding is symmetric, so the TensorFlow-style configurations of
``test_xla_abort._hazard_configs`` with ``lo == hi`` in every dim carry over as they are:
``padding = lo``. The same ``lhs_dilation`` conv is reached three ways here: ``conv*_input``,
``conv_transpose*`` with ``output_padding = n + 2 p - (m - 1) s - k`` (0 for these shapes) and
``jax.grad`` of ``conv*d``. Each check runs in a subprocess so an abort fails the test instead of
killing pytest.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

from jconv import _shapes

try:
    from test_xla_abort import NAIVE, _hazard_configs
except ImportError:  # tests/ not on sys.path (e.g. another import mode)
    sys.path.insert(0, str(Path(__file__).parent))
    from test_xla_abort import NAIVE, _hazard_configs

ROOT = Path(__file__).resolve().parent.parent


def torch_configs():
    """``(rank, n, k, stride, padding, output_padding)`` for each symmetric hazard config."""
    out = []
    for rank, ns, ks, ss, pads in _hazard_configs():
        if any(lo != hi for lo, hi in pads):
            continue
        ps = [lo for lo, _ in pads]
        ms = [_shapes.conv_output_size(n, k, s, 1, p, p) for n, k, s, p in zip(ns, ks, ss, ps)]
        ops = [n + 2 * p - (m - 1) * s - k for n, k, s, p, m in zip(ns, ks, ss, ps, ms)]
        out.append((rank, list(ns), list(ks), list(ss), ps, ops))
    return out


CONFIGS = torch_configs()


def _env():
    """jconv importable."""
    env = dict(os.environ)
    env["PYTHONPATH"] = os.pathsep.join(filter(None, [str(ROOT), env.get("PYTHONPATH")]))
    return env


def test_configs_keep_the_hazard():
    """Both ranks are represented, the output_padding is legal, and the input gradient's
    ``lhs_dilation`` conv of each config is one that trips the swap."""
    assert {c[0] for c in CONFIGS} == {2, 3}
    for rank, ns, ks, ss, ps, ops in CONFIGS:
        assert all(0 <= o < s for o, s in zip(ops, ss))
        ms = [_shapes.conv_output_size(n, k, s, 1, p, p) for n, k, s, p in zip(ns, ks, ss, ps)]
        tpads = [
            _shapes.transpose_padding(n, m, k, s, 1, p) for n, m, k, s, p in zip(ns, ms, ks, ss, ps)
        ]
        assert _shapes.xla_swap_hazard(ms, ks, (1,) * rank, tpads, ss, (1,) * rank)


SCRIPT = textwrap.dedent("""
    import sys, json, numpy as np, jax, jax.numpy as jnp, jconv, jconv.torch as jt
    from jconv import reference

    def last(a):
        return np.moveaxis(np.asarray(a), 1, -1)

    def tf_weight(w):
        r = w.ndim - 2
        return np.transpose(np.asarray(w), (*range(2, r + 2), 1, 0))

    for rank, ns, ks, ss, ps, ops in json.loads(sys.argv[1]):
        rng = np.random.default_rng(0)
        x = jnp.asarray(rng.integers(-3, 4, (1, 2, *ns)), jnp.float32)
        w = jnp.asarray(rng.integers(-3, 4, (3, 2, *ks)), jnp.float32)
        conv = getattr(jt, f"conv{rank}d")
        conv_input = getattr(jt, f"conv{rank}d_input")
        conv_weight = getattr(jt, f"conv{rank}d_weight")
        conv_transpose = getattr(jt, f"conv_transpose{rank}d")
        pads = [(p, p) for p in ps]
        y = conv(x, w, None, ss, ps)
        np.testing.assert_array_equal(y, np.moveaxis(
            reference.conv(last(x), tf_weight(w), ss, pads), -1, 1))
        dy = jnp.asarray(rng.integers(-3, 4, y.shape), jnp.float32)
        want_dx = np.moveaxis(reference.conv_backprop_input(
            (1, *ns, 2), tf_weight(w), last(dy), ss, pads), -1, 1)
        want_dw = np.transpose(reference.conv_backprop_filter(
            last(x), (*ks, 2, 3), last(dy), ss, pads), (rank + 1, rank, *range(rank)))
        for m in ("auto", *jconv.TRANSPOSE_METHODS):
            f = lambda w, dy: conv_input(x.shape, w, dy, ss, ps, method=m)
            np.testing.assert_array_equal(f(w, dy), want_dx, err_msg=f"input {m}")
            np.testing.assert_array_equal(jax.jit(f)(w, dy), want_dx, err_msg=f"input jit {m}")
            t = lambda dy, w: conv_transpose(dy, w, None, ss, ps, ops, method=m)
            np.testing.assert_array_equal(t(dy, w), want_dx, err_msg=f"transpose {m}")
            np.testing.assert_array_equal(jax.jit(t)(dy, w), want_dx,
                                          err_msg=f"transpose jit {m}")
        for m in ("auto", *jconv.FILTER_GRAD_METHODS):
            f = lambda x, dy: conv_weight(x, w.shape, dy, ss, ps, method=m)
            np.testing.assert_array_equal(f(x, dy), want_dw, err_msg=f"weight {m}")
            np.testing.assert_array_equal(jax.jit(f)(x, dy), want_dw, err_msg=f"weight jit {m}")
        g = jax.jit(jax.grad(lambda x, w: (conv(x, w, None, ss, ps) * dy).sum(), (0, 1)))
        gx, gw = g(x, w)
        np.testing.assert_array_equal(gx, want_dx)
        np.testing.assert_array_equal(gw, want_dw)
        print("ok", rank, ns, ks, ss, ps, ops, flush=True)
    print("ALL OK")
""")


def test_hazard_shapes_run_cleanly_in_subprocess():
    proc = subprocess.run(
        [sys.executable, "-c", SCRIPT, json.dumps(CONFIGS)],
        cwd=ROOT,
        env=_env(),
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert proc.returncode == 0, proc.stdout[-2000:] + proc.stderr[-4000:]
    assert "ALL OK" in proc.stdout
    assert proc.stdout.count("ok ") == len(CONFIGS)


def test_the_same_shapes_abort_a_naive_vjp():
    """Keeps the test above honest: the first torch-form config, as a plain ``jax.vjp`` of
    ``lax.conv_general_dilated`` with padding ``(p, p)``, kills the process on jaxlib 0.10.2."""
    import jaxlib

    if jaxlib.__version__ != "0.10.2":
        pytest.skip(f"the abort was characterised on jaxlib 0.10.2, not {jaxlib.__version__}")
    rank, ns, ks, ss, ps, _ = CONFIGS[0]
    config = [rank, ns, ks, ss, [(p, p) for p in ps]]
    proc = subprocess.run(
        [sys.executable, "-c", NAIVE, json.dumps(config)],
        cwd=ROOT,
        env=_env(),
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert proc.returncode != 0
    assert "Window dimensions do not match RHS shape" in proc.stderr
