"""PyTorch's transposed convolutions: ``torch.nn.functional.conv_transpose{1,2,3}d``."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import jax
from jax import lax
from jax.typing import ArrayLike, DTypeLike

from jconv import _args, _jit, _shapes
from jconv.torch import _common


def _transpose_body(dy: jax.Array, w: jax.Array, b: jax.Array | None, **settings: Any) -> jax.Array:
    """PyTorch's transposed-conv weight ``(C_in, C_out / g, *k)`` moved to TensorFlow's filter
    ``(*k, C_out / g, C_in)`` and the bias added, in one jit."""
    return _common.add_bias(_jit.transpose_body(dy, _common.to_tf_forward(w), **settings), b)


_transpose_jit = jax.jit(_transpose_body, static_argnames=_jit.TRANSPOSE_STATIC)


def _conv_transpose(
    input: ArrayLike,
    weight: ArrayLike,
    bias: ArrayLike | None,
    *,
    fn: str,
    rank: int,
    stride: int | Sequence[int],
    padding: int | Sequence[int],
    output_padding: int | Sequence[int],
    groups: int,
    dilation: int | Sequence[int],
    method: str,
    precision: lax.PrecisionLike,
    preferred_element_type: DTypeLike | None,
) -> jax.Array:
    """The implementation of ``conv_transpose1d``, ``conv_transpose2d`` and ``conv_transpose3d``."""
    dy, unbatched = _common.data(fn, "input", input, rank)
    w = _common.weight(fn, weight, rank, dy)
    ss = _common.ints(fn, "stride", stride, rank, 1)
    ds = _common.ints(fn, "dilation", dilation, rank, 1)
    ps = _common.ints(fn, "padding", padding, rank, 0)
    ops = _common.ints(fn, "output_padding", output_padding, rank, 0)
    ks = w.shape[2:]
    g = _args.as_int(fn, "groups", groups)
    if g < 1 or w.shape[0] != dy.shape[1] or dy.shape[1] % g:
        raise ValueError(
            f"{fn}: input has {dy.shape[1]} channels and groups={groups}; weight.shape[0] "
            f"({w.shape[0]}) must equal the input channels and groups must divide them"
        )
    _common.at_least_groups(fn, "weight.shape[0] (input channels)", w.shape[0], g)
    if w.shape[1] < 1:
        raise ValueError(
            f"{fn}: weight has shape {w.shape}; weight.shape[1] (output channels / groups) "
            "must be >= 1 (PyTorch expects a non-empty weight)"
        )
    sizes = []
    for i, (m, k, s, d, p, op) in enumerate(zip(dy.shape[2:], ks, ss, ds, ps, ops)):
        dim = _args.dim_name(rank, i)
        if op >= max(s, d):
            raise ValueError(
                f"{fn}: output_padding {op} in {dim} must be smaller than either stride ({s}) "
                f"or dilation ({d})"
            )
        n = _shapes.torch_transpose_size(m, k, s, d, p, op)
        if n < 1:
            raise ValueError(
                f"{fn}: the output {dim} (m - 1) * s - 2 * p + d * (k - 1) + output_padding + 1 "
                f"= {n} is not positive (input {m}, stride {s}, padding {p}, dilation {d}, "
                f"kernel {k}, output_padding {op})"
            )
        sizes.append(n)
    b = _common.bias(fn, bias, w.shape[1] * g, dy)
    pet = _args.element_type(fn, preferred_element_type)
    method = _args.method(fn, method, _jit.TRANSPOSE_METHODS)
    out = (dy.shape[0], w.shape[1] * g, *sizes)
    if _shapes.is_zero_result(dy.shape, w.shape, out):
        y = _common.add_bias(_jit.zeros(out, dy.dtype, pet), b)
        return y[0] if unbatched else y
    y = _transpose_jit(
        dy,
        w,
        b,
        out_sizes=tuple(sizes),
        strides=ss,
        padding=tuple((p, p) for p in ps),
        dilations=ds,
        groups=g,
        channels_first=True,
        method=method,
        precision=_args.precision(fn, precision),
        preferred_element_type=pet,
    )
    return y[0] if unbatched else y


def conv_transpose1d(
    input: ArrayLike,
    weight: ArrayLike,
    bias: ArrayLike | None = None,
    stride: int | Sequence[int] = 1,
    padding: int | Sequence[int] = 0,
    output_padding: int | Sequence[int] = 0,
    groups: int = 1,
    dilation: int | Sequence[int] = 1,
    *,
    method: str = "auto",
    precision: lax.PrecisionLike = None,
    preferred_element_type: DTypeLike | None = None,
) -> jax.Array:
    """1-D transposed convolution, ``torch.nn.functional.conv_transpose1d``.

    ``y[b, c, i * s + t * d - p] += x[b, o, i] * w[o, c, t]`` (the scatter-add overlay of each
    input entry, cropped by ``p`` on both sides), plus ``bias[c]``. Output size per spatial dim:
    ``(m - 1) * s - 2 * p + d * (k - 1) + output_padding + 1``, with
    ``output_padding < max(stride, dilation)`` (PyTorch's rule; for ``s > 1`` up to ``s`` sizes
    have the same forward output, and ``output_padding`` picks one; when ``dilation > stride``
    the extra rows are beyond every forward window and come out as the overlay gives them).

    Args:
      input: ``(N, C_in, *m)`` or unbatched ``(C_in, *m)``, 1 spatial dim(s).
      weight: ``(C_in, C_out / groups, *k)`` (PyTorch's ``ConvTranspose`` layout).
      bias: ``(C_out,)`` or None.
      stride, padding, output_padding, dilation: int or one per spatial dim.
      groups: must divide ``C_in``; ``C_out = weight.shape[1] * groups``.
      method: ``"auto"`` or one of :data:`jconv.TRANSPOSE_METHODS`; all give the same values.
      precision, preferred_element_type: passed to XLA.

    Returns:
      ``(N, C_out, *n)`` (unbatched in, unbatched out).

    Raises:
      ValueError: ``output_padding >= max(stride, dilation)``, channel/group mismatch, a
        non-positive output size, bad settings, unknown methods.
      TypeError: bad dtypes.

    Examples:
      >>> import jax.numpy as jnp, jconv.torch
      >>> jconv.torch.conv_transpose1d(jnp.ones((1, 4, 3)), jnp.ones((4, 3, 3)), stride=2,
      ...                               padding=1, output_padding=1).shape
      (1, 3, 6)

    See also: ``torch.nn.functional.conv_transpose1d``, :func:`jconv.conv1d_transpose`.
    """
    return _conv_transpose(
        input,
        weight,
        bias,
        fn="jconv.torch.conv_transpose1d",
        rank=1,
        stride=stride,
        padding=padding,
        output_padding=output_padding,
        groups=groups,
        dilation=dilation,
        method=method,
        precision=precision,
        preferred_element_type=preferred_element_type,
    )


def conv_transpose2d(
    input: ArrayLike,
    weight: ArrayLike,
    bias: ArrayLike | None = None,
    stride: int | Sequence[int] = 1,
    padding: int | Sequence[int] = 0,
    output_padding: int | Sequence[int] = 0,
    groups: int = 1,
    dilation: int | Sequence[int] = 1,
    *,
    method: str = "auto",
    precision: lax.PrecisionLike = None,
    preferred_element_type: DTypeLike | None = None,
) -> jax.Array:
    """2-D transposed convolution, ``torch.nn.functional.conv_transpose2d``.

    ``y[b, c, i * s + t * d - p] += x[b, o, i] * w[o, c, t]`` (the scatter-add overlay of each
    input entry, cropped by ``p`` on both sides), plus ``bias[c]``. Output size per spatial dim:
    ``(m - 1) * s - 2 * p + d * (k - 1) + output_padding + 1``, with
    ``output_padding < max(stride, dilation)`` (PyTorch's rule; for ``s > 1`` up to ``s`` sizes
    have the same forward output, and ``output_padding`` picks one; when ``dilation > stride``
    the extra rows are beyond every forward window and come out as the overlay gives them).

    Args:
      input: ``(N, C_in, *m)`` or unbatched ``(C_in, *m)``, 2 spatial dim(s).
      weight: ``(C_in, C_out / groups, *k)`` (PyTorch's ``ConvTranspose`` layout).
      bias: ``(C_out,)`` or None.
      stride, padding, output_padding, dilation: int or one per spatial dim.
      groups: must divide ``C_in``; ``C_out = weight.shape[1] * groups``.
      method: ``"auto"`` or one of :data:`jconv.TRANSPOSE_METHODS`; all give the same values.
      precision, preferred_element_type: passed to XLA.

    Returns:
      ``(N, C_out, *n)`` (unbatched in, unbatched out).

    Raises:
      ValueError: ``output_padding >= max(stride, dilation)``, channel/group mismatch, a
        non-positive output size, bad settings, unknown methods.
      TypeError: bad dtypes.

    Examples:
      >>> import jax.numpy as jnp, jconv.torch
      >>> jconv.torch.conv_transpose2d(jnp.ones((1, 4, 3, 3)), jnp.ones((4, 3, 3, 3)), stride=2,
      ...                               padding=1, output_padding=1).shape
      (1, 3, 6, 6)

    See also: ``torch.nn.functional.conv_transpose2d``, :func:`jconv.conv2d_transpose`.
    """
    return _conv_transpose(
        input,
        weight,
        bias,
        fn="jconv.torch.conv_transpose2d",
        rank=2,
        stride=stride,
        padding=padding,
        output_padding=output_padding,
        groups=groups,
        dilation=dilation,
        method=method,
        precision=precision,
        preferred_element_type=preferred_element_type,
    )


def conv_transpose3d(
    input: ArrayLike,
    weight: ArrayLike,
    bias: ArrayLike | None = None,
    stride: int | Sequence[int] = 1,
    padding: int | Sequence[int] = 0,
    output_padding: int | Sequence[int] = 0,
    groups: int = 1,
    dilation: int | Sequence[int] = 1,
    *,
    method: str = "auto",
    precision: lax.PrecisionLike = None,
    preferred_element_type: DTypeLike | None = None,
) -> jax.Array:
    """3-D transposed convolution, ``torch.nn.functional.conv_transpose3d``.

    ``y[b, c, i * s + t * d - p] += x[b, o, i] * w[o, c, t]`` (the scatter-add overlay of each
    input entry, cropped by ``p`` on both sides), plus ``bias[c]``. Output size per spatial dim:
    ``(m - 1) * s - 2 * p + d * (k - 1) + output_padding + 1``, with
    ``output_padding < max(stride, dilation)`` (PyTorch's rule; for ``s > 1`` up to ``s`` sizes
    have the same forward output, and ``output_padding`` picks one; when ``dilation > stride``
    the extra rows are beyond every forward window and come out as the overlay gives them).

    Args:
      input: ``(N, C_in, *m)`` or unbatched ``(C_in, *m)``, 3 spatial dim(s).
      weight: ``(C_in, C_out / groups, *k)`` (PyTorch's ``ConvTranspose`` layout).
      bias: ``(C_out,)`` or None.
      stride, padding, output_padding, dilation: int or one per spatial dim.
      groups: must divide ``C_in``; ``C_out = weight.shape[1] * groups``.
      method: ``"auto"`` or one of :data:`jconv.TRANSPOSE_METHODS`; all give the same values.
      precision, preferred_element_type: passed to XLA.

    Returns:
      ``(N, C_out, *n)`` (unbatched in, unbatched out).

    Raises:
      ValueError: ``output_padding >= max(stride, dilation)``, channel/group mismatch, a
        non-positive output size, bad settings, unknown methods.
      TypeError: bad dtypes.

    Examples:
      >>> import jax.numpy as jnp, jconv.torch
      >>> jconv.torch.conv_transpose3d(jnp.ones((1, 4, 3, 3, 3)), jnp.ones((4, 3, 3, 3, 3)),
      ...                              stride=2, padding=1, output_padding=1).shape
      (1, 3, 6, 6, 6)

    See also: ``torch.nn.functional.conv_transpose3d``, :func:`jconv.conv3d_transpose`.
    """
    return _conv_transpose(
        input,
        weight,
        bias,
        fn="jconv.torch.conv_transpose3d",
        rank=3,
        stride=stride,
        padding=padding,
        output_padding=output_padding,
        groups=groups,
        dilation=dilation,
        method=method,
        precision=precision,
        preferred_element_type=preferred_element_type,
    )
