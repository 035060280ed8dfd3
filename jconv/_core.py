"""The forward convolution in jconv's canonical layout, and the one call site of XLA's conv.

Canonical layout: inputs ``(N, *spatial, C)``, filters ``(*k, C_in / groups, C_out)`` (TensorFlow's
HWIO), outputs ``(N, *spatial, C_out)``.
"""

from __future__ import annotations

import itertools
from collections.abc import Sequence

import jax
import jax.numpy as jnp
from jax import lax

from jconv import _shapes

Pair = tuple[int, int]


def zero_pad(x, pads: Sequence[Pair], *, lead: int = 1, interior: Sequence[int] | None = None):
    """``x`` with zeros added to axes ``lead .. lead + len(pads) - 1`` (the spatial dims of
    ``(N, *spatial, C)`` data with ``lead=1``; a filter's tap dims with ``lead=0``).

    ``pads[i] = (lo, hi)`` rows before and after (negative: rows removed), ``interior[i]`` zeros
    between neighbouring rows; other axes are unchanged.

    >>> zero_pad(jnp.ones((1, 2, 1)), [(1, 0)], interior=[1])[0, :, 0]
    Array([0., 1., 0., 1.], dtype=float32)
    """
    interior = (0,) * len(pads) if interior is None else tuple(interior)
    config = [(0, 0, 0)] * x.ndim
    for i, ((lo, hi), e) in enumerate(zip(pads, interior)):
        config[lead + i] = (lo, hi, e)
    return lax.pad(x, jnp.zeros((), x.dtype), config)


def same_varying_axes(x, w):
    """Inside ``jax.shard_map``: both operands varying over the same manual mesh axes (what
    ``lax``'s own ops do before binding), so that the output, its cotangent and the transposes'
    results have the types JAX expects (a replicated filter's cotangent is then summed over the
    axes by JAX)."""
    vx, vw = (jax.typeof(a).mat.varying for a in (x, w))
    if vx == vw:
        return x, w
    union = vx | vw
    if vx != union:
        x = jax.lax.pcast(x, tuple(sorted(union - vx)), to="varying")
    if vw != union:
        w = jax.lax.pcast(w, tuple(sorted(union - vw)), to="varying")
    return x, w


def canonical_dimension_numbers(rank: int) -> lax.ConvDimensionNumbers:
    """``("NHWC", "HWIO", "NHWC")`` for any number of spatial dims, as index specs."""
    spatial = tuple(range(1, rank + 1))
    return lax.ConvDimensionNumbers(
        lhs_spec=(0, rank + 1, *spatial),
        rhs_spec=(rank + 1, rank, *range(rank)),
        out_spec=(0, rank + 1, *spatial),
    )


def conv_general_dilated(
    lhs,
    rhs,
    window_strides: Sequence[int],
    padding: Sequence[Pair],
    lhs_dilation: Sequence[int],
    rhs_dilation: Sequence[int],
    dimension_numbers: lax.ConvDimensionNumbers,
    feature_group_count: int = 1,
    batch_group_count: int = 1,
    precision=None,
    preferred_element_type=None,
):
    """``lax.conv_general_dilated`` routed around XLA's conv-operand-swap abort.

    When a dim has the pattern that XLA's operand swap mishandles
    (:func:`jconv._shapes.group_like_dims`, :func:`jconv._shapes.xla_swap_hazard`), it gets
    ``stride`` more rows of high padding (one more output row, which breaks the pattern) and that
    row is sliced off again. Values are unchanged.

    Grouped convs are guarded too: XLA:CPU expands batch groups, and feature groups in float64
    and complex128, into ungrouped convs before the swap (:func:`jconv._shapes.xla_cpu_ungroups`).
    The guard does not depend on the dtype rule, which is XLA-internal and version-dependent: one
    extra output row where the pattern appears costs little.
    """
    lhs_spec, rhs_spec, out_spec = dimension_numbers
    # Every group-like dim, not only those that trip the swap at these global shapes: under
    # SPMD partitioning the per-device inputs are smaller and the swap can fire there.
    hazard = _shapes.group_like_dims(
        [rhs.shape[i] for i in rhs_spec[2:]],
        window_strides,
        padding,
        lhs_dilation,
        rhs_dilation,
    )
    pads = [(lo, hi) for lo, hi in padding]
    for i in hazard:
        pads[i] = (pads[i][0], pads[i][1] + window_strides[i])
    padding = pads
    out = lax.conv_general_dilated(
        lhs,
        rhs,
        window_strides=tuple(window_strides),
        padding=tuple(padding),
        lhs_dilation=tuple(lhs_dilation),
        rhs_dilation=tuple(rhs_dilation),
        dimension_numbers=dimension_numbers,
        feature_group_count=feature_group_count,
        batch_group_count=batch_group_count,
        precision=precision,
        preferred_element_type=preferred_element_type,
    )
    for i in hazard:
        axis = out_spec[2 + i]
        out = lax.slice_in_dim(out, 0, out.shape[axis] - 1, axis=axis)
    return out


