"""TensorFlow's forward convolutions: ``tf.nn.convolution``, ``conv1d``, ``conv2d``, ``conv3d``."""

from __future__ import annotations

from collections.abc import Sequence

import jax
from jax import lax
from jax.typing import ArrayLike, DTypeLike

from jconv import _args, _jit, _shapes
from jconv._tf import _common


def _conv(
    input: ArrayLike,
    filters: ArrayLike,
    *,
    fn: str,
    rank: int | None,
    strides: int | Sequence[int],
    padding: str | Sequence[tuple[int, int]],
    data_format: str | None,
    dilations: int | Sequence[int],
    precision: lax.PrecisionLike,
    preferred_element_type: DTypeLike | None,
    method: str,
    grad_method: str | tuple[str, str],
    strides_name: str = "strides",
) -> jax.Array:
    """The implementation of every forward conv name: normalise, validate, call the jit entry."""
    x, rank, channels_first, sizes = _common.data(fn, "input", input, rank, data_format)
    w = _common.filters(fn, filters, rank, x, "input", forward=True)
    ss, spec, ds, prec, pet = _common.settings(
        fn,
        strides,
        padding,
        dilations,
        rank,
        channels_first,
        precision,
        preferred_element_type,
        strides_name,
    )
    ks = w.shape[:rank]
    groups = _common.groups(
        fn,
        _common.channels(x.shape, channels_first),
        w.shape[-2],
        w.shape[-1],
        ("input", "filters.shape[-2] (in_channels per group)", "out_channels"),
    )
    method, grad_method = _args.forward_methods(fn, method, grad_method, x.dtype, w.shape[-2], pet)
    pads, ms = _args.tf_forward_sizes(fn, spec, sizes, ks, ss, ds)
    cout = w.shape[-1]
    out = (x.shape[0], cout, *ms) if channels_first else (x.shape[0], *ms, cout)
    if _shapes.is_zero_result(x.shape, w.shape, out):
        return _jit.zeros(out, x.dtype, pet)
    return _jit.conv(
        x,
        w,
        strides=ss,
        padding=pads,
        dilations=ds,
        groups=groups,
        channels_first=channels_first,
        precision=prec,
        preferred_element_type=pet,
        method=method,
        grad_method=grad_method,
    )


def conv(
    input: ArrayLike,
    filters: ArrayLike,
    strides: int | Sequence[int] = 1,
    padding: str | Sequence[tuple[int, int]] = "VALID",
    data_format: str | None = None,
    dilations: int | Sequence[int] = 1,
    *,
    precision: lax.PrecisionLike = None,
    preferred_element_type: DTypeLike | None = None,
    method: str = "auto",
    grad_method: str | tuple[str, str] = "auto",
) -> jax.Array:
    """N-D convolution (cross-correlation) with TensorFlow's semantics, like ``tf.nn.convolution``.

    ``y[b, i, o] = sum_(t, c) x_pad[b, i * s + t * d, c] * w[t, c, o]`` over the input channels
    ``c`` of output channel ``o``'s group. Per spatial dim the output size is
    ``floor((n + lo + hi - k_eff) / s) + 1`` with ``k_eff = (k - 1) * d + 1``; SAME gives
    ``ceil(n / s)`` and pads ``lo = total // 2`` before, the rest after (TensorFlow's split, the
    odd pad after); VALID pads nothing. A window that misses the padded input by less than ``s``
    gives an empty output, as TensorFlow's size ``(n + lo + hi - k_eff + s) / s`` truncates to 0.

    Args:
      input: ``(N, *spatial, C_in)`` (or ``(N, C_in, *spatial)`` with a channels-first
        ``data_format``); the number of spatial dims is ``input.ndim - 2``.
      filters: ``(*k, C_in / groups, C_out)``; ``groups = C_in / filters.shape[-2]`` as in TF.
      strides: int, one per spatial dim, or TF's full-rank form.
      padding: ``"SAME"``, ``"VALID"``, one ``(lo, hi)`` pair per spatial dim, or the full-rank
        pair list.
      data_format: ``None`` (channels last), ``"NWC"/"NCW"``, ``"NHWC"/"NCHW"``,
        ``"NDHWC"/"NCDHW"``.
      dilations: kernel dilation; int, per dim, or full rank.
      precision: ``None``, ``"highest"``... or ``lax.Precision``, passed to XLA.
      preferred_element_type: accumulation/output dtype passed to XLA.
      method: how the values are computed (:data:`jconv.FORWARD_METHODS`): ``"xla"`` (XLA's
        conv), ``"onednn"`` (oneDNN's direct kernel; float32 on CPU), ``"patches"`` (one matmul
        over gathered taps), ``"taps"`` (depthwise only: a multiply-add per tap); ``"auto"``
        chooses (:func:`jconv.derivations.auto.forward_method`).
      grad_method: the derivation of the derivatives. ``"auto"``: the input gradient is
        :func:`conv_transpose`'s ``method="auto"`` and the filter gradient
        :func:`conv_backprop_filter`'s; a pair ``(input_method, filter_method)`` names them
        (:data:`jconv.TRANSPOSE_METHODS`, :data:`jconv.FILTER_GRAD_METHODS`); ``"jax"``: JAX
        differentiates ``method``'s program (with ``method="xla"``, exactly
        ``lax.conv_general_dilated``'s own rule). Forward mode, ``vmap`` and higher orders
        follow the same choice.

    Returns:
      ``(N, *out_spatial, C_out)`` in the input's layout.

    Raises:
      ValueError: bad ranks, channel counts that do not split into groups, non-positive
        strides/dilations, unknown or negative padding, a window larger than the padded input by
        the stride or more, a filter without taps; an unknown ``method`` / ``grad_method``,
        ``"onednn"`` where oneDNN does not run, ``"taps"`` for a conv that is not depthwise.
      TypeError: non-float dtypes, mismatched dtypes.

    Examples:
      >>> import jax.numpy as jnp, jconv
      >>> jconv.conv(jnp.ones((1, 5, 5, 1)), jnp.ones((3, 3, 1, 1)), strides=2)[0, ..., 0]
      Array([[9., 9.],
             [9., 9.]], dtype=float32)

    See also: ``tf.nn.convolution``, ``jax.lax.conv_general_dilated``, ``jconv.torch.conv2d``.
    """
    return _conv(
        input,
        filters,
        fn="jconv.conv",
        rank=None,
        strides=strides,
        padding=padding,
        data_format=data_format,
        dilations=dilations,
        precision=precision,
        preferred_element_type=preferred_element_type,
        method=method,
        grad_method=grad_method,
    )


