"""The forward convolution's derivations: the same correlation on four kernels.

``y[b, i, o] = sum_(t, c) x_pad[b, i * s + t * d, g(o) * C_in/g + c] * w[t, c, o]`` for canonical
``x`` ``(N, *n, C_in)`` and ``w`` ``(*k, C_in / g, C_out)``, with ``g(o) = o // (C_out / g)``.

* ``"xla"``: XLA's own conv (:func:`jconv._core.conv`, routed around XLA:CPU's abort). On CPU
  that is Eigen's spatial convolution: a 3-D conv is a generic loop and a depthwise conv runs at
  a few per cent of peak.
* ``"onednn"``: oneDNN's direct kernel through XLA:CPU's ``__onednn$convolution`` call
  (:mod:`jconv._onednn`; float32 on the verified jaxlib, refused elsewhere by the front doors).
* ``"patches"``: one matmul over gathered taps (:func:`jconv._core.conv_patches`).
* ``"taps"``: a multiply-accumulate per tap, for depthwise convs (one input channel per group),
  where a matmul would contract a single channel.

The derivatives of the forward conv are not these functions': jconv's forward conv is a
primitive (:mod:`jconv._conv_op`) whose transposes are jconv's transposed conv and filter
gradient. The names here choose only how the values are computed.
"""

from __future__ import annotations

import jax.numpy as jnp

from jconv import _core, _onednn, _shapes


def forward_xla(
    x, w, *, strides, padding, dilations, groups, precision=None, preferred_element_type=None
):
    """XLA's conv (:func:`jconv._core.conv`)."""
    return _core.conv(
        x,
        w,
        strides,
        padding,
        dilations,
        groups,
        precision=precision,
        preferred_element_type=preferred_element_type,
    )


def forward_onednn(
    x, w, *, strides, padding, dilations, groups, precision=None, preferred_element_type=None
):
    """oneDNN's direct kernel (:func:`jconv._onednn.conv`); float32, ``precision`` does not
    apply (oneDNN sums in float32)."""
    del precision, preferred_element_type  # float32 only (jconv._onednn.eligible)
    return _onednn.conv(x, w, padding, strides, dilations, groups)


def forward_patches(
    x, w, *, strides, padding, dilations, groups, precision=None, preferred_element_type=None
):
    """One matmul over the ``prod(k)`` gathered strided taps (:func:`jconv._core.conv_patches`)."""
    return _core.conv_patches(
        x,
        w,
        padding,
        groups,
        precision=precision,
        preferred_element_type=preferred_element_type,
        strides=strides,
        dilations=dilations,
    )


def forward_taps(
    x, w, *, strides, padding, dilations, groups, precision=None, preferred_element_type=None
):
    """Depthwise conv (``w.shape[-2] == 1``) as ``sum_t x_pad[:, t * d :: s] * w[t]``.

    Each of the ``C_out / C_in`` output channels of an input channel gets that channel's strided
    view times its tap, summed over taps in the accumulation dtype; no matmul, no patches.
    ``precision`` does not apply (elementwise products are exact in the inputs' dtype).
    """
    del precision
    rank = x.ndim - 2
    if w.shape[-2] != 1:
        raise ValueError(
            f"jconv: forward method 'taps' is for depthwise convs (one input channel per group), "
            f"got {w.shape[-2]} input channels per group"
        )
    ks, cout = w.shape[:rank], w.shape[-1]
    out_dtype = preferred_element_type or x.dtype
    acc = out_dtype
    if jnp.issubdtype(acc, jnp.floating) and jnp.finfo(acc).bits < 32:
        acc = jnp.float32  # sum narrow floats in float32 and round once, as XLA:CPU's convs do
    x = _core.zero_pad(x.astype(acc), padding)
    if cout != groups:  # channel multiplier: output channel o reads input channel o // (O / C)
        x = jnp.repeat(x, cout // groups, axis=-1)
    w = w.astype(acc)
    out_sizes = [
        _shapes.conv_output_size(n, k, s, d, 0, 0)
        for n, k, s, d in zip(x.shape[1:-1], ks, strides, dilations)
    ]
    y = None
    for t, view in _core.tap_views(x, ks, strides, dilations, out_sizes):
        term = view * w[tuple(t) + (0,)]
        y = term if y is None else y + term
    return y.astype(out_dtype)


FORWARD = {
    "xla": forward_xla,
    "onednn": forward_onednn,
    "patches": forward_patches,
    "taps": forward_taps,
}
"""Forward conv derivations by ``method=`` name."""
