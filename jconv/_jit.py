"""The jit-compiled entry points both front doors call: arrays traced, settings static.

Each takes data in channels-last or channels-first layout (``channels_first``) and filters in
TensorFlow's layout, moves data to the canonical channels-last layout and runs one derivation.
``conv`` / ``transpose`` / ``filter_grad`` are jitted; ``conv_body`` / ``transpose_body`` /
``filter_grad_body`` are the same functions unjitted, for entry points that add their own layout
changes (PyTorch's weight layout, a bias) inside one jit.
"""

from __future__ import annotations

import jax
import jax.numpy as jnp

from jconv import _conv_op, _layout, derivations
from jconv.derivations import auto

TRANSPOSE_METHODS = tuple(derivations.TRANSPOSE)
"""The names ``method=`` accepts for transposes and input gradients, besides ``"auto"``."""
FILTER_GRAD_METHODS = tuple(derivations.FILTER_GRAD)
"""The names ``method=`` accepts for filter gradients, besides ``"auto"``."""
FORWARD_METHODS = tuple(derivations.FORWARD)
"""The names ``method=`` accepts for forward convs, besides ``"auto"``."""

STATIC = (
    "strides",
    "padding",
    "dilations",
    "groups",
    "channels_first",
    "precision",
    "preferred_element_type",
)
CONV_STATIC = (*STATIC, "method", "grad_method")
TRANSPOSE_STATIC = (*STATIC, "out_sizes", "method")
FILTER_GRAD_STATIC = (*STATIC, "kernel_sizes", "method")


def to_last(a, channels_first: bool):
    return jnp.transpose(a, _layout.to_channels_last(a.ndim - 2)) if channels_first else a


def to_first(a, channels_first: bool):
    return jnp.transpose(a, _layout.to_channels_first(a.ndim - 2)) if channels_first else a


def zeros(shape, dtype, preferred_element_type=None):
    """The result of an op that :func:`jconv._shapes.is_zero_result` finds all zeros: a constant,
    so ``jax.grad`` / ``jax.jvp`` through it give zeros for every operand."""
    return jnp.zeros(shape, dtype if preferred_element_type is None else preferred_element_type)


def conv_body(
    x,
    w,
    *,
    strides,
    padding,
    dilations,
    groups,
    channels_first,
    precision,
    preferred_element_type,
    method="auto",
    grad_method=("auto", "auto"),
):
    """The forward conv by ``method`` (:data:`jconv.derivations.FORWARD`, or ``"auto"``).

    ``grad_method`` is ``(input_method, filter_method)`` for jconv's derivatives
    (:mod:`jconv._conv_op`), or ``"jax"``: the forward derivation called directly, so that JAX
    differentiates its program (for ``method="xla"``, ``lax.conv_general_dilated``'s own rule).
    """
    x = to_last(x, channels_first)
    if method == "auto":
        method = auto.forward_method_for(
            x, w, groups=groups, preferred_element_type=preferred_element_type
        )
    settings = dict(
        strides=strides,
        padding=padding,
        dilations=dilations,
        groups=groups,
        precision=precision,
        preferred_element_type=preferred_element_type,
    )
    if grad_method == "jax":
        y = derivations.FORWARD[method](x, w, **settings)
    else:
        input_method, filter_method = grad_method
        y = _conv_op.conv(
            x, w, method=method, input_method=input_method, filter_method=filter_method, **settings
        )
    return to_first(y, channels_first)


def transpose_body(
    dy,
    w,
    *,
    out_sizes,
    strides,
    padding,
    dilations,
    groups,
    channels_first,
    method,
    precision,
    preferred_element_type,
):
    dy = to_last(dy, channels_first)
    if method == "auto":
        method = auto.transpose_method_for(
            dy,
            w,
            out_sizes=out_sizes,
            strides=strides,
            dilations=dilations,
            groups=groups,
            preferred_element_type=preferred_element_type,
        )
    x = derivations.TRANSPOSE[method](
        dy,
        w,
        out_sizes=out_sizes,
        strides=strides,
        padding=padding,
        dilations=dilations,
        groups=groups,
        precision=precision,
        preferred_element_type=preferred_element_type,
    )
    return to_first(x, channels_first)


def filter_grad_body(
    x,
    dy,
    *,
    kernel_sizes,
    strides,
    padding,
    dilations,
    groups,
    channels_first,
    method,
    precision,
    preferred_element_type,
):
    if method == "auto":
        x, dy = to_last(x, channels_first), to_last(dy, channels_first)
        channels_first = False
        method = auto.filter_grad_method_for(x, dy, kernel_sizes, groups, strides)
    return derivations.FILTER_GRAD[method](
        to_last(x, channels_first),
        to_last(dy, channels_first),
        kernel_sizes=kernel_sizes,
        strides=strides,
        padding=padding,
        dilations=dilations,
        groups=groups,
        precision=precision,
        preferred_element_type=preferred_element_type,
    )


conv = jax.jit(conv_body, static_argnames=CONV_STATIC)
transpose = jax.jit(transpose_body, static_argnames=TRANSPOSE_STATIC)
filter_grad = jax.jit(filter_grad_body, static_argnames=FILTER_GRAD_STATIC)
