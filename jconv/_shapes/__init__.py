"""Pure-integer shape and padding arithmetic for convolutions and their transposes.

Nothing here touches an array. Every size, padding and legal range that jconv uses is computed by
one function of this module, per spatial dimension, from Python ints:

* ``n``   input size of the forward convolution (the transposed conv's *output* size),
* ``m``   output size of the forward convolution (the transposed conv's *input* size),
* ``k``   kernel size, ``d`` kernel dilation, ``k_eff = (k - 1) * d + 1`` the dilated kernel,
* ``s``   stride, ``(lo, hi)`` zero padding added before and after the input.

The forward convolution reads the padded input of length ``n + lo + hi`` in windows of ``k_eff``
spaced ``s`` apart, so ``m = (n + lo + hi - k_eff) // s + 1``.

The arithmetic is split by concern: :mod:`~jconv._shapes.sizes` (output sizes, legal ranges,
paddings), :mod:`~jconv._shapes.tiling` (how the derivations cut a transposed conv into phases,
tiles and chunks) and :mod:`~jconv._shapes.xla` (the XLA:CPU abort rule). Callers use the names
below, all from here.
"""

from jconv._shapes.sizes import (
    Pair,
    conv_output_size,
    default_transpose_size,
    effective_kernel_size,
    explicit_pair,
    is_zero_result,
    padding_mode_limit,
    resolve_padding,
    same_padding,
    tf_conv_output_size,
    tf_default_transpose_size,
    tf_forward_size,
    tf_transpose_size_range,
    tight_padding,
    torch_output_padding,
    torch_same_padding,
    torch_transpose_size,
    transpose_padding,
    transpose_size_range,
)
from jconv._shapes.tiling import (
    batch_chunks,
    col2im_chunks,
    col2im_phase_groups,
    col2im_phases,
    col2im_row_chunks,
    examples_per_chunk,
    kernel_twice_stride,
    phase_taps,
    winograd_tiles,
)
from jconv._shapes.xla import (
    group_like_dims,
    xla_cpu_ungroups,
    xla_swap_hazard,
)

__all__ = [
    "Pair",
    "effective_kernel_size",
    "same_padding",
    "torch_same_padding",
    "torch_transpose_size",
    "torch_output_padding",
    "padding_mode_limit",
    "conv_output_size",
    "transpose_size_range",
    "default_transpose_size",
    "tf_conv_output_size",
    "tf_forward_size",
    "tf_transpose_size_range",
    "tf_default_transpose_size",
    "is_zero_result",
    "resolve_padding",
    "explicit_pair",
    "transpose_padding",
    "tight_padding",
    "col2im_phases",
    "col2im_phase_groups",
    "kernel_twice_stride",
    "winograd_tiles",
    "col2im_row_chunks",
    "col2im_chunks",
    "examples_per_chunk",
    "batch_chunks",
    "phase_taps",
    "group_like_dims",
    "xla_cpu_ungroups",
    "xla_swap_hazard",
]
