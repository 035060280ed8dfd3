"""Dtypes and precision: every op and method keeps its dtype, the methods agree, and
``precision=`` is accepted everywhere.

* The output dtype is the input dtype for float16, bfloat16, float32, float64, complex64 and
  complex128, and ``preferred_element_type`` when given (bfloat16/float16 -> float32,
  float32 -> float64, complex64 -> complex128): every public op of both APIs, every method, 1-D
  to 3-D, by abstract evaluation (``jax.eval_shape``, no compile); the 2-D tests below check the
  dtypes of the arrays they compute too.
* The methods agree exactly on integer-valued data in float32, float64, complex64 and
  complex128 (every partial sum is an integer below 2**24), 2-D, both APIs, SAME/VALID, groups
  1/2.
* In float16 and bfloat16 each method is within a per-dtype tolerance of a float64 computation
  from the same rounded inputs. Error = ``max |y - y64| / max |y64|`` over the output, on normal
  random data; 2-D, batch 2, 7x6 inputs, 3x3 kernels, 4 channels, stride 2, SAME with groups 1
  and VALID with groups 2. Measured on XLA:CPU, jax 0.10.2 (``python tests/test_dtypes.py``
  prints it again), worst over the ops of both APIs (columns: the forward conv, the transposed
  conv / input gradient methods, the filter gradient methods ``f:``; rows: f16 = float16,
  bf16 = bfloat16, f32 = float32):

  =========== ======= ======= ======= ======= ======= ======= ======== ======= ======= =========
  in -> out   conv    dilate  vjp     pad     phase   col2im  winograd f:vjp   f:conv  f:patches
  =========== ======= ======= ======= ======= ======= ======= ======== ======= ======= =========
  f16         2.7e-04 4.6e-04 4.6e-04 4.6e-04 4.6e-04 4.6e-04 4.6e-04  2.6e-04 2.6e-04 2.6e-04
  bf16        2.0e-03 3.5e-03 3.5e-03 3.5e-03 3.5e-03 3.5e-03 3.5e-03  2.1e-03 2.1e-03 2.1e-03
  f16 -> f32  1.5e-07 7.4e-08 7.4e-08 8.5e-08 8.5e-08 5.3e-08 1.1e-07  9.0e-08 9.0e-08 8.3e-08
  bf16 -> f32 6.0e-08 3.3e-08 3.3e-08 2.8e-08 2.8e-08 3.3e-08 1.3e-07  5.2e-08 5.2e-08 4.7e-08
  =========== ======= ======= ======= ======= ======= ======= ======== ======= ======= =========

  The errors stay below half an ulp of the largest output (2**-11 = 4.9e-4 for float16,
  2**-8 = 3.9e-3 for bfloat16), as when XLA:CPU accumulates in float32 and rounds once;
  ``TOLERANCE`` is about twice the worst measured value. With ``preferred_element_type=float32``
  nothing is rounded to the input dtype and every method is within 1e-6 (before 778b2bd the
  ``"vjp"`` methods returned float32 values rounded to bfloat16/float16, 3.5e-3 here).
  ``"col2im"`` sums its per-tap products in float32 for float16/bfloat16 and rounds once, like
  the convs (rounding each product to float16 first measured 5.0e-4); ``"winograd"`` transforms
  and sums in float32 too.
* Mixed input dtypes raise a ``TypeError`` naming both arguments and their dtypes.
* ``precision=`` accepts None, "default", "high", "highest", ``lax.Precision.HIGHEST`` and a
  pair (of ``lax.Precision`` or of strings), in every op and method; on CPU every choice gives
  the default's result bit for bit.
"""

from __future__ import annotations

import functools
import sys
from typing import NamedTuple

import jax
import jax.numpy as jnp
import numpy as np
import pytest
from jax import lax

import jconv
import jconv.torch as jt

pytestmark = pytest.mark.usefixtures("x64")

STRIDE = 2
BATCH = 2
CHANNELS = 4
SPATIAL = {1: (7,), 2: (7, 6), 3: (5, 4, 3)}
KERNEL = {1: (3,), 2: (3, 3), 3: (3, 2, 2)}
SETTINGS = (("SAME", 1), ("VALID", 2))  # (TF padding, groups); PyTorch: SAME -> padding 1

DTYPES = ("float16", "bfloat16", "float32", "float64", "complex64", "complex128")
# (input dtype, preferred_element_type) -> max error vs float64, from the table in the docstring
TOLERANCE = {
    ("float16", None): 1e-3,
    ("bfloat16", None): 8e-3,
    ("float16", "float32"): 1e-6,
    ("bfloat16", "float32"): 1e-6,
}
PREFERRED = (
    ("bfloat16", "float32"),
    ("float16", "float32"),
    ("float32", "float64"),
    ("complex64", "complex128"),
)
PRECISIONS = {
    "None": None,
    "default": "default",
    "high": "high",
    "highest": "highest",
    "HIGHEST": lax.Precision.HIGHEST,
    "pair": (lax.Precision.HIGHEST, lax.Precision.DEFAULT),
    "str_pair": ("highest", "default"),
}


