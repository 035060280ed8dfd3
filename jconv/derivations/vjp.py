"""``method="vjp"``: JAX's own transpose of the forward conv (``jax.vjp``)."""

from __future__ import annotations

import jax
import jax.numpy as jnp

from jconv import _core
from jconv.derivations import _common


def transpose_vjp(
    dy,
    w,
    *,
    out_sizes,
    strides,
    padding,
    dilations,
    groups,
    precision=None,
    preferred_element_type=None,
):
    """``jax.vjp`` of the forward conv, evaluated at a zero primal of the output's shape.

    The forward conv's high padding is taken as :func:`jconv._shapes.tight_padding` (the
    rows the forward conv reads, no more), so its output has exactly ``dy``'s size for any
    ``out_sizes``.

    JAX transposes the conv into the same ``lhs_dilation`` conv as :func:`transpose_dilate`;
    :func:`jconv._core.conv` keeps that conv clear of XLA's operand-swap abort.
    """
    rank = dy.ndim - 2
    cin = w.shape[-2] * groups
    if preferred_element_type is not None:
        # jax.vjp computes in the primal's dtype: run it in the accumulation dtype instead
        # (exact for the products of narrower floats), as the other methods accumulate.
        dy, w = dy.astype(preferred_element_type), w.astype(preferred_element_type)
    x0 = jnp.zeros((dy.shape[0], *out_sizes, cin), dy.dtype)
    # High padding that makes the forward output exactly dy's size: the same rows are read, and
    # it also covers output sizes past the forward range (PyTorch's output_padding >= stride).
    padding = _common.tight_pads(
        out_sizes, dy.shape[1:-1], w.shape[:rank], strides, dilations, padding
    )

    def forward(x):
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

    out, pullback = jax.vjp(forward, x0)
    # jax.vjp returns the primal's dtype; the other methods return preferred_element_type's
    return pullback(dy.astype(out.dtype))[0].astype(out.dtype)
