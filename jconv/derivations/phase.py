"""``method="phase"``: the sub-pixel (phase) decomposition of the transposed conv, in which no
multiply touches an inserted zero."""

from __future__ import annotations

import functools
import itertools
import math

import jax
import jax.numpy as jnp
from jax import lax

from jconv import _core, _onednn, _shapes
from jconv.derivations import _common


@functools.partial(jax.custom_jvp, nondiff_argnums=(2, 3, 4, 5))
def _phase_conv(dy, w, pads, groups, precision, preferred_element_type):
    """The stride-1 correlation inside :func:`transpose_phase`.

    Values: oneDNN's direct kernel where :func:`jconv._onednn.usable` (CPU, 2-D and 3-D, float32,
    any groups), because XLA:CPU has no fast kernel for it (3-D: a generic loop); otherwise XLA's
    own conv in 1-D/2-D and one matmul over gathered patches (:func:`jconv._core.conv_patches`) in
    3-D. The three compute the same sums, so this is one derivation on several kernels. Derivatives:
    always the patches form (a ``custom_jvp`` whose tangent is linear, so forward mode, reverse mode
    and higher orders all work), because JAX's transpose of XLA's conv w.r.t. the kernel is a conv
    with an image-sized window that XLA:CPU runs far below matmul speed.
    """
    if dy.ndim >= 4 and _onednn.usable(dy, w, pads, groups, preferred_element_type):
        return _onednn.conv(dy, w, pads, groups=groups)
    return _phase_conv_xla(dy, w, pads, groups, precision, preferred_element_type)


def _phase_conv_xla(dy, w, pads, groups, precision, preferred_element_type):
    """:func:`_phase_conv` without oneDNN; also its jvp's primal, because in a derivative the
    patches form shares its gathered patches with the tangent."""
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


def _phase_conv_jvp(pads, groups, precision, preferred_element_type, primals, tangents):
    dy, w = primals
    pairs = _common.tangent_pairs(primals, tangents)
    settings = (pads, groups, precision, preferred_element_type)
    rank = dy.ndim - 2
    taps = w.shape[:rank]
    sizes = [m + lo + hi - u + 1 for m, (lo, hi), u in zip(dy.shape[1:-1], pads, taps)]
    itemsize = jnp.dtype(preferred_element_type or dy.dtype).itemsize
    patch_bytes = dy.shape[0] * math.prod(sizes) * math.prod(taps) * dy.shape[-1] * itemsize
    chunks = _shapes.batch_chunks(patch_bytes, dy.shape[0], PHASE_CHUNK_BYTES)
    if chunks == 1:
        return _phase_conv_chunk(dy, pairs, w, settings)
    # every pair's first factor is batched (da or dy), its second is not (w or dw)
    n = dy.shape[0]
    size = n // chunks
    seconds = [b for _, b in pairs]

    def split(a):  # single examples without a unit batch dim (XLA:CPU would relayout them)
        return a if size == 1 else a.reshape(chunks, size, *a.shape[1:])

    def one(d, firsts):
        if size == 1:
            d, firsts = d[None], [a[None] for a in firsts]
        out, tangent = _phase_conv_chunk(d, list(zip(firsts, seconds)), w, settings)
        return (out[0], tangent[0]) if size == 1 else (out, tangent)

    # checkpointed: a reverse-mode step keeps only each chunk's inputs, not its gathered patches
    # (which would be stacked over the chunks as residuals, as large as the whole batch's)
    chunk = jax.checkpoint(one)
    out, tangent = lax.map(lambda xs: chunk(*xs), (split(dy), [split(a) for a, _ in pairs]))
    return out.reshape(n, *out.shape[-rank - 1 :]), tangent.reshape(n, *tangent.shape[-rank - 1 :])


def _phase_conv_chunk(dy, pairs, w, settings):
    """:func:`_phase_conv`'s primal and tangent (``pairs``: :func:`_common.tangent_pairs`) for
    one chunk of the batch."""
    pads, groups, precision, preferred_element_type = settings
    out = _phase_conv_xla(dy, w, pads, groups, precision, preferred_element_type)

    def patches(a, b):
        return _core.conv_patches(
            a, b, pads, groups, precision=precision, preferred_element_type=preferred_element_type
        )

    return out, _common.pairs_tangent(patches, pairs, out)


PHASE_CHUNK_BYTES = 64 * 2**20
"""Largest gathered patches :func:`_phase_conv`'s derivatives make at once (bytes); larger
batches run in chunks (``lax.map``, one example at a time if need be, each chunk under
``jax.checkpoint``). 3-D k = 4, s = 2 training steps (2 cores, ms, one piece / chunked):
vol3d-big (2 x 32³ x 64 -> 64³ x 32, 147 MB of patches) 465 / 473 with the step's temporaries
491 -> 352 MiB (peak resident +439 -> +299 MiB); at 8 MiB the smaller ones would chunk too and
lose time: 2 x 12³ x 64 (9 MB) 15.4 / 18.5, 2 x 16³ x 64 (20 MB) 58.8 / 63.6."""


_phase_conv.defjvp(_phase_conv_jvp, symbolic_zeros=True)


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
    w = _common.dilated_kernel(w, dilations)
    *ks, cout_g, cin = w.shape
    us = [-(-k // s) for k, s in zip(ks, strides)]
    w = _core.zero_pad(w, [(0, u * s - k) for k, u, s in zip(ks, us, strides)], lead=0)
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
