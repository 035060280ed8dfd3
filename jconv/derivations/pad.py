"""``method="pad"``: the classic manual derivation with the public helpers ``pad_to_full`` and
``rot180``, then a stride-1 VALID conv."""

from __future__ import annotations

from jax import lax

from jconv import _core, _manual, _shapes
from jconv.derivations import _common


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
    full = _manual.pad_to_full(dy, k_sizes, strides, dilations)
    crop = [
        (-lo, n + lo + _shapes.effective_kernel_size(k, d) - 1 - size)
        for size, n, k, d, (lo, _) in zip(full.shape[1:-1], out_sizes, k_sizes, dilations, padding)
    ]
    z = lax.optimization_barrier(_core.zero_pad(full, crop))
    return _core.conv(
        z,
        _common.transposed_filter(w, groups),
        (1,) * rank,
        ((0, 0),) * rank,
        dilations,
        groups,
        precision=precision,
        preferred_element_type=preferred_element_type,
    )
