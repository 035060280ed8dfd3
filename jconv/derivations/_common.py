"""Pieces the derivations share: the transposed filter and padding, the dilated kernel, and the
tangent of a bilinear op for their ``custom_jvp`` rules."""

from __future__ import annotations

import jax.numpy as jnp
from jax.custom_derivatives import SymbolicZero

from jconv import _core, _manual, _shapes


def transposed_filter(w, groups: int):
    """Filter of the stride-1 conv that computes the transposed conv: flipped, channels swapped.

    ``w`` is ``(*k, C_in / g, C_out)``; the result is ``(*k, C_out / g, C_in)`` with
    ``wt[t, j, gi * C_in/g + i] = w[k - 1 - t, i, gi * C_out/g + j]``: inside each group the
    forward conv's output channels become input channels.
    """
    rank = w.ndim - 2
    *k, cin_g, cout = w.shape
    w = _manual.rot180(w)
    w = w.reshape(*k, cin_g, groups, cout // groups)
    w = jnp.transpose(w, (*range(rank), rank + 2, rank + 1, rank))
    return w.reshape(*k, cout // groups, groups * cin_g)


def transposed_pads(dy, w, out_sizes, strides, padding, dilations):
    rank = dy.ndim - 2
    return tuple(
        _shapes.transpose_padding(n, m, k, s, d, lo)
        for n, m, k, s, d, (lo, _) in zip(
            out_sizes, dy.shape[1:-1], w.shape[:rank], strides, dilations, padding
        )
    )


def tight_pads(out_sizes, in_sizes, kernel_sizes, strides, dilations, padding):
    """The forward conv's padding with the high side cut to the rows it reads
    (:func:`jconv._shapes.tight_padding`), per dim: its output is exactly ``in_sizes`` long."""
    return tuple(
        _shapes.tight_padding(n, m, k, s, d, lo)
        for n, m, k, s, d, (lo, _) in zip(
            out_sizes, in_sizes, kernel_sizes, strides, dilations, padding
        )
    )


def accumulation_dtype(out_dtype):
    """float32 for float16/bfloat16 results (sum in float32 and round once, as XLA:CPU's convs
    do), else ``None`` (the result's own dtype)."""
    narrow = jnp.issubdtype(out_dtype, jnp.floating) and jnp.finfo(out_dtype).bits < 32
    return jnp.float32 if narrow else None


def tangent_pairs(primals, tangents):
    """The terms ``(da, b)``, ``(a, db)`` of a bilinear op's tangent, less symbolic zeros."""
    (a, b), (da, db) = primals, tangents
    return [
        (x, y)
        for x, y in ((da, b), (a, db))
        if not (isinstance(x, SymbolicZero) or isinstance(y, SymbolicZero))
    ]


def bilinear_tangent(f, primals, tangents, out):
    """``f(da, b) + f(a, db)`` for a bilinear ``f``, skipping symbolic-zero tangents."""
    return pairs_tangent(f, tangent_pairs(primals, tangents), out)


def pairs_tangent(f, pairs, out):
    """``sum f(x, y)`` over the ``pairs`` of :func:`tangent_pairs`; zeros like ``out`` if none."""
    tangent = None
    for x, y in pairs:
        term = f(x, y)
        tangent = term if tangent is None else tangent + term
    return jnp.zeros(out.shape, out.dtype) if tangent is None else tangent


def dilated_kernel(w, dilations):
    """``w`` with its dilation written in as zeros: ``(k - 1) * d + 1`` taps per dim."""
    if all(d == 1 for d in dilations):
        return w
    return _core.zero_pad(w, [(0, 0)] * len(dilations), lead=0, interior=[d - 1 for d in dilations])
