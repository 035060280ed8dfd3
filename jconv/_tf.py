"""TensorFlow-style wrappers: normalise arguments, validate, call one derivation under jit."""

from __future__ import annotations

from jconv import _args, _jit, _layout, _shapes, derivations

TRANSPOSE_METHODS = tuple(derivations.TRANSPOSE)
FILTER_GRAD_METHODS = tuple(derivations.FILTER_GRAD)


def _pad_repr(spec) -> str:
    """One dim's padding for messages: 'SAME', 'VALID' or (lo, hi)."""
    return repr(spec) if isinstance(spec, str) else repr(tuple(spec))


# ---------------------------------------------------------------------------------------------
# validation


def _data(fn, name, value, rank, data_format):
    """An inexact array of rank ``rank + 2`` (any rank >= 3 when ``rank`` is None)."""
    value = _args.array(fn, name, value)
    if rank is None:
        if value.ndim < 3:
            raise ValueError(
                f"{fn}: {name} has shape {value.shape}; it needs a batch, at least one spatial "
                "and a channel dimension"
            )
        rank = value.ndim - 2
    elif value.ndim != rank + 2:
        layout = data_format or _layout.default_data_format(rank)
        raise ValueError(
            f"{fn}: {name} has shape {value.shape} ({value.ndim} dims); {layout} needs "
            f"{rank + 2} dims"
        )
    channels_first = _layout.parse_data_format(fn, data_format, rank)
    spatial = value.shape[2:] if channels_first else value.shape[1:-1]
    return value, rank, channels_first, tuple(spatial)


def _channels(shape, channels_first):
    return shape[1] if channels_first else shape[-1]


def _filters(fn, filters, rank, dtype_of, dtype_name, *, forward=False):
    """TensorFlow's forward conv refuses a filter without taps; its transposes and gradients
    accept one (their result is then all zeros)."""
    filters = _args.array(fn, "filters", filters)
    if filters.ndim != rank + 2:
        raise ValueError(
            f"{fn}: filters has shape {filters.shape}; expected {rank + 2} dims "
            f"(*kernel_size, in_channels, out_channels) for {rank} spatial dim(s)"
        )
    if forward and any(k < 1 for k in filters.shape[:rank]):
        raise ValueError(
            f"{fn}: filters has shape {filters.shape}; kernel sizes must be >= 1 (TensorFlow's "
            "forward conv refuses a filter with zero taps)"
        )
    _args.same_dtype(fn, (dtype_name, "filters"), dtype_of, filters)
    return filters


def _groups(fn, channels, per_group, out_channels, what):
    """Groups = channels / per_group; both channel counts must split evenly."""
    if per_group < 1:
        raise ValueError(
            f"{fn}: {what[1]} is {per_group}; it must be >= 1 (TensorFlow refuses a filter "
            "depth of 0)"
        )
    if channels % per_group:
        raise ValueError(
            f"{fn}: {what[0]} has {channels} channels, which is not a multiple of {what[1]} "
            f"{per_group}; it must divide {channels}"
        )
    groups = channels // per_group
    if out_channels % groups:
        raise ValueError(
            f"{fn}: {channels} / {per_group} = {groups} groups, but {what[2]} {out_channels} "
            f"is not divisible by {groups}"
        )
    return groups


def _check_window(fn, rank, spec, n, k, s, d, lo, hi, i):
    """TensorFlow refuses a negative output size; a window that misses the padded input by less
    than the stride gives an empty output (:func:`_shapes.tf_forward_size`)."""
    m = _shapes.tf_forward_size(spec, n, k, s, d)
    if m < 0:
        k_eff = _shapes.effective_kernel_size(k, d)
        raise ValueError(
            f"{fn}: the window is larger than the padded input in {_args.dim_name(rank, i)}: "
            f"kernel {k} dilated by {d} spans {k_eff}, the input {n} padded by ({lo}, {hi}) is "
            f"{n + lo + hi}, so TensorFlow's output size (n + lo + hi - k_eff + s) / s = "
            f"({n + lo + hi} - {k_eff} + {s}) / {s} is negative; it must be >= 0: pad more or "
            "use a smaller kernel/dilation"
        )
    return m


