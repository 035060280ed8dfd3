"""jconv against TensorFlow's stored results: every golden case, dtypes and methods in turn.

``tests/data/golden_tf.npz`` holds about 200 cases computed by TensorFlow (made by
``tests/data/make_golden.py``, which names the versions and keeps only cases on which TensorFlow's
float32 and float64 kernels agree); TensorFlow is not needed here. Inputs are integer-valued, so
every method must reproduce TensorFlow exactly, in float32 as in float64.

Every distinct configuration costs an XLA compile (jconv jits each op internally, so "eager"
calls compile too), and compiling dominates the runtime. So each case runs once, jitted
(settings closed over, arrays traced) or eagerly, with one method of its op in one dtype
(:func:`turns`).

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
    """Per case: the method, dtype and mode (jitted or eager) it runs in, once.

    Within each op family the dtype alternates case by case and the methods take turns every two
    cases, so each family runs every method in both dtypes; the mode flips after each full round
    of methods, so each (method, dtype) also runs both jitted and eagerly where the family has
    enough cases (that jit equals eager for every op is tests/test_jit.py's).
    """
    runs, count = [], {}
    for case in CASES:
        cid, ms = case["config"]["id"], methods(case["config"]["op"])
        j = count[ms] = count.get(ms, -1) + 1
        dtype, method = DTYPES[j % 2], ms[(j // 2) % len(ms)]
        mode = ("jit", "eager")[(j // (2 * len(ms))) % 2]
        rid = "-".join(str(p) for p in (cid, method, dtype, mode) if p is not None)
        runs.append(pytest.param(case, method, dtype, mode, id=rid))
    return runs


DTYPES = ("float32", "float64")
RUNS = turns()


@pytest.mark.parametrize(("case", "method", "dtype", "mode"), RUNS, indirect=["dtype"])
def test_golden(case, method, dtype, mode):
    call = caller(case["config"])
    if mode == "jit":
        jitted = jax.jit(lambda *arrays: call(*arrays, method=method))
        check(case, lambda *arrays, method: jitted(*arrays), dtype, [method])
    else:
        check(case, call, dtype, [method])


def test_turns_cover_every_method_and_dtype():
    for ms in {methods(case["config"]["op"]) for case in CASES}:
        family = [p.values for p in RUNS if methods(p.values[0]["config"]["op"]) == ms]
        assert {(m, d) for _, m, d, _ in family} == {(m, d) for m in ms for d in DTYPES}
        assert {mode for *_, mode in family} == {"jit", "eager"}


def check(case, call, dtype, ms):
    """Exact equality: integer-valued inputs keep every method exact in float32 too."""
    want = case["out"].astype(dtype)
    for method in ms:
        got = call(*inputs(case, dtype), method=method)
        assert got.dtype == dtype, f"method={method}"
        np.testing.assert_array_equal(np.asarray(got), want, err_msg=f"method={method}")
