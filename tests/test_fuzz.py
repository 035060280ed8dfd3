"""Hypothesis over random configurations of both front doors, against the NumPy loop references.

Ranks 1-3, spatial sizes <= 6, channels <= 4, kernels 1-3, strides 1-3, dilations 1-2, groups
1-3, SAME/VALID/explicit (TensorFlow) and int/tuple/"same"/"valid" (PyTorch) padding, channels
first or last, batched or unbatched, every output size in the legal range / every legal
``output_padding``. The legal sizes are found here by brute force over the forward conv's output
size, not by jconv's own range functions.

Inputs are integer-valued float32, so the result is exact. Each example runs the forward conv,
the transposed conv / input gradient and the filter gradient (``method="auto"``; the method matrix
is tests/test_ops.py's) under one ``jax.jit`` (one compile); the shape properties use
``jax.eval_shape`` and compile nothing. The conftest's ``ci``
profile bounds the examples (``JCONV_EXAMPLES``, default 40) and derandomizes them.
"""

from __future__ import annotations

import jax
import jax.numpy as jnp
import numpy as np
import pytest
from hypothesis import assume, given
from hypothesis import strategies as st
from test_torch import (
    first,
    ref_conv,
    ref_conv_input,
    ref_conv_transpose,
    ref_conv_weight,
    transpose_sizes,
)

import jconv
import jconv.torch as jt
from jconv import reference

CHANNELS_FIRST = {1: "NCW", 2: "NCHW", 3: "NCDHW"}
# One method per API here: every method against the reference is tests/test_ops.py's matrix (and
# the crash campaign's, tests/test_campaign.py); both APIs reach the same jit entry points.
METHODS = ("auto",)


def k_eff(k, d):
    return (k - 1) * d + 1


