"""The forward conv's derivations (``method=``) and its derivatives' (``grad_method=``).

Every forward method's values, and the input and filter gradients of ``sum(conv(x, w) * r)``
through every derivation ``grad_method`` can name (each transposed-conv method for the input
gradient, each filter-gradient method for the filter gradient, ``"auto"``, and ``"jax"``: JAX's
own rule), equal the NumPy loop reference and JAX's gradient of ``lax.conv_general_dilated``
exactly: data are integer-valued, so float64 sums are exact in any order. Both front doors
(TensorFlow's names and PyTorch's), ranks 1-3, strides, dilations, groups and depthwise convs;
each configuration is one jit. The transformations (vmap, jvp, hessians, checkpoint) of the
default ``"auto"`` are in test_transforms.py; the oneDNN kernels in test_onednn.py.
"""

from __future__ import annotations

import jax
import jax.numpy as jnp
import numpy as np
import pytest
from jax import lax

import jconv
import jconv.torch as jt
from jconv import _onednn, reference

# (spatial n, kernel k, strides, dilations, TF padding (explicit pairs), C_in, C_out, groups)
CONFIGS = [
    ((9,), (3,), (2,), (1,), [(1, 1)], 4, 6, 2),
    ((7, 6), (3, 2), (2, 1), (1, 2), [(1, 0), (0, 2)], 3, 4, 1),
    ((6, 7), (3, 3), (1, 2), (1, 1), [(1, 1), (1, 1)], 4, 8, 4),  # depthwise, multiplier 2
    ((8, 8), (2, 2), (2, 2), (1, 1), [(0, 0), (0, 0)], 2, 3, 1),
    ((4, 5, 4), (3, 2, 2), (2, 1, 2), (1, 1, 1), [(1, 1), (0, 1), (1, 0)], 2, 4, 2),
]


def _id(cfg):
    n, k, s, d, _, cin, cout, g = cfg
    return f"{len(n)}d-k{'x'.join(map(str, k))}-s{'x'.join(map(str, s))}-d{max(d)}-g{g}"


