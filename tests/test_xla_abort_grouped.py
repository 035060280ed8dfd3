"""Grouped convolutions that abort XLA:CPU under plain ``lax`` run cleanly through jconv.

XLA:CPU expands batch-grouped convs, and feature-grouped convs in float64 and complex128, into
ungrouped ones before its operand swap (``jconv._shapes.xla_cpu_ungroups``), so the swap's abort
(``jconv._shapes.xla_swap_hazard``) reaches them: issue 19's ``conv_transpose2d`` call with
``groups=2`` in float64 killed the process. Every check runs in a subprocess, so an abort fails
the test instead of killing pytest.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import textwrap
from pathlib import Path

import jaxlib
import pytest

from jconv import _shapes

ROOT = Path(__file__).resolve().parent.parent
DTYPES = ("float16", "bfloat16", "float32", "float64", "complex64", "complex128")

# Issue 19's minimal trigger: dim 1 is group-like (k = 2, lhs_dilation 2, stride 1, no padding)
# and dim 0's kernel (4) is larger than its input (3), so the swap fires once the conv is
# ungrouped.
TRIGGER = dict(ns=(3, 3), ks=(4, 2), strides=(1, 1), padding=((6, 6), (0, 0)), ld=(2, 2), rd=(2, 1))

PLAIN_LAX = textwrap.dedent("""
    import json, sys, jax
    jax.config.update("jax_enable_x64", True)
    import jax.numpy as jnp
    from jax import lax
    c = json.loads(sys.argv[1])
    fg, bg = c["fg"], c["bg"]
    x = jnp.ones((bg, *c["ns"], 2 * fg), c["dtype"])
    w = jnp.ones((*c["ks"], 2, 2 * fg * bg), c["dtype"])
    f = jax.jit(lambda x, w: lax.conv_general_dilated(
        x, w, c["strides"], c["padding"], lhs_dilation=c["ld"], rhs_dilation=c["rd"],
        dimension_numbers=("NHWC", "HWIO", "NHWC"), feature_group_count=fg,
        batch_group_count=bg))
    f(x, w).block_until_ready()
    print("ran")
""")


def _run(script, *args, timeout=300):
    env = dict(os.environ)
    env["PYTHONPATH"] = os.pathsep.join(
        filter(None, [str(ROOT), str(ROOT / "tests"), env.get("PYTHONPATH")])
    )
    return subprocess.run(
        [sys.executable, "-c", script, *args],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=timeout,
    )


@pytest.mark.skipif(jaxlib.__version__ != "0.10.2", reason="the rule was swept on jaxlib 0.10.2")
@pytest.mark.parametrize(
    "dtype, fg, bg",
    [("float64", 2, 1), ("complex128", 2, 1), ("float32", 2, 1), ("bfloat16", 3, 1)]
    + [("float32", 1, 2)],
    ids=lambda v: str(v),
)
def test_rule_predicts_plain_lax(dtype, fg, bg):
    """``xla_swap_hazard`` with the group and dtype arguments says which plain-lax convs abort:
    the rule jconv states is the one the compiler follows."""
    predicted = _shapes.xla_swap_hazard(
        TRIGGER["ns"],
        TRIGGER["ks"],
        TRIGGER["strides"],
        TRIGGER["padding"],
        TRIGGER["ld"],
        TRIGGER["rd"],
        fg,
        batch_group_count=bg,
        dtype=dtype,
    )
    proc = _run(PLAIN_LAX, json.dumps(dict(TRIGGER, dtype=dtype, fg=fg, bg=bg)), timeout=120)
    if predicted:
        assert proc.returncode != 0, "predicted an abort, but plain lax ran"
        assert "Window dimensions do not match RHS shape" in proc.stderr
    else:
        assert proc.returncode == 0, proc.stderr[-3000:]


ISSUE_CALL = textwrap.dedent("""
    import jax
    jax.config.update("jax_enable_x64", True)
    import jax.numpy as jnp, numpy as np
    import jconv, jconv.torch as jt
    from test_torch import ref_conv, ref_conv_transpose, ref_conv_weight
    rng = np.random.default_rng(0)
    x = rng.integers(-3, 4, (1, 2, 3, 3)).astype(np.float64)
    w = rng.integers(-3, 4, (2, 2, 4, 2)).astype(np.float64)
    kw = dict(stride=(2, 2), padding=(0, 1), output_padding=0, groups=2, dilation=(2, 1))
    want = ref_conv_transpose(x, w, **kw)
    r = rng.integers(-3, 4, want.shape).astype(np.float64)
    # d/dx sum(T(x, w) * r) is the forward conv of r; d/dw the filter gradient with r as input
    want_dx = ref_conv(r, w, None, kw["stride"], kw["padding"], kw["dilation"], kw["groups"])
    for dtype in ("float64", "complex128"):
        for m in ("auto", *jconv.TRANSPOSE_METHODS):
            f = lambda x, w: jt.conv_transpose2d(x, w, method=m, **kw)
            xa, wa = jnp.asarray(x, dtype), jnp.asarray(w, dtype)
            np.testing.assert_array_equal(f(xa, wa), want, err_msg=f"{dtype} {m}")
            np.testing.assert_array_equal(jax.jit(f)(xa, wa), want, err_msg=f"{dtype} jit {m}")
            if dtype == "float64":
                loss = lambda x, w: (f(x, w) * r).sum()
                gx, gw = jax.jit(jax.grad(loss, (0, 1)))(xa, wa)
                np.testing.assert_array_equal(gx, want_dx, err_msg=f"grad {m}")
                gw_want = ref_conv_weight(r, w.shape, x, kw["stride"], kw["padding"],
                                          kw["dilation"], kw["groups"])
                np.testing.assert_array_equal(gw, gw_want, err_msg=f"grad w {m}")
            print("ok", dtype, m, flush=True)
    print("ALL OK")
""")


def test_issue_call_runs_in_every_method_and_dtype():
    """Issue 19's ``conv_transpose2d`` call (groups 2, float64) in every method, eager, jit and
    under ``jax.grad``, equals the NumPy reference exactly."""
    proc = _run(ISSUE_CALL)
    assert proc.returncode == 0, proc.stdout[-2000:] + proc.stderr[-4000:]
    assert "ALL OK" in proc.stdout
