"""``jconv.torch`` against NumPy loop references: every op, every method, every legal size.

The references are :mod:`jconv.reference` (channels last, TensorFlow filter layouts) behind small
adapters that move PyTorch's ``(N, C, *spatial)`` data to ``(N, *spatial, C)`` and its weights to
TensorFlow's layouts:

* forward weight ``(C_out, C_in / g, *k)`` -> ``(*k, C_in / g, C_out)``;
* transposed-conv weight ``(C_in, C_out / g, *k)`` -> ``(*k, C_out / g, C_in)`` (the same
  permutation: it *is* the forward weight of the conv whose input gradient the transpose is).

PyTorch's integer ``padding`` is ``(p, p)`` in every dim; ``"same"`` pads ``d * (k - 1)`` in total,
the odd row at the end; a transposed conv's output size is
``(m - 1) * s - 2 * p + d * (k - 1) + output_padding + 1`` with ``output_padding < max(s, d)``.

Inputs are integer-valued, so every method must match exactly in float64 and float32. The input
and filter gradients run one method (their sizes are the TensorFlow API's, whose method matrix is
tests/test_ops.py's), and so does the transposed conv at those sizes; its sizes past the forward
range (``output_padding >= stride``, reachable when ``dilation > stride``) run every method. Each
distinct shape costs an XLA compile (~0.1-0.3 s), so a case runs all its sizes / output_paddings
with every named method in both dtypes under one ``jax.jit``, and its first size / output_padding
also eagerly with ``method="auto"`` in both dtypes (eager calls of the named methods run the same
inner jitted functions).
"""

from __future__ import annotations

import inspect
import itertools
from typing import NamedTuple

import jax
import jax.numpy as jnp
import numpy as np
import pytest
from _helpers import count_compiles
from jax import lax

import jconv
import jconv.torch as jt
from jconv import reference

TRANSPOSE_METHODS = ("auto", *jconv.TRANSPOSE_METHODS)
FILTER_GRAD_METHODS = ("auto", *jconv.FILTER_GRAD_METHODS)
# Where PyTorch's sizes are the TensorFlow API's too (the input and filter gradients), one method:
# both APIs reach the same jit entry points and tests/test_ops.py runs the method matrix there.
# The transposed conv runs every method where its output_padding reaches sizes past the forward
# range (output_padding >= stride, when dilation > stride): sizes the TensorFlow API refuses.
ONE_METHOD = ["auto"]

# ---------------------------------------------------------------------------------------------
# adapters: PyTorch layouts and arguments -> jconv.reference


def per_dim(value, rank):
    return (int(value),) * rank if np.isscalar(value) else tuple(int(v) for v in value)