def _data(cfg, dtype, seed=0):
    n, k, s, d, pads, cin, cout, g = cfg
    rng = np.random.default_rng(seed)
    x = rng.integers(-3, 4, (2, *n, cin)).astype(dtype)
    w = rng.integers(-3, 4, (*k, cin // g, cout)).astype(dtype)
    y = reference.conv(x.astype(np.float64), w.astype(np.float64), s, pads, d)
    r = rng.integers(-3, 4, y.shape).astype(dtype)
    return x, w, r, y


def _plain(cfg):
    n, k, s, d, pads, cin, cout, g = cfg
    spatial = "DHW"[3 - len(n) :]
    dn = (f"N{spatial}C", f"{spatial}IO", f"N{spatial}C")
    return lambda x, w: lax.conv_general_dilated(
        x, w, s, pads, rhs_dilation=d, dimension_numbers=dn, feature_group_count=g
    )


def _grad(f, x, w, r):
    return jax.grad(lambda a, b: jnp.sum(f(a, b) * r), (0, 1))(x, w)


def _grad_methods():
    return [
        "auto",
        "jax",
        *((m, "auto") for m in jconv.TRANSPOSE_METHODS),
        *(("auto", m) for m in jconv.FILTER_GRAD_METHODS),
    ]


def _forward_methods(cfg, dtype):
    depthwise = cfg[7] > 1 and cfg[7] == cfg[5]
    onednn = dtype == np.float32 and _onednn.enabled() and jax.default_backend() == "cpu"
    return [
        m
        for m in ("auto", *jconv.FORWARD_METHODS)
        if (m != "taps" or depthwise) and (m != "onednn" or onednn)
    ]


@pytest.mark.parametrize("cfg", CONFIGS, ids=_id)
@pytest.mark.parametrize("dtype", [np.float64, np.float32], ids=["f64", "f32"])
def test_every_derivation_is_exact(cfg, dtype, x64):
    n, k, s, d, pads, cin, cout, g = cfg
    x, w, r, want_y = _data(cfg, dtype)
    tf_op = {1: jconv.conv1d, 2: jconv.conv2d, 3: jconv.conv3d}[len(n)]
    torch_op = {1: jt.conv1d, 2: jt.conv2d, 3: jt.conv3d}[len(n)]
    rank = len(n)
    first, last = (0, rank + 1, *range(1, rank + 1)), (0, *range(2, rank + 2), 1)
    to_torch_w = (rank + 1, rank, *range(rank))

    def tf(method, grad_method):
        return lambda a, b: tf_op(
            a, b, s, pads, dilations=d, method=method, grad_method=grad_method
        )

    def torch(method, grad_method):
        # PyTorch pads both sides alike: the TF door's uneven pairs written into the input
        def f(a, b):
            a = jnp.pad(a, [(0, 0), *pads, (0, 0)])
            y = torch_op(
                jnp.transpose(a, first),
                jnp.transpose(b, to_torch_w),
                None,
                s,
                0,
                d,
                g,
                method=method,
                grad_method=grad_method,
            )
            return jnp.transpose(y, last)

        return f

    methods = _forward_methods(cfg, dtype)
    grad_methods = _grad_methods() if dtype == np.float64 else ["auto", "jax"]

    @jax.jit
    def everything(x, w, r):
        return {
            "plain": _grad(_plain(cfg), x, w, r),
            "values": [tf(m, "auto")(x, w) for m in methods],
            "torch values": [torch(m, "auto")(x, w) for m in methods[:2]],
            "grads": [_grad(tf(m, "auto"), x, w, r) for m in methods],
            "grad methods": [_grad(tf("auto", gm), x, w, r) for gm in grad_methods],
            "torch grads": [_grad(torch("auto", gm), x, w, r) for gm in ("auto", "jax")],
        }

    got = everything(x, w, r)
    want_dx = reference.conv_backprop_input(
        x.shape, w.astype(np.float64), r.astype(np.float64), s, pads, d
    )
    want_dw = reference.conv_backprop_filter(
        x.astype(np.float64), w.shape, r.astype(np.float64), s, pads, d
    )
    np.testing.assert_array_equal(got["plain"][0], want_dx)
    np.testing.assert_array_equal(got["plain"][1], want_dw)
    for m, y in zip(methods, got["values"]):
        assert y.dtype == dtype
        np.testing.assert_array_equal(y, want_y, err_msg=f"values {m}")
    for m, y in zip(methods, got["torch values"]):
        np.testing.assert_array_equal(y, want_y, err_msg=f"torch values {m}")
    labelled = [
        *((f"method={m}", dxdw) for m, dxdw in zip(methods, got["grads"])),
        *((f"grad_method={gm}", dxdw) for gm, dxdw in zip(grad_methods, got["grad methods"])),
        *(
            (f"torch grad_method={gm}", dxdw)
            for gm, dxdw in zip(("auto", "jax"), got["torch grads"])
        ),
    ]
    for label, (dx, dw) in labelled:
        assert dx.dtype == dw.dtype == dtype, label
        np.testing.assert_array_equal(dx, want_dx, err_msg=label)
        np.testing.assert_array_equal(dw, want_dw, err_msg=label)


def test_grad_method_chooses_the_derivation():
    """``"jax"`` leaves no jconv primitive in the program; the default has one; a named pair
    changes the backward program (so the argument is honoured, not ignored)."""
    x, w = jnp.ones((1, 6, 6, 2)), jnp.ones((3, 3, 2, 4))

    def jaxpr(**kw):
        return str(jax.make_jaxpr(jax.grad(lambda a: jnp.sum(jconv.conv2d(a, w, 2, **kw))))(x))

    assert "jconv_conv" in jaxpr()
    assert "jconv_conv" not in jaxpr(grad_method="jax", method="xla")
    assert jaxpr(grad_method=("dilate", "auto")) != jaxpr(grad_method=("col2im", "auto"))


def test_linear_transpose_and_vmap_of_kernels(x64):
    """``jax.linear_transpose`` of the conv in ``x`` is jconv's transposed conv; a vmap over the
    kernel (groups side by side) and over both equal one conv per example."""
    cfg = CONFIGS[1]
    x, w, r, _ = _data(cfg, np.float64)
    n, k, s, d, pads, cin, cout, g = cfg
    conv = lambda a, b: jconv.conv2d(a, b, s, pads, dilations=d)  # noqa: E731
    (dx,) = jax.linear_transpose(lambda a: conv(a, w), x)(r)
    np.testing.assert_array_equal(dx, reference.conv_backprop_input(x.shape, w, r, s, pads, d))
    ws = np.stack([w, -w, 2 * w])
    xs = np.stack([x, x[::-1], -x])
    np.testing.assert_array_equal(
        jax.vmap(conv, (None, 0))(x, ws), np.stack([reference.conv(x, v, s, pads, d) for v in ws])
    )
    np.testing.assert_array_equal(
        jax.vmap(conv)(xs, ws),
        np.stack([reference.conv(a, v, s, pads, d) for a, v in zip(xs, ws)]),
    )
    grads = jax.vmap(lambda a, b: _grad(conv, a, b, r))(xs, ws)
    for i in range(3):
        np.testing.assert_array_equal(
            grads[1][i], reference.conv_backprop_filter(xs[i], w.shape, r, s, pads, d)
        )


@pytest.mark.parametrize(
    "kwargs, message",
    [
        ({"method": "fast"}, "method 'fast' is not one of ('auto', 'xla', 'onednn'"),
        ({"method": "taps"}, "method 'taps' is for depthwise convs"),
        ({"grad_method": "torch"}, "grad_method 'torch' is not 'auto', 'jax' or a pair"),
        ({"grad_method": ("phase", "fast")}, "grad_method[1] 'fast' is not one of ('auto', 'vjp'"),
        (
            {"grad_method": ("fast", "auto")},
            "grad_method[0] 'fast' is not one of ('auto', 'dilate'",
        ),
    ],
)
def test_bad_methods_are_refused(kwargs, message):
    x, w = jnp.ones((1, 5, 5, 2)), jnp.ones((3, 3, 2, 4))
    for call, fn in (
        (lambda: jconv.conv2d(x, w, **kwargs), "jconv.conv2d"),
        (
            lambda: jt.conv2d(x.transpose(0, 3, 1, 2), w.transpose(3, 2, 0, 1), **kwargs),
            "jconv.torch.conv2d",
        ),
    ):
        with pytest.raises(ValueError) as e:
            call()
        assert str(e.value).startswith(fn + ":") and message in str(e.value), str(e.value)


def test_grad_method_of_the_wrong_type_is_refused():
    with pytest.raises(TypeError, match=r"jconv.conv1d: grad_method \['auto'\] is not"):
        jconv.conv1d(jnp.ones((1, 5, 2)), jnp.ones((3, 2, 2)), grad_method=["auto"])


def test_onednn_is_refused_where_it_does_not_run(x64):
    x, w = jnp.ones((1, 5, 5, 2), jnp.float64), jnp.ones((3, 3, 2, 4), jnp.float64)
    with pytest.raises(ValueError, match=r"jconv.conv2d: method 'onednn' runs oneDNN's float32"):
        jconv.conv2d(x, w, method="onednn")


def _check_kernel_equal_to_stride(rng, ms, ks, pads, n_sizes, g):
    cin, cout = 2 * g, 2 * g
    dy = rng.integers(-3, 4, (2, *ms, cout)).astype(np.float64)
    w = rng.integers(-3, 4, (*ks, cin // g, cout)).astype(np.float64)
    x_shape = (2, *n_sizes, cin)
    want = reference.conv_backprop_input(x_shape, w, dy, ks, list(pads))
    ct = rng.integers(-3, 4, want.shape).astype(np.float64)
    for method in ("auto", "col2im", "phase+col2im"):

        def op(a, b, method=method):
            return jconv.conv_backprop_input(x_shape, b, a, ks, list(pads), method=method)

        np.testing.assert_array_equal(jax.jit(op)(dy, w), want)
        g_dy, g_w = jax.grad(lambda a, b, op=op: jnp.sum(op(a, b) * ct), (0, 1))(dy, w)
        np.testing.assert_array_equal(g_dy, reference.conv(ct, w, ks, list(pads)))
        want_w = reference.conv_backprop_filter(ct, w.shape, dy, ks, list(pads))
        np.testing.assert_array_equal(g_w, want_w)


def test_kernel_equal_to_stride(x64):
    """k = s (no overlap; ``auto``'s first rule): values and both gradients exact, for paddings
    that crop and output sizes that extend past m * s."""
    rng = np.random.default_rng(3)
    for ms, ks, pads, n_sizes, g in (
        ((4, 5), (2, 3), ((0, 0), (1, 1)), (8, 13), 1),
        ((3,), (4,), ((1, 2),), (10,), 2),
        ((2, 3, 2), (2, 2, 2), ((0, 1), (1, 0), (0, 0)), (4, 6, 5), 1),
    ):
        _check_kernel_equal_to_stride(rng, ms, ks, pads, n_sizes, g)
