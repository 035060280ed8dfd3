"""PyTorch's filter gradients: ``torch.nn.grad.conv{1,2,3}d_weight``."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import jax
from jax import lax
from jax.typing import ArrayLike, DTypeLike

from jconv import _args, _jit, _shapes
from jconv.torch import _common


def _weight_body(x: jax.Array, dy: jax.Array, **settings: Any) -> jax.Array:
    """The filter gradient moved to PyTorch's layout, in one jit."""
    return _common.from_tf_forward(_jit.filter_grad_body(x, dy, **settings))


_weight_jit = jax.jit(_weight_body, static_argnames=_jit.FILTER_GRAD_STATIC)


def _conv_weight(
    input: ArrayLike,
    weight_size: Sequence[int],
    grad_output: ArrayLike,
    *,
    fn: str,
    rank: int,
    stride: int | Sequence[int],
    padding: str | int | Sequence[int],
    dilation: int | Sequence[int],
    groups: int,
    method: str,
    precision: lax.PrecisionLike,
    preferred_element_type: DTypeLike | None,
) -> jax.Array:
    """The implementation of ``conv1d_weight``, ``conv2d_weight`` and ``conv3d_weight``."""
    x, unbatched = _common.data(fn, "input", input, rank)
    grad = _args.array(fn, "grad_output", grad_output)
    dy, _ = _common.data(fn, "grad_output", grad[None] if unbatched else grad, rank)
    _args.same_dtype(fn, ("input", "grad_output"), x, dy)
    size = _args.as_int_tuple(fn, "weight_size", weight_size)
    if len(size) != rank + 2 or min(size) < 0 or min(size[2:]) < 1:
        raise ValueError(
            f"{fn}: weight_size {list(size)} must be {rank + 2} ints (C_out, C_in / groups, *k): "
            "kernel sizes >= 1, channel counts >= 0"
        )
    ks = size[2:]
    ss = _common.ints(fn, "stride", stride, rank, 1)
    ds = _common.ints(fn, "dilation", dilation, rank, 1)
    pads = _common.padding(fn, padding, rank, ks, ss, ds)
    g = _common.groups(fn, groups, x.shape[1], size[1], size[0])
    _common.at_least_groups(fn, "weight_size[0] (output channels)", size[0], g)
    if size[0] != dy.shape[1] or x.shape[0] != dy.shape[0]:
        raise ValueError(
            f"{fn}: grad_output has shape {dy.shape}; expected batch {x.shape[0]} and "
            f"{size[0]} channels (weight_size[0])"
        )
    _args.torch_window_fits(fn, x.shape[2:], ks, ds, pads)
    wants = [
        _shapes.conv_output_size(n, k, s, d, lo, hi)
        for n, k, s, d, (lo, hi) in zip(x.shape[2:], ks, ss, ds, pads)
    ]
    _args.forward_sizes_match(fn, "grad_output", dy.shape[2:], wants)
    method = _args.method(fn, method, _jit.FILTER_GRAD_METHODS)
    pet = _args.element_type(fn, preferred_element_type)
    if _shapes.is_zero_result(x.shape, dy.shape, size):
        return _jit.zeros(size, x.dtype, pet)
    return _weight_jit(
        x,
        dy,
        kernel_sizes=tuple(ks),
        strides=ss,
        padding=pads,
        dilations=ds,
        groups=g,
        channels_first=True,
        method=method,
        precision=_args.precision(fn, precision),
        preferred_element_type=pet,
    )


def conv1d_weight(
    input: ArrayLike,
    weight_size: Sequence[int],
    grad_output: ArrayLike,
    stride: int | Sequence[int] = 1,
    padding: str | int | Sequence[int] = 0,
    dilation: int | Sequence[int] = 1,
    groups: int = 1,
    *,
    method: str = "auto",
    precision: lax.PrecisionLike = None,
    preferred_element_type: DTypeLike | None = None,
) -> jax.Array:
    """Filter gradient of the 1-D :func:`conv1d`, ``torch.nn.grad.conv1d_weight``.

    ``dw[o, c, t] = sum_(b, i) x_pad[b, c, i * s + t * d] * dy[b, o, i]`` over the input
    channels ``c`` of output channel ``o``'s group. ``weight_size`` is needed because the groups
    and the kernel size are not implied by the two arrays.

    Args:
      input: the forward input ``(N, C_in, *n)`` or unbatched ``(C_in, *n)``, 1 spatial dim(s).
      weight_size: ``(C_out, C_in / groups, *k)``.
      grad_output: ``(N, C_out, *m)``; ``m`` must be the forward output size.
      stride, padding, dilation, groups: the forward conv's.
      method: ``"auto"`` or one of :data:`jconv.FILTER_GRAD_METHODS`; all give the same values.
      precision, preferred_element_type: passed to XLA.

    Returns:
      ``weight_size``-shaped gradient in PyTorch's layout.

    Raises:
      ValueError: ``grad_output`` sizes the forward conv does not produce, channel, group or
        batch mismatches, a kernel larger than the padded input, bad settings.
      TypeError: bad dtypes.

    Examples:
      >>> import jax.numpy as jnp, jconv.torch
      >>> jconv.torch.conv1d_weight(jnp.ones((1, 2, 5)), (3, 2, 3), jnp.ones((1, 3, 2)),
      ...                            stride=2).shape
      (3, 2, 3)

    See also: ``torch.nn.grad.conv1d_weight``, :func:`jconv.conv1d_backprop_filter`.
    """
    return _conv_weight(
        input,
        weight_size,
        grad_output,
        fn="jconv.torch.conv1d_weight",
        rank=1,
        stride=stride,
        padding=padding,
        dilation=dilation,
        groups=groups,
        method=method,
        precision=precision,
        preferred_element_type=preferred_element_type,
    )


