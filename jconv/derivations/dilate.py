"""``method="dilate"``: the transposed conv as XLA's ``lhs_dilation`` conv.

This is what ``tf.nn.conv2d_transpose`` and ``jax.lax.conv_transpose`` lower to, and XLA's
native (cuDNN's, the TPU's) form on GPU/TPU.
"""

from __future__ import annotations

from jconv import _core
from jconv.derivations import _common


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
        _common.transposed_filter(w, groups),
        (1,) * rank,
        _common.transposed_pads(dy, w, out_sizes, strides, padding, dilations),
        strides,
        dilations,
        _core.canonical_dimension_numbers(rank),
        feature_group_count=groups,
        precision=precision,
        preferred_element_type=preferred_element_type,
    )