def tf_pads(padding, n, k, s, d):
    """TensorFlow's (lo, hi) of one dim, written out again: SAME makes ``m = ceil(n / s)``."""
    if padding == "VALID":
        return 0, 0
    if padding == "SAME":
        total = max((-(-n // s) - 1) * s + k_eff(k, d) - n, 0)
        return total // 2, total - total // 2
    return padding


def out_size(n, k, s, d, lo, hi):
    return (n + lo + hi - k_eff(k, d)) // s + 1


def legal_sizes(m, k, s, d, padding):
    """Every forward input size ``n`` (one dim) whose forward output size is ``m``."""
    top = m * s + k_eff(k, d) + 2
    return [
        n for n in range(1, top + 1) if out_size(n, k, s, d, *tf_pads(padding, n, k, s, d)) == m
    ]


def ints(rng, *shape):
    return rng.integers(-3, 4, shape).astype(np.float32)


per_dim = st.integers(1, 3)


@st.composite
def geometry(draw):
    """Rank, kernel, strides, dilations, groups and channel counts (<= 4)."""
    rank = draw(st.integers(1, 3))
    ks = tuple(draw(per_dim) for _ in range(rank))
    ss = tuple(draw(per_dim) for _ in range(rank))
    ds = tuple(draw(st.integers(1, 2)) for _ in range(rank))
    groups = draw(st.integers(1, 3))
    cin = groups * draw(st.integers(1, 4 // groups))
    cout = groups * draw(st.integers(1, 4 // groups))
    return rank, ks, ss, ds, groups, cin, cout


@st.composite
def tf_configs(draw):
    rank, ks, ss, ds, groups, cin, cout = draw(geometry())
    padding = draw(
        st.one_of(
            st.sampled_from(["SAME", "VALID"]),
            st.tuples(*[st.tuples(st.integers(0, 2), st.integers(0, 2))] * rank),
        )
    )
    ns = []
    for i, (k, d) in enumerate(zip(ks, ds)):
        spec = padding if isinstance(padding, str) else padding[i]
        lo, hi = (0, 0) if spec in ("SAME", "VALID") else spec
        smallest = 1 if spec == "SAME" else max(1, k_eff(k, d) - lo - hi)
        assume(smallest <= 6)
        ns.append(draw(st.integers(smallest, 6)))
    ms = [
        out_size(
            n, k, s, d, *tf_pads(padding if isinstance(padding, str) else padding[i], n, k, s, d)
        )
        for i, (n, k, s, d) in enumerate(zip(ns, ks, ss, ds))
    ]
    # the transposed conv's output size: any legal one, not only the forward input's
    outs = []
    for i, (m, k, s, d) in enumerate(zip(ms, ks, ss, ds)):
        sizes = legal_sizes(m, k, s, d, padding if isinstance(padding, str) else padding[i])
        assert ns[i] in sizes
        outs.append(draw(st.sampled_from(sizes)))
    return dict(
        rank=rank,
        k=ks,
        s=ss,
        d=ds,
        groups=groups,
        cin=cin,
        cout=cout,
        n=tuple(ns),
        m=tuple(ms),
        out=tuple(outs),
        padding=padding,
        batch=draw(st.integers(0, 2)),
        channels_first=draw(st.booleans()),
    )


@given(cfg=tf_configs(), seed=st.integers(0, 2**16))
def test_tf_api_random_configs(cfg, seed):
    rng = np.random.default_rng(seed)
    r, g, batch = cfg["rank"], cfg["groups"], cfg["batch"]
    # the reference's transpose cannot take an empty batch: compute it on one, then cut
    x = ints(rng, max(batch, 1), *cfg["n"], cfg["cin"])
    w = ints(rng, *cfg["k"], cfg["cin"] // g, cfg["cout"])
    dy = ints(rng, max(batch, 1), *cfg["m"], cfg["cout"])
    s, p, d = cfg["s"], cfg["padding"], cfg["d"]
    want_y = reference.conv(x, w, s, p, d)[:batch]
    want_dx = reference.conv_transpose(dy, w, cfg["out"], s, p, d, groups=g)[:batch]
    x, dy = x[:batch], dy[:batch]
    want_dw = reference.conv_backprop_filter(x, w.shape, dy, s, p, d)
    cf = cfg["channels_first"]
    fmt = CHANNELS_FIRST[r] if cf else None
    lay = first if cf else np.asarray
    out_shape = lay(np.zeros((batch, *cfg["out"], cfg["cin"]))).shape

    @jax.jit
    def run(x, w, dy):
        return (
            jconv.conv(x, w, s, p, fmt, d),
            [jconv.conv_transpose(dy, w, out_shape, s, p, fmt, d, method=m) for m in METHODS],
            [jconv.conv_backprop_filter(x, w.shape, dy, s, p, fmt, d, method=m) for m in METHODS],
        )

    y, dxs, dws = run(lay(x), w, lay(dy))
    np.testing.assert_array_equal(y, lay(want_y))
    for m, dx in zip(METHODS, dxs):
        np.testing.assert_array_equal(dx, lay(want_dx), err_msg=m)
    for m, dw in zip(METHODS, dws):
        np.testing.assert_array_equal(dw, want_dw, err_msg=m)


@given(cfg=tf_configs())
def test_tf_output_shape_range(cfg):
    """Every legal output size is accepted (with the default too), the ones just outside are
    refused with the legal range in the message, and ``conv_transpose_output_shapes`` agrees."""
    r, g = cfg["rank"], cfg["groups"]
    dy = jax.ShapeDtypeStruct((1, *cfg["m"], cfg["cout"]), jnp.float32)
    w = jax.ShapeDtypeStruct((*cfg["k"], cfg["cin"] // g, cfg["cout"]), jnp.float32)
    s, p, d = cfg["s"], cfg["padding"], cfg["d"]
    ranges = [
        legal_sizes(m, k, si, di, p if isinstance(p, str) else p[i])
        for i, (m, k, si, di) in enumerate(zip(cfg["m"], cfg["k"], s, d))
    ]
    assert jconv.conv_transpose_output_shapes(cfg["m"], cfg["k"], s, p, d) == tuple(
        (min(a), max(a)) for a in ranges
    )
    assert all(a == list(range(min(a), max(a) + 1)) for a in ranges)

    def shape(out):
        """The full output shape: its channel entry sets the groups."""
        full = None if out is None else (1, *out, cfg["cin"])
        return jax.eval_shape(
            lambda dy, w: jconv.conv_transpose(dy, w, full, s, p, None, d), dy, w
        ).shape

    assert shape(cfg["out"]) == (1, *cfg["out"], cfg["cin"])
    if g == 1:  # without output_shape the groups cannot be told
        default = shape(None)
        assert all(n in a for n, a in zip(default[1:-1], ranges))
    for i in range(r):
        for bad in (min(ranges[i]) - 1, max(ranges[i]) + 1):
            if bad < 1:
                continue
            out = list(cfg["out"])
            out[i] = bad
            with pytest.raises(ValueError, match="not reachable") as info:
                shape(tuple(out))
            assert f"{min(ranges[i])}..{max(ranges[i])}" in str(info.value)


@st.composite
def torch_configs(draw):
    rank, ks, ss, ds, groups, cin, cout = draw(geometry())
    kind = draw(st.sampled_from(["int", "tuple", "same", "valid"]))
    if kind == "int":
        padding = draw(st.integers(0, 2))
        pads = [(padding, padding)] * rank
    elif kind == "tuple":
        padding = tuple(draw(st.integers(0, 2)) for _ in range(rank))
        pads = [(p, p) for p in padding]
    elif kind == "valid":
        padding, pads = "valid", [(0, 0)] * rank
    else:
        padding, ss = "same", (1,) * rank
        pads = [((k - 1) * d // 2, (k - 1) * d - (k - 1) * d // 2) for k, d in zip(ks, ds)]
    ns = []
    for k, d, (lo, hi) in zip(ks, ds, pads):
        smallest = max(1, k_eff(k, d) - lo - hi)
        assume(smallest <= 6)
        ns.append(draw(st.integers(smallest, 6)))
    ms = [out_size(n, k, s, d, lo, hi) for n, k, s, d, (lo, hi) in zip(ns, ks, ss, ds, pads)]
    # conv*_input: any input size the forward conv maps to m
    sizes = [
        draw(st.sampled_from(legal_sizes(m, k, s, d, pair)))
        for m, k, s, d, pair in zip(ms, ks, ss, ds, pads)
    ]
    # conv_transpose*: its own padding and every legal output_padding
    opad = tuple(draw(st.integers(0, max(s, d) - 1)) for s, d in zip(ss, ds))
    # output (m - 1) s - 2 p + d (k - 1) + output_padding + 1 >= 1
    tpad = tuple(
        draw(st.integers(0, min(2, ((m - 1) * s + d * (k - 1) + o) // 2)))
        for m, k, s, d, o in zip(ms, ks, ss, ds, opad)
    )
    assert min(transpose_sizes(ms, ks, ss, tpad, opad, ds)) >= 1
    return dict(
        rank=rank,
        k=ks,
        stride=ss,
        dilation=ds,
        groups=groups,
        cin=cin,
        cout=cout,
        n=tuple(ns),
        m=tuple(ms),
        input_size=tuple(sizes),
        padding=padding,
        tpad=tpad,
        opad=opad,
        bias=draw(st.booleans()),
        batch=draw(st.sampled_from([0, 1, 2, None])),
    )  # None: unbatched


@given(cfg=torch_configs(), seed=st.integers(0, 2**16))
def test_torch_api_random_configs(cfg, seed):
    rng = np.random.default_rng(seed)
    r, g = cfg["rank"], cfg["groups"]
    unbatched = cfg["batch"] is None
    lead = 1 if unbatched else cfg["batch"]
    # the reference's transpose cannot take an empty batch: compute it on one, then cut
    x = ints(rng, max(lead, 1), cfg["cin"], *cfg["n"])
    w = ints(rng, cfg["cout"], cfg["cin"] // g, *cfg["k"])
    b = ints(rng, cfg["cout"]) if cfg["bias"] else None
    bt = ints(rng, cfg["cin"]) if cfg["bias"] else None
    dy = ints(rng, max(lead, 1), cfg["cout"], *cfg["m"])
    kw = dict(stride=cfg["stride"], padding=cfg["padding"], dilation=cfg["dilation"], groups=g)
    tkw = dict(
        stride=cfg["stride"],
        padding=cfg["tpad"],
        output_padding=cfg["opad"],
        groups=g,
        dilation=cfg["dilation"],
    )
    size = (max(lead, 1), cfg["cin"], *cfg["input_size"])
    want = dict(
        y=ref_conv(x, w, b, **kw)[:lead],
        dx=ref_conv_input(size, w, dy, **kw)[:lead],
        t=ref_conv_transpose(dy, w, bt, **tkw)[:lead],
    )
    x, dy, size = x[:lead], dy[:lead], (lead, *size[1:])
    want["dw"] = ref_conv_weight(x, w.shape, dy, **kw)
    if unbatched:
        x, dy, size = x[0], dy[0], size[1:]
        want = {k: v if k == "dw" else v[0] for k, v in want.items()}
    conv, conv_transpose = getattr(jt, f"conv{r}d"), getattr(jt, f"conv_transpose{r}d")
    conv_input, conv_weight = getattr(jt, f"conv{r}d_input"), getattr(jt, f"conv{r}d_weight")

    @jax.jit
    def run(x, w, b, bt, dy):
        return dict(
            y=[conv(x, w, b, **kw)],
            dx=[conv_input(size, w, dy, **kw, method=m) for m in METHODS],
            dw=[conv_weight(x, w.shape, dy, **kw, method=m) for m in METHODS],
            t=[conv_transpose(dy, w, bt, **tkw, method=m) for m in METHODS],
        )

    for key, values in run(x, w, b, bt, dy).items():
        for i, got in enumerate(values):
            assert got.shape == want[key].shape, (key, i)
            np.testing.assert_array_equal(got, want[key], err_msg=f"{key} #{i}")


@given(m=st.lists(st.integers(1, 5), min_size=1, max_size=3), data=st.data())
def test_torch_transpose_shape_and_refusals(m, data):
    """The output size is ``(m - 1) * s - 2 * p + d * (k - 1) + output_padding + 1``; exactly
    ``output_padding >= max(stride, dilation)`` and non-positive sizes are refused."""
    rank = len(m)
    dims = st.lists(st.integers(1, 3), min_size=rank, max_size=rank)
    k, s, d = data.draw(dims), data.draw(dims), data.draw(dims)
    p = data.draw(st.lists(st.integers(0, 3), min_size=rank, max_size=rank))
    op = data.draw(st.lists(st.integers(0, 4), min_size=rank, max_size=rank))
    groups = data.draw(st.integers(1, 2))
    x = jax.ShapeDtypeStruct((2, 2 * groups, *m), jnp.float32)
    w = jax.ShapeDtypeStruct((2 * groups, 3, *k), jnp.float32)
    fn = getattr(jt, f"conv_transpose{rank}d")

    def call():
        return jax.eval_shape(lambda x, w: fn(x, w, None, s, p, op, groups, d), x, w).shape

    n = transpose_sizes(m, k, s, p, op, d)
    if any(o >= max(si, di) for o, si, di in zip(op, s, d)):
        with pytest.raises(ValueError, match="output_padding"):
            call()
    elif min(n) < 1:
        with pytest.raises(ValueError, match="not positive"):
            call()
    else:
        assert call() == (2, 3 * groups, *n)


@given(cfg=torch_configs())
def test_torch_conv_shape_and_input_size_range(cfg):
    """``conv*d``'s output size is ``floor((n + 2p - d (k - 1) - 1) / s) + 1``; ``conv*_input``
    takes exactly the input sizes that map back to it."""
    r, g = cfg["rank"], cfg["groups"]
    kw = dict(stride=cfg["stride"], padding=cfg["padding"], dilation=cfg["dilation"], groups=g)
    x = jax.ShapeDtypeStruct((1, cfg["cin"], *cfg["n"]), jnp.float32)
    w = jax.ShapeDtypeStruct((cfg["cout"], cfg["cin"] // g, *cfg["k"]), jnp.float32)
    dy = jax.ShapeDtypeStruct((1, cfg["cout"], *cfg["m"]), jnp.float32)
    conv, conv_input = getattr(jt, f"conv{r}d"), getattr(jt, f"conv{r}d_input")
    assert jax.eval_shape(lambda x, w: conv(x, w, None, **kw), x, w).shape == dy.shape
    for i in range(r):
        for delta in (-cfg["stride"][i], cfg["stride"][i]):
            size = list(cfg["input_size"])
            size[i] += delta
            if size[i] < 1:
                continue
            with pytest.raises(ValueError, match="not reachable"):
                jax.eval_shape(
                    lambda w, dy, size=size: conv_input((1, cfg["cin"], *size), w, dy, **kw), w, dy
                )