def conv1d(
    input: ArrayLike,
    filters: ArrayLike,
    stride: int | Sequence[int] = 1,
    padding: str | Sequence[tuple[int, int]] = "VALID",
    data_format: str | None = "NWC",
    dilations: int | Sequence[int] = 1,
    *,
    precision: lax.PrecisionLike = None,
    preferred_element_type: DTypeLike | None = None,
    method: str = "auto",
    grad_method: str | tuple[str, str] = "auto",
) -> jax.Array:
    """1-D convolution, ``tf.nn.conv1d``: :func:`conv` with one spatial dim.

    ``y[b, i, o] = sum_(t, c) x_pad[b, i * s + t * d, c] * w[t, c, o]``; output width
    ``floor((n + lo + hi - k_eff) / s) + 1``, ``k_eff = (k - 1) * d + 1``; SAME gives
    ``ceil(n / s)`` with the odd pad after, as TensorFlow.

    Args:
      input: ``(N, W, C_in)``, or ``(N, C_in, W)`` with ``data_format="NCW"``.
      filters: ``(k, C_in / groups, C_out)``.
      stride: int, ``[s]`` or the full-rank form (TensorFlow names it ``stride`` here).
      padding: ``"SAME"``, ``"VALID"``, ``[(lo, hi)]`` or the full-rank pair list.
      data_format: ``"NWC"`` or ``"NCW"``.
      dilations: kernel dilation, int or per dim.
      precision, preferred_element_type: passed to XLA.
      method, grad_method: the derivations of the values and of the derivatives, as
        :func:`conv`.

    Returns:
      ``(N, W_out, C_out)`` in the input's layout.

    Raises:
      ValueError, TypeError: as :func:`conv`.

    Examples:
      >>> import jax.numpy as jnp, jconv
      >>> jconv.conv1d(jnp.arange(5.0).reshape(1, 5, 1), jnp.ones((2, 1, 1)))[0, :, 0]
      Array([1., 3., 5., 7.], dtype=float32)

    See also: ``tf.nn.conv1d``, ``jconv.torch.conv1d``.
    """
    return _conv(
        input,
        filters,
        fn="jconv.conv1d",
        rank=1,
        strides=stride,
        padding=padding,
        data_format=data_format,
        dilations=dilations,
        precision=precision,
        preferred_element_type=preferred_element_type,
        method=method,
        grad_method=grad_method,
        strides_name="stride",
    )


