"""A filter gradient differentiated again must not abort XLA:CPU.

The crash campaign (``python -m jconv fuzz --seed 3 --only 1392``) found it: ``jax.grad`` of
``jconv.torch.conv3d_weight`` with ``method="vjp"`` or ``"conv"`` killed the process, float64,
input (2, 1, 1, 4, 4), weight (2, 1, 1, 3, 2), stride (2, 1, 1), padding (1, 1, 2), dilation
(1, 2, 3). JAX's transposes of the filter-gradient convolution include an ``lhs_dilation`` conv
with a group-like dim (kernel 2, base dilation 2, stride 1, no padding) whose operand swap XLA
mishandles (docs/xla_aborts.md). Both methods now differentiate as ``"patches"``, which has no
convolution. Each check runs in a subprocess, so an abort fails the test instead of killing pytest.
"""

from __future__ import annotations

import subprocess
import sys
import textwrap
from pathlib import Path

import jaxlib

ROOT = Path(__file__).resolve().parent.parent

SETUP = textwrap.dedent("""
    import jax
    jax.config.update("jax_enable_x64", True)
    import jax.numpy as jnp
    import numpy as np
    import jconv.torch as jt
    rng = np.random.default_rng(0)
    x = jnp.asarray(rng.integers(-3, 4, (2, 1, 1, 4, 4)).astype(np.float64))
    dy = jnp.asarray(rng.integers(-3, 4, (2, 2, 2, 2, 5)).astype(np.float64))
    c = jnp.asarray(rng.integers(-3, 4, (2, 1, 1, 3, 2)).astype(np.float64))
    kw = dict(stride=(2, 1, 1), padding=(1, 1, 2), dilation=(1, 2, 3))
""")

JCONV = SETUP + textwrap.dedent("""
    def results(method):
        f = lambda x, dy: jt.conv3d_weight(x, c.shape, dy, **kw, method=method)
        loss = lambda x, dy: jnp.sum(f(x, dy) * c)
        grads = jax.grad(loss, argnums=(0, 1))
        return [
            f(x, dy),
            *grads(x, dy),
            *jax.jit(grads)(x, dy),
            jax.jvp(f, (x, dy), (x[::-1], dy[::-1]))[1],
            *jax.vmap(grads, (0, None))(jnp.stack([x, -x]), dy),
        ]
    want = results("patches")
    for method in ("vjp", "conv", "auto"):
        for a, b in zip(results(method), want):
            np.testing.assert_array_equal(a, b, err_msg=method)
    print("ok")
""")

PLAIN = SETUP + textwrap.dedent("""
    from jconv.derivations import filter_grad
    # the values' own convolution, differentiated by JAX (no custom_jvp): the aborting program
    x_, dy_ = jnp.moveaxis(x, 1, -1), jnp.moveaxis(dy, 1, -1)
    settings = dict(kernel_sizes=(1, 3, 2), strides=(2, 1, 1), padding=((1, 1), (1, 1), (2, 2)),
                    dilations=(1, 2, 3), groups=1)
    f = lambda x: filter_grad._filter_grad_conv(x, dy_, **settings)
    ct = jnp.transpose(c, (2, 3, 4, 1, 0))
    jax.grad(lambda x: jnp.sum(f(x) * ct))(x_).block_until_ready()
    print("ran")
""")


def _run(code):
    return subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, timeout=300, cwd=ROOT
    )


def test_differentiated_filter_gradient_runs_in_every_method():
    proc = _run(JCONV)
    assert proc.returncode == 0 and proc.stdout.strip() == "ok", proc.stderr[-3000:]


def test_the_unguarded_program_is_the_one_xla_aborts_on():
    """Why the guard exists: JAX's own derivative of the same convolution aborts on the jaxlib
    this was found with (a later one that fixes the simplifier runs it: the guard is then merely
    unneeded)."""
    proc = _run(PLAIN)
    if jaxlib.__version__ == "0.10.2":
        assert proc.returncode != 0, proc.stdout
        assert "Window dimensions do not match RHS shape" in proc.stderr, proc.stderr[-3000:]
    else:
        assert proc.returncode == 0 or "Window dimensions" in proc.stderr, proc.stderr[-3000:]
