"""TensorFlow's transposed convolutions: ``conv_transpose`` and ``conv{1,2,3}d_transpose``."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import jax
from jax import lax
from jax.typing import ArrayLike, DTypeLike

from jconv import _args, _jit, _shapes
from jconv._tf import _common


def _output_sizes(
    fn: str,
    output_shape: Sequence[int] | None,
    name: str,
    dy_shape: tuple[int, ...],
    rank: int,
    channels_first: bool,
    spec: Any,
    ks: Sequence[int],
    ss: Sequence[int],
    ds: Sequence[int],
    cin: int,
) -> tuple[tuple[int, ...], int]:
    """Chosen forward input sizes and channel count, each checked against the legal range."""
    ms = dy_shape[2:] if channels_first else dy_shape[1:-1]
    dims = [_common.dim_padding(spec, i) for i in range(rank)]
    channels = cin
    if output_shape is None:
        sizes = tuple(
            _shapes.tf_default_transpose_size(m, k, s, d, p)
            for m, k, s, d, p in zip(ms, ks, ss, ds, dims)
        )
    else:
        shape = _args.as_int_tuple(fn, name, output_shape)
        if len(shape) == rank + 2:
            batch = shape[0]
            channels = shape[1] if channels_first else shape[-1]
            sizes = shape[2:] if channels_first else shape[1:-1]
            if batch != dy_shape[0]:
                raise ValueError(
                    f"{fn}: {name} {list(shape)} has batch {batch} but the input has batch "
                    f"{dy_shape[0]}"
                )
        elif len(shape) == rank:
            sizes = shape
        else:
            raise ValueError(
                f"{fn}: {name} {list(shape)} has {len(shape)} entries; give the {rank} spatial "
                f"sizes or the full shape of {rank + 2}"
            )
    geometry = tuple(zip(ms, ks, ss, ds, dims))
    ranges = [_shapes.tf_transpose_size_range(*g[:4], g[4]) for g in geometry]
    _args.reachable(fn, name, "input", sizes, ranges, geometry)
    return tuple(sizes), channels


def transpose(
    dy: ArrayLike,
    filters: ArrayLike,
    output_shape: Sequence[int] | None,
    *,
    fn: str,
    rank: int | None,
    strides: int | Sequence[int],
    padding: str | Sequence[tuple[int, int]],
    data_format: str | None,
    dilations: int | Sequence[int],
    method: str,
    precision: lax.PrecisionLike,
    preferred_element_type: DTypeLike | None,
    dy_name: str = "input",
    shape_name: str = "output_shape",
) -> jax.Array:
    """The implementation of every transpose and input-gradient name (TensorFlow's)."""
    x, rank, channels_first, _ = _common.data(fn, dy_name, dy, rank, data_format)
    w = _common.filters(fn, filters, rank, x, dy_name)
    method = _args.method(fn, method, _jit.TRANSPOSE_METHODS)
    ss, spec, ds, prec, pet = _common.settings(
        fn, strides, padding, dilations, rank, channels_first, precision, preferred_element_type
    )
    ks = w.shape[:rank]
    cin = _common.channels(x.shape, channels_first)
    if w.shape[-1] != cin:
        raise ValueError(
            f"{fn}: {dy_name} has {cin} channels but filters.shape[-1] is {w.shape[-1]}; "
            f"filters are (*kernel_size, output_channels, {dy_name}_channels) as in "
            "tf.nn.conv2d_transpose"
        )
    sizes, cout = _output_sizes(
        fn, output_shape, shape_name, x.shape, rank, channels_first, spec, ks, ss, ds, w.shape[-2]
    )
    groups = _common.groups(
        fn,
        cout,
        w.shape[-2],
        cin,
        (shape_name, "filters.shape[-2] (output channels per group)", f"{dy_name} channels"),
    )
    pads, _ = _args.tf_forward_sizes(fn, spec, sizes, ks, ss, ds)
    n = x.shape[0]
    out = (n, cout, *sizes) if channels_first else (n, *sizes, cout)
    if _shapes.is_zero_result(x.shape, w.shape, out):
        return _jit.zeros(out, x.dtype, pet)
    return _jit.transpose(
        x,
        w,
        out_sizes=sizes,
        strides=ss,
        padding=pads,
        dilations=ds,
        groups=groups,
        channels_first=channels_first,
        method=method,
        precision=prec,
        preferred_element_type=pet,
    )


def conv_transpose(
    input: ArrayLike,
    filters: ArrayLike,
    output_shape: Sequence[int] | None = None,
    strides: int | Sequence[int] = 1,
    padding: str | Sequence[tuple[int, int]] = "SAME",
    data_format: str | None = None,
    dilations: int | Sequence[int] = 1,
    method: str = "auto",
    *,
    precision: lax.PrecisionLike = None,
    preferred_element_type: DTypeLike | None = None,
) -> jax.Array:
    """N-D transposed convolution with TensorFlow's semantics, like ``tf.nn.conv_transpose``.

    The transpose (input gradient) of :func:`jconv.conv` with the same filter, strides, padding
    and dilations: ``y[b, i * s + t * d - lo, c] += x[b, i, o] * w[t, c, o]`` (the scatter-add
    overlay, cropped to ``n``). Filters are the forward conv's ``(*k, out_channels / groups,
    in_channels)``: the *output* channels of this op come first, and the kernel is *not* flipped
    by the caller (the op correlates with ``rot180(filters)``). For ``s > 1`` up to ``s`` sizes
    ``n`` map to the same ``m``, so ``n`` is chosen: it must satisfy ``forward_output(n) == m``:

    * SAME: ``(m - 1) * s + 1 <= n <= m * s``, default ``m * s``;
    * VALID: ``(m - 1) * s + k_eff <= n <= (m - 1) * s + k_eff + s - 1``, default
      ``m * s + max(k_eff - s, 0)`` (Keras);
    * explicit ``(lo, hi)``: VALID's range shifted by ``-(lo + hi)``, default its smallest.

    Args:
      input: ``(N, *m, C_in)`` (or ``(N, C_in, *m)`` channels first).
      filters: ``(*k, C_out / groups, C_in)``.
      output_shape: ``None``, the spatial sizes, or the full output shape (whose channel entry
        sets ``C_out`` and so the groups).
      strides: int, one per spatial dim, or TF's full-rank form (the forward conv's).
      padding: ``"SAME"``, ``"VALID"``, one ``(lo, hi)`` pair per spatial dim or the full-rank
        pair list (the forward conv's).
      data_format: ``None`` (channels last) or a layout string as :func:`jconv.conv`.
      dilations: the forward conv's kernel dilation, int, per dim or full rank.
      method: ``"auto"`` or one of :data:`jconv.TRANSPOSE_METHODS`; all give the same values.
      precision, preferred_element_type: passed to XLA.

    Returns:
      ``(N, *n, C_out)`` in the input's layout.

    Raises:
      ValueError: an unreachable ``output_shape`` (the message gives the legal range), channel
        counts that do not match the filter or split into groups, bad strides, dilations or
        padding, wrong ranks, unknown methods.
      TypeError: non-float or mismatched dtypes, a traced ``output_shape``.

    Examples:
      >>> import jax.numpy as jnp, jconv
      >>> x, f = jnp.ones((1, 3, 3, 3, 8)), jnp.ones((2, 2, 2, 4, 8))
      >>> jconv.conv_transpose(x, f, strides=2).shape
      (1, 6, 6, 6, 4)

    See also: ``tf.nn.conv_transpose``, ``jconv.torch.conv_transpose2d``,
    ``jax.lax.conv_transpose`` (which needs ``transpose_kernel=True`` to match).
    """
    return transpose(
        input,
        filters,
        output_shape,
        fn="jconv.conv_transpose",
        rank=None,
        strides=strides,
        padding=padding,
        data_format=data_format,
        dilations=dilations,
        method=method,
        precision=precision,
        preferred_element_type=preferred_element_type,
    )


def conv1d_transpose(
    input: ArrayLike,
    filters: ArrayLike,
    output_shape: Sequence[int] | None = None,
    strides: int | Sequence[int] = 1,
    padding: str | Sequence[tuple[int, int]] = "SAME",
    data_format: str | None = "NWC",
    dilations: int | Sequence[int] = 1,
    method: str = "auto",
    *,
    precision: lax.PrecisionLike = None,
    preferred_element_type: DTypeLike | None = None,
) -> jax.Array:
    """1-D transposed convolution with TensorFlow's semantics, like ``tf.nn.conv1d_transpose``.

    The transpose (input gradient) of :func:`jconv.conv1d` with the same filter, strides, padding
    and dilations: ``y[b, i * s + t * d - lo, c] += x[b, i, o] * w[t, c, o]`` (the scatter-add
    overlay, cropped to ``n``). Filters are the forward conv's ``(*k, out_channels / groups,
    in_channels)``: the *output* channels of this op come first, and the kernel is *not* flipped
    by the caller (the op correlates with ``rot180(filters)``). For ``s > 1`` up to ``s`` sizes
    ``n`` map to the same ``m``, so ``n`` is chosen: it must satisfy ``forward_output(n) == m``:

    * SAME: ``(m - 1) * s + 1 <= n <= m * s``, default ``m * s``;
    * VALID: ``(m - 1) * s + k_eff <= n <= (m - 1) * s + k_eff + s - 1``, default
      ``m * s + max(k_eff - s, 0)`` (Keras);
    * explicit ``(lo, hi)``: VALID's range shifted by ``-(lo + hi)``, default its smallest.

    Args:
      input: ``(N, m, C_in)`` (or ``(N, C_in, m)`` with ``"NCW"``).
      filters: ``(k, C_out / groups, C_in)``.
      output_shape: ``None``, the spatial sizes, or the full output shape (whose channel entry
        sets ``C_out`` and so the groups).
      strides: int, ``[s]`` or the full-rank form (the forward conv's).
      padding: ``"SAME"``, ``"VALID"``, one ``(lo, hi)`` pair per spatial dim or the full-rank
        pair list (the forward conv's).
      data_format: ``"NWC"`` or ``"NCW"``.
      dilations: the forward conv's kernel dilation, int, per dim or full rank.
      method: ``"auto"`` or one of :data:`jconv.TRANSPOSE_METHODS`; all give the same values.
      precision, preferred_element_type: passed to XLA.

    Returns:
      ``(N, n, C_out)`` in the input's layout.

    Raises:
      ValueError: an unreachable ``output_shape`` (the message gives the legal range), channel
        counts that do not match the filter or split into groups, bad strides, dilations or
        padding, wrong ranks, unknown methods.
      TypeError: non-float or mismatched dtypes, a traced ``output_shape``.

    Examples:
      >>> import jax.numpy as jnp, jconv
      >>> x, f = jnp.ones((1, 2, 1)), jnp.ones((3, 1, 1))
      >>> jconv.conv1d_transpose(x, f, strides=2, padding="VALID")[0, :, 0]
      Array([1., 1., 2., 1., 1.], dtype=float32)

    See also: ``tf.nn.conv1d_transpose``, ``jconv.torch.conv_transpose1d``,
    ``jax.lax.conv_transpose`` (which needs ``transpose_kernel=True`` to match).
    """
    return transpose(
        input,
        filters,
        output_shape,
        fn="jconv.conv1d_transpose",
        rank=1,
        strides=strides,
        padding=padding,
        data_format=data_format,
        dilations=dilations,
        method=method,
        precision=precision,
        preferred_element_type=preferred_element_type,
    )


def conv2d_transpose(
    input: ArrayLike,
    filters: ArrayLike,
    output_shape: Sequence[int] | None = None,
    strides: int | Sequence[int] = 1,
    padding: str | Sequence[tuple[int, int]] = "SAME",
    data_format: str | None = "NHWC",
    dilations: int | Sequence[int] = 1,
    method: str = "auto",
    *,
    precision: lax.PrecisionLike = None,
    preferred_element_type: DTypeLike | None = None,
) -> jax.Array:
    """2-D transposed convolution with TensorFlow's semantics, like ``tf.nn.conv2d_transpose``.

    The transpose (input gradient) of :func:`jconv.conv2d` with the same filter, strides, padding
    and dilations: ``y[b, i * s + t * d - lo, c] += x[b, i, o] * w[t, c, o]`` (the scatter-add
    overlay, cropped to ``n``). Filters are the forward conv's ``(*k, out_channels / groups,
    in_channels)``: the *output* channels of this op come first, and the kernel is *not* flipped
    by the caller (the op correlates with ``rot180(filters)``). For ``s > 1`` up to ``s`` sizes
    ``n`` map to the same ``m``, so ``n`` is chosen: it must satisfy ``forward_output(n) == m``:

    * SAME: ``(m - 1) * s + 1 <= n <= m * s``, default ``m * s``;
    * VALID: ``(m - 1) * s + k_eff <= n <= (m - 1) * s + k_eff + s - 1``, default
      ``m * s + max(k_eff - s, 0)`` (Keras);
    * explicit ``(lo, hi)``: VALID's range shifted by ``-(lo + hi)``, default its smallest.

    Args:
      input: ``(N, mh, mw, C_in)`` (or ``(N, C_in, mh, mw)`` with ``"NCHW"``).
      filters: ``(kh, kw, C_out / groups, C_in)``.
      output_shape: ``None``, the spatial sizes, or the full output shape (whose channel entry
        sets ``C_out`` and so the groups).
      strides: int, ``[sh, sw]`` or the full-rank form (the forward conv's).
      padding: ``"SAME"``, ``"VALID"``, one ``(lo, hi)`` pair per spatial dim or the full-rank
        pair list (the forward conv's).
      data_format: ``"NHWC"`` or ``"NCHW"``.
      dilations: the forward conv's kernel dilation, int, per dim or full rank.
      method: ``"auto"`` or one of :data:`jconv.TRANSPOSE_METHODS`; all give the same values.
      precision, preferred_element_type: passed to XLA.

    Returns:
      ``(N, nh, nw, C_out)`` in the input's layout.

    Raises:
      ValueError: an unreachable ``output_shape`` (the message gives the legal range), channel
        counts that do not match the filter or split into groups, bad strides, dilations or
        padding, wrong ranks, unknown methods.
      TypeError: non-float or mismatched dtypes, a traced ``output_shape``.

    Examples:
      >>> import jax.numpy as jnp, jconv
      >>> x = jnp.array([[-67., -77.], [-117., -127.]]).reshape(1, 2, 2, 1)
      >>> f = jnp.array([[-1., 2., -3.], [4., -5., 6.], [-7., 8., -9.]]).reshape(3, 3, 1, 1)
      >>> y = jconv.conv2d_transpose(x, f, (1, 5, 5, 1), strides=2, padding="VALID")
      >>> y[0, 0, :, 0]
      Array([  67., -134.,  278., -154.,  231.], dtype=float32)

    See also: ``tf.nn.conv2d_transpose``, ``jconv.torch.conv_transpose2d``,
    ``jax.lax.conv_transpose`` (which needs ``transpose_kernel=True`` to match).
    """
    return transpose(
        input,
        filters,
        output_shape,
        fn="jconv.conv2d_transpose",
        rank=2,
        strides=strides,
        padding=padding,
        data_format=data_format,
        dilations=dilations,
        method=method,
        precision=precision,
        preferred_element_type=preferred_element_type,
    )


def conv3d_transpose(
    input: ArrayLike,
    filters: ArrayLike,
    output_shape: Sequence[int] | None = None,
    strides: int | Sequence[int] = 1,
    padding: str | Sequence[tuple[int, int]] = "SAME",
    data_format: str | None = "NDHWC",
    dilations: int | Sequence[int] = 1,
    method: str = "auto",
    *,
    precision: lax.PrecisionLike = None,
    preferred_element_type: DTypeLike | None = None,
) -> jax.Array:
    """3-D transposed convolution with TensorFlow's semantics, like ``tf.nn.conv3d_transpose``.

    The transpose (input gradient) of :func:`jconv.conv3d` with the same filter, strides, padding
    and dilations: ``y[b, i * s + t * d - lo, c] += x[b, i, o] * w[t, c, o]`` (the scatter-add
    overlay, cropped to ``n``). Filters are the forward conv's ``(*k, out_channels / groups,
    in_channels)``: the *output* channels of this op come first, and the kernel is *not* flipped
    by the caller (the op correlates with ``rot180(filters)``). For ``s > 1`` up to ``s`` sizes
    ``n`` map to the same ``m``, so ``n`` is chosen: it must satisfy ``forward_output(n) == m``:

    * SAME: ``(m - 1) * s + 1 <= n <= m * s``, default ``m * s``;
    * VALID: ``(m - 1) * s + k_eff <= n <= (m - 1) * s + k_eff + s - 1``, default
      ``m * s + max(k_eff - s, 0)`` (Keras);
    * explicit ``(lo, hi)``: VALID's range shifted by ``-(lo + hi)``, default its smallest.

    Args:
      input: ``(N, md, mh, mw, C_in)`` (or channels first with ``"NCDHW"``).
      filters: ``(kd, kh, kw, C_out / groups, C_in)``.
      output_shape: ``None``, the spatial sizes, or the full output shape (whose channel entry
        sets ``C_out`` and so the groups).
      strides: int, ``[sd, sh, sw]`` or the full-rank form (the forward conv's).
      padding: ``"SAME"``, ``"VALID"``, one ``(lo, hi)`` pair per spatial dim or the full-rank
        pair list (the forward conv's).
      data_format: ``"NDHWC"`` or ``"NCDHW"``.
      dilations: the forward conv's kernel dilation, int, per dim or full rank.
      method: ``"auto"`` or one of :data:`jconv.TRANSPOSE_METHODS`; all give the same values.
      precision, preferred_element_type: passed to XLA.

    Returns:
      ``(N, nd, nh, nw, C_out)`` in the input's layout.

    Raises:
      ValueError: an unreachable ``output_shape`` (the message gives the legal range), channel
        counts that do not match the filter or split into groups, bad strides, dilations or
        padding, wrong ranks, unknown methods.
      TypeError: non-float or mismatched dtypes, a traced ``output_shape``.

    Examples:
      >>> import jax.numpy as jnp, jconv
      >>> x, f = jnp.ones((1, 2, 2, 2, 4)), jnp.ones((3, 3, 3, 2, 4))
      >>> jconv.conv3d_transpose(x, f, (1, 4, 4, 3, 2), strides=2).shape
      (1, 4, 4, 3, 2)

    See also: ``tf.nn.conv3d_transpose``, ``jconv.torch.conv_transpose3d``,
    ``jax.lax.conv_transpose`` (which needs ``transpose_kernel=True`` to match).
    """
    return transpose(
        input,
        filters,
        output_shape,
        fn="jconv.conv3d_transpose",
        rank=3,
        strides=strides,
        padding=padding,
        data_format=data_format,
        dilations=dilations,
        method=method,
        precision=precision,
        preferred_element_type=preferred_element_type,
    )