def conv2d(
    input: ArrayLike,
    filters: ArrayLike,
    strides: int | Sequence[int] = 1,
    padding: str | Sequence[tuple[int, int]] = "VALID",
    data_format: str | None = "NHWC",
    dilations: int | Sequence[int] = 1,
    *,
    precision: lax.PrecisionLike = None,
    preferred_element_type: DTypeLike | None = None,
    method: str = "auto",
    grad_method: str | tuple[str, str] = "auto",
) -> jax.Array:
    """2-D convolution, ``tf.nn.conv2d``: :func:`conv` with two spatial dims.

    Per dim the output size is ``floor((n + lo + hi - k_eff) / s) + 1`` with
    ``k_eff = (k - 1) * d + 1``; SAME gives ``ceil(n / s)`` with the odd pad after, as TensorFlow.

    Args:
      input: ``(N, H, W, C_in)``, or ``(N, C_in, H, W)`` with ``data_format="NCHW"``.
      filters: ``(kh, kw, C_in / groups, C_out)``.
      strides: int, ``[sh, sw]`` or the full-rank form.
      padding: ``"SAME"``, ``"VALID"``, two ``(lo, hi)`` pairs or the full-rank pair list.
      data_format: ``"NHWC"`` or ``"NCHW"``.
      dilations: kernel dilation, int, per dim or full rank.
      precision, preferred_element_type: passed to XLA.
      method, grad_method: the derivations of the values and of the derivatives, as
        :func:`conv`.

    Returns:
      ``(N, H_out, W_out, C_out)`` in the input's layout.

    Raises:
      ValueError, TypeError: as :func:`conv`.

    Examples:
      >>> import jax.numpy as jnp, jconv
      >>> jconv.conv2d(jnp.ones((1, 4, 4, 2)), jnp.ones((3, 3, 2, 5)), padding="SAME").shape
      (1, 4, 4, 5)

    See also: ``tf.nn.conv2d``, ``jconv.torch.conv2d``.
    """
    return _conv(
        input,
        filters,
        fn="jconv.conv2d",
        rank=2,
        strides=strides,
        padding=padding,
        data_format=data_format,
        dilations=dilations,
        precision=precision,
        preferred_element_type=preferred_element_type,
        method=method,
        grad_method=grad_method,
    )


def conv3d(
    input: ArrayLike,
    filters: ArrayLike,
    strides: int | Sequence[int] = 1,
    padding: str | Sequence[tuple[int, int]] = "VALID",
    data_format: str | None = "NDHWC",
    dilations: int | Sequence[int] = 1,
    *,
    precision: lax.PrecisionLike = None,
    preferred_element_type: DTypeLike | None = None,
    method: str = "auto",
    grad_method: str | tuple[str, str] = "auto",
) -> jax.Array:
    """3-D convolution, ``tf.nn.conv3d``: :func:`conv` with three spatial dims.

    Per dim the output size is ``floor((n + lo + hi - k_eff) / s) + 1`` with
    ``k_eff = (k - 1) * d + 1``; SAME gives ``ceil(n / s)`` with the odd pad after, as TensorFlow.

    Args:
      input: ``(N, D, H, W, C_in)``, or ``(N, C_in, D, H, W)`` with ``data_format="NCDHW"``.
      filters: ``(kd, kh, kw, C_in / groups, C_out)``.
      strides: int, ``[sd, sh, sw]`` or the full-rank form.
      padding: ``"SAME"``, ``"VALID"``, three ``(lo, hi)`` pairs or the full-rank pair list.
      data_format: ``"NDHWC"`` or ``"NCDHW"``.
      dilations: kernel dilation, int, per dim or full rank.
      precision, preferred_element_type: passed to XLA.
      method, grad_method: the derivations of the values and of the derivatives, as
        :func:`conv`.

    Returns:
      ``(N, D_out, H_out, W_out, C_out)`` in the input's layout.

    Raises:
      ValueError, TypeError: as :func:`conv`.

    Examples:
      >>> import jax.numpy as jnp, jconv
      >>> jconv.conv3d(jnp.ones((1, 4, 4, 4, 1)), jnp.ones((2, 2, 2, 1, 3)), strides=2).shape
      (1, 2, 2, 2, 3)

    See also: ``tf.nn.conv3d``, ``jconv.torch.conv3d``.
    """
    return _conv(
        input,
        filters,
        fn="jconv.conv3d",
        rank=3,
        strides=strides,
        padding=padding,
        data_format=data_format,
        dilations=dilations,
        precision=precision,
        preferred_element_type=preferred_element_type,
        method=method,
        grad_method=grad_method,
    )