class Op(NamedTuple):
    name: str  # public name; "torch." prefix for jconv.torch
    rank: int
    methods: tuple  # (None,) for the forward conv
    arg_names: tuple  # the two array arguments as the API names them


def ops(rank, generic=False):
    tm, fm = jconv.TRANSPOSE_METHODS, jconv.FILTER_GRAD_METHODS
    base = "conv" if generic else f"conv{rank}d"
    yield Op(base, rank, (None,), ("input", "filters"))
    yield Op(f"{base}_transpose", rank, tm, ("input", "filters"))
    yield Op(f"{base}_backprop_input", rank, tm, ("out_backprop", "filters"))
    yield Op(f"{base}_backprop_filter", rank, fm, ("input", "out_backprop"))
    if generic:
        return
    yield Op(f"torch.conv{rank}d", rank, (None,), ("input", "weight"))
    yield Op(f"torch.conv_transpose{rank}d", rank, tm, ("input", "weight"))
    yield Op(f"torch.conv{rank}d_input", rank, tm, ("grad_output", "weight"))
    yield Op(f"torch.conv{rank}d_weight", rank, fm, ("input", "grad_output"))


ALL_OPS = [*ops(1), *ops(2), *ops(3), *ops(2, generic=True)]
OPS_2D = list(ops(2))


def op_id(op):
    return f"{op.rank}d-{op.name}"


