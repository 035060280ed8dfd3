"""PyTorch-style names over the same derivations: ``torch.nn.functional`` and ``torch.nn.grad``.

Layouts as PyTorch: data ``(N, C, *spatial)`` (or unbatched ``(C, *spatial)``), forward weights
``(C_out, C_in / groups, *k)``, transposed-conv weights ``(C_in, C_out / groups, *k)``. A port from
PyTorch is a rename: ``F.conv_transpose2d(...)`` becomes ``jconv.torch.conv_transpose2d(...)``.

Weight mapping (what the wrappers do internally): a PyTorch ``ConvTranspose2d`` weight
``(C_in, C_out / g, kh, kw)`` is TensorFlow's ``conv2d_transpose`` filter
``weight.transpose(2, 3, 1, 0)`` = ``(kh, kw, C_out / g, C_in)``; for ``jax.lax.conv_transpose``
(groups 1) pass the weight unchanged with ``dimension_numbers=("NCHW", "OIHW", "NCHW")`` and
``transpose_kernel=True`` (which swaps I and O back and flips the taps), and padding
``d * (k - 1) - p`` before, ``d * (k - 1) - p + output_padding`` after.
"""

from jconv._jit import FILTER_GRAD_METHODS as FILTER_GRAD_METHODS
from jconv._jit import FORWARD_METHODS as FORWARD_METHODS
from jconv._jit import TRANSPOSE_METHODS as TRANSPOSE_METHODS
from jconv.torch._conv import conv1d, conv2d, conv3d
from jconv.torch._input import conv1d_input, conv2d_input, conv3d_input
from jconv.torch._transpose import conv_transpose1d, conv_transpose2d, conv_transpose3d
from jconv.torch._weight import conv1d_weight, conv2d_weight, conv3d_weight

__all__ = [
    "conv1d",
    "conv2d",
    "conv3d",
    "conv_transpose1d",
    "conv_transpose2d",
    "conv_transpose3d",
    "conv1d_input",
    "conv2d_input",
    "conv3d_input",
    "conv1d_weight",
    "conv2d_weight",
    "conv3d_weight",
]
