"""Every op and every derivation against the NumPy loop reference and against each other."""

import functools
import itertools
import math

import jax
import jax.numpy as jnp
import numpy as np
import pytest

import jconv
from jconv import derivations, reference

# (rank, input spatial, kernel, strides, dilations, padding, C_in, C_out, groups)
CASES = [
    (1, (7,), (3,), (2,), (1,), "VALID", 2, 3, 1),
    (1, (8,), (4,), (3,), (1,), "SAME", 3, 3, 3),
    (1, (9,), (3,), (1,), (2,), ((2, 1),), 2, 4, 2),
    (2, (5, 5), (3, 3), (2, 2), (1, 1), "VALID", 1, 1, 1),
    (2, (6, 7), (3, 2), (2, 3), (1, 1), "SAME", 2, 3, 1),
    (2, (7, 6), (4, 4), (2, 2), (1, 1), "SAME", 4, 6, 2),
    (2, (8, 5), (3, 3), (3, 1), (1, 2), "VALID", 3, 2, 1),
    (2, (6, 6), (2, 3), (1, 2), (2, 1), ((1, 2), (0, 3)), 2, 2, 1),
    (2, (2, 3), (3, 2), (1, 2), (1, 1), ((2, 1), (0, 0)), 2, 3, 1),
    (2, (5, 4), (2, 2), (2, 2), (1, 1), "VALID", 6, 4, 2),
    (3, (4, 5, 3), (2, 3, 2), (2, 1, 2), (1, 1, 1), "SAME", 2, 2, 1),
    (3, (5, 4, 4), (3, 2, 2), (1, 2, 2), (2, 1, 1), "VALID", 2, 4, 2),
]


def _id(case):
    rank, n, k, s, d, p, cin, cout, g = case
    pad = p if isinstance(p, str) else "explicit"
    x = lambda v: "x".join(map(str, v))  # noqa: E731
    return f"{rank}d-n{x(n)}-k{x(k)}-s{x(s)}-d{x(d)}-{pad}-g{g}"


def _ints(rng, shape, dtype):
    return jnp.asarray(rng.integers(-3, 4, size=shape), dtype)


