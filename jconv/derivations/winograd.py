"""``method="winograd"``: the phase decomposition with Winograd's minimal filtering F(2, 2)
along every spatial dim (Lavin and Gray, 2016)."""

from __future__ import annotations

import itertools
import math

import jax.numpy as jnp
from jax import lax

from jconv import _core, _shapes
from jconv.derivations import _common


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
    # transforms and sums of float16/bfloat16 in float32, one rounding at the end
    dtype = _common.accumulation_dtype(out_dtype) or out_dtype
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
    chunks = _shapes.batch_chunks(tile_bytes, dy.shape[0], WINOGRAD_CHUNK_BYTES)

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
chunks, as :data:`jconv.derivations.col2im.COL2IM_CHUNK_BYTES` (the same page-fault reason)."""


def _winograd_filter(w, pairs, strides, dilations, groups):
    """The kernel's F(2, 2) transform: ``(3**R, [g,] s**R * C_in / g, pairs * C_out / g)``.

    Tap ``t = u * s + r`` of each dim (dilation written into the kernel as zeros, padded with
    zero taps to ``2 * pairs * s``) is tap ``v = 2 * pairs - 1 - u`` of phase ``r``'s
    correlation; each pair ``(g0, g1) = (v, v + 1)`` becomes ``(g0, g0 + g1, g1)``.
    """
    rank = w.ndim - 2
    w = _common.dilated_kernel(w, dilations)
    *ks, cin_g, cout = w.shape
    config = [(0, 2 * c * s - k) for k, c, s in zip(ks, pairs, strides)]
    w = _core.zero_pad(w, config, lead=0)
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
    z = _core.zero_pad(dy, [pad for _, _, pad, _ in plans])
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
