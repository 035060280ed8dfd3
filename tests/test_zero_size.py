"""Zero-size dimensions follow the framework whose API it is (docs/zero_size.md).

Every case of ``tests/data/zero_size.json`` (made by ``tests/data/make_zero_size.py`` from
TensorFlow 2.21 and PyTorch 2.13): where the framework returns a result, jconv returns one of the
same shape and values and the input's dtype, in every method, eager and under ``jax.jit``, and
``jax.grad`` / ``jax.jvp`` through it give zeros of the operands' / result's shapes; where the
framework refuses, jconv raises a ``ValueError`` naming the function.
"""

import importlib.util
import json
from pathlib import Path

import jax
import jax.numpy as jnp
import numpy as np
import pytest

import jconv
import jconv.torch

DATA = Path(__file__).parent / "data"
CASES = json.loads((DATA / "zero_size.json").read_text())["cases"]


def _module(case):
    return jconv.torch if case["api"] == "torch" else jconv


def _name(case):
    return ("jconv.torch." if case["api"] == "torch" else "jconv.") + case["op"]


def _methods(op):
    if op.endswith(("_transpose", "_backprop_input", "_input")) or "transpose" in op:
        return ("auto", *jconv.TRANSPOSE_METHODS)
    if op.endswith(("_backprop_filter", "_weight")):
        return ("auto", *jconv.FILTER_GRAD_METHODS)
    return (None,)


def _arrays(i, case, dtype):
    """The script's integer-valued data for case ``i``, in ``dtype``."""
    return {
        name: jnp.asarray(np.random.default_rng([i, j]).integers(-3, 4, shape), dtype)
        for j, (name, shape) in enumerate(case["arrays"].items())
    }


def _call(case, method):
    fn = getattr(_module(case), case["op"])
    kwargs = dict(case["kwargs"])
    if method is not None:
        kwargs["method"] = method
    names = list(case["arrays"])
    return lambda *arrays: fn(**dict(zip(names, arrays)), **kwargs)


@pytest.mark.parametrize("i", range(len(CASES)), ids=[c["id"] for c in CASES])
def test_case(i):
    case = CASES[i]
    expect = case["expect"]
    arrays = list(_arrays(i, case, jnp.float32).values())
    for method in _methods(case["op"]):
        f = _call(case, method)
        if "error" in expect:
            with pytest.raises(ValueError, match=_name(case).replace(".", r"\.") + ":"):
                f(*arrays)
            continue
        shape = tuple(expect["shape"])
        want = np.asarray(expect.get("values", []), np.float64).reshape(shape)
        y = f(*arrays)
        assert y.shape == shape and y.dtype == jnp.float32, (method, y.shape, y.dtype)
        np.testing.assert_array_equal(np.asarray(y), want, err_msg=str(method))

        cot = jnp.ones(shape, jnp.float32)

        def transforms(*a, f=f, cot=cot):
            grads = jax.grad(lambda *a: jnp.sum(f(*a) * cot), argnums=tuple(range(len(a))))(*a)
            _, tangent = jax.jvp(f, a, tuple(jnp.ones_like(v) for v in a))
            return f(*a), grads, tangent

        y_jit, grads, tangent = jax.jit(transforms)(*arrays)
        np.testing.assert_array_equal(np.asarray(y_jit), want, err_msg=str(method))
        if want.any():  # no case has a non-zero result: zero-size dims leave only empty sums
            continue
        assert tangent.shape == shape and not np.asarray(tangent).any(), method
        for a, g in zip(arrays, grads):
            assert g.shape == a.shape and g.dtype == a.dtype, (method, g.shape, a.shape)
            assert not np.asarray(g).any(), method


def test_float64_and_preferred_element_type(x64):
    """The zeros take the input's dtype, or preferred_element_type when given."""
    x, w = jnp.ones((1, 0, 2, 1), jnp.float64), jnp.ones((1, 1, 1, 1), jnp.float64)
    y = jconv.conv2d(x, w, padding=[[1, 1], [1, 1]])
    assert y.shape == (1, 2, 4, 1) and y.dtype == jnp.float64
    x32, w32 = x.astype(jnp.float32), w.astype(jnp.float32)
    y = jconv.conv2d(x32, w32, padding=[[1, 1], [1, 1]], preferred_element_type=jnp.float64)
    assert y.dtype == jnp.float64
    dw = jconv.torch.conv2d_weight(
        jnp.ones((0, 2, 5, 5), jnp.complex128), (3, 2, 3, 3), jnp.ones((0, 3, 3, 3), jnp.complex128)
    )
    assert dw.shape == (3, 2, 3, 3) and dw.dtype == jnp.complex128 and not dw.any()


def test_vmap_and_no_recompile():
    """vmap over a zero-size op, and the jitted zeros are traced once per shape."""
    dy, w = jnp.ones((3, 1, 0, 3, 3)), jnp.ones((3, 3, 2, 3))
    ys = jax.vmap(lambda d: jconv.conv2d_transpose(d, w, (1, 0, 6, 2), strides=2))(dy)
    assert ys.shape == (3, 1, 0, 6, 2)
    traces = []

    @jax.jit
    def f(d):
        traces.append(1)
        return jconv.conv2d_backprop_input((1, 3, 2, 1), jnp.ones((2, 3, 1, 1)), d)

    f(jnp.ones((1, 2, 0, 1)))
    f(jnp.zeros((1, 2, 0, 1)))
    assert len(traces) == 1


def _script():
    spec = importlib.util.spec_from_file_location("make_zero_size", DATA / "make_zero_size.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def _live_cases(api):
    return [(i, c) for i, c in enumerate(CASES) if c["api"] == api]


def test_live_torch():
    """jconv.torch against the installed PyTorch, float64, where it runs."""
    torch = pytest.importorskip("torch")
    script = _script()
    for i, case in _live_cases("torch"):
        a = script.arrays_of(case, i)
        try:
            want = script.torch_call(torch, case, a).numpy()
        except RuntimeError:
            with pytest.raises(ValueError, match=_name(case)):
                _call(case, None)(*(jnp.asarray(v, jnp.float32) for v in a.values()))
            continue
        y = _call(case, None)(*(jnp.asarray(v, jnp.float32) for v in a.values()))
        assert y.shape == want.shape, case["id"]
        np.testing.assert_array_equal(np.asarray(y), want, err_msg=case["id"])


def test_live_tensorflow():
    """jconv against the installed TensorFlow's reference kernels (float64), where they run."""
    tf = pytest.importorskip("tensorflow")
    script = _script()
    for i, case in _live_cases("tf"):
        if "oneDNN" in case["source"] or "tf_note" in case:  # no float64 kernel / unwritten
            continue
        a = script.arrays_of(case, i)
        try:
            want = np.asarray(script.tf_call(tf, case, a, tf.float64))
        except (tf.errors.OpError, ValueError, TypeError):
            with pytest.raises(ValueError, match=_name(case)):
                _call(case, None)(*(jnp.asarray(v, jnp.float32) for v in a.values()))
            continue
        y = _call(case, None)(*(jnp.asarray(v, jnp.float32) for v in a.values()))
        # values: the golden test (some TF kernels leave an empty sum's memory unwritten)
        assert y.shape == want.shape, case["id"]
