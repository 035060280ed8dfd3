"""Each derivation of the transposed convolution and of the filter gradient, one function each.

All work in the canonical layout (``(N, *spatial, C)`` data, ``(*k, C_in / g, C_out)`` filters)
on validated, explicit settings:

* ``out_sizes``/``kernel_sizes``: the forward input sizes ``n`` / kernel sizes ``k``,
* ``strides``, ``dilations``: per spatial dim,
* ``padding``: the forward conv's explicit ``(lo, hi)`` per dim (already resolved for ``n``),
* ``groups``: the forward conv's feature groups.

The transposed conv of ``dy`` is the input gradient of the forward conv ``x -> conv(x, w)``; the
filter gradient is the gradient of ``w -> conv(x, w)``.
"""

from __future__ import annotations

import functools
import itertools
import math

import jax
import jax.numpy as jnp
from jax import lax
from jax.custom_derivatives import SymbolicZero

from jconv import _core, _helpers, _onednn, _shapes


def transposed_filter(w, groups: int):
    """Filter of the stride-1 conv that computes the transposed conv: flipped, channels swapped.

    ``w`` is ``(*k, C_in / g, C_out)``; the result is ``(*k, C_out / g, C_in)`` with
    ``wt[t, j, gi * C_in/g + i] = w[k - 1 - t, i, gi * C_out/g + j]``: inside each group the
    forward conv's output channels become input channels.
    """
    rank = w.ndim - 2
    *k, cin_g, cout = w.shape
    w = _helpers.rot180(w)
    w = w.reshape(*k, cin_g, groups, cout // groups)
    w = jnp.transpose(w, (*range(rank), rank + 2, rank + 1, rank))
    return w.reshape(*k, cout // groups, groups * cin_g)


def _transposed_pads(dy, w, out_sizes, strides, padding, dilations):
    rank = dy.ndim - 2
    return tuple(
        _shapes.transpose_padding(n, m, k, s, d, lo)
        for n, m, k, s, d, (lo, _) in zip(
            out_sizes, dy.shape[1:-1], w.shape[:rank], strides, dilations, padding
        )
    )


def transpose_dilate(
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
    """``lhs_dilation``: stride-1 conv of ``dy`` with ``s - 1`` zeros between rows, flipped kernel.

    Padding per dim from :func:`jconv._shapes.transpose_padding`.
    """
    rank = dy.ndim - 2
    return _core.conv_general_dilated(
        dy,
        transposed_filter(w, groups),
        (1,) * rank,
        _transposed_pads(dy, w, out_sizes, strides, padding, dilations),
        strides,
        dilations,
        _core.canonical_dimension_numbers(rank),
        feature_group_count=groups,
        precision=precision,
        preferred_element_type=preferred_element_type,
    )


def transpose_pad(
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
    """The classic manual derivation: ``pad_to_full``, crop to the wanted rows, ``rot180`` conv.

    ``pad_to_full`` inserts the zeros and pads ``k_eff - 1`` each side; rows ``lo .. lo + n - 1``
    of the full result are the forward input rows, so the full input is cropped by ``lo`` before and
    ended at ``n + lo + k_eff - 1`` rows (negative pads crop, positive add the rows the forward
    conv never read). An optimisation barrier keeps XLA from folding the pad back into an
    ``lhs_dilation`` conv.
    """
    rank = dy.ndim - 2
    k_sizes = w.shape[:rank]
    full = _helpers.pad_to_full(dy, k_sizes, strides, dilations)
    config = [(0, 0, 0)]
    for size, n, k, d, (lo, _) in zip(full.shape[1:-1], out_sizes, k_sizes, dilations, padding):
        k_eff = _shapes.effective_kernel_size(k, d)
        config.append((-lo, n + lo + k_eff - 1 - size, 0))
    config.append((0, 0, 0))
    z = lax.optimization_barrier(lax.pad(full, jnp.zeros((), full.dtype), config))
    return _core.conv(
        z,
        transposed_filter(w, groups),
        (1,) * rank,
        ((0, 0),) * rank,
        dilations,
        groups,
        precision=precision,
        preferred_element_type=preferred_element_type,
    )


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
    padding = tuple(
        _shapes.tight_padding(n, m, k, s, d, lo)
        for n, m, k, s, d, (lo, _) in zip(
            out_sizes, dy.shape[1:-1], w.shape[:rank], strides, dilations, padding
        )
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


def filter_grad_vjp(
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
    """``jax.vjp`` of ``w -> conv(x, w)``, evaluated at a zero filter of the wanted shape."""
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


def filter_grad_conv(
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
    pads = tuple(
        _shapes.tight_padding(n, m, k, s, d, lo)
        for n, m, k, s, d, (lo, _) in zip(
            x.shape[1:-1], dy.shape[1:-1], kernel_sizes, strides, dilations, padding
        )
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


# The auto policy's bound on program size: at most this many tap slices in the derivation it
# picks (``_shapes.phase_taps`` for "phase", ``prod(k)`` for "col2im" and "patches"). A tap costs
# about 10 ms of compile time on 2 cores in a training step, so 128 taps stay near a second.
AUTO_MAX_TAPS = 128


def auto_transpose_method(
    backend: str, kernel_sizes, strides, in_sizes, batch: int, dilations=None
) -> str:
    """The derivation ``method="auto"`` uses for a transposed conv / input gradient.

    ``in_sizes`` are the transposed conv's input (the output gradient's) spatial sizes ``m``,
    ``batch`` its batch size.

    CPU, by speed (measured: ``benchmarks/results-cpu-2core.md``), for dilation 1:

    * 1-D/2-D convs whose kernel is twice the stride (``k = 2 s``, ``s > 1``) with enough
      F(2, 2) tiles (``batch * prod(ceil((m + 1) / 2))``: 512 in 1-D, 2048 in 2-D):
      ``"winograd"``;
    * 3-D convs with ``k = U s``, ``U >= 2``, whose phase grid ``Q = m + U - 1`` wastes little
      (``prod(Q / m) <= 1.3``): ``"phase"``;
    * other upsampling convs (some ``s > 1``) with ``prod(k) <= 8 prod(s)``: ``"col2im"``;
    * else ``"phase"``.

    XLA:CPU's ``lhs_dilation`` conv multiplies every inserted zero (3-D: a generic loop), so
    ``"dilate"`` is the last resort there. Program size is bounded: ``"phase"`` only with at most
    :data:`AUTO_MAX_TAPS` tap slices (:func:`jconv._shapes.phase_taps`, which grows with the
    dilation: the dilation is written into the kernel), else ``"col2im"`` when ``prod(k)`` is
    within the bound, else ``"dilate"``; ``"winograd"`` and the 3-D ``"phase"`` rule assume
    dilation 1. GPU/TPU: ``"dilate"``, XLA's native lowering (cuDNN's and the TPU's).

    >>> auto_transpose_method("cpu", (4, 4), (2, 2), (16, 16), 8)
    'col2im'
    >>> auto_transpose_method("cpu", (3, 3), (1, 1), (16, 16), 8)
    'phase'
    >>> [auto_transpose_method("cpu", (4, 4, 4), (2, 2, 2), (m,) * 3, 2) for m in (8, 12)]
    ['col2im', 'phase']
    >>> [auto_transpose_method("cpu", (16,), (8,), (256,), n) for n in (2, 8)]
    ['col2im', 'winograd']
    >>> [auto_transpose_method("cpu", (4, 4), (2, 2), (m, m), 4) for m in (16, 64)]
    ['col2im', 'winograd']
    >>> # PyTorch's conv_transpose3d sample: "phase" would slice 4641 taps
    >>> auto_transpose_method("cpu", (4, 5, 6), (3, 2, 1), (4, 4, 4), 2, (4, 4, 4))
    'col2im'
    >>> auto_transpose_method("cpu", (7, 7, 7), (1, 1, 1), (4, 4, 4), 2)   # 343 taps either way
    'dilate'
    """
    rank = len(kernel_sizes)
    dilations = (1,) * rank if dilations is None else tuple(dilations)
    if backend != "cpu":
        return "dilate"
    undilated = all(d == 1 for d in dilations)
    if undilated and rank <= 2 and _shapes.kernel_twice_stride(kernel_sizes, strides):
        tiles = batch * math.prod(-(-(m + 1) // 2) for m in in_sizes)
        if tiles >= (512 if rank == 1 else 2048):
            return "winograd"
    phase_fits = _shapes.phase_taps(kernel_sizes, strides, dilations) <= AUTO_MAX_TAPS
    col2im_fits = math.prod(kernel_sizes) <= AUTO_MAX_TAPS
    if (
        undilated
        and phase_fits
        and rank >= 3
        and all(k % s == 0 and k > s for k, s in zip(kernel_sizes, strides))
    ):
        waste = math.prod((m + k // s - 1) / m for m, k, s in zip(in_sizes, kernel_sizes, strides))
        if waste <= 1.3:
            return "phase"
    upsampling = any(s > 1 for s in strides)
    if upsampling and math.prod(kernel_sizes) <= 8 * math.prod(strides) and col2im_fits:
        return "col2im"
    if phase_fits:
        return "phase"
    return "col2im" if col2im_fits else "dilate"


def auto_filter_grad_method(backend: str, kernel_sizes) -> str:
    """The derivation ``method="auto"`` uses for a filter gradient.

    CPU: ``"patches"`` (one matmul over gathered taps): XLA's CPU conv for a filter gradient has
    an image-sized window and runs far below matmul speed. Its program slices ``prod(k)`` taps,
    so beyond :data:`AUTO_MAX_TAPS` taps, and on GPU/TPU: ``"conv"``.

    >>> auto_filter_grad_method("cpu", (3, 3)), auto_filter_grad_method("cpu", (7, 7, 7))
    ('patches', 'conv')
    """
    if backend == "cpu" and math.prod(kernel_sizes) <= AUTO_MAX_TAPS:
        return "patches"
    return "conv"


@functools.partial(jax.custom_jvp, nondiff_argnums=(2, 3, 4, 5))
def _phase_conv(dy, w, pads, groups, precision, preferred_element_type):
    """The stride-1 correlation inside :func:`transpose_phase`.

    Values: on CPU for 2-D and 3-D float32 (:func:`jconv._onednn.usable`), oneDNN's direct
    kernel (:mod:`jconv._onednn`; against XLA's own 2-D conv 1.0-2.4x on five phase and stride-1
    shapes, against the patches form in 3-D 1.3-1.7x); otherwise XLA's own conv for 1-D/2-D and one
    matmul over gathered patches (:func:`jconv._core.conv_patches`) for 3-D, where XLA's CPU conv
    is a generic loop.
    Derivatives: always the patches form (a ``custom_jvp`` whose tangent is linear, so forward
    mode, reverse mode and higher orders all work): JAX's transpose of XLA's conv w.r.t. the
    kernel is a conv with an image-sized window that XLA's CPU backend runs 10-100x slower.
    """
    if dy.ndim >= 4 and _onednn.usable(dy, w, pads, groups, preferred_element_type):
        return _onednn.conv(dy, w, pads)
    return _phase_conv_xla(dy, w, pads, groups, precision, preferred_element_type)


def _phase_conv_xla(dy, w, pads, groups, precision, preferred_element_type):
    """:func:`_phase_conv` without oneDNN. Its jvp's primal: in a derivative the patches form
    shares its gathered patches with the tangent (vol3d-16 step 14.4 ms, 16.2 with the primal
    from oneDNN)."""
    rank = dy.ndim - 2
    if rank >= 3:
        return _core.conv_patches(
            dy, w, pads, groups, precision=precision, preferred_element_type=preferred_element_type
        )
    return _core.conv(
        dy,
        w,
        (1,) * rank,
        pads,
        (1,) * rank,
        groups,
        precision=precision,
        preferred_element_type=preferred_element_type,
    )


def _tangent_pairs(primals, tangents):
    """The terms ``(da, b)``, ``(a, db)`` of a bilinear op's tangent, less symbolic zeros."""
    (a, b), (da, db) = primals, tangents
    return [
        (x, y)
        for x, y in ((da, b), (a, db))
        if not (isinstance(x, SymbolicZero) or isinstance(y, SymbolicZero))
    ]


def _bilinear_tangent(f, primals, tangents, out):
    """``f(da, b) + f(a, db)`` for a bilinear ``f``, skipping symbolic-zero tangents."""
    tangent = None
    for x, y in _tangent_pairs(primals, tangents):
        term = f(x, y)
        tangent = term if tangent is None else tangent + term
    return jnp.zeros(out.shape, out.dtype) if tangent is None else tangent


def _phase_conv_jvp(pads, groups, precision, preferred_element_type, primals, tangents):
    out = _phase_conv_xla(*primals, pads, groups, precision, preferred_element_type)

    def patches(a, b):
        return _core.conv_patches(
            a, b, pads, groups, precision=precision, preferred_element_type=preferred_element_type
        )

    return out, _bilinear_tangent(patches, primals, tangents, out)


_phase_conv.defjvp(_phase_conv_jvp, symbolic_zeros=True)


def _dilated_kernel(w, dilations):
    """``w`` with its dilation written in as zeros: ``(k - 1) * d + 1`` taps per dim."""
    if all(d == 1 for d in dilations):
        return w
    config = [*((0, 0, d - 1) for d in dilations), (0, 0, 0), (0, 0, 0)]
    return lax.pad(w, jnp.zeros((), w.dtype), config)


def transpose_phase(
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
    """Sub-pixel (phase) decomposition: no multiply ever touches an inserted zero.

    With the kernel dilation written into the kernel (``k_eff`` taps) and padded to ``U * s``
    taps, ``U = ceil(k_eff / s)``, output row ``j = q * s + r`` of the full transposed conv only
    meets taps ``t = u * s + r``: ``out[q * s + r] = sum_u dy[q - u] * w[u * s + r]``. So all
    ``s`` phases are one stride-1 correlation of ``dy`` with a ``U``-tap kernel whose output
    channels are ``(phase, C_out)`` (:func:`jconv._core.conv_patches`), followed by a
    depth-to-space reshape and a crop to rows ``lo .. lo + n - 1``. Per dim only the phase rows
    ``q = lo // s .. (lo + n - 1) // s`` are computed. Where ``k_eff`` is not a multiple of
    ``s`` (k = 3, s = 2), phase ``r`` has only ``ceil((k_eff - r) / s)`` taps: those phases are
    separate, smaller matmuls, so the multiplies are exactly the kernel's.
    """
    rank = dy.ndim - 2
    w = _dilated_kernel(w, dilations)
    *ks, cout_g, cin = w.shape
    us = [-(-k // s) for k, s in zip(ks, strides)]
    config = [*((0, u * s - k, 0) for k, u, s in zip(ks, us, strides)), (0, 0, 0), (0, 0, 0)]
    w = lax.pad(w, jnp.zeros((), w.dtype), config)
    # (*[U, s], Cog, Cin): tap t = u * s + r; the correlation needs u flipped
    w = w.reshape(*itertools.chain.from_iterable(zip(us, strides)), cout_g, cin)
    w = lax.rev(w, tuple(range(0, 2 * rank, 2)))
    q_ranges, conv_pads = [], []
    for n, m, u, st, (lo, _) in zip(out_sizes, dy.shape[1:-1], us, strides, padding):
        q_min, q_max = lo // st, (lo + n - 1) // st
        q_ranges.append((q_min, q_max - q_min + 1))
        pad_lo = u - 1 - q_min
        conv_pads.append((pad_lo, (q_max - q_min + 1) - m - pad_lo + u - 1))
    # Dims whose k_eff is not a multiple of s: there phase r has only ceil((k_eff - r) / s) of the
    # U taps, so each of its phases gets its own (smaller) matmul rather than multiplying zeros.
    split = [i for i in range(rank) if ks[i] % strides[i]]
    outputs = {}
    for combo in itertools.product(*(range(strides[i]) for i in split)):
        index, pads, taps = [], list(conv_pads), True
        for i in range(rank):
            if i in split:
                r = combo[split.index(i)]
                u_r = -(-(ks[i] - r) // strides[i])
                taps &= u_r > 0
                index += [slice(us[i] - u_r, us[i]), slice(r, r + 1)]
                pads[i] = (conv_pads[i][0] - (us[i] - u_r), conv_pads[i][1])
            else:
                index += [slice(None), slice(None)]
        sub = w[tuple(index)]
        sub_strides = [1 if i in split else strides[i] for i in range(rank)]
        shape = (dy.shape[0], *(q for _, q in q_ranges), groups, *sub_strides, cout_g)
        if not taps:
            dtype = preferred_element_type or dy.dtype
            outputs[combo] = jnp.zeros(shape, dtype)
            continue
        # (*[u, s'], Cog, Cin) -> (*u, Cin_g, g, *s', Cog): out channel (group, phase, channel)
        sub = sub.reshape(*sub.shape[:-1], groups, cin // groups)
        perm = (
            *range(0, 2 * rank, 2),
            2 * rank + 2,
            2 * rank + 1,
            *range(1, 2 * rank, 2),
            2 * rank,
        )
        sub = jnp.transpose(sub, perm)
        sub = sub.reshape(*sub.shape[:rank], cin // groups, -1)
        y = _phase_conv(dy, sub, pads, groups, precision, preferred_element_type)
        outputs[combo] = y.reshape(shape)

    def assemble(prefix):
        if len(prefix) == len(split):
            return outputs[prefix]
        axis = 2 + rank + split[len(prefix)]
        parts = [assemble((*prefix, r)) for r in range(strides[split[len(prefix)]])]
        return jnp.concatenate(parts, axis=axis)

    y = assemble(())
    batch = y.shape[0]
    qs = [q for _, q in q_ranges]
    # (N, *Q, g, *s, Cog) -> (N, Q1, s1, Q2, s2, ..., g, Cog)
    perm = (
        0,
        *itertools.chain.from_iterable((1 + i, 2 + rank + i) for i in range(rank)),
        1 + rank,
        2 + 2 * rank,
    )
    y = jnp.transpose(y, perm).reshape(
        batch, *(q * s for q, s in zip(qs, strides)), groups * cout_g
    )
    starts = [lo - q_min * s for (lo, _), (q_min, _), s in zip(padding, q_ranges, strides)]
    return lax.slice(
        y, (0, *starts, 0), (batch, *(a + n for a, n in zip(starts, out_sizes)), y.shape[-1])
    )


def transpose_winograd(
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
    """The phase decomposition with Winograd's minimal filtering F(2, 2) along every dim.

    As in :func:`transpose_phase`, output row ``j = q * s + r`` of the full transposed conv is a
    ``U``-tap correlation of ``dy`` with phase ``r`` of the kernel (``U = ceil(k_eff / s)``,
    a zero tap added if ``U`` is odd); with ``dy`` padded so that ``d[q + v]`` meets tap ``v``,
    each pair of taps ``(g0, g1)`` gives two rows from three inputs with three products
    instead of four (Lavin and Gray, 2016)::

        y[2p]     = d[2p] g0 + d[2p+1] g1   = M0 + M1
        y[2p + 1] = d[2p+1] g0 + d[2p+2] g1 = M1 + M2
        M0 = (d[2p] - d[2p+1]) g0,  M1 = d[2p+1] (g0 + g1),  M2 = (d[2p+2] - d[2p+1]) g1

    Every transform is a sum of +-1 multiples (exact on integers, no division). In ``R`` dims the
    transforms act per dim: ``3**R`` matmuls, each ``(N * tiles, C_out * pairs) x (.., s**R *
    C_in)``, in place of the ``(2 * 2)**R`` tap products per pair of each dim (2-D: 9 / 16,
    3-D: 27 / 64, 1-D: 3 / 4 of the multiplies, less the tiles' rounding up to even rows,
    :func:`jconv._shapes.winograd_tiles`). Float16/bfloat16 are transformed and summed in
    float32 and rounded once. Everything is pads, strided slices, adds and one batched
    ``dot_general``, so JAX differentiates it into the same form (the input gradient's and the
    kernel gradient's matmuls are the transposed ones over the same tiles). Where the tiles'
    products exceed :data:`WINOGRAD_CHUNK_BYTES` the batch runs in chunks (``lax.map``).
    """
    rank = dy.ndim - 2
    out_dtype = preferred_element_type or dy.dtype
    dtype = out_dtype
    if jnp.issubdtype(dtype, jnp.floating) and jnp.finfo(dtype).bits < 32:
        dtype = jnp.float32  # transforms and sums in float32, one rounding at the end
    dy, w = dy.astype(dtype), w.astype(dtype)
    *ks, cin_g, cout = w.shape
    plans = [
        _shapes.winograd_tiles(n, m, k, s, d, lo)
        for n, m, k, s, d, (lo, _) in zip(
            out_sizes, dy.shape[1:-1], ks, strides, dilations, padding
        )
    ]
    wt = _winograd_filter(w, [c for c, *_ in plans], strides, dilations, groups)
    tile_bytes = (
        3**rank
        * dy.shape[0]
        * math.prod(p for _, p, *_ in plans)
        * math.prod(strides)
        * cin_g
        * groups
        * jnp.dtype(dtype).itemsize
    )
    chunks = _shapes.col2im_chunks(tile_bytes, dy.shape[0], 1, WINOGRAD_CHUNK_BYTES)[0]

    def tiles(dy):
        return _winograd_tiles(dy, wt, plans, out_sizes, strides, groups, precision)

    if chunks == 1:
        y = tiles(dy)
    else:
        n = dy.shape[0]
        y = lax.map(tiles, dy.reshape(chunks, n // chunks, *dy.shape[1:]))
        y = y.reshape(n, *y.shape[2:])
    return y.astype(out_dtype)


WINOGRAD_CHUNK_BYTES = 8 * 2**20
"""Largest tile products :func:`transpose_winograd` makes at once (bytes); larger batches run in
chunks, as :data:`COL2IM_CHUNK_BYTES` (the same page-fault reason)."""


def _winograd_filter(w, pairs, strides, dilations, groups):
    """The kernel's F(2, 2) transform: ``(3**R, [g,] s**R * C_in / g, pairs * C_out / g)``.

    Tap ``t = u * s + r`` of each dim (dilation written into the kernel as zeros, padded with
    zero taps to ``2 * pairs * s``) is tap ``v = 2 * pairs - 1 - u`` of phase ``r``'s
    correlation; each pair ``(g0, g1) = (v, v + 1)`` becomes ``(g0, g0 + g1, g1)``.
    """
    rank = w.ndim - 2
    zero = jnp.zeros((), w.dtype)
    w = _dilated_kernel(w, dilations)
    *ks, cin_g, cout = w.shape
    config = [(0, 2 * c * s - k, 0) for k, c, s in zip(ks, pairs, strides)]
    w = lax.pad(w, zero, [*config, (0, 0, 0), (0, 0, 0)])
    w = w.reshape(
        *itertools.chain.from_iterable((2 * c, s) for c, s in zip(pairs, strides)), cin_g * cout
    )
    w = lax.rev(w, tuple(range(0, 2 * rank, 2)))  # u -> v
    w = w.reshape(
        *itertools.chain.from_iterable((c, 2, s) for c, s in zip(pairs, strides)), cin_g * cout
    )
    for i in range(rank):
        g0, g1 = (lax.slice_in_dim(w, j, j + 1, axis=3 * i + 1) for j in (0, 1))
        w = jnp.concatenate([g0, g0 + g1, g1], axis=3 * i + 1)
    og = cout // groups
    w = w.reshape(*w.shape[:-1], cin_g, groups, og)
    # (*[C, 3, s], cin_g, g, og) -> (*3, g, *s, cin_g, *C, og): og stays the minor dim
    perm = (
        *range(1, 3 * rank, 3),
        3 * rank + 1,
        *range(2, 3 * rank, 3),
        3 * rank,
        *range(0, 3 * rank, 3),
        3 * rank + 2,
    )
    w = jnp.transpose(w, perm)
    w = w.reshape(3**rank, groups, math.prod(strides) * cin_g, math.prod(pairs) * og)
    return w[:, 0] if groups == 1 else w


def _winograd_tiles(dy, wt, plans, out_sizes, strides, groups, precision):
    """One batch (chunk) of :func:`transpose_winograd`: input transform, matmuls, output."""
    rank = dy.ndim - 2
    batch, cout = dy.shape[0], dy.shape[-1]
    combos, phases = math.prod(c for c, *_ in plans), math.prod(strides)
    cin_g = wt.shape[-2] // phases
    zero = jnp.zeros((), dy.dtype)
    z = lax.pad(dy, zero, [(0, 0, 0), *((*pad, 0) for _, _, pad, _ in plans), (0, 0, 0)])
    for i, (c, p, _, _) in enumerate(plans):  # each dim: 2 T + 1 rows -> (3, T) tiles
        axis, t = 2 * i + 1, p + c - 1
        e0, e1, e2 = (lax.slice_in_dim(z, j, j + 2 * t - 1, 2, axis=axis) for j in (0, 1, 2))
        z = jnp.stack([e0 - e1, e1, e2 - e1])
    # (3_R, .., 3_1, N, *T, C_out) -> (3_1, .., 3_R, N, *T, C_out)
    z = jnp.transpose(z, (*reversed(range(rank)), *range(rank, z.ndim)))
    ps = [p for _, p, _, _ in plans]
    if any(c > 1 for c, *_ in plans):  # pair c of a dim reads the tiles c .. c + P - 1
        parts = []
        for combo in itertools.product(*(range(c) for c, *_ in plans)):
            part = z
            for i, (c, p) in enumerate(zip(combo, ps)):
                part = lax.slice_in_dim(part, c, c + p, axis=rank + 1 + i)
            parts.append(part)
        z = jnp.stack(parts, axis=-2)
    rows = batch * math.prod(ps)
    if groups == 1:
        z = z.reshape(3**rank, rows, combos * cout)
        y = lax.dot_general(z, wt, (((2,), (2,)), ((0,), (0,))), precision=precision)
    else:
        og = cout // groups
        z = z.reshape(3**rank, rows, combos, groups, og)
        wt = wt.reshape(3**rank, groups, phases * cin_g, combos, og)
        dims = (((2, 4), (3, 4)), ((0, 3), (0, 1)))
        y = lax.dot_general(z, wt, dims, precision=precision)  # (3**R, g, rows, s**R * cin_g)
        y = y.reshape(*y.shape[:3], phases, cin_g)
        y = jnp.transpose(y, (0, 2, 3, 1, 4))  # (3**R, rows, s**R, g, cin_g)
    # output transform per dim: (M0 + M1, M1 + M2), then (N, P1, 2, s1, .., C_in)
    y = y.reshape(*(3,) * rank, batch, *ps, *strides, groups * cin_g)
    for i in range(rank):
        y = lax.slice_in_dim(y, 0, 2, axis=i) + lax.slice_in_dim(y, 1, 3, axis=i)
    perm = [rank]
    for i in range(rank):
        perm += [rank + 1 + i, i, 2 * rank + 1 + i]
    y = jnp.transpose(y, (*perm, 3 * rank + 1))
    y = y.reshape(batch, *(2 * p * s for p, s in zip(ps, strides)), groups * cin_g)
    starts = [start for *_, start in plans]
    ends = [a + n for a, n in zip(starts, out_sizes)]
    return lax.slice(y, (0, *starts, 0), (batch, *ends, y.shape[-1]))


def transpose_col2im(
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
    """GEMM + col2im: one matmul makes every tap's contribution, shifted sums place them.

    ``z[b, i, t, c] = sum_o dy[b, i, o] * w[t, c, o]`` is a single ``dot_general`` (the groups
    as its batch dimension) with exactly the kernel's multiplies. Row ``i`` of tap ``t`` belongs
    at row ``j = i * s + t * d`` of the full transposed conv (the scatter that Caffe and PyTorch
    call col2im); writing ``j = q * s + r``, phase ``r`` is the sum of the taps with
    ``t * d = r (mod s)``, each shifted by ``(t * d) // s`` rows
    (:func:`jconv._shapes.col2im_phases`), and the phases interleave by a reshape. The result is
    cropped (or zero-extended) to rows ``lo .. lo + n - 1``.

    The values, with dilation 1, come from the phase-major arrangement: the taps are reordered
    so that those sharing a shift are adjacent columns (:func:`jconv._shapes.col2im_phase_groups`),
    each group is added onto the ``(Q, s)`` phase grid as one shifted block, and one transpose
    interleaves the phases (fewer, larger copies than tap by tap: the benchmark's vol3d forward
    1.5 ms instead of 2.0 ms).

    The derivatives go through a ``custom_jvp`` whose tangent is the tap-by-tap form: everything
    after its matmul is slices, pads, adds and reshapes, whose transposes are slices, so JAX
    differentiates it into the im2col form (the input gradient is the forward conv as one
    matmul over gathered taps, the kernel gradient the matching matmul against ``dy``; the
    columns are split with ``lax.split``, whose transpose is one concatenate). Both tangent
    terms share one column matrix, so a gradient gathers the taps once. The column matrix is
    ``prod(k) / prod(s)`` times the output's size; where it would exceed
    :data:`COL2IM_CHUNK_BYTES`, the values and the tangent run in chunks of the batch one after
    the other (``lax.map``, :func:`jconv._shapes.col2im_chunks`), so the temporaries of a
    forward pass and of a training step stay bounded. Where single examples are too large, each
    is split into windows of output rows along the first spatial dim, each computed from its
    own rows of ``dy`` plus a halo (:func:`jconv._shapes.col2im_row_chunks`; the few-channel
    unet2d-hr workload, ``4 x (128 x 128 x 32) -> (256 x 256 x 16)``: forward 10.7 -> 8.1 ms,
    step 52 -> 44 ms against slicing the output channels, which is the last resort). In 1-D,
    for an undilated kernel that is a multiple of the stride and a column matrix of at least
    :data:`COL2IM_1D_PHASE_BYTES`, the values (not the derivatives) are
    :func:`transpose_phase`'s, which never builds the column matrix; in 2-D, for an undilated
    kernel twice the stride and inputs of at least :data:`COL2IM_2D_WINOGRAD_SIZE` per dim,
    :func:`transpose_winograd`'s; for one that is not a multiple of the stride and inputs of at
    least :data:`COL2IM_2D_ONEDNN_SIZE`, :func:`transpose_phase`'s where oneDNN runs them.
    """
    *ks, cin_g, cout = w.shape
    out_dtype = preferred_element_type or dy.dtype
    # float16/bfloat16: sum the taps in float32 and round once, as XLA's convs do
    narrow = jnp.issubdtype(out_dtype, jnp.floating) and jnp.finfo(out_dtype).bits < 32
    accumulate = jnp.float32 if narrow else preferred_element_type
    itemsize = jnp.dtype(accumulate or dy.dtype).itemsize
    column_bytes = dy.shape[0] * math.prod(dy.shape[1:-1]) * math.prod(ks) * cin_g * groups
    rows = (dy.shape[1], out_sizes[0], ks[0], strides[0], dilations[0], padding[0][0])
    chunks = _shapes.col2im_chunks(
        column_bytes * itemsize, dy.shape[0], cin_g, COL2IM_CHUNK_BYTES, rows
    )
    geometry = (out_sizes, strides, padding, dilations)
    settings = (geometry, groups, precision, accumulate, chunks)
    values = None  # the values' own derivation, where one is faster (see the docstring)
    undilated = all(d == 1 for d in dilations)
    if len(ks) == 1 and undilated and ks[0] % strides[0] == 0:
        if column_bytes * itemsize >= COL2IM_1D_PHASE_BYTES:
            values = "phase"
    elif len(ks) == 2 and undilated and _shapes.kernel_twice_stride(ks, strides):
        if min(dy.shape[1:-1]) >= COL2IM_2D_WINOGRAD_SIZE:
            values = "winograd"
    elif len(ks) == 2 and undilated and any(k % s for k, s in zip(ks, strides)):
        if min(dy.shape[1:-1]) >= COL2IM_2D_ONEDNN_SIZE:
            if _onednn.eligible(dy, w, groups, preferred_element_type):
                values = "phase"
    return _col2im_op(dy, w, settings, values).astype(out_dtype)


COL2IM_CHUNK_BYTES = 8 * 2**20
"""Largest column matrix :func:`transpose_col2im` builds at once (bytes), for its values and
its gradients. XLA:CPU allocates an executable's temporaries as one block per call, and a
training step through col2im holds the columns' cotangent twice (both gradient matmuls read it,
one of them transposed); with blocks above glibc's 32 MiB mmap threshold every call pays
fresh-page faults (the benchmark's unet2d step: 36 MiB and 38-45 ms unchunked, 31 MiB and
25-31 ms chunked; a 1-D k=16 s=8 forward with a 32 MiB column matrix, 8 x (256 x 128) ->
(2048 x 64) at batch 32: 33 ms in one piece, 13 ms in 4 chunks)."""

COL2IM_1D_PHASE_BYTES = 8 * 2**20
"""Smallest column matrix (bytes) at which a 1-D :func:`transpose_col2im` computes its *values*
(the forward, when not differentiated) by :func:`transpose_phase` instead. In 1-D the phase
form's output is already interleaved (a free reshape) and its matmul sums the ``k / s`` taps of
each phase inside its contraction, so it never writes and re-reads the ``k / s`` times larger
column matrix. Measured on the benchmark's 1-D workloads (k=16, s=8), CPU time per forward
against the col2im values: 8 x (1024 x 64) -> (8192 x 32), a 16 MiB column matrix, 1.3-1.5x
faster; 32 x (256 x 128), 32 MiB, 1.1x; 8 x (256 x 128), 8 MiB, 1.05x; 2 x (256 x 128),
2 MiB, 0.9x (so not below this size). Only where the kernel is a multiple of the stride and
undilated (the measured case: one matmul, no per-phase split). Derivatives keep the col2im
form: with the phase form's values inside a training step the 32 MiB case ran 0.8x."""

COL2IM_2D_WINOGRAD_SIZE = 16
"""Smallest input size (each spatial dim) at which a 2-D :func:`transpose_col2im` whose kernel is
twice the stride (``k = 2 s``, undilated) computes its *values* by :func:`transpose_winograd`
(9 products per 16 on tiles of two phase rows per dim; at input size ``m`` its ``ceil((m + 1)
/ 2)`` tiles per dim multiply ``(3 * tiles / (2 * m))**2`` of the direct products: 0.88 at
``m = 8``, 0.71 at 16). Forward against the col2im values, k=4 s=2 (A/B in one process): input
16 x 16 with 256, 384 and 512 channels 1.16-1.24x; 32 x 32 and 64 x 64 1.28-1.46x; 8 x 8 with
256 and 512 channels 0.87-0.95x (so not below 16). Derivatives keep the col2im form, whose
training step was faster at these sizes (gan2d 16 x 16 x 256: winograd's 0.83-0.85x)."""


COL2IM_2D_ONEDNN_SIZE = 96
"""Smallest input size (each spatial dim) at which a 2-D :func:`transpose_col2im` whose kernel is
not a multiple of the stride (k = 3, s = 2), undilated, float32, ungrouped, computes its *values*
by :func:`transpose_phase`, whose per-phase correlations then run as oneDNN's direct kernels
(:mod:`jconv._onednn`, where enabled). col2im's column matrix is ``prod(k) / prod(s)`` = 2.25x the
output there and its matmul contracts only ``C_in``. Forward against the col2im values, k=3 s=2
(A/B in one process): ``4 x (128 x 128 x 32) -> 16`` 1.88x, ``1 x (128 x 128 x 64)`` 1.53x,
``2 x (96 x 96 x 48)`` 1.26x; at 64 x 64 0.51-1.27x and at 32 x 32 0.99-1.59x (so not below 96).
Derivatives keep the col2im form."""


@functools.partial(jax.custom_jvp, nondiff_argnums=(2, 3))
def _col2im_op(dy, w, settings, values):
    """The values: phase-major with dilation 1 (fastest), else tap by tap; or, where ``values``
    names a method (:data:`COL2IM_1D_PHASE_BYTES`, :data:`COL2IM_2D_WINOGRAD_SIZE`,
    :data:`COL2IM_2D_ONEDNN_SIZE`), that method's."""
    if values is not None:
        (out_sizes, strides, padding, dilations), groups, precision, accumulate, _ = settings
        return {"phase": transpose_phase, "winograd": transpose_winograd}[values](
            dy,
            w,
            out_sizes=out_sizes,
            strides=strides,
            padding=padding,
            dilations=dilations,
            groups=groups,
            precision=precision,
            preferred_element_type=accumulate,
        )
    return _col2im_in_chunks(_col2im_values, [(dy, w)], settings)


def _col2im_values(pairs, settings):
    ((dy, w),) = pairs
    (out_sizes, strides, padding, dilations), groups, precision, accumulate, _ = settings
    if any(d != 1 for d in dilations):
        z = _col2im_columns(dy, w, groups, precision, accumulate)
        return _col2im_taps(z, w.shape[:-2], *settings[0])
    *ks, cin_g, cout = w.shape
    tap_groups, order = _shapes.col2im_phase_groups(ks, strides)
    w = w.reshape(-1, cin_g, cout)
    if order != tuple(range(len(order))):
        w = w[jnp.array(order)]
    z = _col2im_columns(dy, w, groups, precision, accumulate)
    return _col2im_phase_major(z, ks, tap_groups, out_sizes, strides, padding)


def _col2im_tap_sum(pairs, settings):
    """col2im of the summed columns of every ``(a, b)`` pair, tap by tap."""
    geometry, groups, precision, accumulate, _ = settings
    (a, b), *rest = pairs
    z = _col2im_columns(a, b, groups, precision, accumulate)
    for a, b in rest:
        z = z + _col2im_columns(a, b, groups, precision, accumulate)
    return _col2im_taps(z, b.shape[:-2], *geometry)


def _col2im_in_chunks(f, pairs, settings, stacked=False):
    """``f(pairs, settings)``, run in the batch, row or channel chunks of ``settings``.

    Row windows overlap (each has a halo of input rows). ``stacked``: they are cut and stacked
    before the loop, as a tangent needs (JAX transposes the stack into slices; the primal beside
    it shares the stacked windows); otherwise each iteration cuts its own window with
    ``lax.dynamic_slice``, which saves writing the stacked windows (and XLA's relayout copy of
    them) before the loop: the values of unet2d-hr, about 5% less time per forward.
    """
    groups, chunks = settings[1], settings[4]
    batch_chunks, row_chunks, channel_chunks = chunks
    a0, b0 = pairs[0]
    if row_chunks is not None:  # every example in windows of rows (jconv._shapes.col2im_row_chunks)
        count, rows, step, start, length, lo = row_chunks
        (n, *out_sizes), strides, ((_, hi), *padding), dilations = settings[0]
        geometry = ((rows, *out_sizes), strides, ((lo, hi), *padding), dilations)
        inner = (geometry, *settings[1:4], (1, None, 1))
        before = max(0, -start)
        after = max(0, start + (count - 1) * step + length - a0.shape[1])
        first = start + before
        config = [(0, 0, 0), (before, after, 0)] + [(0, 0, 0)] * (a0.ndim - 2)
        padded = [lax.pad(a, jnp.zeros((), a.dtype), config) for a, _ in pairs]

        def windows(a):
            parts = [
                lax.slice_in_dim(a, first + c * step, first + c * step + length, axis=1)
                for c in range(count)
            ]
            return jnp.stack(parts, axis=1).reshape(-1, 1, length, *a.shape[2:])

        def window(a, i):  # window i = (example, window) of the padded a
            start_indices = (i // count, first + (i % count) * step, *(0,) * (a.ndim - 2))
            return lax.dynamic_slice(a, start_indices, (1, length, *a.shape[2:]))

        if stacked:
            ys = lax.map(
                lambda xs: f([(a, b) for a, (_, b) in zip(xs, pairs)], inner),
                [windows(a) for a in padded],
            )
        else:
            ys = lax.map(
                lambda i: f([(window(a, i), b) for a, (_, b) in zip(padded, pairs)], inner),
                jnp.arange(a0.shape[0] * count),
            )
        # (N * count, 1, rows, ...)
        ys = ys.reshape(a0.shape[0], count * rows, *ys.shape[3:])
        return lax.slice_in_dim(ys, 0, n, axis=1)
    if batch_chunks > 1:  # lax.map over (chunk, N / chunk, ...): dx and dw share the chunk
        n, c = a0.shape[0], batch_chunks
        ys = lax.map(
            lambda xs: f([(a, b) for a, (_, b) in zip(xs, pairs)], settings),
            [a.reshape(c, n // c, *a.shape[1:]) for a, _ in pairs],
        )
        return ys.reshape(ys.shape[0] * ys.shape[1], *ys.shape[2:])
    if channel_chunks > 1:  # lax.map over chunks of every group's output channels
        rank = a0.ndim - 2
        *ks, cin_g, cout = b0.shape
        c = channel_chunks
        split = lambda b: jnp.moveaxis(b.reshape(*ks, c, cin_g // c, cout), rank, 0)  # noqa: E731
        ys = lax.map(
            lambda bs: f([(a, b) for (a, _), b in zip(pairs, bs)], settings),
            [split(b) for _, b in pairs],
        )  # (c, N, *n, g * cin_g / c)
        ys = ys.reshape(*ys.shape[:-1], groups, cin_g // c)
        ys = jnp.moveaxis(ys, 0, -2)  # (N, *n, g, c, cin_g / c)
        return ys.reshape(*ys.shape[:-3], -1)
    return f(pairs, settings)


def _col2im_op_jvp(settings, values, primals, tangents):
    del values  # within a derivative the values are col2im's too (see COL2IM_1D_PHASE_BYTES)
    # the primal tap by tap too: within a training step it is as fast and XLA:CPU keeps the
    # step's temporaries smaller; its row windows are the tangent's (stacked, computed once)
    out = _col2im_in_chunks(_col2im_tap_sum, [primals], settings, stacked=True)
    pairs = _tangent_pairs(primals, tangents)
    if not pairs:
        return out, jnp.zeros(out.shape, out.dtype)
    return out, _col2im_in_chunks(_col2im_tap_sum, pairs, settings, stacked=True)


_col2im_op.defjvp(_col2im_op_jvp, symbolic_zeros=True)


def _col2im_columns(dy, w, groups, precision, accumulate):
    """``z[b, i, t, c] = sum_o dy[b, i, o] w[t, c, o]`` as ``(N, *M, T * C_in)``, in ``accumulate``.

    ``w`` is ``(*k, C_in / g, C_out)`` or, with its taps reordered, ``(T, C_in / g, C_out)``.
    """
    rank = dy.ndim - 2
    cin_g, cout = w.shape[-2:]
    taps, cin, og = math.prod(w.shape[:-2]), cin_g * groups, cout // groups
    if groups == 1:  # dy as it is: inside lax.map a linearized dy is then the chunk itself
        # (which JAX's scan forwards instead of stacking a copy as a residual)
        w = w.reshape(taps * cin_g, cout)
        dims = (((rank + 1,), (1,)), ((), ()))
        return lax.dot_general(dy, w, dims, precision=precision, preferred_element_type=accumulate)
    # (N, *M, g, og) x (T, cin_g, g, og) -> (g, N, *M, T, cin_g)
    z = lax.dot_general(
        dy.reshape(*dy.shape[:-1], groups, og),
        w.reshape(taps, cin_g, groups, og),
        (((rank + 2,), (3,)), ((rank + 1,), (2,))),
        precision=precision,
        preferred_element_type=accumulate,
    )
    z = jnp.moveaxis(z, 0, -2)
    return z.reshape(*z.shape[: rank + 1], taps * cin)


def _col2im_taps(z, ks, out_sizes, strides, padding, dilations):
    """col2im of the columns ``z`` (taps in row-major order), tap by tap."""
    rank = z.ndim - 2
    taps = math.prod(ks)
    cin = z.shape[-1] // taps
    columns = dict(
        zip(itertools.product(*map(range, ks)), lax.split(z, (cin,) * taps, axis=rank + 1))
    )
    ms = z.shape[1:-1]
    plan = [_shapes.col2im_phases(*a) for a in zip(ms, ks, strides, dilations)]
    qs = [q for q, _ in plan]
    zero = jnp.zeros((), z.dtype)

    def phase(rs):
        total = None
        for combo in itertools.product(*(phases[r] for (_, phases), r in zip(plan, rs))):
            config = [(0, 0, 0)]
            config += [(sh, q - m - sh, 0) for (_, sh), q, m in zip(combo, qs, ms)]
            config.append((0, 0, 0))
            term = lax.pad(columns[tuple(t for t, _ in combo)], zero, config)
            total = term if total is None else total + term
        if total is None:  # no tap reaches this phase (s > k_eff)
            total = jnp.zeros((z.shape[0], *qs, cin), z.dtype)
        return total

    def interleave(rs):
        # (N, Q1, s1, .., Qi, Q_{i+1}, s_{i+1}, .., C): phases of dim i go right after Q_i
        i = len(rs)
        if i == rank:
            return phase(rs)
        return jnp.stack([interleave((*rs, r)) for r in range(strides[i])], axis=2 + i)

    y = interleave(()).reshape(z.shape[0], *(q * s for q, s in zip(qs, strides)), cin)
    return _col2im_crop(y, qs, out_sizes, strides, padding)


def _col2im_phase_major(z, ks, tap_groups, out_sizes, strides, padding):
    """col2im of columns in :func:`jconv._shapes.col2im_phase_groups` order (dilation 1).

    Group ``(sh, L)`` is a block ``(N, *m, *L, C)``: padded by ``sh`` rows (and to ``s``
    phases) it is added onto the phase grid ``(N, *Q, *s, C)``, which one transpose
    interleaves into ``(N, Q1 * s1, .., C)``.
    """
    rank = z.ndim - 2
    batch, *ms = z.shape[:-1]
    cin = z.shape[-1] // math.prod(ks)
    qs = [m + -(-k // s) - 1 for m, k, s in zip(ms, ks, strides)]
    sizes = [math.prod(lengths) * cin for _, lengths in tap_groups]
    if len(set(sizes)) == 1:  # equal blocks: split a new axis (XLA fuses this one better)
        blocks = lax.split(z.reshape(batch, *ms, len(sizes), sizes[0]), (1,) * len(sizes), rank + 1)
    else:
        blocks = lax.split(z, sizes, axis=rank + 1)
    zero = jnp.zeros((), z.dtype)
    total = None
    for (shifts, lengths), block in zip(tap_groups, blocks):
        config = [(0, 0, 0)]
        config += [(sh, q - m - sh, 0) for sh, q, m in zip(shifts, qs, ms)]
        config += [(0, s - n, 0) for n, s in zip(lengths, strides)]
        config.append((0, 0, 0))
        term = lax.pad(block.reshape(batch, *ms, *lengths, cin), zero, config)
        total = term if total is None else total + term
    # (N, *Q, *s, C) -> (N, Q1, s1, Q2, s2, .., C)
    perm = (0, *itertools.chain.from_iterable((1 + i, 1 + rank + i) for i in range(rank)))
    y = jnp.transpose(total, (*perm, 1 + 2 * rank))
    y = y.reshape(batch, *(q * s for q, s in zip(qs, strides)), cin)
    return _col2im_crop(y, qs, out_sizes, strides, padding)


def _col2im_crop(y, qs, out_sizes, strides, padding):
    """Rows ``lo .. lo + n - 1`` of the full transposed conv ``y`` (zero-extended past it)."""
    crop = [(-lo, lo + n - q * s, 0) for (lo, _), n, q, s in zip(padding, out_sizes, qs, strides)]
    return lax.pad(y, jnp.zeros((), y.dtype), [(0, 0, 0), *crop, (0, 0, 0)])


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
    pads = [
        _shapes.tight_padding(n, m, k, s, d, lo)
        for n, m, k, s, d, (lo, _) in zip(
            x.shape[1:-1], ms, kernel_sizes, strides, dilations, padding
        )
    ]
    config = [(0, 0, 0), *((lo, hi, 0) for lo, hi in pads), (0, 0, 0)]
    x = lax.pad(x, jnp.zeros((), x.dtype), config)
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


TRANSPOSE = {
    "dilate": transpose_dilate,
    "vjp": transpose_vjp,
    "pad": transpose_pad,
    "phase": transpose_phase,
    "col2im": transpose_col2im,
    "winograd": transpose_winograd,
}
FILTER_GRAD = {"vjp": filter_grad_vjp, "conv": filter_grad_conv, "patches": filter_grad_patches}