def _forward_data(case, dtype, seed=0):
    rank, n, k, s, d, p, cin, cout, g = case
    rng = np.random.default_rng(seed)
    x = _ints(rng, (2, *n, cin), dtype)
    w = _ints(rng, (*k, cin // g, cout), dtype)
    return x, w


@pytest.mark.parametrize("case", CASES, ids=_id)
def test_forward_matches_reference(case, x64):
    rank, n, k, s, d, p, cin, cout, g = case
    x, w = _forward_data(case, jnp.float64)
    got = jconv.conv(x, w, strides=s, padding=p, dilations=d)
    np.testing.assert_array_equal(got, reference.conv(x, w, s, p, d))


def _together(fn, *args):
    """``fn(*args)`` under one jax.jit: one compile for a whole matrix of calls (compiling each
    call alone costs about four times as long). Every op is a jit entry point, so a call inside
    the matrix runs the op's own jitted program; each test checks one call eagerly too."""
    return jax.jit(fn)(*args)


@pytest.mark.parametrize("case", CASES, ids=_id)
def test_transpose_every_size_every_method(case, x64):
    """Every legal output size, every method: exactly the reference overlay, in float64 and
    float32 (integer-valued inputs make every derivation exact)."""
    rank, n, k, s, d, p, cin, cout, g = case
    x, w = _forward_data(case, jnp.float64)
    m = jconv.conv_output_shape(n, k, s, p, d)
    ranges = jconv.conv_transpose_output_shapes(m, k, s, p, d)
    rng = np.random.default_rng(1)
    dy = _ints(rng, (2, *m, cout), jnp.float64)
    keys = [
        (sizes, method, dtype)
        for sizes in itertools.product(*(range(lo, hi + 1) for lo, hi in ranges))
        for method in jconv.TRANSPOSE_METHODS
        for dtype in (jnp.float64, jnp.float32)
    ]

    def call(dy, w, sizes, method, dtype):
        return jconv.conv_transpose(
            dy.astype(dtype), w.astype(dtype), (2, *sizes, cin), s, p, dilations=d, method=method
        )

    every = _together(lambda dy, w: [call(dy, w, *key) for key in keys], dy, w)
    wants = {}
    for (sizes, method, dtype), got in zip(keys, every):
        if sizes not in wants:
            wants[sizes] = reference.conv_transpose(dy, w, sizes, s, p, d, groups=g)
        assert got.dtype == dtype
        np.testing.assert_array_equal(got, wants[sizes], err_msg=f"{method} {sizes} {dtype}")
    sizes, method, dtype = keys[-1]
    np.testing.assert_array_equal(call(dy, w, sizes, method, dtype), wants[sizes], "eager")


@pytest.mark.parametrize("case", CASES, ids=_id)
def test_filter_grad_every_method(case, x64):
    rank, n, k, s, d, p, cin, cout, g = case
    x, w = _forward_data(case, jnp.float64)
    m = jconv.conv_output_shape(n, k, s, p, d)
    dy = _ints(np.random.default_rng(2), (2, *m, cout), jnp.float64)
    want = reference.conv_backprop_filter(x, w.shape, dy, s, p, d)
    keys = [(m, t) for m in jconv.FILTER_GRAD_METHODS for t in (jnp.float64, jnp.float32)]

    def call(x, dy, method, dtype):
        return jconv.conv_backprop_filter(
            x.astype(dtype), w.shape, dy.astype(dtype), s, p, dilations=d, method=method
        )

    every = _together(lambda x, dy: [call(x, dy, *key) for key in keys], x, dy)
    for (method, dtype), got in zip(keys, every):
        assert got.dtype == dtype
        np.testing.assert_array_equal(got, want, err_msg=f"{method} {dtype}")
    np.testing.assert_array_equal(call(x, dy, *keys[-1]), want, "eager")


@pytest.mark.parametrize("case", CASES, ids=_id)
def test_identities(case, x64):
    """backprop_input == jax.vjp == jax.linear_transpose of the forward conv; backprop_filter ==
    jax.vjp; <dy, conv(x)> == <conv_T(dy), x> == <dw, w>."""
    rank, n, k, s, d, p, cin, cout, g = case
    x, w = _forward_data(case, jnp.float64, seed=5)

    def fwd(x, w):
        return jconv.conv(x, w, strides=s, padding=p, dilations=d)

    m = jconv.conv_output_shape(n, k, s, p, d)
    dy = _ints(np.random.default_rng(6), (2, *m, cout), jnp.float64)

    def every(x, w, dy):
        y, pullback = jax.vjp(fwd, x, w)
        (dx_lin,) = jax.linear_transpose(lambda x: fwd(x, w), x)(dy)
        dxs = [
            jconv.conv_backprop_input(x.shape, w, dy, s, p, dilations=d, method=method)
            for method in jconv.TRANSPOSE_METHODS
        ]
        dws = [
            jconv.conv_backprop_filter(x, w.shape, dy, s, p, dilations=d, method=method)
            for method in jconv.FILTER_GRAD_METHODS
        ]
        return y, pullback(dy), dx_lin, dxs, dws

    y, (dx_vjp, dw_vjp), dx_lin, dxs, dws = _together(every, x, w, dy)
    assert y.shape == dy.shape
    for method, dx in zip(jconv.TRANSPOSE_METHODS, dxs):
        np.testing.assert_array_equal(dx, dx_vjp, err_msg=method)
        np.testing.assert_array_equal(dx, dx_lin, err_msg=method)
        assert float(jnp.vdot(dy, y)) == float(jnp.vdot(dx, x))
    for method, dw in zip(jconv.FILTER_GRAD_METHODS, dws):
        np.testing.assert_array_equal(dw, dw_vjp, err_msg=method)
        assert float(jnp.vdot(dy, y)) == float(jnp.vdot(dw, w))


def _transpose_data(case, seed):
    """Forward data, the output size ``m``, explicit pads, and integer ``dy`` and cotangent."""
    rank, n, k, s, d, p, cin, cout, g = case
    x, w = _forward_data(case, jnp.float64)
    m = jconv.conv_output_shape(n, k, s, p, d)
    rng = np.random.default_rng(seed)
    dy, ct = _ints(rng, (2, *m, cout), jnp.float64), _ints(rng, x.shape, jnp.float64)
    p_dims = [p] * rank if isinstance(p, str) else p
    pads = tuple(jconv._shapes.resolve_padding(pi, *a) for pi, a in zip(p_dims, zip(n, k, s, d)))
    return x, w, m, pads, dy, ct


def _derivation_results(method, *, case, pads, dy, w, ct):
    """Value, both gradients of ``vdot(ct, .)``, a jvp and a vmap of one derivation.

    The derivation itself under a fresh jit: traced now, so it sees monkeypatched settings."""
    rank, n, k, s, d, p, cin, cout, g = case
    settings = dict(out_sizes=n, strides=s, padding=pads, dilations=d, groups=g)

    def op(dy, w):
        return derivations.TRANSPOSE[method](dy, w, **settings)

    loss = lambda dy, w: jnp.vdot(ct, op(dy, w))  # noqa: E731
    return jax.jit(
        lambda dy, w: (
            op(dy, w),
            *jax.grad(loss, argnums=(0, 1))(dy, w),
            jax.jvp(op, (dy, w), (dy[::-1], w[..., ::-1]))[1],
            jax.vmap(op, in_axes=(0, None))(jnp.stack([dy, -dy]), w),
        )
    )(dy, w)


@functools.cache
def _dilate_results(case, seed):
    """``_derivation_results("dilate")`` on ``_transpose_data(case, seed)``, computed once for
    the tests that compare another derivation with it (no setting they patch reaches it)."""
    x, w, m, pads, dy, ct = _transpose_data(case, seed)
    return _derivation_results("dilate", case=case, pads=pads, dy=dy, w=w, ct=ct)


CHUNKED = [c for c in CASES if c[6] // c[8] > 1 and max(c[3]) > 1]  # >= 2 channels per group


@pytest.mark.parametrize(
    "case, chunking",
    [
        *((c, "batch") for c in CHUNKED),
        *((c, "rows") for c in CASES),
        *((c, "channels") for c in CHUNKED),
    ],
    ids=lambda v: v if isinstance(v, str) else _id(v),
)
def test_col2im_in_chunks_equals_dilate(case, chunking, x64, monkeypatch):
    """ "col2im" computes its values and tangents (and so its gradients) in batch, row or
    channel chunks when the column matrix is large; force one chunk per example, windows of
    single phase rows (the most, each with its halo of input rows), or one chunk per channel,
    and compare value, both gradients, a jvp and a vmap with "dilate", exactly."""
    rank, n, k, s, d, p, cin, cout, g = case
    x, w, m, pads, dy, ct = _transpose_data(case, seed=3)
    results = functools.partial(_derivation_results, pads=pads, dy=dy, w=w, ct=ct, case=case)
    want = _dilate_results(case, seed=3)
    column_bytes = dy.shape[0] * math.prod(m) * math.prod(k) * cin * 8
    rows = (m[0], n[0], k[0], s[0], d[0], pads[0][0])
    if chunking == "batch":
        budget, expected = column_bytes // 2, (2, None, 1)
    elif chunking == "rows":
        # the smallest windows, one phase row (s output rows) each, forced even where the
        # examples are too short for the budget rule to choose them
        windows = [jconv._shapes.col2im_row_chunks(*rows[1:], h) for h in range(1, m[0] + k[0] + 2)]
        row_chunks = next(w for w in windows if w is not None)
        assert row_chunks[0] >= 2 and row_chunks[1] == s[0]
        budget, expected = 1, (2, row_chunks, 1)
    else:
        budget, expected = 1, (1, None, cin // g)
        assert cin // g > 1
    if chunking == "rows":  # the budget rule's own choice of windows: the doctests
        monkeypatch.setattr(jconv._shapes, "col2im_chunks", lambda *args: expected)
    else:
        assert jconv._shapes.col2im_chunks(column_bytes, 2, cin // g, budget, rows) == expected
    monkeypatch.setattr(derivations.col2im, "COL2IM_CHUNK_BYTES", budget)
    got = results("col2im")
    np.testing.assert_array_equal(
        want[0], jconv.conv_transpose(dy, w, x.shape, s, p, dilations=d, method="dilate")
    )
    for name, a, b in zip(("value", "d/d dy", "d/d w", "jvp", "vmap"), got, want):
        np.testing.assert_array_equal(a, b, err_msg=name)


PHASE_CHUNKED = [c for c in CASES if max(c[3]) > 1][::2]


@pytest.mark.parametrize("case", PHASE_CHUNKED, ids=_id)
@pytest.mark.parametrize("chunk", [1, 2])
def test_phase_derivatives_in_batch_chunks_equal_dilate(case, chunk, x64, monkeypatch):
    """ "phase" computes its derivatives in chunks of the batch (lax.map, each chunk
    checkpointed) where its gathered patches exceed PHASE_CHUNK_BYTES: force chunks of one
    example (batch 2, budget 1 byte) or of two (batch 4), check that the gradient loops, and
    compare value, both gradients, a jvp and a vmap with "dilate", exactly."""
    rank, n, k, s, d, p, cin, cout, g = case
    x, w, m, pads, dy, ct = _transpose_data(case, seed=3)
    if chunk == 1:
        monkeypatch.setattr(derivations.phase, "PHASE_CHUNK_BYTES", 1)
        want = _dilate_results(case, seed=3)
    else:
        dy, ct = jnp.concatenate([dy, 2 * dy]), jnp.concatenate([ct, -ct])
        monkeypatch.setattr(jconv._shapes, "batch_chunks", lambda *args: 2)
        want = _derivation_results("dilate", case=case, pads=pads, dy=dy, w=w, ct=ct)
    settings = dict(out_sizes=n, strides=s, padding=pads, dilations=d, groups=g)
    op = functools.partial(derivations.TRANSPOSE["phase"], **settings)
    grad = jax.grad(lambda a, b: jnp.vdot(ct, op(a, b)), argnums=(0, 1))
    assert "scan" not in str(jax.make_jaxpr(op)(dy, w))
    assert "scan" in str(jax.make_jaxpr(grad)(dy, w))
    got = _derivation_results("phase", case=case, pads=pads, dy=dy, w=w, ct=ct)
    for name, a, b in zip(("value", "d/d dy", "d/d w", "jvp", "vmap"), got, want):
        np.testing.assert_array_equal(a, b, err_msg=name)


PAIRINGS = [  # (case, the pairing, the derivation its values come from)
    *(
        (case, "phase+col2im", "phase")
        for case in [
            (1, (16,), (4,), (2,), (1,), "SAME", 4, 6, 2),
            (1, (17,), (6,), (3,), (1,), ((2, 3),), 3, 2, 1),
            (1, (9,), (3,), (1,), (1,), "SAME", 2, 2, 1),
        ]
    ),
    *(
        (case, "winograd+col2im", "winograd")
        for case in [
            (2, (8, 9), (4, 4), (2, 2), (1, 1), "SAME", 4, 6, 2),
            (2, (13, 8), (6, 4), (3, 2), (1, 1), ((2, 3), (1, 1)), 3, 2, 1),
        ]
    ),
]


@pytest.mark.parametrize(
    "case, method, values", PAIRINGS, ids=lambda v: v if isinstance(v, str) else _id(v)
)
def test_pairings_take_values_from_one_derivation_and_equal_dilate(
    case, method, values, x64, monkeypatch
):
    """ "phase+col2im" and "winograd+col2im" compute their values by "phase"/"winograd" and
    their derivatives by col2im's tangent, while "col2im" never calls another derivation:
    check both, and compare value, both gradients, a jvp and a vmap with "dilate", exactly."""
    x, w, m, pads, dy, ct = _transpose_data(case, seed=4)
    results = functools.partial(_derivation_results, pads=pads, dy=dy, w=w, ct=ct, case=case)
    calls = []
    module = getattr(derivations, values)
    name = f"transpose_{values}"
    original = getattr(module, name)
    monkeypatch.setattr(module, name, lambda *a, **kw: calls.append(1) or original(*a, **kw))

    want = results("dilate")
    results("col2im")
    assert not calls, f'"col2im" called {name}'
    got = results(method)
    assert calls, f"{method}'s values did not come from {name}"
    for label, a, b in zip(("value", "d/d dy", "d/d w", "jvp", "vmap"), got, want):
        np.testing.assert_array_equal(a, b, err_msg=label)


@pytest.mark.parametrize("case", CASES, ids=_id)
def test_winograd_in_batch_chunks_equals_dilate(case, x64, monkeypatch):
    """ "winograd" runs the batch in chunks (lax.map) when its tile products exceed
    WINOGRAD_CHUNK_BYTES: set the budget to half of them (two chunks of one example), check
    that the traced op now loops (and does with a budget below one example's products), and
    compare value, both gradients, a jvp and a vmap with "dilate", exactly (integer data: every
    transform and partial sum is exact)."""
    rank, n, k, s, d, p, cin, cout, g = case
    x, w, m, pads, dy, ct = _transpose_data(case, seed=5)
    results = functools.partial(_derivation_results, pads=pads, dy=dy, w=w, ct=ct, case=case)
    plans = [jconv._shapes.winograd_tiles(*a, lo) for *a, (lo, _) in zip(n, m, k, s, d, pads)]
    tile_bytes = 3**rank * 2 * math.prod(p for _, p, *_ in plans) * math.prod(s) * cin * 8

    def jaxpr():
        settings = dict(out_sizes=n, strides=s, padding=pads, dilations=d, groups=g)
        return str(
            jax.make_jaxpr(lambda a, b: derivations.transpose_winograd(a, b, **settings))(dy, w)
        )

    want = results("dilate")
    assert "scan" not in jaxpr()
    # a budget below one example's products: still one example at a time (the same loop)
    monkeypatch.setattr(derivations.winograd, "WINOGRAD_CHUNK_BYTES", tile_bytes // 8)
    assert "scan" in jaxpr()
    monkeypatch.setattr(derivations.winograd, "WINOGRAD_CHUNK_BYTES", tile_bytes // 2)
    assert "scan" in jaxpr()
    got = results("winograd")
    for name, a, b in zip(("value", "d/d dy", "d/d w", "jvp", "vmap"), got, want):
        np.testing.assert_array_equal(a, b, err_msg=name)


@pytest.mark.parametrize("case", [c for c in CASES if c[0] in (1, 2, 3)][::3], ids=_id)
def test_channels_first_matches_channels_last(case):
    rank, n, k, s, d, p, cin, cout, g = case
    x, w = _forward_data(case, jnp.float32)
    fmt_last = {1: "NWC", 2: "NHWC", 3: "NDHWC"}[rank]
    fmt_first = {1: "NCW", 2: "NCHW", 3: "NCDHW"}[rank]
    to_first = (0, rank + 1, *range(1, rank + 1))
    to_last = (0, *range(2, rank + 2), 1)
    xf = jnp.transpose(x, to_first)

    def every(x, w, xf):
        y = jconv.conv(x, w, s, p, fmt_last, d)
        yf = jconv.conv(xf, w, s, p, fmt_first, d)
        dx = {
            m: (
                jconv.conv_transpose(y, w, x.shape, s, p, fmt_last, d, method=m),
                jconv.conv_transpose(yf, w, xf.shape, s, p, fmt_first, d, method=m),
            )
            for m in jconv.TRANSPOSE_METHODS
        }
        dw = {
            m: (
                jconv.conv_backprop_filter(x, w.shape, y, s, p, fmt_last, d, method=m),
                jconv.conv_backprop_filter(xf, w.shape, yf, s, p, fmt_first, d, method=m),
            )
            for m in jconv.FILTER_GRAD_METHODS
        }
        return (y, yf), dx, dw

    (y, y_first), dx, dw = _together(every, x, w, xf)
    np.testing.assert_array_equal(jnp.transpose(y_first, to_last), y)
    for method, (last, first) in dx.items():
        np.testing.assert_array_equal(jnp.transpose(first, to_last), last, err_msg=method)
    for method, (last, first) in dw.items():
        np.testing.assert_array_equal(first, last, err_msg=method)


SEED_MATRIX = np.array(
    [
        [67, -134, 278, -154, 231],
        [-268, 335, -710, 385, -462],
        [586, -770, 1620, -870, 1074],
        [-468, 585, -1210, 635, -762],
        [819, -936, 1942, -1016, 1143],
    ],
    np.float32,
)


def _seed():
    x = jnp.array([[-67.0, -77.0], [-117.0, -127.0]]).reshape(1, 2, 2, 1)
    f = jnp.array([[-1.0, 2.0, -3.0], [4.0, -5.0, 6.0], [-7.0, 8.0, -9.0]]).reshape(3, 3, 1, 1)
    return x, f


@pytest.mark.parametrize("method", jconv.TRANSPOSE_METHODS)
def test_seed_example(method):
    """The classic Stack Overflow example: 67, not 603 = -67 * -9, by every method, eager, jit."""
    x, f = _seed()
    y = jconv.conv2d_transpose(x, f, (1, 5, 5, 1), strides=2, padding="VALID", method=method)
    np.testing.assert_array_equal(y[0, :, :, 0], SEED_MATRIX)
    jitted = jax.jit(
        lambda x, f: jconv.conv2d_transpose(
            x, f, (1, 5, 5, 1), strides=[1, 2, 2, 1], padding="valid", method=method
        )
    )
    np.testing.assert_array_equal(jitted(x, f)[0, :, :, 0], SEED_MATRIX)
    np.testing.assert_array_equal(
        reference.conv_transpose(x, f, (5, 5), 2, "VALID")[0, :, :, 0], SEED_MATRIX
    )


def test_seed_manual_identities():
    """The classic manual derivations: d_x = conv(pad_to_full(dy), rot180(w)) and
    d_w = nhwc_to_hwio(conv(x with channels as batch, nhwc_to_hwio(dy))), stride 1 VALID."""
    rng = np.random.default_rng(3)
    x = _ints(rng, (1, 6, 5, 1), jnp.float32)
    w = _ints(rng, (3, 2, 1, 1), jnp.float32)
    dy = _ints(rng, (1, 4, 4, 1), jnp.float32)
    dx = jconv.conv2d(jconv.pad_to_full(dy, (3, 2)), jconv.rot180(w))
    np.testing.assert_array_equal(dx, jconv.conv2d_backprop_input(x.shape, w, dy))
    dw = jconv.nhwc_to_hwio(jconv.conv2d(jnp.swapaxes(x, 0, -1), jconv.nhwc_to_hwio(dy)))
    np.testing.assert_array_equal(dw, jconv.conv2d_backprop_filter(x, w.shape, dy))


def test_default_output_shape_is_keras():
    dy = jnp.ones((1, 4, 4, 2))
    w = jnp.ones((3, 3, 5, 2))
    assert jconv.conv2d_transpose(dy, w, strides=2).shape == (1, 8, 8, 5)
    assert jconv.conv2d_transpose(dy, w, strides=2, padding="VALID").shape == (1, 9, 9, 5)
    assert jconv.conv2d_transpose(dy, w, strides=4, padding="VALID").shape == (1, 16, 16, 5)
    assert jconv.conv2d_transpose(dy, w, (7, 8), strides=2).shape == (1, 7, 8, 5)


def test_zero_batch():
    w = jnp.ones((3, 3, 2, 4))
    assert jconv.conv2d(jnp.ones((0, 5, 5, 2)), w, padding="SAME").shape == (0, 5, 5, 4)
    for method in jconv.TRANSPOSE_METHODS:
        assert jconv.conv2d_transpose(
            jnp.ones((0, 3, 3, 4)), w, (0, 6, 6, 2), 2, method=method
        ).shape == (0, 6, 6, 2)
    for method in jconv.FILTER_GRAD_METHODS:
        dw = jconv.conv2d_backprop_filter(
            jnp.ones((0, 5, 5, 2)), w.shape, jnp.ones((0, 3, 3, 4)), method=method
        )
        np.testing.assert_array_equal(dw, jnp.zeros(w.shape))