def torch_pads(padding, rank, ks, ds):
    """PyTorch's forward padding as ``(lo, hi)`` pairs."""
    if padding == "valid":
        return [(0, 0)] * rank
    if padding == "same":
        totals = [d * (k - 1) for k, d in zip(ks, per_dim(ds, rank))]
        return [(t // 2, t - t // 2) for t in totals]
    return [(p, p) for p in per_dim(padding, rank)]


def last(a):
    return np.moveaxis(np.asarray(a), 1, -1)


def first(a):
    return np.moveaxis(np.asarray(a), -1, 1)


def tf_weight(w):
    """``(A, B, *k)`` -> ``(*k, B, A)``: both PyTorch weight layouts to TensorFlow's."""
    rank = w.ndim - 2
    return np.transpose(np.asarray(w), (*range(2, rank + 2), 1, 0))


def torch_weight(w):
    """Inverse of :func:`tf_weight`."""
    rank = w.ndim - 2
    return np.transpose(np.asarray(w), (rank + 1, rank, *range(rank)))


def add_bias(y, b):
    return y if b is None else y + np.asarray(b).reshape(-1, *(1,) * (y.ndim - 2))


def forward_sizes(n, ks, stride, pads, dilation):
    rank = len(n)
    return tuple(
        (a + lo + hi - d * (k - 1) - 1) // s + 1
        for a, k, s, d, (lo, hi) in zip(n, ks, per_dim(stride, rank), per_dim(dilation, rank), pads)
    )


def transpose_sizes(m, ks, stride, padding, output_padding, dilation):
    rank = len(m)
    return tuple(
        (a - 1) * s - 2 * p + d * (k - 1) + op + 1
        for a, k, s, p, op, d in zip(
            m,
            ks,
            per_dim(stride, rank),
            per_dim(padding, rank),
            per_dim(output_padding, rank),
            per_dim(dilation, rank),
        )
    )


def ref_conv(x, w, b=None, stride=1, padding=0, dilation=1, groups=1):
    del groups  # the reference infers it from the channel counts
    rank = x.ndim - 2
    pads = torch_pads(padding, rank, w.shape[2:], dilation)
    y = reference.conv(last(x), tf_weight(w), per_dim(stride, rank), pads, per_dim(dilation, rank))
    return add_bias(first(y), b)


def ref_conv_transpose(x, w, b=None, stride=1, padding=0, output_padding=0, groups=1, dilation=1):
    rank = x.ndim - 2
    n = transpose_sizes(x.shape[2:], w.shape[2:], stride, padding, output_padding, dilation)
    pads = [(p, p) for p in per_dim(padding, rank)]
    y = reference.conv_transpose(
        last(x),
        tf_weight(w),
        n,
        per_dim(stride, rank),
        pads,
        per_dim(dilation, rank),
        groups=groups,
    )
    return add_bias(first(y), b)


def ref_conv_input(input_size, w, dy, stride=1, padding=0, dilation=1, groups=1):
    del groups
    rank = dy.ndim - 2
    sizes = (input_size[0], *input_size[2:], input_size[1])
    pads = torch_pads(padding, rank, w.shape[2:], dilation)
    return first(
        reference.conv_backprop_input(
            sizes, tf_weight(w), last(dy), per_dim(stride, rank), pads, per_dim(dilation, rank)
        )
    )


def ref_conv_weight(x, weight_size, dy, stride=1, padding=0, dilation=1, groups=1):
    del groups
    rank = x.ndim - 2
    tf_size = (*weight_size[2:], weight_size[1], weight_size[0])
    pads = torch_pads(padding, rank, weight_size[2:], dilation)
    dw = reference.conv_backprop_filter(
        last(x), tf_size, last(dy), per_dim(stride, rank), pads, per_dim(dilation, rank)
    )
    return torch_weight(dw)


def ints(rng, *shape):
    return rng.integers(-3, 4, shape).astype(np.float64)


def as_(dtype, *arrays):
    """Cast on the host: ``jnp.asarray(a, dtype)`` would compile a convert per shape."""
    return [None if a is None else jnp.asarray(np.asarray(a, dtype)) for a in arrays]


def op(name, rank):
    return getattr(jt, name.format(r=rank))


def check(arrays, calls, methods):
    """``calls``: ``(label, call, want)`` with ``call(*arrays, method=...)``; ``methods`` the named
    methods (``[None]`` for the forward conv, which has none). Every call with every method, in
    float64 and float32, runs under one ``jax.jit`` (one compile); the first call also runs
    eagerly with ``method="auto"`` in both dtypes."""
    dtypes = (jnp.float64, jnp.float32)

    def run(*per_dtype):
        return [[[call(*a, method=m) for m in methods] for _, call, _ in calls] for a in per_dtype]

    results = jax.jit(run)(*(as_(dtype, *arrays) for dtype in dtypes))
    for dtype, result in zip(dtypes, results):
        for (label, _, want), got in zip(calls, result):
            for method, g in zip(methods, got):
                assert g.dtype == dtype
                np.testing.assert_array_equal(g, want, err_msg=f"jit {label} {method} {dtype}")
    label, call, want = calls[0]
    for dtype in dtypes:
        got = call(*as_(dtype, *arrays), method=None if methods == [None] else "auto")
        assert got.dtype == dtype
        np.testing.assert_array_equal(got, want, err_msg=f"eager {label} {dtype}")


def strs(v):
    return "x".join(map(str, v)) if isinstance(v, (tuple, list)) else str(v)


# ---------------------------------------------------------------------------------------------
# names, argument order and defaults (PyTorch's), methods

SIGNATURES = {
    "conv{r}d": "input, weight, bias=None, stride=1, padding=0, dilation=1, groups=1",
    "conv_transpose{r}d": (
        "input, weight, bias=None, stride=1, padding=0, output_padding=0, groups=1, dilation=1"
    ),
    "conv{r}d_input": "input_size, weight, grad_output, stride=1, padding=0, dilation=1, groups=1",
    "conv{r}d_weight": "input, weight_size, grad_output, stride=1, padding=0, dilation=1, groups=1",
}


def positional_signature(fn):
    """``"a, b=1, ..."`` of the parameters that can be passed positionally."""
    params = inspect.signature(fn).parameters.values()
    return ", ".join(
        p.name if p.default is inspect.Parameter.empty else f"{p.name}={p.default!r}"
        for p in params
        if p.kind is inspect.Parameter.POSITIONAL_OR_KEYWORD
    )


@pytest.mark.parametrize("rank", [1, 2, 3])
@pytest.mark.parametrize("name", SIGNATURES)
def test_signatures_are_pytorchs(name, rank):
    """Positional names, order and defaults as ``torch.nn.functional`` / ``torch.nn.grad``;
    ``method`` (where there is one) is keyword-only and defaults to ``"auto"``."""
    fn = op(name, rank)
    assert fn.__name__ == name.format(r=rank)
    assert positional_signature(fn) == SIGNATURES[name]
    assert name.format(r=rank) in jt.__all__
    if name != "conv{r}d":
        method = inspect.signature(fn).parameters["method"]
        assert method.kind is inspect.Parameter.KEYWORD_ONLY and method.default == "auto"


def test_method_tuples():
    assert jt.TRANSPOSE_METHODS == jconv.TRANSPOSE_METHODS
    assert jt.FILTER_GRAD_METHODS == jconv.FILTER_GRAD_METHODS
    assert len(jconv.TRANSPOSE_METHODS) >= 2 and len(jconv.FILTER_GRAD_METHODS) >= 2


# ---------------------------------------------------------------------------------------------
# forward geometries: conv, conv*_input (every reachable input size), conv*_weight


class Fwd(NamedTuple):
    n: tuple
    k: tuple
    stride: object
    padding: object
    dilation: object
    cin: int
    cout: int
    groups: int
    bias: bool

    @property
    def rank(self):
        return len(self.n)

    @property
    def settings(self):
        return dict(
            stride=self.stride, padding=self.padding, dilation=self.dilation, groups=self.groups
        )

    @property
    def pads(self):
        return torch_pads(self.padding, self.rank, self.k, self.dilation)

    @property
    def m(self):
        return forward_sizes(self.n, self.k, self.stride, self.pads, self.dilation)

    def id(self):
        return (
            f"{self.rank}d-n{strs(self.n)}-k{strs(self.k)}-s{strs(self.stride)}"
            f"-p{strs(self.padding)}-d{strs(self.dilation)}-g{self.groups}"
            + ("-bias" if self.bias else "")
        )


FWD = [
    Fwd((9,), (3,), 2, 1, 1, 2, 4, 1, True),
    Fwd((10,), (4,), 1, "same", 1, 3, 3, 3, False),  # total 3: (1, 2)
    Fwd((9,), (2,), 1, "same", 2, 2, 4, 2, True),  # total 2: (1, 1)
    Fwd((8,), (2,), 3, "valid", 2, 4, 2, 2, True),
    Fwd((7,), (3,), (2,), (2,), (1,), 3, 6, 3, False),  # one-tuples
    Fwd((7, 8), (3, 2), (1, 2), (1, 0), 1, 2, 3, 1, True),
    Fwd((7, 8), (3, 3), (2, 3), 2, (2, 1), 4, 6, 2, False),
    Fwd((6, 7), (3, 4), 1, "same", (2, 1), 3, 6, 3, True),  # totals 4 and 3
    Fwd((8, 5), (3, 3), (3, 1), "valid", (1, 2), 3, 3, 3, True),
    Fwd((5, 5), (4, 4), 2, 3, 1, 1, 1, 1, False),  # padding 3 of a 4-tap kernel
    Fwd((4, 6), (1, 2), (3, 2), 0, 1, 2, 2, 2, True),  # stride larger than the kernel
    Fwd((4, 5, 3), (2, 3, 2), (2, 1, 2), (1, 0, 1), 1, 2, 2, 1, True),
    Fwd((5, 4, 4), (3, 2, 2), (1, 2, 1), "valid", (2, 1, 1), 4, 6, 2, False),
    Fwd((4, 4, 5), (2, 2, 3), 1, "same", (1, 2, 1), 3, 3, 3, True),
]


def fwd_data(case, seed=0):
    rng = np.random.default_rng(seed)
    x = ints(rng, 2, case.cin, *case.n)
    w = ints(rng, case.cout, case.cin // case.groups, *case.k)
    b = ints(rng, case.cout) if case.bias else None
    dy = ints(rng, 2, case.cout, *case.m)
    return x, w, b, dy


def input_size_range(case):
    """Every forward input size whose output size is ``m`` (several when the stride is > 1)."""
    ranges = []
    for a, k, s, d, (lo, hi) in zip(
        case.m,
        case.k,
        per_dim(case.stride, case.rank),
        per_dim(case.dilation, case.rank),
        case.pads,
    ):
        first_n = (a - 1) * s + d * (k - 1) + 1 - lo - hi
        ranges.append(range(max(first_n, 1), first_n + s))
    return list(itertools.product(*ranges))


@pytest.mark.parametrize("case", FWD, ids=Fwd.id)
def test_conv(case, x64):
    x, w, b, _ = fwd_data(case)
    want = ref_conv(x, w, b, **case.settings)
    fn = op("conv{r}d", case.rank)
    check([x, w, b], [("conv", lambda x, w, b, method: fn(x, w, b, **case.settings), want)], [None])


@pytest.mark.parametrize("case", FWD, ids=Fwd.id)
def test_conv_input_every_size(case, x64):
    _, w, _, dy = fwd_data(case)
    fn = op("conv{r}d_input", case.rank)
    sizes = input_size_range(case)
    assert (case.n in sizes) and len(sizes) == np.prod(per_dim(case.stride, case.rank))
    calls = []
    for n in sizes:
        size = (2, case.cin, *n)
        calls.append(
            (
                f"input_size={size}",
                lambda w, dy, method, size=size: fn(size, w, dy, **case.settings, method=method),
                ref_conv_input(size, w, dy, **case.settings),
            )
        )
    check([w, dy], calls, ONE_METHOD)


@pytest.mark.parametrize("case", FWD, ids=Fwd.id)
def test_conv_weight(case, x64):
    x, w, _, dy = fwd_data(case)
    fn = op("conv{r}d_weight", case.rank)
    want = ref_conv_weight(x, w.shape, dy, **case.settings)
    check(
        [x, dy],
        [
            (
                "weight",
                lambda x, dy, method: fn(x, w.shape, dy, **case.settings, method=method),
                want,
            )
        ],
        ONE_METHOD,
    )


@pytest.mark.parametrize("case", FWD[::2], ids=Fwd.id)
def test_gradients_are_jax_gradients(case, x64):
    """conv*_input / conv*_weight == ``jax.vjp`` of conv*d; ``<dy, conv(x)> == <dx, x> ==
    <dw, w>``."""
    x, w, _, dy = fwd_data(case, seed=3)
    fwd = op("conv{r}d", case.rank)
    y, pullback = jax.vjp(
        lambda x, w: fwd(x, w, None, **case.settings), jnp.asarray(x), jnp.asarray(w)
    )
    dx_vjp, dw_vjp = pullback(jnp.asarray(dy))
    dx = op("conv{r}d_input", case.rank)(x.shape, w, dy, **case.settings)
    dw = op("conv{r}d_weight", case.rank)(x, w.shape, dy, **case.settings)
    np.testing.assert_array_equal(dx, dx_vjp)
    np.testing.assert_array_equal(dw, dw_vjp)
    inner = float(jnp.vdot(dy, y))
    assert inner == float(jnp.vdot(dx, x)) == float(jnp.vdot(dw, w))


# ---------------------------------------------------------------------------------------------
# transposed convolutions: every legal output_padding


class Tr(NamedTuple):
    m: tuple
    k: tuple
    stride: object
    padding: object
    dilation: object
    cin: int  # the transposed conv's input channels (weight.shape[0])
    cout: int  # its output channels (weight.shape[1] * groups)
    groups: int
    bias: bool

    @property
    def rank(self):
        return len(self.m)

    def output_paddings(self):
        """Every legal output_padding: ``< max(stride, dilation)`` per dim."""
        tops = [
            max(s, d)
            for s, d in zip(per_dim(self.stride, self.rank), per_dim(self.dilation, self.rank))
        ]
        return list(itertools.product(*map(range, tops)))

    def settings(self, output_padding):
        return dict(
            stride=self.stride,
            padding=self.padding,
            output_padding=output_padding,
            groups=self.groups,
            dilation=self.dilation,
        )

    def id(self):
        return (
            f"{self.rank}d-m{strs(self.m)}-k{strs(self.k)}-s{strs(self.stride)}"
            f"-p{strs(self.padding)}-d{strs(self.dilation)}-g{self.groups}"
            + ("-bias" if self.bias else "")
        )


TR = [
    Tr((4,), (3,), 3, 1, 1, 2, 3, 1, True),
    Tr((3,), (2,), 2, 0, 3, 4, 4, 2, False),  # dilation > stride
    Tr((3,), (3,), 1, 2, 2, 3, 3, 3, True),  # stride 1, output_padding 1
    Tr((3, 2), (3, 3), (2, 3), (1, 0), 1, 2, 3, 1, True),
    Tr((3, 3), (2, 3), 2, (0, 1), (3, 1), 4, 6, 2, False),
    Tr((2, 3), (3, 2), (1, 3), 1, (2, 1), 3, 3, 3, True),
    Tr((3, 2), (1, 2), (3, 2), 0, 1, 2, 2, 1, False),  # kernel shorter than the stride
    Tr((2, 2), (2, 2), 1, 1, 1, 2, 4, 2, True),  # padding eats the kernel
    Tr((2, 2, 2), (2, 3, 2), (1, 2, 3), (0, 1, 1), 1, 2, 2, 1, True),
    Tr((2, 3, 2), (2, 2, 2), (2, 1, 2), 0, (1, 2, 1), 4, 4, 2, False),
    Tr((2, 2, 2), (2, 2, 2), 1, 0, 1, 3, 6, 3, True),
]


def tr_data(case, seed=1):
    rng = np.random.default_rng(seed)
    x = ints(rng, 2, case.cin, *case.m)
    w = ints(rng, case.cin, case.cout // case.groups, *case.k)
    b = ints(rng, case.cout) if case.bias else None
    return x, w, b


@pytest.mark.parametrize("case", TR, ids=Tr.id)
def test_conv_transpose_every_output_padding(case, x64):
    x, w, b = tr_data(case)
    """Every legal output_padding: the sizes past the forward range by every method, the others
    (the TensorFlow API's sizes, whose method matrix is tests/test_ops.py's) by ``"auto"``."""
    fn = op("conv_transpose{r}d", case.rank)
    strides = per_dim(case.stride, case.rank)
    within, past = [], []
    for opad in case.output_paddings():
        kw = case.settings(opad)
        want = ref_conv_transpose(x, w, b, **kw)
        n = transpose_sizes(case.m, case.k, case.stride, case.padding, opad, case.dilation)
        assert want.shape == (2, case.cout, *n)
        calls = past if any(o >= s for o, s in zip(opad, strides)) else within
        calls.append(
            (
                f"output_padding={opad}",
                lambda x, w, b, method, kw=kw: fn(x, w, b, **kw, method=method),
                want,
            )
        )
    check([x, w, b], within, ONE_METHOD)
    if past:
        check([x, w, b], past, jconv.TRANSPOSE_METHODS)


@pytest.mark.parametrize("case", TR, ids=Tr.id)
def test_conv_transpose_is_the_input_gradient(case, x64):
    """``conv_transpose(dy, w, output_padding=op) == conv_input(n, w, dy)`` wherever ``n`` is
    reachable (``op < stride``): the transposed-conv weight is the forward conv's weight."""
    x, w, _ = tr_data(case, seed=2)
    strides = per_dim(case.stride, case.rank)
    tr = op("conv_transpose{r}d", case.rank)
    grad = op("conv{r}d_input", case.rank)
    opads = [o for o in case.output_paddings() if all(a < s for a, s in zip(o, strides))]
    assert len(opads) == np.prod(strides)

    @jax.jit
    def both(x, w):
        out = []
        for opad in opads:
            y = tr(x, w, None, **case.settings(opad))
            out.append(
                (y, grad(y.shape, w, x, case.stride, case.padding, case.dilation, case.groups))
            )
        return out

    for opad, (y, dx) in zip(opads, both(jnp.asarray(x), jnp.asarray(w))):
        np.testing.assert_array_equal(dx, y, err_msg=str(opad))


def test_extra_rows_past_every_window_are_bias():
    """dilation 3 > stride 2 allows output_padding 2 >= stride: the last rows are beyond every
    window, so they hold the bias only (PyTorch pads the output)."""
    x = jnp.ones((1, 2, 3))
    w = jnp.ones((2, 1, 2))
    for method in TRANSPOSE_METHODS:
        y = jt.conv_transpose1d(
            x, w, jnp.array([10.0]), stride=2, output_padding=2, dilation=3, method=method
        )
        # rows 0..7 from (3 - 1) * 2 + 3 * 1 + 1 = 8, then two rows of padding
        np.testing.assert_array_equal(y[0, 0], [12, 10, 12, 12, 12, 12, 10, 12, 10, 10])


# ---------------------------------------------------------------------------------------------
# layouts: unbatched inputs, an empty batch, PyTorch's weight mapping


def _small(rank, seed=4):
    rng = np.random.default_rng(seed)
    x = ints(rng, 4, *(5,) * rank)
    w = ints(rng, 6, 2, *(3,) * rank)
    b = ints(rng, 6)
    return x, w, b


@pytest.mark.parametrize("rank", [1, 2, 3])
def test_unbatched(rank):
    """``(C, *spatial)`` in, ``(C, *spatial)`` out, equal to the batch of one (PyTorch's
    convention for ``F.conv*`` and ``F.conv_transpose*``; extended to the gradients)."""
    x, w, b = _small(rank)
    kw = dict(stride=2, padding=1, dilation=1, groups=2)
    y = op("conv{r}d", rank)(x, w, b, **kw)
    assert y.shape == (6, *(3,) * rank)
    np.testing.assert_array_equal(y, op("conv{r}d", rank)(x[None], w, b, **kw)[0])
    np.testing.assert_array_equal(y, ref_conv(x[None], w, b, **kw)[0])
    dy = y - jnp.asarray(b).reshape(-1, *(1,) * rank)
    for method in ONE_METHOD:
        t = op("conv_transpose{r}d", rank)(dy, w, None, 2, 1, 0, 2, 1, method=method)
        assert t.shape == (4, *(5,) * rank)
        np.testing.assert_array_equal(t, ref_conv_transpose(dy[None], w, None, 2, 1, 0, 2)[0])
        dx = op("conv{r}d_input", rank)(x.shape, w, dy, **kw, method=method)
        np.testing.assert_array_equal(dx, t)
    for method in ONE_METHOD:
        dw = op("conv{r}d_weight", rank)(x, w.shape, dy, **kw, method=method)
        np.testing.assert_array_equal(dw, ref_conv_weight(x[None], w.shape, dy[None], **kw))


@pytest.mark.parametrize("rank", [1, 2, 3])
def test_zero_batch(rank):
    x, w, b = _small(rank)
    kw = dict(stride=2, padding=1, groups=2)
    y = op("conv{r}d", rank)(jnp.zeros((0, *x.shape)), w, b, **kw)
    assert y.shape == (0, 6, *(3,) * rank)
    dy = jnp.zeros((0, 6, *(3,) * rank))
    for method in ONE_METHOD:
        t = op("conv_transpose{r}d", rank)(dy, w, b[:4], output_padding=1, method=method, **kw)
        assert t.shape == (0, 4, *(6,) * rank)
        dx = op("conv{r}d_input", rank)((0, *x.shape), w, dy, method=method, **kw)
        assert dx.shape == (0, *x.shape)
    for method in ONE_METHOD:
        dw = op("conv{r}d_weight", rank)(jnp.zeros((0, *x.shape)), w.shape, dy, method=method, **kw)
        np.testing.assert_array_equal(dw, np.zeros(w.shape))


@pytest.mark.parametrize(
    "stride, padding, output_padding, dilation",
    [(2, 0, 0, 1), (2, 1, 1, 1), ((2, 3), (1, 0), (1, 2), 1), ((1, 2), 1, 0, 2)],
)
def test_weight_mapping_to_tf(stride, padding, output_padding, dilation, x64):
    """A PyTorch ConvTranspose weight ``w (C_in, C_out, kh, kw)`` is TensorFlow's
    ``conv2d_transpose`` filter ``w.transpose(2, 3, 1, 0)``, with explicit padding ``(p, p)`` and
    ``output_shape`` the PyTorch output size."""
    rng = np.random.default_rng(5)
    x, w = ints(rng, 2, 3, 4, 3), ints(rng, 3, 5, 3, 2)
    want = jt.conv_transpose2d(x, w, None, stride, padding, output_padding, 1, dilation)
    ps = per_dim(padding, 2)
    got = jconv.conv2d_transpose(
        last(x),
        np.transpose(w, (2, 3, 1, 0)),
        (2, *want.shape[2:], 5),
        stride,
        [(p, p) for p in ps],
        dilations=dilation,
    )
    np.testing.assert_array_equal(first(got), want)


@pytest.mark.parametrize(
    "stride, padding, output_padding, dilation",
    [(2, 0, 0, 1), (2, 1, 1, 1), ((2, 3), (1, 0), (1, 2), 1), ((1, 2), 1, 0, 2), (2, 0, 2, 3)],
)
def test_weight_mapping_to_lax_conv_transpose(stride, padding, output_padding, dilation, x64):
    """``jax.lax.conv_transpose`` with ``transpose_kernel=True`` takes PyTorch's ConvTranspose
    weight ``w (C_in, C_out, kh, kw)`` unchanged, described as the *forward* conv's kernel:
    ``dimension_numbers=("NCHW", "OIHW", "NCHW")`` (``transpose_kernel`` then swaps I and O and
    flips the taps). Equivalently ``("NCHW", "IOHW", "NCHW")`` with ``transpose_kernel=False`` and
    the taps flipped by the caller. (``"IOHW"`` *with* ``transpose_kernel=True`` swaps the
    channels twice: it fails when ``C_in != C_out`` and gives other values when they are equal.)

    Padding: lax pads the zero-inserted input directly, so PyTorch's ``(p, output_padding)`` is
    ``(d * (k - 1) - p, d * (k - 1) - p + output_padding)`` per dim, with ``rhs_dilation=d``.
    lax's ``"VALID"`` pads ``(k - 1, s - 1 + max(k - s, 0))``: PyTorch's ``padding=0,
    output_padding=0`` exactly when ``k >= s`` (see :func:`test_weight_mapping_lax_valid`).
    """
    rng = np.random.default_rng(6)
    x, w = ints(rng, 2, 3, 4, 3), ints(rng, 3, 5, 3, 2)
    want = jt.conv_transpose2d(x, w, None, stride, padding, output_padding, 1, dilation)
    ss, ps, ops, ds = (per_dim(v, 2) for v in (stride, padding, output_padding, dilation))
    pads = [(d * (k - 1) - p, d * (k - 1) - p + o) for k, p, o, d in zip(w.shape[2:], ps, ops, ds)]
    got = lax.conv_transpose(
        jnp.asarray(x),
        jnp.asarray(w),
        ss,
        pads,
        rhs_dilation=ds,
        dimension_numbers=("NCHW", "OIHW", "NCHW"),
        transpose_kernel=True,
    )
    np.testing.assert_array_equal(got, want)
    flipped = jnp.asarray(w[:, :, ::-1, ::-1])
    got = lax.conv_transpose(
        jnp.asarray(x),
        flipped,
        ss,
        pads,
        rhs_dilation=ds,
        dimension_numbers=("NCHW", "IOHW", "NCHW"),
    )
    np.testing.assert_array_equal(got, want)


def test_weight_mapping_lax_valid(x64):
    """VALID, stride 2, k = 3 >= s: lax pads ``(2, 2) = (k - 1 - p, k - 1 - p + output_padding)``
    with ``p = output_padding = 0``, so the sizes coincide: ``(m - 1) * 2 + 3``."""
    rng = np.random.default_rng(7)
    x, w = ints(rng, 2, 3, 4, 3), ints(rng, 3, 5, 3, 3)
    want = jt.conv_transpose2d(x, w, stride=2)
    assert want.shape == (2, 5, 9, 7)
    got = lax.conv_transpose(
        jnp.asarray(x),
        jnp.asarray(w),
        (2, 2),
        "VALID",
        dimension_numbers=("NCHW", "OIHW", "NCHW"),
        transpose_kernel=True,
    )
    np.testing.assert_array_equal(got, want)


# ---------------------------------------------------------------------------------------------
# jit: settings closed over, arrays traced, no recompiles


JIT_OPS = [
    "conv2d",
    *(f"conv_transpose2d-{m}" for m in TRANSPOSE_METHODS),
    *(f"conv2d_input-{m}" for m in TRANSPOSE_METHODS),
    *(f"conv2d_weight-{m}" for m in FILTER_GRAD_METHODS),
]


def _scaled(name, s):
    """The op ``name`` ("conv2d_input-vjp", ...) on fixed arrays multiplied by ``s``."""
    x, w, b = (jnp.asarray(a, jnp.float32) for a in _small(2, seed=8))
    x = jnp.stack([x, x + 1]) * s
    w, b = w * s, b * s
    dy = jnp.arange(2 * 6 * 3 * 3, dtype=jnp.float32).reshape(2, 6, 3, 3) * s
    kw = dict(stride=2, padding=1, groups=2)
    kind, _, method = name.partition("-")
    if kind == "conv2d":
        return jt.conv2d(x, w, b, **kw)
    if kind == "conv_transpose2d":
        return jt.conv_transpose2d(dy, w, b[:4], output_padding=1, method=method, **kw)
    if kind == "conv2d_input":
        return jt.conv2d_input(x.shape, w, dy, method=method, **kw)
    return jt.conv2d_weight(x, w.shape, dy, method=method, **kw)


@pytest.mark.parametrize("name", JIT_OPS)
def test_jit_matches_eager_and_compiles_once(name):
    """``jax.jit`` with the settings closed over and the arrays traced == eager; a second call
    compiles nothing."""
    eager = _scaled(name, jnp.float32(1))
    jitted = jax.jit(lambda s: _scaled(name, s))
    with count_compiles() as first:
        np.testing.assert_array_equal(jitted(jnp.float32(1)), eager)
    assert first, "the listener saw no compile: the check below would be vacuous"
    with count_compiles() as again:
        jitted(jnp.float32(2)).block_until_ready()
    assert again == [], f"{name} recompiled"


# ---------------------------------------------------------------------------------------------
# refusals

X = jnp.ones((1, 4, 5, 5))
W = jnp.ones((6, 2, 3, 3))  # groups=2
DY = jnp.ones((1, 6, 3, 3))  # conv2d(X, W, stride=2, padding=1, groups=2)
WT = jnp.ones((6, 2, 3, 3))  # conv_transpose2d(DY, WT, groups=2): 6 -> 4 channels
F = "jconv.torch."


@pytest.mark.parametrize(
    "call, exc, words",
    [
        # forward
        pytest.param(
            lambda: jt.conv2d(X, W, groups=3),
            ValueError,
            [F + "conv2d", "groups=3", "divide"],
            id="conv2d-groups-not-dividing",
        ),
        pytest.param(
            lambda: jt.conv2d(X, W, groups=1),
            ValueError,
            ["weight.shape[1]", "4 / 1"],
            id="conv2d-weight-per-group-mismatch",
        ),
        pytest.param(
            lambda: jt.conv2d(X, W, groups=0),
            ValueError,
            ["groups=0", ">= 1"],
            id="conv2d-groups-zero",
        ),
        pytest.param(
            lambda: jt.conv2d(X, W, groups=2.0),
            TypeError,
            ["groups", "int"],
            id="conv2d-groups-float",
        ),
        pytest.param(
            lambda: jt.conv2d(jnp.ones((1, 4, 2, 2)), W, groups=2),
            ValueError,
            ["kernel size can't be greater", "height", "spans 3"],
            id="conv2d-window-larger-than-input",
        ),
        pytest.param(
            lambda: jt.conv2d(X, W, groups=2, dilation=3),
            ValueError,
            ["dilated by 3", "spans 7"],
            id="conv2d-dilated-window-larger",
        ),
        pytest.param(
            lambda: jt.conv2d(X, W, groups=2, padding="full"),
            ValueError,
            [F + "conv2d", "padding='full'", "'same'", "'valid'"],
            id="conv2d-padding-string-unknown",
        ),
        pytest.param(
            lambda: jt.conv2d(X, W, groups=2, padding="same", stride=2),
            ValueError,
            ["padding='same'", "stride"],
            id="conv2d-same-with-stride",
        ),
        pytest.param(
            lambda: jt.conv2d(X, W, groups=2, padding=-1),
            ValueError,
            ["padding", ">= 0"],
            id="conv2d-padding-negative",
        ),
        pytest.param(
            lambda: jt.conv2d(X, W, groups=2, padding=(1, 1, 1)),
            ValueError,
            ["padding", "1 or 2 entries"],
            id="conv2d-padding-3-entries",
        ),
        pytest.param(
            lambda: jt.conv2d(X, W, groups=2, padding=1.5),
            TypeError,
            ["padding", "int"],
            id="conv2d-padding-float",
        ),
        pytest.param(
            lambda: jt.conv2d(X, W, groups=2, stride=0),
            ValueError,
            ["stride", ">= 1"],
            id="conv2d-stride-zero",
        ),
        pytest.param(
            lambda: jt.conv2d(X, W, groups=2, stride=(1, 2, 2)),
            ValueError,
            ["stride", "entries"],
            id="conv2d-stride-3-entries",
        ),
        pytest.param(
            lambda: jt.conv2d(X, W, groups=2, stride=1.5),
            TypeError,
            ["stride", "int"],
            id="conv2d-stride-float",
        ),
        pytest.param(
            lambda: jt.conv2d(X, W, groups=2, dilation=0),
            ValueError,
            ["dilation", ">= 1"],
            id="conv2d-dilation-zero",
        ),
        pytest.param(
            lambda: jt.conv2d(X, W, jnp.ones(5), groups=2),
            ValueError,
            ["bias", "(6,)"],
            id="conv2d-bias-length",
        ),
        pytest.param(
            lambda: jt.conv2d(X, W, jnp.ones((6, 1)), groups=2),
            ValueError,
            ["bias", "(6,)"],
            id="conv2d-bias-rank",
        ),
        pytest.param(
            lambda: jt.conv2d(X, W, jnp.ones(6, jnp.float16), groups=2),
            TypeError,
            ["bias", "dtype"],
            id="conv2d-bias-dtype",
        ),
        pytest.param(
            lambda: jt.conv2d(jnp.ones((5, 5)), W, groups=2),
            ValueError,
            [F + "conv2d", "input", "4 dims", "(C, *spatial)"],
            id="conv2d-input-rank-2",
        ),
        pytest.param(
            lambda: jt.conv2d(X[None], W, groups=2),
            ValueError,
            ["input", "4 dims"],
            id="conv2d-input-rank-5",
        ),
        pytest.param(
            lambda: jt.conv2d(X, W[0], groups=2),
            ValueError,
            ["weight", "4 dims"],
            id="conv2d-weight-rank-3",
        ),
        pytest.param(
            lambda: jt.conv1d(X, W, groups=2),
            ValueError,
            [F + "conv1d", "input", "3 dims"],
            id="conv1d-input-rank-4",
        ),
        pytest.param(
            lambda: jt.conv3d(X[None], W, groups=2),
            ValueError,
            [F + "conv3d", "weight", "5 dims"],
            id="conv3d-weight-rank-4",
        ),
        pytest.param(
            lambda: jt.conv2d(X, W.astype(jnp.float16), groups=2),
            TypeError,
            ["input", "weight", "dtype"],
            id="conv2d-weight-dtype",
        ),
        pytest.param(
            lambda: jt.conv2d(X.astype(jnp.int32), W, groups=2),
            TypeError,
            ["input", "dtype"],
            id="conv2d-input-int",
        ),
        pytest.param(
            lambda: jt.conv2d(jnp.ones((1, 4, 0, 5)), W, groups=2),
            ValueError,
            ["height 0"],
            id="conv2d-input-empty-spatial",
        ),
        pytest.param(
            lambda: jt.conv2d(X, jnp.ones((6, 2, 0, 3)), groups=2),
            ValueError,
            ["weight", "kernel sizes"],
            id="conv2d-weight-empty-kernel",
        ),
        # transposed
        pytest.param(
            lambda: jt.conv_transpose2d(DY, WT, stride=2, output_padding=2, groups=2),
            ValueError,
            [F + "conv_transpose2d", "output_padding 2", "stride (2)", "dilation (1)"],
            id="conv_transpose2d-output_padding-ge-stride",
        ),
        pytest.param(
            lambda: jt.conv_transpose2d(DY, WT, stride=2, output_padding=3, dilation=3, groups=2),
            ValueError,
            ["output_padding 3", "dilation (3)"],
            id="conv_transpose2d-output_padding-ge-dilation",
        ),
        pytest.param(
            lambda: jt.conv_transpose2d(DY, WT, stride=(2, 1), output_padding=(0, 1), groups=2),
            ValueError,
            ["output_padding 1 in width"],
            id="conv_transpose2d-output_padding-per-dim",
        ),
        pytest.param(
            lambda: jt.conv_transpose2d(DY, WT, groups=4),
            ValueError,
            ["groups=4", "must divide"],
            id="conv_transpose2d-groups-not-dividing",
        ),
        pytest.param(
            lambda: jt.conv_transpose2d(DY, jnp.ones((4, 2, 3, 3)), groups=2),
            ValueError,
            ["weight.shape[0] (4)", "6 channels"],
            id="conv_transpose2d-weight-channels",
        ),
        pytest.param(
            lambda: jt.conv_transpose2d(DY, WT, jnp.ones(6), groups=2),
            ValueError,
            ["bias", "(4,)"],
            id="conv_transpose2d-bias-length",
        ),
        pytest.param(
            lambda: jt.conv_transpose2d(DY, WT, padding="same", groups=2),
            TypeError,
            ["padding", "int"],
            id="conv_transpose2d-padding-string",
        ),
        pytest.param(
            lambda: jt.conv_transpose2d(DY, WT, padding=-1, groups=2),
            ValueError,
            ["padding"],
            id="conv_transpose2d-padding-negative",
        ),
        pytest.param(
            lambda: jt.conv_transpose2d(DY, WT, output_padding=-1, groups=2),
            ValueError,
            ["output_padding", ">= 0"],
            id="conv_transpose2d-output_padding-negative",
        ),
        pytest.param(
            lambda: jt.conv_transpose2d(
                jnp.ones((1, 6, 1, 1)), jnp.ones((6, 2, 1, 1)), padding=1, groups=2
            ),
            ValueError,
            ["height", "= -1", "not positive"],
            id="conv_transpose2d-size-not-positive",
        ),
        pytest.param(
            lambda: jt.conv_transpose2d(DY, WT[0], groups=2),
            ValueError,
            ["weight", "4 dims"],
            id="conv_transpose2d-weight-rank",
        ),
        pytest.param(
            lambda: jt.conv_transpose2d(DY, WT.astype(jnp.float16), groups=2),
            TypeError,
            ["dtype"],
            id="conv_transpose2d-weight-dtype",
        ),
        pytest.param(
            lambda: jt.conv_transpose2d(DY, WT, groups=2, method="fast"),
            ValueError,
            ["method", "'fast'", "dilate"],
            id="conv_transpose2d-method-unknown",
        ),
        # input gradient
        pytest.param(
            lambda: jt.conv2d_input((1, 4, 9, 5), W, DY, stride=2, padding=1, groups=2),
            ValueError,
            [F + "conv2d_input", "input_size height 9", "5..6"],
            id="conv2d_input-height-unreachable",
        ),
        pytest.param(
            lambda: jt.conv2d_input((1, 4, 5, 7), W, DY, stride=2, padding=1, groups=2),
            ValueError,
            ["input_size width 7", "5..6"],
            id="conv2d_input-width-unreachable",
        ),
        pytest.param(
            lambda: jt.conv2d_input((1, 4, 5), W, DY, stride=2, padding=1, groups=2),
            ValueError,
            ["input_size", "4 entries"],
            id="conv2d_input-size-entries",
        ),
        pytest.param(
            lambda: jt.conv2d_input((2, 4, 5, 5), W, DY, stride=2, padding=1, groups=2),
            ValueError,
            ["input_size batch 2"],
            id="conv2d_input-batch",
        ),
        pytest.param(
            lambda: jt.conv2d_input((1, 4, 5, 5), W, DY[:, :4], stride=2, padding=1, groups=2),
            ValueError,
            ["grad_output has 4 channels", "weight.shape[0]"],
            id="conv2d_input-grad-channels",
        ),
        pytest.param(
            lambda: jt.conv2d_input((1, 6, 5, 5), W, DY, stride=2, padding=1, groups=2),
            ValueError,
            ["weight.shape[1]"],
            id="conv2d_input-weight-per-group",
        ),
        pytest.param(
            lambda: jt.conv2d_input((1, 4, 5, 5), W, DY, stride=2, padding=1, groups=4),
            ValueError,
            ["groups=4"],
            id="conv2d_input-groups",
        ),
        pytest.param(
            lambda: jt.conv2d_input((1, 4, 5, 5), W, DY, stride=2, padding="same", groups=2),
            ValueError,
            ["padding='same'", "stride"],
            id="conv2d_input-same-with-stride",
        ),
        pytest.param(
            lambda: jt.conv2d_input((1, 4, 5.0, 5), W, DY, stride=2, padding=1, groups=2),
            TypeError,
            ["input_size", "int"],
            id="conv2d_input-size-float",
        ),
        pytest.param(
            lambda: jt.conv2d_input(
                (1, 4, 5, 5), W, DY.astype(jnp.float16), stride=2, padding=1, groups=2
            ),
            TypeError,
            ["grad_output", "weight", "dtype"],
            id="conv2d_input-dtype",
        ),
        pytest.param(
            lambda: jt.conv2d_input(
                (1, 4, 5, 5), W, DY, stride=2, padding=1, groups=2, method="conv"
            ),
            ValueError,
            ["method", "'conv'"],
            id="conv2d_input-method-filter-only",
        ),
        # filter gradient
        pytest.param(
            lambda: jt.conv2d_weight(
                X, W.shape, jnp.ones((1, 6, 2, 3)), stride=2, padding=1, groups=2
            ),
            ValueError,
            [F + "conv2d_weight", "grad_output height 2", "forward output height 3"],
            id="conv2d_weight-grad-size",
        ),
        pytest.param(
            lambda: jt.conv2d_weight(X, (6, 2, 3), DY, stride=2, padding=1, groups=2),
            ValueError,
            ["weight_size", "must be 4 ints"],
            id="conv2d_weight-size-entries",
        ),
        pytest.param(
            lambda: jt.conv2d_weight(X, (6, 2, 0, 3), DY, stride=2, padding=1, groups=2),
            ValueError,
            ["weight_size"],
            id="conv2d_weight-size-zero",
        ),
        pytest.param(
            lambda: jt.conv2d_weight(X, (5, 2, 3, 3), DY, stride=2, padding=1, groups=2),
            ValueError,
            ["groups=2", "divide", "(5)"],
            id="conv2d_weight-groups-not-dividing",
        ),
        pytest.param(
            lambda: jt.conv2d_weight(X, (6, 4, 3, 3), DY, stride=2, padding=1, groups=2),
            ValueError,
            ["weight.shape[1]"],
            id="conv2d_weight-per-group",
        ),
        pytest.param(
            lambda: jt.conv2d_weight(X, W.shape, DY[:, :4], stride=2, padding=1, groups=2),
            ValueError,
            ["grad_output", "6 channels"],
            id="conv2d_weight-grad-channels",
        ),
        pytest.param(
            lambda: jt.conv2d_weight(
                jnp.ones((2, 4, 5, 5)), W.shape, DY, stride=2, padding=1, groups=2
            ),
            ValueError,
            ["grad_output", "batch 2"],
            id="conv2d_weight-batch",
        ),
        pytest.param(
            lambda: jt.conv2d_weight(X, (6, 2, 8, 3), DY, padding=1, groups=2),
            ValueError,
            ["kernel size can't be greater"],
            id="conv2d_weight-window-larger",
        ),
        pytest.param(
            lambda: jt.conv2d_weight(
                X, W.shape, DY.astype(jnp.float16), stride=2, padding=1, groups=2
            ),
            TypeError,
            ["input", "grad_output", "dtype"],
            id="conv2d_weight-dtype",
        ),
        pytest.param(
            lambda: jt.conv2d_weight(
                X, W.shape, DY, stride=2, padding=1, groups=2, method="dilate"
            ),
            ValueError,
            ["method", "'dilate'"],
            id="conv2d_weight-method-transpose-only",
        ),
    ],
)
def test_refusals(call, exc, words):
    with pytest.raises(exc) as info:
        call()
    for word in words:
        assert word in str(info.value), (word, str(info.value))


def test_traced_settings_are_refused():
    with pytest.raises(TypeError, match="stride must be static"):
        jax.jit(lambda x, s: jt.conv2d(x, W, stride=s, groups=2))(X, jnp.array(2))
    with pytest.raises(TypeError, match="input_size must be static"):
        jax.jit(lambda size: jt.conv2d_input(size, W, DY, 2, 1, groups=2))(jnp.array([1, 4, 5, 5]))