def build(op: Op, padding: str, groups: int):
    """``(call, a_shape, b_shape)``; ``call(a, b, method, **kw)`` runs the op on its two arrays."""
    rank, ns, ks = op.rank, SPATIAL[op.rank], KERNEL[op.rank]
    cin = cout = CHANNELS
    if op.name.startswith("torch."):
        fn = getattr(jt, op.name.removeprefix("torch."))
        p = 1 if padding == "SAME" else 0
        ms = tuple((n + 2 * p - k) // STRIDE + 1 for n, k in zip(ns, ks))
        x_shape, w_shape, dy_shape = (
            (BATCH, cin, *ns),
            (cout, cin // groups, *ks),
            (BATCH, cout, *ms),
        )
        common = dict(stride=STRIDE, padding=p, groups=groups)

        def kw(method, extra):
            return {**common, **extra, **({} if method is None else {"method": method})}

        if "conv_transpose" in op.name:
            # the transposed-conv weight (C_in, C_out / g, *k) is this forward weight;
            # output_padding picks the forward input size
            out_pad = tuple(n - ((m - 1) * STRIDE - 2 * p + k) for n, m, k in zip(ns, ms, ks))
            return (
                lambda dy, w, method=None, **extra: fn(
                    dy, w, output_padding=out_pad, **kw(method, extra)
                ),
                dy_shape,
                w_shape,
            )
        if op.name.endswith("_input"):
            return (
                lambda dy, w, method=None, **extra: fn(x_shape, w, dy, **kw(method, extra)),
                dy_shape,
                w_shape,
            )
        if op.name.endswith("_weight"):
            return (
                lambda x, dy, method=None, **extra: fn(x, w_shape, dy, **kw(method, extra)),
                x_shape,
                dy_shape,
            )
        return (lambda x, w, method=None, **extra: fn(x, w, **kw(None, extra)), x_shape, w_shape)

    fn = getattr(jconv, op.name)
    if padding == "SAME":
        pads = [max((-(-n // STRIDE) - 1) * STRIDE + k - n, 0) for n, k in zip(ns, ks)]
    else:
        pads = [0] * rank
    ms = tuple((n + p - k) // STRIDE + 1 for n, k, p in zip(ns, ks, pads))
    x_shape, w_shape, dy_shape = (BATCH, *ns, cin), (*ks, cin // groups, cout), (BATCH, *ms, cout)
    settings = (STRIDE, padding)  # positional: conv1d names its stride "stride"

    def kw(method, extra):
        return {**extra, **({} if method is None else {"method": method})}

    if op.name.endswith("_transpose"):
        return (
            lambda dy, w, method=None, **extra: fn(dy, w, x_shape, *settings, **kw(method, extra)),
            dy_shape,
            w_shape,
        )
    if op.name.endswith("_backprop_input"):
        return (
            lambda dy, w, method=None, **extra: fn(x_shape, w, dy, *settings, **kw(method, extra)),
            dy_shape,
            w_shape,
        )
    if op.name.endswith("_backprop_filter"):
        return (
            lambda x, dy, method=None, **extra: fn(x, w_shape, dy, *settings, **kw(method, extra)),
            x_shape,
            dy_shape,
        )
    return (lambda x, w, method=None, **extra: fn(x, w, *settings, **extra), x_shape, w_shape)


def integers(shape, dtype, seed):
    rng = np.random.default_rng(seed)
    a = rng.integers(-3, 4, shape).astype(np.float64)
    if jnp.issubdtype(dtype, jnp.complexfloating):
        a = a + 1j * rng.integers(-3, 4, shape)
    return jnp.asarray(a, dtype)


def normals(shape, dtype, seed):
    return jnp.asarray(np.random.default_rng(seed).normal(size=shape), dtype)


def relative_error(y, y64):
    y, y64 = np.asarray(y, np.float64), np.asarray(y64, np.float64)
    return float(np.max(np.abs(y - y64)) / np.max(np.abs(y64)))


class Case(NamedTuple):
    padding: str
    groups: int
    data: str  # dtype the random data are drawn in (rounded to)
    dtype: str  # dtype the op runs in
    kwargs: tuple = ()  # (name, value) pairs passed to the op


def every_method(op, cases, draw, methods=None):
    """``{(case, method): y}``, all computed under one jax.jit: one compile per call instead of
    one per method and case. ``draw(shape, dtype, seed)`` makes the data."""
    methods = op.methods if methods is None else methods
    calls, arrays = [], []
    for case in cases:
        call, a_shape, b_shape = build(op, case.padding, case.groups)
        calls.append(call)
        a, b = draw(a_shape, case.data, 1), draw(b_shape, case.data, 2)
        arrays.append((a.astype(case.dtype), b.astype(case.dtype)))

    def run(arrays):
        return [
            {m: call(a, b, m, **dict(case.kwargs)) for m in methods}
            for call, case, (a, b) in zip(calls, cases, arrays)
        ]

    results = jax.jit(run)(arrays)
    return {(case, m): y for case, ys in zip(cases, results) for m, y in ys.items()}


# ---------------------------------------------------------------------------------------------
# output dtypes


@pytest.mark.parametrize("op", ALL_OPS, ids=op_id)
def test_output_dtype_is_input_dtype_or_preferred(op):
    call, a_shape, b_shape = build(op, "SAME", 2)
    for method in op.methods:
        for dtype, preferred in [*((d, None) for d in DTYPES), *PREFERRED]:
            a, b = jax.ShapeDtypeStruct(a_shape, dtype), jax.ShapeDtypeStruct(b_shape, dtype)
            out = jax.eval_shape(
                lambda a, b, m=method, p=preferred: call(a, b, m, preferred_element_type=p), a, b
            )
            assert out.dtype == jnp.dtype(preferred or dtype), (method, dtype, preferred)


# ---------------------------------------------------------------------------------------------
# the methods agree: exactly on integer data, within TOLERANCE in float16/bfloat16

# dtype -> (the dtype its results are checked against, the settings it runs): float32 and
# complex64 take one setting each to save compiles, checked against the wide dtype's result
EXACT = {
    "float32": ("float64", SETTINGS[:1]),
    "float64": ("float64", SETTINGS),
    "complex64": ("complex128", SETTINGS[1:2]),
    "complex128": ("complex128", SETTINGS[1:2]),
}


@functools.cache
def exact_results(op):
    cases = [Case(p, g, d, d) for d, (_, settings) in EXACT.items() for p, g in settings]
    return every_method(op, cases, integers)


@pytest.mark.parametrize("dtype", EXACT)
@pytest.mark.parametrize("op", OPS_2D, ids=op_id)
def test_methods_agree_exactly_on_integer_data(op, dtype):
    """Every method in every exact dtype equals the first method in the wide dtype."""
    results = exact_results(op)
    wide, settings = EXACT[dtype]
    for padding, groups in settings:
        want = results[Case(padding, groups, wide, wide), op.methods[0]]
        for method in op.methods:
            y = results[Case(padding, groups, dtype, dtype), method]
            assert y.dtype == jnp.dtype(dtype)
            np.testing.assert_array_equal(y.astype(wide), want, err_msg=f"{method} {padding}")


LOW = (("float16", None), ("bfloat16", None), ("float16", "float32"), ("bfloat16", "float32"))


@functools.cache
def low_precision_errors(op):
    """``{(dtype, preferred, method): max relative error vs float64}`` over two settings."""
    errors = {}
    for padding, groups in SETTINGS:
        cases = [Case(padding, groups, d, d, (("preferred_element_type", p),)) for d, p in LOW]
        got = every_method(op, cases, normals)
        exact = [Case(padding, groups, d, "float64") for d in ("float16", "bfloat16")]
        want = every_method(op, exact, normals, methods=op.methods[:1])
        for case in cases:
            preferred = dict(case.kwargs)["preferred_element_type"]
            y64 = want[Case(padding, groups, case.data, "float64"), op.methods[0]]
            for method in op.methods:
                y = got[case, method]
                assert y.dtype == jnp.dtype(preferred or case.dtype)
                key = (case.dtype, preferred, method)
                errors[key] = max(errors.get(key, 0.0), relative_error(y, y64))
    return errors


@pytest.mark.parametrize("dtype, preferred", LOW, ids=[f"{d}-{p}" if p else d for d, p in LOW])
@pytest.mark.parametrize(
    "op, method",
    [(op, m) for op in OPS_2D for m in op.methods],
    ids=[f"{op_id(op)}-{m}" if m else op_id(op) for op in OPS_2D for m in op.methods],
)
def test_low_precision_within_tolerance_of_float64(op, method, dtype, preferred):
    error = low_precision_errors(op)[dtype, preferred, method]
    assert error <= TOLERANCE[dtype, preferred], error


# ---------------------------------------------------------------------------------------------
# mixed dtypes


MIXED = (("float32", "bfloat16"), ("float64", "float32"), ("complex64", "float32"))


@pytest.mark.parametrize("op", ALL_OPS, ids=op_id)
def test_mixed_dtypes_raise_type_error_naming_both(op):
    call, a_shape, b_shape = build(op, "SAME", 1)
    first, second = op.arg_names
    for method in op.methods:
        for da, db in MIXED:
            with pytest.raises(TypeError) as info:
                call(jnp.zeros(a_shape, da), jnp.zeros(b_shape, db), method)
            message = str(info.value)
            assert f"{first} has dtype {da}" in message, message
            assert f"{second} has dtype {db}" in message, message


@pytest.mark.parametrize("name", ["conv2d", "conv_transpose2d"])
def test_torch_bias_dtype_must_match(name):
    x, w = jnp.zeros((1, 2, 4, 4), jnp.float32), jnp.zeros((2, 2, 3, 3), jnp.float32)
    bias = jnp.zeros(2, jnp.float16)
    with pytest.raises(TypeError, match="input has dtype float32 but bias has dtype float16"):
        getattr(jt, name)(x, w, bias)


# ---------------------------------------------------------------------------------------------
# precision


@functools.cache
def precision_results(op):
    cases = [
        Case("SAME", 2, "float32", "float32", (("precision", p),)) for p in PRECISIONS.values()
    ]
    return every_method(op, cases, normals)


@pytest.mark.parametrize(
    "op, method",
    [(op, m) for op in OPS_2D for m in op.methods],
    ids=[f"{op_id(op)}-{m}" if m else op_id(op) for op in OPS_2D for m in op.methods],
)
def test_every_precision_accepted_and_equal_to_default_on_cpu(op, method):
    results = precision_results(op)
    want = results[Case("SAME", 2, "float32", "float32", (("precision", None),)), method]
    for name, precision in PRECISIONS.items():
        y = results[Case("SAME", 2, "float32", "float32", (("precision", precision),)), method]
        if jax.default_backend() == "cpu":
            np.testing.assert_array_equal(y, want, err_msg=name)
        else:  # TF32/bf16 passes elsewhere: "default" may be less precise than "highest"
            np.testing.assert_allclose(y, want, rtol=1e-2, atol=1e-2, err_msg=name)


# ---------------------------------------------------------------------------------------------
# the table in the module docstring


def _table():
    """Worst error per (dtype row, method column) over the 2-D ops of both APIs."""
    columns = [(None, "t"), *((m, "t") for m in jconv.TRANSPOSE_METHODS)]
    columns += [(m, "f") for m in jconv.FILTER_GRAD_METHODS]
    worst = {}
    for op in OPS_2D:
        kind = "f" if op.methods == jconv.FILTER_GRAD_METHODS else "t"
        for (dtype, preferred, method), e in low_precision_errors(op).items():
            key = (dtype, preferred, method, kind)
            worst[key] = max(worst.get(key, 0.0), e)
    names = [("conv" if m is None else m) if k == "t" else f"f:{m}" for m, k in columns]
    rows = [["in -> out", *names]]
    for dtype, preferred in LOW:
        row = [f"{dtype} -> {preferred}" if preferred else dtype]
        rows.append(row + [f"{worst[dtype, preferred, m, k]:.1e}" for m, k in columns])
    widths = [19, *(max(7, len(n)) for n in names)]
    rule = " ".join("=" * w for w in widths)
    lines = [" ".join(c.ljust(w) for c, w in zip(r, widths)).rstrip() for r in rows]
    return "\n".join([rule, lines[0], rule, *lines[1:], rule])


if __name__ == "__main__":  # python tests/test_dtypes.py: measure the docstring's table again
    jax.config.update("jax_enable_x64", True)
    print(jax.__version__, jax.default_backend(), file=sys.stderr)
    print(_table())
