"""PyTorch's input gradients: ``torch.nn.grad.conv{1,2,3}d_input``."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import jax
from jax import lax
from jax.typing import ArrayLike, DTypeLike

from jconv import _args, _jit, _shapes
from jconv.torch import _common


def _input_body(dy: jax.Array, w: jax.Array, **settings: Any) -> jax.Array:
    """PyTorch's forward weight moved to TensorFlow's layout, in one jit with the transpose."""
    return _jit.transpose_body(dy, _common.to_tf_forward(w), **settings)


_input_jit = jax.jit(_input_body, static_argnames=_jit.TRANSPOSE_STATIC)


def _conv_input(
    input_size: Sequence[int],
    weight: ArrayLike,
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
    """The implementation of ``conv1d_input``, ``conv2d_input`` and ``conv3d_input``."""
    dy, unbatched = _common.data(fn, "grad_output", grad_output, rank)
    w = _common.weight(fn, weight, rank, dy, "grad_output")
    size = _args.as_int_tuple(fn, "input_size", input_size)
    if unbatched and len(size) == rank + 1:
        size = (1, *size)
    if len(size) != rank + 2:
        raise ValueError(
            f"{fn}: input_size {list(size)} must have {rank + 2} entries (N, C, *spatial)"
        )
    _common.spatial(fn, "input_size", size, rank)
    ks = w.shape[2:]
    ss = _common.ints(fn, "stride", stride, rank, 1)
    ds = _common.ints(fn, "dilation", dilation, rank, 1)
    pads = _common.padding(fn, padding, rank, ks, ss, ds)
    g = _common.groups(fn, groups, size[1], w.shape[1], w.shape[0])
    _common.at_least_groups(fn, "weight.shape[0] (output channels)", w.shape[0], g)
    if w.shape[0] != dy.shape[1]:
        raise ValueError(
            f"{fn}: grad_output has {dy.shape[1]} channels but weight.shape[0] is {w.shape[0]}"
        )
    if size[0] != dy.shape[0]:
        raise ValueError(f"{fn}: input_size batch {size[0]} != grad_output batch {dy.shape[0]}")
    geometry = tuple(zip(dy.shape[2:], ks, ss, ds, pads))
    ranges = [_shapes.transpose_size_range(m, k, s, d, p) for m, k, s, d, p in geometry]
    _args.reachable(fn, "input_size", "grad_output", size[2:], ranges, geometry)
    method = _args.method(fn, method, _jit.TRANSPOSE_METHODS)
    pet = _args.element_type(fn, preferred_element_type)
    if _shapes.is_zero_result(dy.shape, w.shape, size):
        y = _jit.zeros(size, dy.dtype, pet)
        return y[0] if unbatched else y
    y = _input_jit(
        dy,
        w,
        out_sizes=tuple(size[2:]),
        strides=ss,
        padding=pads,
        dilations=ds,
        groups=g,
        channels_first=True,
        method=method,
        precision=_args.precision(fn, precision),
        preferred_element_type=pet,
    )
    return y[0] if unbatched else y


def conv1d_input(
    input_size: Sequence[int],
    weight: ArrayLike,
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
    """Input gradient of the 1-D :func:`conv1d`, ``torch.nn.grad.conv1d_input``.

    ``dx[b, c, i * s + t * d - p] += dy[b, o, i] * w[o, c, t]``: the transposed conv of
    ``grad_output`` with the forward weight, of size ``input_size``. The size is needed because
    for stride ``s`` up to ``s`` input sizes ``n`` give the same output size ``m``: ``n`` must
    lie in ``(m - 1) * s - 2 * p + d * (k - 1) + 1 .. that + s - 1``.

    Args:
      input_size: the forward input's shape ``(N, C_in, *n)`` (1 spatial sizes; ``(C_in, *n)``
        with an unbatched ``grad_output``).
      weight: ``(C_out, C_in / groups, *k)``.
      grad_output: ``(N, C_out, *m)`` or unbatched ``(C_out, *m)``.
      stride, padding, dilation, groups: the forward conv's.
      method: ``"auto"`` or one of :data:`jconv.TRANSPOSE_METHODS`; all give the same values.
      precision, preferred_element_type: passed to XLA.

    Returns:
      ``(N, C_in, *n)``.

    Raises:
      ValueError: an unreachable ``input_size`` (the message gives the legal range), channel,
        group or batch mismatches, bad settings.
      TypeError: bad dtypes, a traced ``input_size``.

    Examples:
      >>> import jax.numpy as jnp, jconv.torch
      >>> jconv.torch.conv1d_input((1, 2, 5), jnp.ones((3, 2, 3)), jnp.ones((1, 3, 2)),
      ...                           stride=2).shape
      (1, 2, 5)

    See also: ``torch.nn.grad.conv1d_input``, :func:`jconv.conv1d_backprop_input`.
    """
    return _conv_input(
        input_size,
        weight,
        grad_output,
        fn="jconv.torch.conv1d_input",
        rank=1,
        stride=stride,
        padding=padding,
        dilation=dilation,
        groups=groups,
        method=method,
        precision=precision,
        preferred_element_type=preferred_element_type,
    )


def conv2d_input(
    input_size: Sequence[int],
    weight: ArrayLike,
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
    """Input gradient of the 2-D :func:`conv2d`, ``torch.nn.grad.conv2d_input``.

    ``dx[b, c, i * s + t * d - p] += dy[b, o, i] * w[o, c, t]``: the transposed conv of
    ``grad_output`` with the forward weight, of size ``input_size``. The size is needed because
    for stride ``s`` up to ``s`` input sizes ``n`` give the same output size ``m``: ``n`` must
    lie in ``(m - 1) * s - 2 * p + d * (k - 1) + 1 .. that + s - 1``.

    Args:
      input_size: the forward input's shape ``(N, C_in, *n)`` (2 spatial sizes; ``(C_in, *n)``
        with an unbatched ``grad_output``).
      weight: ``(C_out, C_in / groups, *k)``.
      grad_output: ``(N, C_out, *m)`` or unbatched ``(C_out, *m)``.
      stride, padding, dilation, groups: the forward conv's.
      method: ``"auto"`` or one of :data:`jconv.TRANSPOSE_METHODS`; all give the same values.
      precision, preferred_element_type: passed to XLA.

    Returns:
      ``(N, C_in, *n)``.

    Raises:
      ValueError: an unreachable ``input_size`` (the message gives the legal range), channel,
        group or batch mismatches, bad settings.
      TypeError: bad dtypes, a traced ``input_size``.

    Examples:
      >>> import jax.numpy as jnp, jconv.torch
      >>> jconv.torch.conv2d_input((1, 2, 5, 5), jnp.ones((3, 2, 3, 3)), jnp.ones((1, 3, 2, 2)),
      ...                           stride=2).shape
      (1, 2, 5, 5)

    See also: ``torch.nn.grad.conv2d_input``, :func:`jconv.conv2d_backprop_input`.
    """
    return _conv_input(
        input_size,
        weight,
        grad_output,
        fn="jconv.torch.conv2d_input",
        rank=2,
        stride=stride,
        padding=padding,
        dilation=dilation,
        groups=groups,
        method=method,
        precision=precision,
        preferred_element_type=preferred_element_type,
    )


def conv3d_input(
    input_size: Sequence[int],
    weight: ArrayLike,
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
    """Input gradient of the 3-D :func:`conv3d`, ``torch.nn.grad.conv3d_input``.

    ``dx[b, c, i * s + t * d - p] += dy[b, o, i] * w[o, c, t]``: the transposed conv of
    ``grad_output`` with the forward weight, of size ``input_size``. The size is needed because
    for stride ``s`` up to ``s`` input sizes ``n`` give the same output size ``m``: ``n`` must
    lie in ``(m - 1) * s - 2 * p + d * (k - 1) + 1 .. that + s - 1``.

    Args:
      input_size: the forward input's shape ``(N, C_in, *n)`` (3 spatial sizes; ``(C_in, *n)``
        with an unbatched ``grad_output``).
      weight: ``(C_out, C_in / groups, *k)``.
      grad_output: ``(N, C_out, *m)`` or unbatched ``(C_out, *m)``.
      stride, padding, dilation, groups: the forward conv's.
      method: ``"auto"`` or one of :data:`jconv.TRANSPOSE_METHODS`; all give the same values.
      precision, preferred_element_type: passed to XLA.

    Returns:
      ``(N, C_in, *n)``.

    Raises:
      ValueError: an unreachable ``input_size`` (the message gives the legal range), channel,
        group or batch mismatches, bad settings.
      TypeError: bad dtypes, a traced ``input_size``.

    Examples:
      >>> import jax.numpy as jnp, jconv.torch
      >>> jconv.torch.conv3d_input((1, 2, 5, 5, 5), jnp.ones((3, 2, 3, 3, 3)),
      ...                          jnp.ones((1, 3, 2, 2, 2)), stride=2).shape
      (1, 2, 5, 5, 5)

    See also: ``torch.nn.grad.conv3d_input``, :func:`jconv.conv3d_backprop_input`.
    """
    return _conv_input(
        input_size,
        weight,
        grad_output,
        fn="jconv.torch.conv3d_input",
        rank=3,
        stride=stride,
        padding=padding,
        dilation=dilation,
        groups=groups,
        method=method,
        precision=precision,
        preferred_element_type=preferred_element_type,
    )