def transpose_hazard(in_sizes, kernel_sizes, strides, padding, dilations) -> bool:
    """Would the input gradient of this forward conv, as JAX emits it, trip XLA's swap abort?

    JAX transposes a conv into the lhs_dilation conv of :func:`jconv._shapes.transpose_padding`
    (grouped or not: XLA:CPU may ungroup it, :func:`jconv._shapes.xla_cpu_ungroups`); this asks
    whether that conv has a group-like dim (:func:`jconv._shapes.group_like_dims`), which is
    enough for an abort once the input is partitioned over devices.
    """
    out_sizes, pads = [], []
    for n, k, s, d, (lo, hi) in zip(in_sizes, kernel_sizes, strides, dilations, padding):
        m = _shapes.conv_output_size(n, k, s, d, lo, hi)
        out_sizes.append(m)
        pads.append(_shapes.transpose_padding(n, m, k, s, d, lo))
    rank = len(out_sizes)
    return bool(_shapes.group_like_dims(kernel_sizes, (1,) * rank, pads, strides, dilations))


def conv(
    x,
    w,
    strides: Sequence[int],
    padding: Sequence[Pair],
    dilations: Sequence[int],
    groups: int,
    precision=None,
    preferred_element_type=None,
):
    """Forward convolution (cross-correlation) in canonical layout with explicit padding.

    ``y[b, i, o] = sum_{t, c} x_pad[b, i * s + t * d, g(o) * C_in/g + c] * w[t, c, o]`` where
    ``g(o) = o // (C_out / groups)`` picks the group of output channel ``o``.
    """
    rank = x.ndim - 2
    if transpose_hazard(x.shape[1:-1], w.shape[:rank], strides, padding, dilations):
        # JAX differentiates this conv into the lhs_dilation conv that XLA would abort on.
        # Padding explicitly first gives the same values, and the transposed conv then has low
        # padding k_eff - 1 in every dim, which never matches the pattern.
        x = zero_pad(x, padding)
        padding = ((0, 0),) * rank
    return conv_general_dilated(
        x,
        w,
        strides,
        padding,
        (1,) * rank,
        dilations,
        canonical_dimension_numbers(rank),
        feature_group_count=groups,
        precision=precision,
        preferred_element_type=preferred_element_type,
    )


def tap_views(x, kernel_sizes: Sequence[int], strides, dilations, out_sizes):
    """``(t, x[:, t * d :: s][:, :m])`` for every tap ``t`` of the kernel, in row-major order.

    ``x`` is padded ``(N, *spatial, C)`` data; each view is the strided slice tap ``t`` reads,
    ``out_sizes`` rows per dim (the forward conv's output, or the filter gradient's ``dy``).
    """
    for t in itertools.product(*(range(k) for k in kernel_sizes)):
        start = (0, *(a * d for a, d in zip(t, dilations)), 0)
        limit = (
            x.shape[0],
            *(a + (q - 1) * s + 1 for a, q, s in zip(start[1:], out_sizes, strides)),
            x.shape[-1],
        )
        yield t, lax.slice(x, start, limit, (1, *strides, 1))


def conv_patches(
    x,
    w,
    padding: Sequence[Pair],
    groups: int = 1,
    precision=None,
    preferred_element_type=None,
    strides: Sequence[int] | None = None,
    dilations: Sequence[int] | None = None,
):
    """Correlation as one matrix product over gathered patches (im2col).

    ``x`` is ``(N, *spatial, C)``, ``w`` is ``(*u, C / groups, O)``. The ``prod(u)`` shifted views
    ``x_pad[b, i * s + t * d, c]`` of the padded input (strided slices) are stacked next to the
    channels, so the whole conv is a single ``dot_general`` contracting ``(tap, channel)`` with the
    groups as a batch dimension. XLA runs that at matmul speed on every backend, where its own
    lowering of some convs (3-D on CPU, ``lhs_dilation``) is a slow loop; and JAX differentiates
    it into matmuls too. ``strides`` and ``dilations`` default to 1.
    """
    rank = x.ndim - 2
    us = w.shape[:rank]
    ss = (1,) * rank if strides is None else tuple(strides)
    ds = (1,) * rank if dilations is None else tuple(dilations)
    x = zero_pad(x, padding)
    out_sizes = [
        _shapes.conv_output_size(n, u, s, d, 0, 0) for n, u, s, d in zip(x.shape[1:-1], us, ss, ds)
    ]
    taps = [view for _, view in tap_views(x, us, ss, ds, out_sizes)]
    cin_g, cout = w.shape[-2], w.shape[-1]
    patches = jnp.stack(taps, axis=-2) if len(taps) > 1 else taps[0][..., None, :]
    patches = patches.reshape(*patches.shape[:-1], groups, cin_g)
    kernel = w.reshape(len(taps), cin_g, groups, cout // groups)
    # (N, *Q, T, g, c) x (T, c, g, o) -> (g, N, *Q, o)
    batch_axis = patches.ndim - 2
    out = lax.dot_general(
        patches,
        kernel,
        (((batch_axis - 1, batch_axis + 1), (0, 1)), ((batch_axis,), (2,))),
        precision=precision,
        preferred_element_type=preferred_element_type,
    )
    out = jnp.moveaxis(out, 0, -2)
    return out.reshape(*out.shape[:-2], cout)
