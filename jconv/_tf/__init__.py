"""The TensorFlow-style front door: typed signatures, normalise, validate, call the jit entries.

``conv.py`` holds the forward convs, ``transpose.py`` the transposed convs, ``backprop_input.py``
the input gradients (the transposed convs in TensorFlow's argument order), ``filter.py`` the
filter gradients; ``_common.py`` their argument checks.
"""

from jconv._jit import FILTER_GRAD_METHODS, FORWARD_METHODS, TRANSPOSE_METHODS
from jconv._tf.backprop_input import (
    conv1d_backprop_input,
    conv2d_backprop_input,
    conv3d_backprop_input,
    conv_backprop_input,
)
from jconv._tf.conv import conv, conv1d, conv2d, conv3d
from jconv._tf.filter import (
    conv1d_backprop_filter,
    conv2d_backprop_filter,
    conv3d_backprop_filter,
    conv_backprop_filter,
)
from jconv._tf.transpose import (
    conv1d_transpose,
    conv2d_transpose,
    conv3d_transpose,
    conv_transpose,
)

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
    "conv_transpose",
]
