"""jconv against TensorFlow's stored results: every golden case, both dtypes, the methods in turn.

``tests/data/golden_tf.npz`` holds about 200 cases computed by TensorFlow (made by
``tests/data/make_golden.py``, which names the versions and keeps only cases on which TensorFlow's
float32 and float64 kernels agree); TensorFlow is not needed here. Inputs are integer-valued, so
every method must reproduce TensorFlow exactly, in float32 as in float64.

Every distinct configuration costs an XLA compile (jconv jits each op internally, so "eager"
calls compile too), and compiling dominates the runtime. So each case runs

* under ``jax.jit`` (settings closed over, arrays traced) with one method of its op, in one dtype;
* eagerly with another method in the other dtype.

The dtypes alternate and the methods (``"auto"`` and each of :data:`jconv.TRANSPOSE_METHODS` /
:data:`jconv.FILTER_GRAD_METHODS`) take turns across the cases of each op family (see
:func:`turns`), so every method reproduces TensorFlow, jitted and eagerly, on many cases. That
every method agrees with the reference on every legal size is tests/test_ops.py's method matrix.
"""

from __future__ import annotations

from pathlib import Path

import jax
import numpy as np
import pytest
from _helpers import load_golden

import jconv

GOLDEN = Path(__file__).parent / "data" / "golden_tf.npz"


CASES = load_golden(GOLDEN)
IDS = [case["config"]["id"] for case in CASES]


def methods(op):
    """The methods an op takes; ``None`` for the forward conv, which has none."""
    if op.endswith(("_transpose", "_backprop_input")):
        return ("auto", *jconv.TRANSPOSE_METHODS)
    if op.endswith("_backprop_filter"):
        return ("auto", *jconv.FILTER_GRAD_METHODS)
    return (None,)


def caller(config):
    """``f(*arrays, method=...)`` calling the case's jconv op with its stored settings."""
    fn = getattr(jconv, config["op"])
    names = list(config["arrays"])
    kwargs = config["kwargs"]

    def call(*arrays, method=None):
        extra = {} if method is None else {"method": method}
        return fn(**dict(zip(names, arrays)), **kwargs, **extra)

    return call


def inputs(case, dtype):
    return [case["arrays"][name].astype(dtype) for name in case["config"]["arrays"].values()]


@pytest.fixture
def dtype(request):
    """float64 needs ``jax_enable_x64``; restore the previous setting afterwards."""
    old = jax.config.jax_enable_x64
    jax.config.update("jax_enable_x64", request.param == "float64")
    yield np.dtype(request.param)
    jax.config.update("jax_enable_x64", old)


def test_golden_file_is_complete():
    with np.load(GOLDEN) as z:
        assert str(z["meta/tensorflow"])  # the version that made the file
    assert len(CASES) >= 150
    assert len(set(IDS)) == len(IDS)
    ops = {case["config"]["op"] for case in CASES}
    for rank in ("", "1d", "2d", "3d"):
        for kind in ("", "_transpose", "_backprop_input", "_backprop_filter"):
            assert f"conv{rank}{kind}" in ops


def turns():
    """Per case: the method and dtype it is jitted in, and the method and dtype it runs eagerly
    with.

    The jit dtype alternates within each op family and the eager run uses the other dtype, so
    every case is checked in both dtypes; the methods take turns so that each op family runs
    every method jitted and eagerly in both dtypes across its cases.
    """
    jit, eager, count = [], [], {}
    for case in CASES:
        cid, ms = case["config"]["id"], methods(case["config"]["op"])
        j = count[ms] = count.get(ms, -1) + 1
        jit_dtype, eager_dtype = DTYPES[j % 2], DTYPES[1 - j % 2]
        method = ms[(j // 2) % len(ms)]
        jit_method = ms[(j // 2 + 1) % len(ms)]
        jid = f"{cid}-{jit_dtype}" if jit_method is None else f"{cid}-{jit_method}-{jit_dtype}"
        jit.append(pytest.param(case, jit_method, jit_dtype, id=jid))
        eid = f"{cid}-{eager_dtype}" if method is None else f"{cid}-{method}-{eager_dtype}"
        eager.append(pytest.param(case, method, eager_dtype, id=eid))
    return jit, eager


DTYPES = ("float32", "float64")
JIT, EAGER = turns()


@pytest.mark.parametrize(("case", "method", "dtype"), JIT, indirect=["dtype"])
def test_jit(case, method, dtype):
    call = caller(case["config"])
    jitted = jax.jit(lambda *arrays: call(*arrays, method=method))
    check(case, lambda *arrays, method: jitted(*arrays), dtype, [method])


@pytest.mark.parametrize(("case", "method", "dtype"), EAGER, indirect=["dtype"])
def test_eager(case, method, dtype):
    check(case, caller(case["config"]), dtype, [method])


def test_turns_cover_every_method_and_dtype():
    for ms in {methods(case["config"]["op"]) for case in CASES}:
        family = [p.values for p in EAGER if methods(p.values[0]["config"]["op"]) == ms]
        assert {(m, d) for _, m, d in family} == {(m, d) for m in ms for d in DTYPES}
        family = [p.values for p in JIT if methods(p.values[0]["config"]["op"]) == ms]
        assert {(m, d) for _, m, d in family} == {(m, d) for m in ms for d in DTYPES}


def check(case, call, dtype, ms):
    """Exact equality: integer-valued inputs keep every method exact in float32 too."""
    want = case["out"].astype(dtype)
    for method in ms:
        got = call(*inputs(case, dtype), method=method)
        assert got.dtype == dtype, f"method={method}"
        np.testing.assert_array_equal(np.asarray(got), want, err_msg=f"method={method}")
