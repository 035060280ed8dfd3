"""The filter-gradient derivations: ``"vjp"`` (JAX's transpose of the forward conv), ``"conv"``
(one convolution of the input with the output gradient) and ``"patches"`` (one matmul of
gathered input taps against the output gradient).

The derivatives of ``"vjp"`` and ``"conv"`` (a filter gradient differentiated again, e.g. for a
gradient penalty) are the ``"patches"`` form, through a ``custom_jvp`` whose tangent is linear:
JAX's own transposes of their convolutions include ``lhs_dilation`` convs that XLA:CPU aborts on
(docs/xla_aborts.md, found by the crash campaign), and the patches form has no convolution."""

from __future__ import annotations

import functools
import itertools

import jax
import jax.numpy as jnp
from jax import lax

from jconv import _core
from jconv.derivations import _common


def _filter_grad_vjp(
    x,
    dy,
    *,
    kernel_sizes,
    strides,
    padding,
    dilations,
    groups,
    precision=None,
    preferred_element_type=None,
):
    """``jax.vjp`` of ``w -> conv(x, w)``, evaluated at a zero filter of the wanted shape (the
    values of :func:`filter_grad_vjp`)."""
    cin_g = x.shape[-1] // groups
    if preferred_element_type is not None:  # as in transpose_vjp
        x, dy = x.astype(preferred_element_type), dy.astype(preferred_element_type)
    w0 = jnp.zeros((*kernel_sizes, cin_g, dy.shape[-1]), x.dtype)

    def forward(w):
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

    out, pullback = jax.vjp(forward, w0)
    # jax.vjp returns the primal's dtype; the other methods return preferred_element_type's
    return pullback(dy.astype(out.dtype))[0].astype(out.dtype)


def _filter_grad_conv(
    x,
    dy,
    *,
    kernel_sizes,
    strides,
    padding,
    dilations,
    groups,
    precision=None,
    preferred_element_type=None,
):
    """The filter gradient as one convolution of the input with the output gradient.

    ``dw[t, c, o] = sum_{b, i} x_pad[b, i * s + t * d, c] * dy[b, i, o]``: a correlation over the
    spatial dims in which the batch is contracted like a channel, ``dy`` is the kernel dilated by
    the forward *stride* and the window moves by the forward *dilation*. The input's channels act
    as the batch; ``batch_group_count = groups`` pairs each group of input channels with its group
    of output channels. Padding from :func:`jconv._shapes.tight_padding`.
    """
    rank = x.ndim - 2
    pads = _common.tight_pads(
        x.shape[1:-1], dy.shape[1:-1], kernel_sizes, strides, dilations, padding
    )
    spatial = tuple(range(1, rank + 1))
    dimension_numbers = lax.ConvDimensionNumbers(
        lhs_spec=(rank + 1, 0, *spatial),
        rhs_spec=(rank + 1, 0, *spatial),
        out_spec=(rank, rank + 1, *range(rank)),
    )
    return _core.conv_general_dilated(
        x,
        dy,
        dilations,
        pads,
        (1,) * rank,
        strides,
        dimension_numbers,
        batch_group_count=groups,
        precision=precision,
        preferred_element_type=preferred_element_type,
    )


def filter_grad_patches(
    x,
    dy,
    *,
    kernel_sizes,
    strides,
    padding,
    dilations,
    groups,
    precision=None,
    preferred_element_type=None,
):
    """The filter gradient as one matrix product: gathered input taps against ``dy``.

    ``dw[t, c, o] = sum_{b, i} x_pad[b, i * s + t * d, c] * dy[b, i, o]``: for each tap ``t`` the
    strided view ``x_pad[:, t * d :: s]`` (``m`` rows) is gathered, and one ``dot_general``
    contracts batch and positions, with the groups as a batch dimension.
    """
    rank = x.ndim - 2
    ms = dy.shape[1:-1]
    x = _core.zero_pad(
        x, _common.tight_pads(x.shape[1:-1], ms, kernel_sizes, strides, dilations, padding)
    )
    taps = []
    for t in itertools.product(*(range(k) for k in kernel_sizes)):
        start = (0, *(a * d for a, d in zip(t, dilations)), 0)
        limit = (
            x.shape[0],
            *(a + (m - 1) * s + 1 for a, m, s in zip(start[1:], ms, strides)),
            x.shape[-1],
        )
        taps.append(lax.slice(x, start, limit, (1, *strides, 1)))
    cin, cout = x.shape[-1], dy.shape[-1]
    patches = jnp.stack(taps, axis=-2).reshape(*x.shape[:1], *ms, len(taps), groups, cin // groups)
    grads = dy.reshape(*dy.shape[:-1], groups, cout // groups)
    contract = tuple(range(rank + 1))
    # (N, *M, T, g, c) x (N, *M, g, o) -> (g, T, c, o)
    dw = lax.dot_general(
        patches,
        grads,
        ((contract, contract), ((rank + 2,), (rank + 1,))),
        precision=precision,
        preferred_element_type=preferred_element_type,
    )
    dw = jnp.transpose(dw, (1, 2, 0, 3))
    return dw.reshape(*kernel_sizes, cin // groups, cout)


def _patches_derivatives(values):
    """``values``' filter gradient, differentiated as :func:`filter_grad_patches` (same sums)."""

    @functools.partial(jax.custom_jvp, nondiff_argnums=(2,))
    def op(x, dy, settings):
        return values(x, dy, **dict(settings))

    def jvp(settings, primals, tangents):
        out = values(*primals, **dict(settings))

        def patches(a, b):
            return filter_grad_patches(a, b, **dict(settings))

        return out, _common.bilinear_tangent(patches, primals, tangents, out)

    op.defjvp(jvp, symbolic_zeros=True)

    @functools.wraps(values)
    def method(x, dy, **settings):
        return op(x, dy, tuple(sorted(settings.items())))

    return method


filter_grad_vjp = _patches_derivatives(_filter_grad_vjp)
filter_grad_conv = _patches_derivatives(_filter_grad_conv)
