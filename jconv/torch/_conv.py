"""PyTorch's forward convolutions: ``torch.nn.functional.conv{1,2,3}d``."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import jax
from jax import lax
from jax.typing import ArrayLike, DTypeLike

from jconv import _args, _jit, _shapes
from jconv.torch import _common


def _conv_body(
    x: jax.Array,
    w: jax.Array,
    b: jax.Array | None,
    *,
    padding_mode: str,
    padding: tuple[_shapes.Pair, ...],
    **settings: Any,
) -> jax.Array:
    """PyTorch's weight moved to TensorFlow's layout and the bias added, in one jit; a padding
    mode other than zeros pads the input first, as ``torch.nn.Conv*d`` does, and the conv adds
    none."""
    if padding_mode != "zeros":
        x, padding = _common.pad(x, padding, padding_mode), ((0, 0),) * len(padding)
    y = _jit.conv_body(x, _common.to_tf_forward(w), padding=padding, **settings)
    return _common.add_bias(y, b)


_conv_jit = jax.jit(_conv_body, static_argnames=(*_jit.CONV_STATIC, "padding_mode"))


def _conv(
    input: ArrayLike,
    weight: ArrayLike,
    bias: ArrayLike | None,
    *,
    fn: str,
    rank: int,
    stride: int | Sequence[int],
    padding: str | int | Sequence[int],
    dilation: int | Sequence[int],
    groups: int,
    padding_mode: str,
    precision: lax.PrecisionLike,
    preferred_element_type: DTypeLike | None,
    method: str,
    grad_method: str | tuple[str, str],
) -> jax.Array:
    """The implementation of ``conv1d``, ``conv2d`` and ``conv3d``."""
    x, unbatched = _common.data(fn, "input", input, rank)
    w = _common.weight(fn, weight, rank, x)
    ss = _common.ints(fn, "stride", stride, rank, 1)
    ds = _common.ints(fn, "dilation", dilation, rank, 1)
    ks = w.shape[2:]
    g = _common.groups(fn, groups, x.shape[1], w.shape[1], w.shape[0])
    _common.at_least_groups(fn, "weight.shape[0] (output channels)", w.shape[0], g)
    pads = _common.padding(fn, padding, rank, ks, ss, ds)
    _args.torch_window_fits(fn, x.shape[2:], ks, ds, pads)
    mode = _common.padding_mode(fn, padding_mode, x.shape[2:], pads)
    b = _common.bias(fn, bias, w.shape[0], x)
    pet = _args.element_type(fn, preferred_element_type)
    method, grad_method = _args.forward_methods(fn, method, grad_method, x.dtype, w.shape[1], pet)
    ms = [
        _shapes.conv_output_size(n, k, s, d, lo, hi)
        for n, k, s, d, (lo, hi) in zip(x.shape[2:], ks, ss, ds, pads)
    ]
    # PyTorch's result for zero input channels has zero channels too, whatever weight.shape[0]
    out = (x.shape[0], w.shape[0] if x.shape[1] else 0, *ms)
    if _shapes.is_zero_result(x.shape, w.shape, out):
        y = _jit.zeros(out, x.dtype, pet)
        y = _common.add_bias(y, b) if out[1] else y
        return y[0] if unbatched else y
    y = _conv_jit(
        x,
        w,
        b,
        strides=ss,
        padding=pads,
        dilations=ds,
        groups=g,
        padding_mode=mode,
        channels_first=True,
        precision=_args.precision(fn, precision),
        preferred_element_type=pet,
        method=method,
        grad_method=grad_method,
    )
    return y[0] if unbatched else y


def conv1d(
    input: ArrayLike,
    weight: ArrayLike,
    bias: ArrayLike | None = None,
    stride: int | Sequence[int] = 1,
    padding: str | int | Sequence[int] = 0,
    dilation: int | Sequence[int] = 1,
    groups: int = 1,
    *,
    padding_mode: str = "zeros",
    precision: lax.PrecisionLike = None,
    preferred_element_type: DTypeLike | None = None,
    method: str = "auto",
    grad_method: str | tuple[str, str] = "auto",
) -> jax.Array:
    """1-D convolution, ``torch.nn.functional.conv1d``.

    ``y[b, o, i] = bias[o] + sum_(c, t) x_pad[b, c, i * s + t * d] * w[o, c, t]`` over the input
    channels ``c`` of output channel ``o``'s group. Output size per spatial dim:
    ``floor((n + 2 * p - d * (k - 1) - 1) / s) + 1``; ``padding="same"`` (stride 1 only) pads
    ``d * (k - 1)`` in total, the odd one at the end, as PyTorch does.

    Args:
      input: ``(N, C_in, *spatial)`` or unbatched ``(C_in, *spatial)``, 1 spatial dim(s).
      weight: ``(C_out, C_in / groups, *k)``.
      bias: ``(C_out,)`` or None.
      stride, dilation: int or one per spatial dim (>= 1).
      padding: int, tuple, ``"same"`` or ``"valid"``.
      groups: splits the channels; must divide ``C_in`` and ``C_out``.
      padding_mode: ``"zeros"``, ``"reflect"``, ``"replicate"`` or ``"circular"``: how the
        ``padding`` is filled, as ``torch.nn.Conv*d(padding_mode=...)`` (which pads with
        ``F.pad`` and then convolves unpadded); reflect needs ``padding < n``, circular
        ``padding <= n``.
      precision, preferred_element_type: passed to XLA.
      method, grad_method: the derivations of the values and of the derivatives, as
        :func:`jconv.conv` (``grad_method="jax"``: JAX's own rule).

    Returns:
      ``(N, C_out, *out_spatial)`` (unbatched in, unbatched out).

    Raises:
      ValueError: group/channel mismatch, bad stride/padding/dilation, a kernel larger than the
        padded input, ``"same"`` with stride > 1, an unknown ``method`` / ``grad_method`` /
        ``padding_mode``, a reflect or circular padding too large for the input.
      TypeError: bad dtypes.

    Examples:
      >>> import jax.numpy as jnp, jconv.torch
      >>> jconv.torch.conv1d(jnp.ones((1, 2, 5)), jnp.ones((4, 1, 3)), groups=2).shape
      (1, 4, 3)

    See also: ``torch.nn.functional.conv1d``, :func:`jconv.conv1d`.
    """
    return _conv(
        input,
        weight,
        bias,
        fn="jconv.torch.conv1d",
        rank=1,
        stride=stride,
        padding=padding,
        dilation=dilation,
        groups=groups,
        padding_mode=padding_mode,
        precision=precision,
        preferred_element_type=preferred_element_type,
        method=method,
        grad_method=grad_method,
    )


def conv2d(
    input: ArrayLike,
    weight: ArrayLike,
    bias: ArrayLike | None = None,
    stride: int | Sequence[int] = 1,
    padding: str | int | Sequence[int] = 0,
    dilation: int | Sequence[int] = 1,
    groups: int = 1,
    *,
    padding_mode: str = "zeros",
    precision: lax.PrecisionLike = None,
    preferred_element_type: DTypeLike | None = None,
    method: str = "auto",
    grad_method: str | tuple[str, str] = "auto",
) -> jax.Array:
    """2-D convolution, ``torch.nn.functional.conv2d``.

    ``y[b, o, i] = bias[o] + sum_(c, t) x_pad[b, c, i * s + t * d] * w[o, c, t]`` over the input
    channels ``c`` of output channel ``o``'s group. Output size per spatial dim:
    ``floor((n + 2 * p - d * (k - 1) - 1) / s) + 1``; ``padding="same"`` (stride 1 only) pads
    ``d * (k - 1)`` in total, the odd one at the end, as PyTorch does.

    Args:
      input: ``(N, C_in, *spatial)`` or unbatched ``(C_in, *spatial)``, 2 spatial dim(s).
      weight: ``(C_out, C_in / groups, *k)``.
      bias: ``(C_out,)`` or None.
      stride, dilation: int or one per spatial dim (>= 1).
      padding: int, tuple, ``"same"`` or ``"valid"``.
      groups: splits the channels; must divide ``C_in`` and ``C_out``.
      padding_mode: ``"zeros"``, ``"reflect"``, ``"replicate"`` or ``"circular"``: how the
        ``padding`` is filled, as ``torch.nn.Conv*d(padding_mode=...)`` (which pads with
        ``F.pad`` and then convolves unpadded); reflect needs ``padding < n``, circular
        ``padding <= n``.
      precision, preferred_element_type: passed to XLA.
      method, grad_method: the derivations of the values and of the derivatives, as
        :func:`jconv.conv` (``grad_method="jax"``: JAX's own rule).

    Returns:
      ``(N, C_out, *out_spatial)`` (unbatched in, unbatched out).

    Raises:
      ValueError: group/channel mismatch, bad stride/padding/dilation, a kernel larger than the
        padded input, ``"same"`` with stride > 1, an unknown ``method`` / ``grad_method`` /
        ``padding_mode``, a reflect or circular padding too large for the input.
      TypeError: bad dtypes.

    Examples:
      >>> import jax.numpy as jnp, jconv.torch
      >>> jconv.torch.conv2d(jnp.ones((1, 2, 5, 5)), jnp.ones((4, 1, 3, 3)), groups=2).shape
      (1, 4, 3, 3)

    See also: ``torch.nn.functional.conv2d``, :func:`jconv.conv2d`.
    """
    return _conv(
        input,
        weight,
        bias,
        fn="jconv.torch.conv2d",
        rank=2,
        stride=stride,
        padding=padding,
        dilation=dilation,
        groups=groups,
        padding_mode=padding_mode,
        precision=precision,
        preferred_element_type=preferred_element_type,
        method=method,
        grad_method=grad_method,
    )


def conv3d(
    input: ArrayLike,
    weight: ArrayLike,
    bias: ArrayLike | None = None,
    stride: int | Sequence[int] = 1,
    padding: str | int | Sequence[int] = 0,
    dilation: int | Sequence[int] = 1,
    groups: int = 1,
    *,
    padding_mode: str = "zeros",
    precision: lax.PrecisionLike = None,
    preferred_element_type: DTypeLike | None = None,
    method: str = "auto",
    grad_method: str | tuple[str, str] = "auto",
) -> jax.Array:
    """3-D convolution, ``torch.nn.functional.conv3d``.

    ``y[b, o, i] = bias[o] + sum_(c, t) x_pad[b, c, i * s + t * d] * w[o, c, t]`` over the input
    channels ``c`` of output channel ``o``'s group. Output size per spatial dim:
    ``floor((n + 2 * p - d * (k - 1) - 1) / s) + 1``; ``padding="same"`` (stride 1 only) pads
    ``d * (k - 1)`` in total, the odd one at the end, as PyTorch does.

    Args:
      input: ``(N, C_in, *spatial)`` or unbatched ``(C_in, *spatial)``, 3 spatial dim(s).
      weight: ``(C_out, C_in / groups, *k)``.
      bias: ``(C_out,)`` or None.
      stride, dilation: int or one per spatial dim (>= 1).
      padding: int, tuple, ``"same"`` or ``"valid"``.
      groups: splits the channels; must divide ``C_in`` and ``C_out``.
      padding_mode: ``"zeros"``, ``"reflect"``, ``"replicate"`` or ``"circular"``: how the
        ``padding`` is filled, as ``torch.nn.Conv*d(padding_mode=...)`` (which pads with
        ``F.pad`` and then convolves unpadded); reflect needs ``padding < n``, circular
        ``padding <= n``.
      precision, preferred_element_type: passed to XLA.
      method, grad_method: the derivations of the values and of the derivatives, as
        :func:`jconv.conv` (``grad_method="jax"``: JAX's own rule).

    Returns:
      ``(N, C_out, *out_spatial)`` (unbatched in, unbatched out).

    Raises:
      ValueError: group/channel mismatch, bad stride/padding/dilation, a kernel larger than the
        padded input, ``"same"`` with stride > 1, an unknown ``method`` / ``grad_method`` /
        ``padding_mode``, a reflect or circular padding too large for the input.
      TypeError: bad dtypes.

    Examples:
      >>> import jax.numpy as jnp, jconv.torch
      >>> jconv.torch.conv3d(jnp.ones((1, 2, 5, 5, 5)), jnp.ones((4, 1, 3, 3, 3)), groups=2).shape
      (1, 4, 3, 3, 3)

    See also: ``torch.nn.functional.conv3d``, :func:`jconv.conv3d`.
    """
    return _conv(
        input,
        weight,
        bias,
        fn="jconv.torch.conv3d",
        rank=3,
        stride=stride,
        padding=padding,
        dilation=dilation,
        groups=groups,
        padding_mode=padding_mode,
        precision=precision,
        preferred_element_type=preferred_element_type,
        method=method,
        grad_method=grad_method,
    )
