"""Every public op runs under jax.jit, and a second call with the same shapes compiles nothing."""

import jax
import jax.numpy as jnp
import numpy as np
import pytest
from _helpers import count_compiles

import jconv

RNG = np.random.default_rng(0)
X = {r: jnp.asarray(RNG.normal(size=(2, *(6,) * r, 4)), jnp.float32) for r in (1, 2, 3)}
W = {r: jnp.asarray(RNG.normal(size=(*(3,) * r, 2, 6)), jnp.float32) for r in (1, 2, 3)}
DY = {r: jnp.asarray(RNG.normal(size=(2, *(3,) * r, 6)), jnp.float32) for r in (1, 2, 3)}


def _ops():
    for r, name in ((1, "conv1d"), (2, "conv2d"), (3, "conv3d"), (2, "conv")):
        fwd = getattr(jconv, name)
        transpose = getattr(jconv, f"{name}_transpose")
        backprop_input = getattr(jconv, f"{name}_backprop_input")
        backprop_filter = getattr(jconv, f"{name}_backprop_filter")
        stride_kw = "stride" if name == "conv1d" else "strides"
        yield name, r, lambda x, w, dy, f=fwd, k=stride_kw: f(x, w, padding="SAME", **{k: 2})
        for method in jconv.TRANSPOSE_METHODS:
            yield (
                f"{name}_transpose-{method}",
                r,
                lambda x, w, dy, f=transpose, m=method: f(
                    dy, w, x.shape, strides=2, padding="SAME", method=m
                ),
            )
            yield (
                f"{name}_backprop_input-{method}",
                r,
                lambda x, w, dy, f=backprop_input, m=method: f(
                    x.shape, w, dy, strides=2, padding="SAME", method=m
                ),
            )
        for method in jconv.FILTER_GRAD_METHODS:
            yield (
                f"{name}_backprop_filter-{method}",
                r,
                lambda x, w, dy, f=backprop_filter, m=method: f(
                    x, w.shape, dy, strides=2, padding="SAME", method=m
                ),
            )


OPS = list(_ops())


@pytest.mark.parametrize("name, rank, op", OPS, ids=[o[0] for o in OPS])
def test_jit_matches_eager_and_compiles_once(name, rank, op):
    x, w, dy = X[rank], W[rank], DY[rank]
    eager = op(x, w, dy)
    jitted = jax.jit(op)
    with count_compiles() as first:
        np.testing.assert_allclose(jitted(x, w, dy), eager, rtol=1e-5, atol=1e-5)
    assert first, "the listener saw no compile: the recompile check below would be vacuous"
    x1 = (x + 1).block_until_ready()
    with count_compiles() as compiles:
        jitted(x1, w, dy).block_until_ready()
        op(x1, w, dy).block_until_ready()
    assert compiles == [], f"{name} recompiled {len(compiles)} time(s)"