def conv2d_weight(
    input: ArrayLike,
    weight_size: Sequence[int],
    grad_output: ArrayLike,
    stride: int | Sequence[int] = 1,
    padding: str | int | Sequence[int] = 0,
    dilation: int | Sequence[int] = 1,
    groups: int = 1,
    *,
    method: str = "auto",
    precision: lax.PrecisionLike = None,
    preferred_element_type: DTypeLike | None = None,
) -> jax.Array:
    """Filter gradient of the 2-D :func:`conv2d`, ``torch.nn.grad.conv2d_weight``.

    ``dw[o, c, t] = sum_(b, i) x_pad[b, c, i * s + t * d] * dy[b, o, i]`` over the input
    channels ``c`` of output channel ``o``'s group. ``weight_size`` is needed because the groups
    and the kernel size are not implied by the two arrays.

    Args:
      input: the forward input ``(N, C_in, *n)`` or unbatched ``(C_in, *n)``, 2 spatial dim(s).
      weight_size: ``(C_out, C_in / groups, *k)``.
      grad_output: ``(N, C_out, *m)``; ``m`` must be the forward output size.
      stride, padding, dilation, groups: the forward conv's.
      method: ``"auto"`` or one of :data:`jconv.FILTER_GRAD_METHODS`; all give the same values.
      precision, preferred_element_type: passed to XLA.

    Returns:
      ``weight_size``-shaped gradient in PyTorch's layout.

    Raises:
      ValueError: ``grad_output`` sizes the forward conv does not produce, channel, group or
        batch mismatches, a kernel larger than the padded input, bad settings.
      TypeError: bad dtypes.

    Examples:
      >>> import jax.numpy as jnp, jconv.torch
      >>> jconv.torch.conv2d_weight(jnp.ones((1, 2, 5, 5)), (3, 2, 3, 3), jnp.ones((1, 3, 2, 2)),
      ...                            stride=2).shape
      (3, 2, 3, 3)

    See also: ``torch.nn.grad.conv2d_weight``, :func:`jconv.conv2d_backprop_filter`.
    """
    return _conv_weight(
        input,
        weight_size,
        grad_output,
        fn="jconv.torch.conv2d_weight",
        rank=2,
        stride=stride,
        padding=padding,
        dilation=dilation,
        groups=groups,
        method=method,
        precision=precision,
        preferred_element_type=preferred_element_type,
    )


def conv3d_weight(
    input: ArrayLike,
    weight_size: Sequence[int],
    grad_output: ArrayLike,
    stride: int | Sequence[int] = 1,
    padding: str | int | Sequence[int] = 0,
    dilation: int | Sequence[int] = 1,
    groups: int = 1,
    *,
    method: str = "auto",
    precision: lax.PrecisionLike = None,
    preferred_element_type: DTypeLike | None = None,
) -> jax.Array:
    """Filter gradient of the 3-D :func:`conv3d`, ``torch.nn.grad.conv3d_weight``.

    ``dw[o, c, t] = sum_(b, i) x_pad[b, c, i * s + t * d] * dy[b, o, i]`` over the input
    channels ``c`` of output channel ``o``'s group. ``weight_size`` is needed because the groups
    and the kernel size are not implied by the two arrays.

    Args:
      input: the forward input ``(N, C_in, *n)`` or unbatched ``(C_in, *n)``, 3 spatial dim(s).
      weight_size: ``(C_out, C_in / groups, *k)``.
      grad_output: ``(N, C_out, *m)``; ``m`` must be the forward output size.
      stride, padding, dilation, groups: the forward conv's.
      method: ``"auto"`` or one of :data:`jconv.FILTER_GRAD_METHODS`; all give the same values.
      precision, preferred_element_type: passed to XLA.

    Returns:
      ``weight_size``-shaped gradient in PyTorch's layout.

    Raises:
      ValueError: ``grad_output`` sizes the forward conv does not produce, channel, group or
        batch mismatches, a kernel larger than the padded input, bad settings.
      TypeError: bad dtypes.

    Examples:
      >>> import jax.numpy as jnp, jconv.torch
      >>> jconv.torch.conv3d_weight(jnp.ones((1, 2, 5, 5, 5)), (3, 2, 3, 3, 3),
      ...                           jnp.ones((1, 3, 2, 2, 2)), stride=2).shape
      (3, 2, 3, 3, 3)

    See also: ``torch.nn.grad.conv3d_weight``, :func:`jconv.conv3d_backprop_filter`.
    """
    return _conv_weight(
        input,
        weight_size,
        grad_output,
        fn="jconv.torch.conv3d_weight",
        rank=3,
        stride=stride,
        padding=padding,
        dilation=dilation,
        groups=groups,
        method=method,
        precision=precision,
        preferred_element_type=preferred_element_type,
    )
