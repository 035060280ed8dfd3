"""jconv: convolutions, transposed convolutions and both gradients with TensorFlow's and PyTorch's
exact semantics, in JAX, each derived several ways and checked equal.

Users import ``jconv`` (TensorFlow-style names) and ``jconv.torch`` (PyTorch-style names).
"""

from importlib import metadata as _metadata

from jconv import reference, torch
from jconv._manual import nhwc_to_hwio, pad_to_full, rot180
from jconv._output_shapes import conv_output_shape, conv_transpose_output_shapes
from jconv._shapes import effective_kernel_size
from jconv._tf import (
    FILTER_GRAD_METHODS,
    FORWARD_METHODS,
    TRANSPOSE_METHODS,
    conv,
    conv1d,
    conv1d_backprop_filter,
    conv1d_backprop_input,
    conv1d_transpose,
    conv2d,
    conv2d_backprop_filter,
    conv2d_backprop_input,
    conv2d_transpose,
    conv3d,
    conv3d_backprop_filter,
    conv3d_backprop_input,
    conv3d_transpose,
    conv_backprop_filter,
    conv_backprop_input,
    conv_transpose,
)

try:
    __version__ = _metadata.version("jconv")
except _metadata.PackageNotFoundError:  # running from a source tree that is not installed
    __version__ = "0+unknown"

__all__ = [
    "FILTER_GRAD_METHODS",
    "FORWARD_METHODS",
    "TRANSPOSE_METHODS",
    "conv",
    "conv1d",
    "conv1d_backprop_filter",
    "conv1d_backprop_input",
    "conv1d_transpose",
    "conv2d",
    "conv2d_backprop_filter",
    "conv2d_backprop_input",
    "conv2d_transpose",
    "conv3d",
    "conv3d_backprop_filter",
    "conv3d_backprop_input",
    "conv3d_transpose",
    "conv_backprop_filter",
    "conv_backprop_input",
    "conv_output_shape",
    "conv_transpose",
    "conv_transpose_output_shapes",
    "effective_kernel_size",
    "nhwc_to_hwio",
    "pad_to_full",
    "reference",
    "rot180",
    "torch",
]
