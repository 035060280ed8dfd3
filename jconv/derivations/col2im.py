"""``method="col2im"``: GEMM + col2im, what Caffe's and PyTorch's CPU deconvolutions do, with
its derivatives as im2col matmuls; and the pairings ``"phase+col2im"``/``"winograd+col2im"``."""

from __future__ import annotations

import functools
import itertools
import math

import jax
import jax.numpy as jnp
from jax import lax

from jconv import _core, _shapes
from jconv.derivations import _common, phase, winograd


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
    values: str | None = None,
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
    interleaves the phases (fewer, larger copies than tap by tap).

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
    own rows of ``dy`` plus a halo (:func:`jconv._shapes.col2im_row_chunks`), before the last
    resort of slicing the output channels. Timings: docs/auto.md.

    ``values="phase"`` or ``"winograd"`` takes the values (outside a derivative) from that
    derivation and keeps col2im's derivatives: the methods ``"phase+col2im"`` and
    ``"winograd+col2im"``, which ``method="auto"`` pairs where each half is the faster one
    (:mod:`jconv.derivations.auto`).
    """
    *ks, cin_g, cout = w.shape
    out_dtype = preferred_element_type or dy.dtype
    # float16/bfloat16: sum the taps in float32 and round once, as XLA's convs do
    accumulate = _common.accumulation_dtype(out_dtype) or preferred_element_type
    itemsize = jnp.dtype(accumulate or dy.dtype).itemsize
    column_bytes = dy.shape[0] * math.prod(dy.shape[1:-1]) * math.prod(ks) * cin_g * groups
    rows = (dy.shape[1], out_sizes[0], ks[0], strides[0], dilations[0], padding[0][0])
    chunks = _shapes.col2im_chunks(
        column_bytes * itemsize, dy.shape[0], cin_g, COL2IM_CHUNK_BYTES, rows
    )
    geometry = (out_sizes, strides, padding, dilations)
    settings = (geometry, groups, precision, accumulate, chunks)
    return _col2im_op(dy, w, settings, values).astype(out_dtype)


COL2IM_CHUNK_BYTES = 8 * 2**20
"""Largest column matrix :func:`transpose_col2im` builds at once (bytes), for its values and
its gradients. XLA:CPU allocates an executable's temporaries as one block per call, and a
training step through col2im holds the columns' cotangent twice (both gradient matmuls read it,
one of them transposed); with blocks above glibc's 32 MiB mmap threshold every call pays
fresh-page faults, which chunks of this size avoid (timings: docs/auto.md)."""


@functools.partial(jax.custom_jvp, nondiff_argnums=(2, 3))
def _col2im_op(dy, w, settings, values):
    """The values: phase-major with dilation 1 (fastest), else tap by tap; or, where ``values``
    names a derivation (``"phase"``, ``"winograd"``), that derivation's."""
    if values is not None:
        (out_sizes, strides, padding, dilations), groups, precision, accumulate, _ = settings
        return {"phase": phase.transpose_phase, "winograd": winograd.transpose_winograd}[values](
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
        padded = [_core.zero_pad(a, [(before, after)]) for a, _ in pairs]

        def windows(a):
            parts = [
                lax.slice_in_dim(a, first + c * step, first + c * step + length, axis=1)
                for c in range(count)
            ]
            return jnp.stack(parts, axis=1).reshape(-1, length, *a.shape[2:])

        def window(a, i):  # window i = (example, window) of the padded a
            start_indices = (i // count, first + (i % count) * step, *(0,) * (a.ndim - 2))
            return lax.dynamic_slice(a, start_indices, (1, length, *a.shape[2:]))

        # no unit dims in the loop's inputs and outputs: XLA:CPU lays those out as it likes and
        # then copies whole stacks to relayout them (2 x 130 MiB in a gan2d-big step)
        if stacked:
            ys = lax.map(
                lambda xs: f([(a[None], b) for a, (_, b) in zip(xs, pairs)], inner)[0],
                [windows(a) for a in padded],
            )
        else:
            ys = lax.map(
                lambda i: f([(window(a, i), b) for a, (_, b) in zip(padded, pairs)], inner)[0],
                jnp.arange(a0.shape[0] * count),
            )
        # (N * count, rows, ...)
        ys = ys.reshape(a0.shape[0], count * rows, *ys.shape[2:])
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
    del values  # within a derivative the values are col2im's too
    # the primal tap by tap too: within a training step it is as fast and XLA:CPU keeps the
    # step's temporaries smaller; its row windows are the tangent's (stacked, computed once)
    out = _col2im_in_chunks(_col2im_tap_sum, [primals], settings, stacked=True)
    pairs = _common.tangent_pairs(primals, tangents)
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

    def phase(rs):
        total = None
        for combo in itertools.product(*(phases[r] for (_, phases), r in zip(plan, rs))):
            shifts = [(sh, q - m - sh) for (_, sh), q, m in zip(combo, qs, ms)]
            term = _core.zero_pad(columns[tuple(t for t, _ in combo)], shifts)
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
    total = None
    for (shifts, lengths), block in zip(tap_groups, blocks):
        pads = [(sh, q - m - sh) for sh, q, m in zip(shifts, qs, ms)]
        pads += [(0, s - n) for n, s in zip(lengths, strides)]
        term = _core.zero_pad(block.reshape(batch, *ms, *lengths, cin), pads)
        total = term if total is None else total + term
    assert total is not None  # every tap is in one group
    # (N, *Q, *s, C) -> (N, Q1, s1, Q2, s2, .., C)
    perm = (0, *itertools.chain.from_iterable((1 + i, 1 + rank + i) for i in range(rank)))
    y = jnp.transpose(total, (*perm, 1 + 2 * rank))
    y = y.reshape(batch, *(q * s for q, s in zip(qs, strides)), cin)
    return _col2im_crop(y, qs, out_sizes, strides, padding)


def _col2im_crop(y, qs, out_sizes, strides, padding):
    """Rows ``lo .. lo + n - 1`` of the full transposed conv ``y`` (zero-extended past it)."""
    crop = [(-lo, lo + n - q * s) for (lo, _), n, q, s in zip(padding, out_sizes, qs, strides)]
    return _core.zero_pad(y, crop)