def _forward_padding(fn, spec, sizes, ks, ss, ds, rank):
    pads = tuple(
        _shapes.resolve_padding(spec if isinstance(spec, str) else spec[i], n, k, s, d)
        for i, (n, k, s, d) in enumerate(zip(sizes, ks, ss, ds))
    )
    ms = tuple(
        _check_window(fn, rank, spec if isinstance(spec, str) else spec[i], n, k, s, d, lo, hi, i)
        for i, (n, k, s, d, (lo, hi)) in enumerate(zip(sizes, ks, ss, ds, pads))
    )
    return pads, ms


def _settings(
    fn,
    strides,
    padding,
    dilations,
    rank,
    channels_first,
    precision,
    preferred_element_type,
    strides_name="strides",
):
    return (
        _args.ints_per_dim(fn, strides_name, strides, rank, channels_first),
        _args.padding_spec(fn, padding, rank, channels_first),
        _args.ints_per_dim(fn, "dilations", dilations, rank, channels_first),
        _args.precision(fn, precision),
        _args.element_type(fn, preferred_element_type),
    )


# ---------------------------------------------------------------------------------------------
# forward convolution


def _conv(
    fn,
    rank,
    x,
    filters,
    strides,
    padding,
    data_format,
    dilations,
    precision,
    preferred_element_type,
    strides_name="strides",
):
    x, rank, channels_first, sizes = _data(fn, "input", x, rank, data_format)
    filters = _filters(fn, filters, rank, x, "input", forward=True)
    ss, spec, ds, precision, pet = _settings(
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
    ks = filters.shape[:rank]
    groups = _groups(
        fn,
        _channels(x.shape, channels_first),
        filters.shape[-2],
        filters.shape[-1],
        ("input", "filters.shape[-2] (in_channels per group)", "out_channels"),
    )
    pads, ms = _forward_padding(fn, spec, sizes, ks, ss, ds, rank)
    cout = filters.shape[-1]
    out = (x.shape[0], cout, *ms) if channels_first else (x.shape[0], *ms, cout)
    if _shapes.is_zero_result(x.shape, filters.shape, out):
        return _jit.zeros(out, x.dtype, pet)
    return _jit.conv(
        x,
        filters,
        strides=ss,
        padding=pads,
        dilations=ds,
        groups=groups,
        channels_first=channels_first,
        precision=precision,
        preferred_element_type=pet,
    )


def conv(
    input,
    filters,
    strides=1,
    padding="VALID",
    data_format=None,
    dilations=1,
    *,
    precision=None,
    preferred_element_type=None,
):
    """N-D convolution (cross-correlation) with TensorFlow's semantics, like ``tf.nn.convolution``.

    Per spatial dim the output size is ``floor((n + lo + hi - k_eff) / s) + 1`` with
    ``k_eff = (k - 1) * d + 1``; SAME gives ``ceil(n / s)`` and pads ``lo = total // 2`` before,
    the rest after; VALID pads nothing.

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

    Returns:
      ``(N, *out_spatial, C_out)`` in the input's layout.

    Raises:
      ValueError: bad ranks, channel counts that do not split into groups, non-positive
        strides/dilations, unknown or negative padding, a window larger than the padded input.
      TypeError: non-float dtypes, mismatched dtypes.

    Examples:
      >>> import jax.numpy as jnp, jconv
      >>> jconv.conv(jnp.ones((1, 5, 5, 1)), jnp.ones((3, 3, 1, 1)), strides=2)[0, ..., 0]
      Array([[9., 9.],
             [9., 9.]], dtype=float32)

    See also: ``tf.nn.convolution``, ``jax.lax.conv_general_dilated``, ``jconv.torch.conv2d``.
    """
    return _conv(
        "jconv.conv",
        None,
        input,
        filters,
        strides,
        padding,
        data_format,
        dilations,
        precision,
        preferred_element_type,
    )


def conv1d(
    input,
    filters,
    stride=1,
    padding="VALID",
    data_format="NWC",
    dilations=1,
    *,
    precision=None,
    preferred_element_type=None,
):
    """1-D convolution, ``tf.nn.conv1d``: :func:`conv` with one spatial dim (``stride``, as TF).

    Examples:
      >>> import jax.numpy as jnp, jconv
      >>> jconv.conv1d(jnp.arange(5.0).reshape(1, 5, 1), jnp.ones((2, 1, 1)))[0, :, 0]
      Array([1., 3., 5., 7.], dtype=float32)
    """
    return _conv(
        "jconv.conv1d",
        1,
        input,
        filters,
        stride,
        padding,
        data_format,
        dilations,
        precision,
        preferred_element_type,
        strides_name="stride",
    )


def conv2d(
    input,
    filters,
    strides=1,
    padding="VALID",
    data_format="NHWC",
    dilations=1,
    *,
    precision=None,
    preferred_element_type=None,
):
    """2-D convolution, ``tf.nn.conv2d``: :func:`conv` with two spatial dims.

    Examples:
      >>> import jax.numpy as jnp, jconv
      >>> jconv.conv2d(jnp.ones((1, 4, 4, 2)), jnp.ones((3, 3, 2, 5)), padding="SAME").shape
      (1, 4, 4, 5)
    """
    return _conv(
        "jconv.conv2d",
        2,
        input,
        filters,
        strides,
        padding,
        data_format,
        dilations,
        precision,
        preferred_element_type,
    )


def conv3d(
    input,
    filters,
    strides=1,
    padding="VALID",
    data_format="NDHWC",
    dilations=1,
    *,
    precision=None,
    preferred_element_type=None,
):
    """3-D convolution, ``tf.nn.conv3d``: :func:`conv` with three spatial dims.

    Examples:
      >>> import jax.numpy as jnp, jconv
      >>> jconv.conv3d(jnp.ones((1, 4, 4, 4, 1)), jnp.ones((2, 2, 2, 1, 3)), strides=2).shape
      (1, 2, 2, 2, 3)
    """
    return _conv(
        "jconv.conv3d",
        3,
        input,
        filters,
        strides,
        padding,
        data_format,
        dilations,
        precision,
        preferred_element_type,
    )


# ---------------------------------------------------------------------------------------------
# transposed convolution / input gradient


def _output_sizes(fn, output_shape, name, dy_shape, rank, channels_first, spec, ks, ss, ds, cin):
    """Chosen forward input sizes and channel count, each checked against the legal range."""
    ms = dy_shape[2:] if channels_first else dy_shape[1:-1]
    dims = [spec if isinstance(spec, str) else spec[i] for i in range(rank)]
    ranges = [
        _shapes.tf_transpose_size_range(m, k, s, d, p)
        for m, k, s, d, p in zip(ms, ks, ss, ds, dims)
    ]
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
    for i, (n, (lo_n, hi_n), m) in enumerate(zip(sizes, ranges, ms)):
        dim = _args.dim_name(rank, i)
        if lo_n > hi_n:
            raise ValueError(
                f"{fn}: no {dim} is reachable from input {dim} {m} with kernel {ks[i]}, stride "
                f"{ss[i]}, dilation {ds[i]} and padding {_pad_repr(dims[i])}: the padding is "
                "larger than the whole window span"
            )
        if not lo_n <= n <= hi_n:
            raise ValueError(
                f"{fn}: {name} {dim} {n} is not reachable from input {dim} {m} with kernel "
                f"{ks[i]}, stride {ss[i]}, dilation {ds[i]}, padding {_pad_repr(dims[i])}: "
                f"valid {dim}s are {lo_n}..{hi_n}"
            )
    return tuple(sizes), channels


def _transpose(
    fn,
    rank,
    dy,
    filters,
    output_shape,
    strides,
    padding,
    data_format,
    dilations,
    method,
    precision,
    preferred_element_type,
    *,
    dy_name="input",
    shape_name="output_shape",
):
    dy, rank, channels_first, _ = _data(fn, dy_name, dy, rank, data_format)
    filters = _filters(fn, filters, rank, dy, dy_name)
    method = _args.method(fn, method, TRANSPOSE_METHODS)
    ss, spec, ds, precision, pet = _settings(
        fn, strides, padding, dilations, rank, channels_first, precision, preferred_element_type
    )
    ks = filters.shape[:rank]
    cin = _channels(dy.shape, channels_first)
    if filters.shape[-1] != cin:
        raise ValueError(
            f"{fn}: {dy_name} has {cin} channels but filters.shape[-1] is {filters.shape[-1]}; "
            f"filters are (*kernel_size, output_channels, {dy_name}_channels) as in "
            "tf.nn.conv2d_transpose"
        )
    sizes, cout = _output_sizes(
        fn,
        output_shape,
        shape_name,
        dy.shape,
        rank,
        channels_first,
        spec,
        ks,
        ss,
        ds,
        filters.shape[-2],
    )
    groups = _groups(
        fn,
        cout,
        filters.shape[-2],
        cin,
        (shape_name, "filters.shape[-2] (output channels per group)", f"{dy_name} channels"),
    )
    pads, _ = _forward_padding(fn, spec, sizes, ks, ss, ds, rank)
    n = dy.shape[0]
    out = (n, cout, *sizes) if channels_first else (n, *sizes, cout)
    if _shapes.is_zero_result(dy.shape, filters.shape, out):
        return _jit.zeros(out, dy.dtype, pet)
    return _jit.transpose(
        dy,
        filters,
        out_sizes=sizes,
        strides=ss,
        padding=pads,
        dilations=ds,
        groups=groups,
        channels_first=channels_first,
        method=method,
        precision=precision,
        preferred_element_type=pet,
    )


_TRANSPOSE_DOC = """Transposed convolution with TensorFlow's semantics, like ``tf.nn.{tf}``.

    The transpose (input gradient) of :func:`{fwd}` with the same filter, strides, padding and
    dilations. Filters are the forward conv's ``(*k, out_channels / groups, in_channels)``: the
    *output* channels of this op come first, and the kernel is *not* flipped by the caller (the
    op correlates with ``rot180(filters)``). Each output size ``n`` must satisfy
    ``forward_output(n) == m``:

    * SAME: ``(m - 1) * s + 1 <= n <= m * s``, default ``m * s``;
    * VALID: ``(m - 1) * s + k_eff <= n <= (m - 1) * s + k_eff + s - 1``, default
      ``m * s + max(k_eff - s, 0)`` (Keras);
    * explicit ``(lo, hi)``: VALID's range shifted by ``-(lo + hi)``, default its smallest.

    Args:
      input: ``(N, *m, C_in)`` (or channels first).
      filters: ``(*k, C_out / groups, C_in)``.
      output_shape: ``None``, the spatial sizes, or the full output shape (whose channel entry
        sets ``C_out`` and so the groups).
      strides, padding, dilations, data_format: as :func:`{fwd}` (the forward conv's).
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
      {example}

    See also: ``tf.nn.{tf}``, ``jconv.torch.conv_transpose{r}d``, ``jax.lax.conv_transpose``
    (which needs ``transpose_kernel=True`` to match).
    """


def conv_transpose(
    input,
    filters,
    output_shape=None,
    strides=1,
    padding="SAME",
    data_format=None,
    dilations=1,
    method="auto",
    *,
    precision=None,
    preferred_element_type=None,
):
    return _transpose(
        "jconv.conv_transpose",
        None,
        input,
        filters,
        output_shape,
        strides,
        padding,
        data_format,
        dilations,
        method,
        precision,
        preferred_element_type,
    )


def conv1d_transpose(
    input,
    filters,
    output_shape=None,
    strides=1,
    padding="SAME",
    data_format="NWC",
    dilations=1,
    method="auto",
    *,
    precision=None,
    preferred_element_type=None,
):
    return _transpose(
        "jconv.conv1d_transpose",
        1,
        input,
        filters,
        output_shape,
        strides,
        padding,
        data_format,
        dilations,
        method,
        precision,
        preferred_element_type,
    )


def conv2d_transpose(
    input,
    filters,
    output_shape=None,
    strides=1,
    padding="SAME",
    data_format="NHWC",
    dilations=1,
    method="auto",
    *,
    precision=None,
    preferred_element_type=None,
):
    return _transpose(
        "jconv.conv2d_transpose",
        2,
        input,
        filters,
        output_shape,
        strides,
        padding,
        data_format,
        dilations,
        method,
        precision,
        preferred_element_type,
    )


def conv3d_transpose(
    input,
    filters,
    output_shape=None,
    strides=1,
    padding="SAME",
    data_format="NDHWC",
    dilations=1,
    method="auto",
    *,
    precision=None,
    preferred_element_type=None,
):
    return _transpose(
        "jconv.conv3d_transpose",
        3,
        input,
        filters,
        output_shape,
        strides,
        padding,
        data_format,
        dilations,
        method,
        precision,
        preferred_element_type,
    )


_SEED_EXAMPLE = """>>> import jax.numpy as jnp, jconv
      >>> x = jnp.array([[-67., -77.], [-117., -127.]]).reshape(1, 2, 2, 1)
      >>> f = jnp.array([[-1., 2., -3.], [4., -5., 6.], [-7., 8., -9.]]).reshape(3, 3, 1, 1)
      >>> y = jconv.conv2d_transpose(x, f, (1, 5, 5, 1), strides=2, padding="VALID")
      >>> y[0, 0, :, 0]
      Array([  67., -134.,  278., -154.,  231.], dtype=float32)"""
_EXAMPLES = {
    "conv": """>>> import jax.numpy as jnp, jconv
      >>> x, f = jnp.ones((1, 3, 3, 3, 8)), jnp.ones((2, 2, 2, 4, 8))
      >>> jconv.conv_transpose(x, f, strides=2).shape
      (1, 6, 6, 6, 4)""",
    "conv1d": """>>> import jax.numpy as jnp, jconv
      >>> x, f = jnp.ones((1, 2, 1)), jnp.ones((3, 1, 1))
      >>> jconv.conv1d_transpose(x, f, strides=2, padding="VALID")[0, :, 0]
      Array([1., 1., 2., 1., 1.], dtype=float32)""",
    "conv2d": _SEED_EXAMPLE,
    "conv3d": """>>> import jax.numpy as jnp, jconv
      >>> x, f = jnp.ones((1, 2, 2, 2, 4)), jnp.ones((3, 3, 3, 2, 4))
      >>> jconv.conv3d_transpose(x, f, (1, 4, 4, 3, 2), strides=2).shape
      (1, 4, 4, 3, 2)""",
}
for _fn, _r in (
    (conv_transpose, "N"),
    (conv1d_transpose, 1),
    (conv2d_transpose, 2),
    (conv3d_transpose, 3),
):
    _base = _fn.__name__.removesuffix("_transpose")
    _fn.__doc__ = _TRANSPOSE_DOC.format(tf=_fn.__name__, fwd=_base, r=_r, example=_EXAMPLES[_base])


def _backprop_input(
    fn,
    rank,
    input_sizes,
    filters,
    out_backprop,
    strides,
    padding,
    data_format,
    dilations,
    method,
    precision,
    preferred_element_type,
):
    if input_sizes is None:
        raise TypeError(f"{fn}: input_sizes is required: the forward input's shape")
    return _transpose(
        fn,
        rank,
        out_backprop,
        filters,
        input_sizes,
        strides,
        padding,
        data_format,
        dilations,
        method,
        precision,
        preferred_element_type,
        dy_name="out_backprop",
        shape_name="input_sizes",
    )


_BACKPROP_INPUT_DOC = """Input gradient of :func:`{fwd}`, like TensorFlow's ``{tf}``.

    The same op as :func:`{fwd}_transpose` with ``output_shape=input_sizes`` and arguments in
    TensorFlow's order: ``dx = {fwd}_transpose(out_backprop, filters, input_sizes, ...)``.

    Args:
      input_sizes: the forward input's full shape ``(N, *n, C_in)`` or its spatial sizes.
      filters: the forward filter ``(*k, C_in / groups, C_out)``.
      out_backprop: ``(N, *m, C_out)``, the gradient of the forward output.
      strides, padding, data_format, dilations: the forward conv's.
      method: ``"auto"`` or one of :data:`jconv.TRANSPOSE_METHODS`.

    Returns:
      ``(N, *n, C_in)``.

    Raises:
      ValueError / TypeError: as :func:`{fwd}_transpose`.

    Examples:
      >>> import jax, jax.numpy as jnp, jconv
      >>> x, w = jnp.ones((1, 5, 5, 1)), jnp.ones((3, 3, 1, 1))
      >>> dy = jnp.ones((1, 2, 2, 1))
      >>> dx = jconv.conv2d_backprop_input(x.shape, w, dy, strides=2)
      >>> bool((dx == jax.grad(lambda x: (jconv.conv2d(x, w, strides=2) * dy).sum())(x)).all())
      True

    See also: ``tf.nn.conv2d_backprop_input``, ``torch.nn.grad.conv{r}d_input``.
    """


def conv_backprop_input(
    input_sizes,
    filters,
    out_backprop,
    strides=1,
    padding="VALID",
    data_format=None,
    dilations=1,
    method="auto",
    *,
    precision=None,
    preferred_element_type=None,
):
    return _backprop_input(
        "jconv.conv_backprop_input",
        None,
        input_sizes,
        filters,
        out_backprop,
        strides,
        padding,
        data_format,
        dilations,
        method,
        precision,
        preferred_element_type,
    )


def conv1d_backprop_input(
    input_sizes,
    filters,
    out_backprop,
    strides=1,
    padding="VALID",
    data_format="NWC",
    dilations=1,
    method="auto",
    *,
    precision=None,
    preferred_element_type=None,
):
    return _backprop_input(
        "jconv.conv1d_backprop_input",
        1,
        input_sizes,
        filters,
        out_backprop,
        strides,
        padding,
        data_format,
        dilations,
        method,
        precision,
        preferred_element_type,
    )


def conv2d_backprop_input(
    input_sizes,
    filters,
    out_backprop,
    strides=1,
    padding="VALID",
    data_format="NHWC",
    dilations=1,
    method="auto",
    *,
    precision=None,
    preferred_element_type=None,
):
    return _backprop_input(
        "jconv.conv2d_backprop_input",
        2,
        input_sizes,
        filters,
        out_backprop,
        strides,
        padding,
        data_format,
        dilations,
        method,
        precision,
        preferred_element_type,
    )


def conv3d_backprop_input(
    input_sizes,
    filters,
    out_backprop,
    strides=1,
    padding="VALID",
    data_format="NDHWC",
    dilations=1,
    method="auto",
    *,
    precision=None,
    preferred_element_type=None,
):
    return _backprop_input(
        "jconv.conv3d_backprop_input",
        3,
        input_sizes,
        filters,
        out_backprop,
        strides,
        padding,
        data_format,
        dilations,
        method,
        precision,
        preferred_element_type,
    )


# ---------------------------------------------------------------------------------------------
# filter gradient


def _backprop_filter(
    fn,
    rank,
    x,
    filter_sizes,
    dy,
    strides,
    padding,
    data_format,
    dilations,
    method,
    precision,
    preferred_element_type,
):
    x, rank, channels_first, sizes = _data(fn, "input", x, rank, data_format)
    dy, _, _, ms = _data(fn, "out_backprop", dy, rank, data_format)
    _args.same_dtype(fn, ("input", "out_backprop"), x, dy)
    method = _args.method(fn, method, FILTER_GRAD_METHODS)
    ss, spec, ds, precision, pet = _settings(
        fn, strides, padding, dilations, rank, channels_first, precision, preferred_element_type
    )
    fs = _args.as_int_tuple(fn, "filter_sizes", filter_sizes)
    if len(fs) != rank + 2 or any(v < 0 for v in fs):
        raise ValueError(
            f"{fn}: filter_sizes {list(fs)} must be {rank + 2} ints >= 0 "
            "(*kernel_size, in_channels / groups >= 1, out_channels)"
        )
    ks = fs[:rank]
    cout = _channels(dy.shape, channels_first)
    if fs[-1] != cout:
        raise ValueError(
            f"{fn}: filter_sizes {list(fs)} has out_channels {fs[-1]} but out_backprop has "
            f"{cout} channels"
        )
    if dy.shape[0] != x.shape[0]:
        raise ValueError(
            f"{fn}: out_backprop has batch {dy.shape[0]} but input has batch {x.shape[0]}"
        )
    groups = _groups(
        fn,
        _channels(x.shape, channels_first),
        fs[-2],
        cout,
        ("input", "filter_sizes[-2] (in_channels per group)", "out_channels"),
    )
    pads, wants = _forward_padding(fn, spec, sizes, ks, ss, ds, rank)
    for i, (n, m, want, k, s, d) in enumerate(zip(sizes, ms, wants, ks, ss, ds)):
        if m != want:
            dim = _args.dim_name(rank, i)
            raise ValueError(
                f"{fn}: out_backprop {dim} {m} does not match the forward output {dim} {want} "
                f"of input {dim} {n} with kernel {k}, stride {s}, dilation {d}, padding "
                f"{_pad_repr(spec if isinstance(spec, str) else spec[i])}"
            )
    if _shapes.is_zero_result(x.shape, dy.shape, fs):
        return _jit.zeros(fs, x.dtype, pet)
    return _jit.filter_grad(
        x,
        dy,
        kernel_sizes=ks,
        strides=ss,
        padding=pads,
        dilations=ds,
        groups=groups,
        channels_first=channels_first,
        method=method,
        precision=precision,
        preferred_element_type=pet,
    )


_BACKPROP_FILTER_DOC = """Filter gradient of :func:`{fwd}`, like TensorFlow's ``{tf}``.

    ``dw[t, c, o] = sum_(b, i) x_pad[b, i * s + t * d, c] * dy[b, i, o]`` over the input channels
    ``c`` of output channel ``o``'s group.

    Args:
      input: the forward input ``(N, *n, C_in)`` (or channels first).
      filter_sizes: the filter's shape ``(*k, C_in / groups, C_out)``; groups follow from it.
      out_backprop: ``(N, *m, C_out)``; ``m`` must be the forward output size.
      strides, padding, data_format, dilations: the forward conv's.
      method: ``"auto"`` or one of :data:`jconv.FILTER_GRAD_METHODS`.

    Returns:
      ``filter_sizes``-shaped gradient (always TF's filter layout).

    Raises:
      ValueError: ``out_backprop`` sizes that the forward conv does not produce, channel or batch
        mismatches, bad settings; TypeError: bad dtypes.

    Examples:
      >>> import jax, jax.numpy as jnp, jconv
      >>> x, w = jnp.arange(25.0).reshape(1, 5, 5, 1), jnp.ones((3, 3, 1, 1))
      >>> dy = jnp.ones((1, 2, 2, 1))
      >>> dw = jconv.conv2d_backprop_filter(x, w.shape, dy, strides=2)
      >>> bool((dw == jax.grad(lambda w: (jconv.conv2d(x, w, strides=2) * dy).sum())(w)).all())
      True

    See also: ``tf.nn.conv2d_backprop_filter``, ``torch.nn.grad.conv{r}d_weight``.
    """


def conv_backprop_filter(
    input,
    filter_sizes,
    out_backprop,
    strides=1,
    padding="VALID",
    data_format=None,
    dilations=1,
    method="auto",
    *,
    precision=None,
    preferred_element_type=None,
):
    return _backprop_filter(
        "jconv.conv_backprop_filter",
        None,
        input,
        filter_sizes,
        out_backprop,
        strides,
        padding,
        data_format,
        dilations,
        method,
        precision,
        preferred_element_type,
    )


def conv1d_backprop_filter(
    input,
    filter_sizes,
    out_backprop,
    strides=1,
    padding="VALID",
    data_format="NWC",
    dilations=1,
    method="auto",
    *,
    precision=None,
    preferred_element_type=None,
):
    return _backprop_filter(
        "jconv.conv1d_backprop_filter",
        1,
        input,
        filter_sizes,
        out_backprop,
        strides,
        padding,
        data_format,
        dilations,
        method,
        precision,
        preferred_element_type,
    )


def conv2d_backprop_filter(
    input,
    filter_sizes,
    out_backprop,
    strides=1,
    padding="VALID",
    data_format="NHWC",
    dilations=1,
    method="auto",
    *,
    precision=None,
    preferred_element_type=None,
):
    return _backprop_filter(
        "jconv.conv2d_backprop_filter",
        2,
        input,
        filter_sizes,
        out_backprop,
        strides,
        padding,
        data_format,
        dilations,
        method,
        precision,
        preferred_element_type,
    )


def conv3d_backprop_filter(
    input,
    filter_sizes,
    out_backprop,
    strides=1,
    padding="VALID",
    data_format="NDHWC",
    dilations=1,
    method="auto",
    *,
    precision=None,
    preferred_element_type=None,
):
    return _backprop_filter(
        "jconv.conv3d_backprop_filter",
        3,
        input,
        filter_sizes,
        out_backprop,
        strides,
        padding,
        data_format,
        dilations,
        method,
        precision,
        preferred_element_type,
    )


for _fn, _r in (
    (conv_backprop_input, "N"),
    (conv1d_backprop_input, 1),
    (conv2d_backprop_input, 2),
    (conv3d_backprop_input, 3),
):
    _fwd = _fn.__name__.removesuffix("_backprop_input")
    _fn.__doc__ = _BACKPROP_INPUT_DOC.format(fwd=_fwd, tf=f"tf.nn.{_fn.__name__}", r=_r)
for _fn, _r in (
    (conv_backprop_filter, "N"),
    (conv1d_backprop_filter, 1),
    (conv2d_backprop_filter, 2),
    (conv3d_backprop_filter, 3),
):
    _fwd = _fn.__name__.removesuffix("_backprop_filter")
    _fn.__doc__ = _BACKPROP_FILTER_DOC.format(fwd=_fwd, tf=f"tf.nn.{_fn.__name__}", r=_r)
