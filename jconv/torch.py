"""PyTorch-style names over the same derivations: ``torch.nn.functional`` and ``torch.nn.grad``.

Layouts as PyTorch: data ``(N, C, *spatial)`` (or unbatched ``(C, *spatial)``), forward weights
``(C_out, C_in / groups, *k)``, transposed-conv weights ``(C_in, C_out / groups, *k)``. A port from
PyTorch is a rename: ``F.conv_transpose2d(...)`` becomes ``jconv.torch.conv_transpose2d(...)``.

Weight mapping (what the wrappers do internally): a PyTorch ``ConvTranspose2d`` weight
``(C_in, C_out / g, kh, kw)`` is TensorFlow's ``conv2d_transpose`` filter
``weight.transpose(2, 3, 1, 0)`` = ``(kh, kw, C_out / g, C_in)``; for ``jax.lax.conv_transpose``
(groups 1) pass the weight unchanged with ``dimension_numbers=("NCHW", "OIHW", "NCHW")`` and
``transpose_kernel=True`` (which swaps I and O back and flips the taps), and padding
``d * (k - 1) - p`` before, ``d * (k - 1) - p + output_padding`` after.
"""

from __future__ import annotations

import functools

import jax
import jax.numpy as jnp

from jconv import _args, _jit, _shapes, derivations

__all__ = [
    "conv1d",
    "conv2d",
    "conv3d",
    "conv_transpose1d",
    "conv_transpose2d",
    "conv_transpose3d",
    "conv1d_input",
    "conv2d_input",
    "conv3d_input",
    "conv1d_weight",
    "conv2d_weight",
    "conv3d_weight",
]

TRANSPOSE_METHODS = tuple(derivations.TRANSPOSE)
FILTER_GRAD_METHODS = tuple(derivations.FILTER_GRAD)


def _tuple(fn, name, value, rank, minimum):
    if isinstance(value, (tuple, list)):
        values = _args.as_int_tuple(fn, name, value)
        if len(values) == 1:
            values = values * rank
        if len(values) != rank:
            raise ValueError(f"{fn}: {name}={value!r} needs 1 or {rank} entries")
    else:
        values = (_args.as_int(fn, name, value),) * rank
    if any(v < minimum for v in values):
        raise ValueError(f"{fn}: {name}={value!r} must be >= {minimum} in every spatial dim")
    return values


def _input(fn, name, value, rank):
    """Batched ``(N, C, *sp)`` or unbatched ``(C, *sp)``; returns the batched array and a flag."""
    value = _args.array(fn, name, value)
    if value.ndim == rank + 1:
        return value[None], True
    if value.ndim != rank + 2:
        raise ValueError(
            f"{fn}: {name} has shape {value.shape}; expected {rank + 2} dims (N, C, *spatial) "
            f"or {rank + 1} (C, *spatial)"
        )
    _spatial(fn, name, value.shape, rank)
    return value, False


def _spatial(fn, name, shape, rank):
    for i, n in enumerate(shape[2:]):
        if n < 1:
            raise ValueError(
                f"{fn}: {name} has shape {tuple(shape)} with {_args.dim_name(rank, i)} {n}; "
                "spatial sizes must be >= 1 (PyTorch supports only zero batch or zero channel "
                "inputs)"
            )


def _at_least_groups(fn, name, channels, groups):
    """PyTorch's check of the weight's first dim: ``weight.shape[0] >= groups``."""
    if channels < groups:
        raise ValueError(
            f"{fn}: {name} is {channels}; PyTorch expects it to be at least groups={groups} "
            "(no zero output channels for a conv, no zero input channels for a transposed conv)"
        )


def _weight(fn, weight, rank, like, name="input"):
    weight = _args.array(fn, "weight", weight)
    if weight.ndim != rank + 2:
        raise ValueError(f"{fn}: weight has shape {weight.shape}; expected {rank + 2} dims")
    if any(k < 1 for k in weight.shape[2:]):
        raise ValueError(f"{fn}: weight has shape {weight.shape}; kernel sizes must be >= 1")
    _args.same_dtype(fn, (name, "weight"), like, weight)
    return weight


def _groups(fn, groups, cin, per_group, cout, cin_name="input channels"):
    groups = _args.as_int(fn, "groups", groups)
    if groups < 1:
        raise ValueError(f"{fn}: groups={groups} must be >= 1")
    if cin % groups or cout % groups:
        raise ValueError(
            f"{fn}: groups={groups} must divide both the {cin_name} ({cin}) and the output "
            f"channels ({cout})"
        )
    if cin // groups != per_group:
        raise ValueError(
            f"{fn}: expected weight.shape[1] == {cin_name} / groups = {cin} / {groups} = "
            f"{cin // groups}, got {per_group}"
        )
    return groups


def _padding(fn, padding, rank, ks, ss, ds):
    """int / tuple -> symmetric pairs; "valid" -> zeros; "same" (stride 1) -> PyTorch's split,
    ``d * (k - 1)`` in total with the odd one at the end."""
    if isinstance(padding, str):
        mode = padding  # PyTorch's strings are lower case only
        if mode == "valid":
            return ((0, 0),) * rank
        if mode == "same":
            if any(s != 1 for s in ss):
                raise ValueError(
                    f"{fn}: padding='same' is not supported for strided convolutions "
                    f"(stride={ss}); use an explicit padding"
                )
            return tuple((d * (k - 1) // 2, d * (k - 1) - d * (k - 1) // 2) for k, d in zip(ks, ds))
        raise ValueError(
            f"{fn}: padding={padding!r} is not 'same', 'valid', an int or a tuple of ints"
        )
    return tuple((p, p) for p in _tuple(fn, "padding", padding, rank, 0))


def _check_windows(fn, rank, sizes, ks, ds, pads):
    for i, (n, k, d, (lo, hi)) in enumerate(zip(sizes, ks, ds, pads)):
        k_eff = _shapes.effective_kernel_size(k, d)
        if n + lo + hi < k_eff:
            raise ValueError(
                f"{fn}: kernel size can't be greater than the padded input in "
                f"{_args.dim_name(rank, i)}: kernel {k} dilated by {d} spans {k_eff}, the input "
                f"{n} padded by ({lo}, {hi}) is {n + lo + hi}"
            )


def _to_tf_forward(w):
    """(C_out, C_in/g, *k) -> (*k, C_in/g, C_out)."""
    rank = w.ndim - 2
    return jnp.transpose(w, (*range(2, rank + 2), 1, 0))


def _from_tf_forward(w):
    rank = w.ndim - 2
    return jnp.transpose(w, (rank + 1, rank, *range(rank)))


def _bias(fn, bias, channels, like):
    if bias is None:
        return None
    bias = _args.array(fn, "bias", bias)
    if bias.shape != (channels,):
        raise ValueError(f"{fn}: bias has shape {bias.shape}; expected ({channels},)")
    _args.same_dtype(fn, ("input", "bias"), like, bias)
    return bias


def _add_bias(y, bias):
    if bias is None:
        return y
    return y + bias.reshape(-1, *(1,) * (y.ndim - 2)).astype(y.dtype)


# ---------------------------------------------------------------------------------------------


@functools.partial(jax.jit, static_argnames=_jit._STATIC)
def _conv_jit(
    x,
    w,
    bias,
    *,
    strides,
    padding,
    dilations,
    groups,
    channels_first,
    precision,
    preferred_element_type,
):
    y = _jit.conv.__wrapped__(
        x,
        _to_tf_forward(w),
        strides=strides,
        padding=padding,
        dilations=dilations,
        groups=groups,
        channels_first=channels_first,
        precision=precision,
        preferred_element_type=preferred_element_type,
    )
    return _add_bias(y, bias)


def _conv(
    fn,
    rank,
    input,
    weight,
    bias,
    stride,
    padding,
    dilation,
    groups,
    precision,
    preferred_element_type,
):
    x, unbatched = _input(fn, "input", input, rank)
    weight = _weight(fn, weight, rank, x)
    ss = _tuple(fn, "stride", stride, rank, 1)
    ds = _tuple(fn, "dilation", dilation, rank, 1)
    ks = weight.shape[2:]
    g = _groups(fn, groups, x.shape[1], weight.shape[1], weight.shape[0])
    _at_least_groups(fn, "weight.shape[0] (output channels)", weight.shape[0], g)
    pads = _padding(fn, padding, rank, ks, ss, ds)
    _check_windows(fn, rank, x.shape[2:], ks, ds, pads)
    bias = _bias(fn, bias, weight.shape[0], x)
    pet = _args.element_type(fn, preferred_element_type)
    ms = [
        _shapes.conv_output_size(n, k, s, d, lo, hi)
        for n, k, s, d, (lo, hi) in zip(x.shape[2:], ks, ss, ds, pads)
    ]
    # PyTorch's result for zero input channels has zero channels too, whatever weight.shape[0]
    out = (x.shape[0], weight.shape[0] if x.shape[1] else 0, *ms)
    if _shapes.is_zero_result(x.shape, weight.shape, out):
        y = _jit.zeros(out, x.dtype, pet)
        y = _add_bias(y, bias) if out[1] else y
        return y[0] if unbatched else y
    y = _conv_jit(
        x,
        weight,
        bias,
        strides=ss,
        padding=pads,
        dilations=ds,
        groups=g,
        channels_first=True,
        precision=_args.precision(fn, precision),
        preferred_element_type=pet,
    )
    return y[0] if unbatched else y


_CONV_DOC = """{r}-D convolution, ``torch.nn.functional.conv{r}d``.

    Output size per spatial dim: ``floor((n + 2 * p - d * (k - 1) - 1) / s) + 1``;
    ``padding="same"`` (stride 1 only) pads ``d * (k - 1)`` in total, the odd one at the end.

    Args:
      input: ``(N, C_in, *spatial)`` or unbatched ``(C_in, *spatial)``.
      weight: ``(C_out, C_in / groups, *k)``.
      bias: ``(C_out,)`` or None.
      stride, dilation: int or one per spatial dim (>= 1).
      padding: int, tuple, ``"same"`` or ``"valid"``.
      groups: splits the channels; must divide ``C_in`` and ``C_out``.
      precision, preferred_element_type: passed to XLA.

    Returns:
      ``(N, C_out, *out_spatial)``.

    Raises:
      ValueError: group/channel mismatch, bad stride/padding/dilation, a kernel larger than the
        padded input, ``"same"`` with stride > 1. TypeError: bad dtypes.

    Examples:
      >>> import jax.numpy as jnp, jconv.torch
      >>> jconv.torch.conv{r}d(jnp.ones((1, 2{sp})), jnp.ones((4, 1{k})), groups=2).shape
      (1, 4{out})

    See also: ``torch.nn.functional.conv{r}d``, :func:`jconv.conv{r}d`.
    """


def conv1d(
    input,
    weight,
    bias=None,
    stride=1,
    padding=0,
    dilation=1,
    groups=1,
    *,
    precision=None,
    preferred_element_type=None,
):
    return _conv(
        "jconv.torch.conv1d",
        1,
        input,
        weight,
        bias,
        stride,
        padding,
        dilation,
        groups,
        precision,
        preferred_element_type,
    )


def conv2d(
    input,
    weight,
    bias=None,
    stride=1,
    padding=0,
    dilation=1,
    groups=1,
    *,
    precision=None,
    preferred_element_type=None,
):
    return _conv(
        "jconv.torch.conv2d",
        2,
        input,
        weight,
        bias,
        stride,
        padding,
        dilation,
        groups,
        precision,
        preferred_element_type,
    )


def conv3d(
    input,
    weight,
    bias=None,
    stride=1,
    padding=0,
    dilation=1,
    groups=1,
    *,
    precision=None,
    preferred_element_type=None,
):
    return _conv(
        "jconv.torch.conv3d",
        3,
        input,
        weight,
        bias,
        stride,
        padding,
        dilation,
        groups,
        precision,
        preferred_element_type,
    )


for _fn, _r in ((conv1d, 1), (conv2d, 2), (conv3d, 3)):
    _fn.__doc__ = _CONV_DOC.format(r=_r, sp=", 5" * _r, k=", 3" * _r, out=", 3" * _r)


# ---------------------------------------------------------------------------------------------
# transposed convolution and the input gradient


@functools.partial(jax.jit, static_argnames=(*_jit._STATIC, "out_sizes", "method"))
def _transpose_jit(
    dy,
    w,
    bias,
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
    """``w`` is PyTorch's transposed-conv weight ``(C_in_t, C_out_t / g, *k)``."""
    rank = w.ndim - 2
    w_tf = jnp.transpose(w, (*range(2, rank + 2), 1, 0))
    y = _jit.transpose.__wrapped__(
        dy,
        w_tf,
        out_sizes=out_sizes,
        strides=strides,
        padding=padding,
        dilations=dilations,
        groups=groups,
        channels_first=channels_first,
        method=method,
        precision=precision,
        preferred_element_type=preferred_element_type,
    )
    return _add_bias(y, bias)


def _conv_transpose(
    fn,
    rank,
    input,
    weight,
    bias,
    stride,
    padding,
    output_padding,
    groups,
    dilation,
    method,
    precision,
    preferred_element_type,
):
    dy, unbatched = _input(fn, "input", input, rank)
    weight = _weight(fn, weight, rank, dy)
    ss = _tuple(fn, "stride", stride, rank, 1)
    ds = _tuple(fn, "dilation", dilation, rank, 1)
    ps = _tuple(fn, "padding", padding, rank, 0)
    ops = _tuple(fn, "output_padding", output_padding, rank, 0)
    ks = weight.shape[2:]
    g = _args.as_int(fn, "groups", groups)
    if g < 1 or weight.shape[0] != dy.shape[1] or dy.shape[1] % g:
        raise ValueError(
            f"{fn}: input has {dy.shape[1]} channels and groups={groups}; weight.shape[0] "
            f"({weight.shape[0]}) must equal the input channels and groups must divide them"
        )
    _at_least_groups(fn, "weight.shape[0] (input channels)", weight.shape[0], g)
    if weight.shape[1] < 1:
        raise ValueError(
            f"{fn}: weight has shape {weight.shape}; weight.shape[1] (output channels / groups) "
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
        n = (m - 1) * s - 2 * p + _shapes.effective_kernel_size(k, d) + op
        if n < 1:
            raise ValueError(
                f"{fn}: the output {dim} (m - 1) * s - 2 * p + d * (k - 1) + output_padding + 1 "
                f"= {n} is not positive (input {m}, stride {s}, padding {p}, dilation {d}, "
                f"kernel {k}, output_padding {op})"
            )
        sizes.append(n)
    bias = _bias(fn, bias, weight.shape[1] * g, dy)
    pet = _args.element_type(fn, preferred_element_type)
    method = _args.method(fn, method, TRANSPOSE_METHODS)
    out = (dy.shape[0], weight.shape[1] * g, *sizes)
    if _shapes.is_zero_result(dy.shape, weight.shape, out):
        y = _add_bias(_jit.zeros(out, dy.dtype, pet), bias)
        return y[0] if unbatched else y
    y = _transpose_jit(
        dy,
        weight,
        bias,
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


_TRANSPOSE_DOC = """{r}-D transposed convolution, ``torch.nn.functional.conv_transpose{r}d``.

    Output size per spatial dim:
    ``(m - 1) * s - 2 * p + d * (k - 1) + output_padding + 1``, with
    ``output_padding < max(stride, dilation)`` (PyTorch's rule; when ``dilation > stride`` the
    extra rows are beyond every forward window and come out as the overlay gives them).

    Args:
      input: ``(N, C_in, *m)`` or unbatched ``(C_in, *m)``.
      weight: ``(C_in, C_out / groups, *k)`` (PyTorch's ``ConvTranspose`` layout).
      bias: ``(C_out,)`` or None.
      stride, padding, output_padding, dilation: int or one per spatial dim.
      groups: must divide ``C_in``; ``C_out = weight.shape[1] * groups``.
      method: ``"auto"`` or one of :data:`jconv.TRANSPOSE_METHODS`; all give the same values.
      precision, preferred_element_type: passed to XLA.

    Returns:
      ``(N, C_out, *n)``.

    Raises:
      ValueError: ``output_padding >= max(stride, dilation)``, channel/group mismatch, a
        non-positive output size, bad settings. TypeError: bad dtypes.

    Examples:
      >>> import jax.numpy as jnp, jconv.torch
      >>> jconv.torch.conv_transpose{r}d(jnp.ones((1, 4{sp})), jnp.ones((4, 3{k})), stride=2,
      ...                               padding=1, output_padding=1).shape
      (1, 3{out})

    See also: ``torch.nn.functional.conv_transpose{r}d``, :func:`jconv.conv{r}d_transpose`.
    """


def conv_transpose1d(
    input,
    weight,
    bias=None,
    stride=1,
    padding=0,
    output_padding=0,
    groups=1,
    dilation=1,
    *,
    method="auto",
    precision=None,
    preferred_element_type=None,
):
    return _conv_transpose(
        "jconv.torch.conv_transpose1d",
        1,
        input,
        weight,
        bias,
        stride,
        padding,
        output_padding,
        groups,
        dilation,
        method,
        precision,
        preferred_element_type,
    )


def conv_transpose2d(
    input,
    weight,
    bias=None,
    stride=1,
    padding=0,
    output_padding=0,
    groups=1,
    dilation=1,
    *,
    method="auto",
    precision=None,
    preferred_element_type=None,
):
    return _conv_transpose(
        "jconv.torch.conv_transpose2d",
        2,
        input,
        weight,
        bias,
        stride,
        padding,
        output_padding,
        groups,
        dilation,
        method,
        precision,
        preferred_element_type,
    )


def conv_transpose3d(
    input,
    weight,
    bias=None,
    stride=1,
    padding=0,
    output_padding=0,
    groups=1,
    dilation=1,
    *,
    method="auto",
    precision=None,
    preferred_element_type=None,
):
    return _conv_transpose(
        "jconv.torch.conv_transpose3d",
        3,
        input,
        weight,
        bias,
        stride,
        padding,
        output_padding,
        groups,
        dilation,
        method,
        precision,
        preferred_element_type,
    )


for _fn, _r in ((conv_transpose1d, 1), (conv_transpose2d, 2), (conv_transpose3d, 3)):
    _fn.__doc__ = _TRANSPOSE_DOC.format(r=_r, sp=", 3" * _r, k=", 3" * _r, out=", 6" * _r)


@functools.partial(jax.jit, static_argnames=(*_jit._STATIC, "out_sizes", "method"))
def _input_jit(dy, w, **settings):
    """``torch.nn.grad.conv*d_input``: PyTorch's forward weight, moved to TF's layout in jit."""
    return _jit.transpose.__wrapped__(dy, _to_tf_forward(w), **settings)


@functools.partial(jax.jit, static_argnames=(*_jit._STATIC, "kernel_sizes", "method"))
def _weight_jit(x, dy, **settings):
    """``torch.nn.grad.conv*d_weight``: the gradient moved to PyTorch's layout in jit."""
    return _from_tf_forward(_jit.filter_grad.__wrapped__(x, dy, **settings))


def _grad_setup(fn, rank, stride, padding, dilation, ks):
    ss = _tuple(fn, "stride", stride, rank, 1)
    ds = _tuple(fn, "dilation", dilation, rank, 1)
    return ss, ds, _padding(fn, padding, rank, ks, ss, ds)


def _conv_input(
    fn,
    rank,
    input_size,
    weight,
    grad_output,
    stride,
    padding,
    dilation,
    groups,
    method,
    precision,
    preferred_element_type,
):
    dy, unbatched = _input(fn, "grad_output", grad_output, rank)
    weight = _weight(fn, weight, rank, dy, "grad_output")
    size = _args.as_int_tuple(fn, "input_size", input_size)
    if unbatched and len(size) == rank + 1:
        size = (1, *size)
    if len(size) != rank + 2:
        raise ValueError(
            f"{fn}: input_size {list(size)} must have {rank + 2} entries (N, C, *spatial)"
        )
    _spatial(fn, "input_size", size, rank)
    ks = weight.shape[2:]
    ss, ds, pads = _grad_setup(fn, rank, stride, padding, dilation, ks)
    g = _groups(fn, groups, size[1], weight.shape[1], weight.shape[0])
    _at_least_groups(fn, "weight.shape[0] (output channels)", weight.shape[0], g)
    if weight.shape[0] != dy.shape[1]:
        raise ValueError(
            f"{fn}: grad_output has {dy.shape[1]} channels but weight.shape[0] is {weight.shape[0]}"
        )
    if size[0] != dy.shape[0]:
        raise ValueError(f"{fn}: input_size batch {size[0]} != grad_output batch {dy.shape[0]}")
    for i, (n, m, k, s, d, pair) in enumerate(zip(size[2:], dy.shape[2:], ks, ss, ds, pads)):
        lo_n, hi_n = _shapes.transpose_size_range(m, k, s, d, pair)
        if not lo_n <= n <= hi_n:
            dim = _args.dim_name(rank, i)
            raise ValueError(
                f"{fn}: input_size {dim} {n} is not reachable: grad_output {dim} {m} comes from "
                f"input {dim}s {lo_n}..{hi_n} (kernel {k}, stride {s}, padding {pair}, "
                f"dilation {d})"
            )
    method = _args.method(fn, method, TRANSPOSE_METHODS)
    pet = _args.element_type(fn, preferred_element_type)
    if _shapes.is_zero_result(dy.shape, weight.shape, size):
        y = _jit.zeros(size, dy.dtype, pet)
        return y[0] if unbatched else y
    y = _input_jit(
        dy,
        weight,
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


def _conv_weight(
    fn,
    rank,
    input,
    weight_size,
    grad_output,
    stride,
    padding,
    dilation,
    groups,
    method,
    precision,
    preferred_element_type,
):
    x, unbatched = _input(fn, "input", input, rank)
    dy, _ = _input(fn, "grad_output", grad_output[None] if unbatched else grad_output, rank)
    _args.same_dtype(fn, ("input", "grad_output"), x, dy)
    size = _args.as_int_tuple(fn, "weight_size", weight_size)
    if len(size) != rank + 2 or min(size) < 0 or min(size[2:]) < 1:
        raise ValueError(
            f"{fn}: weight_size {list(size)} must be {rank + 2} ints (C_out, C_in / groups, *k): "
            "kernel sizes >= 1, channel counts >= 0"
        )
    ks = size[2:]
    ss, ds, pads = _grad_setup(fn, rank, stride, padding, dilation, ks)
    g = _groups(fn, groups, x.shape[1], size[1], size[0])
    _at_least_groups(fn, "weight_size[0] (output channels)", size[0], g)
    if size[0] != dy.shape[1] or x.shape[0] != dy.shape[0]:
        raise ValueError(
            f"{fn}: grad_output has shape {dy.shape}; expected batch {x.shape[0]} and "
            f"{size[0]} channels (weight_size[0])"
        )
    _check_windows(fn, rank, x.shape[2:], ks, ds, pads)
    for i, (n, m, k, s, d, (lo, hi)) in enumerate(zip(x.shape[2:], dy.shape[2:], ks, ss, ds, pads)):
        want = _shapes.conv_output_size(n, k, s, d, lo, hi)
        if m != want:
            dim = _args.dim_name(rank, i)
            raise ValueError(
                f"{fn}: grad_output {dim} {m} does not match the forward output {dim} {want}"
            )
    method = _args.method(fn, method, FILTER_GRAD_METHODS)
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
        preferred_element_type=_args.element_type(fn, preferred_element_type),
    )


_INPUT_DOC = """Input gradient of :func:`conv{r}d`, ``torch.nn.grad.conv{r}d_input``.

    Args:
      input_size: the forward input's shape ``(N, C_in, *n)``; ``n`` must map to grad_output's
        size under the forward conv (the legal range is in the error message otherwise).
      weight: ``(C_out, C_in / groups, *k)``.
      grad_output: ``(N, C_out, *m)``.
      stride, padding, dilation, groups: the forward conv's.
      method: ``"auto"`` or one of :data:`jconv.TRANSPOSE_METHODS`.

    Returns:
      ``(N, C_in, *n)``.

    Examples:
      >>> import jax.numpy as jnp, jconv.torch
      >>> jconv.torch.conv{r}d_input((1, 2{sp}), jnp.ones((3, 2{k})), jnp.ones((1, 3{m})),
      ...                           stride=2).shape
      (1, 2{sp})

    See also: ``torch.nn.grad.conv{r}d_input``, :func:`jconv.conv{r}d_backprop_input`.
    """

_WEIGHT_DOC = """Filter gradient of :func:`conv{r}d`, ``torch.nn.grad.conv{r}d_weight``.

    Args:
      input: the forward input ``(N, C_in, *n)``.
      weight_size: ``(C_out, C_in / groups, *k)``.
      grad_output: ``(N, C_out, *m)``; ``m`` must be the forward output size.
      stride, padding, dilation, groups: the forward conv's.
      method: ``"auto"`` or one of :data:`jconv.FILTER_GRAD_METHODS`.

    Returns:
      ``weight_size``-shaped gradient in PyTorch's layout.

    Examples:
      >>> import jax.numpy as jnp, jconv.torch
      >>> jconv.torch.conv{r}d_weight(jnp.ones((1, 2{sp})), (3, 2{k}), jnp.ones((1, 3{m})),
      ...                            stride=2).shape
      (3, 2{k})

    See also: ``torch.nn.grad.conv{r}d_weight``, :func:`jconv.conv{r}d_backprop_filter`.
    """


def conv1d_input(
    input_size,
    weight,
    grad_output,
    stride=1,
    padding=0,
    dilation=1,
    groups=1,
    *,
    method="auto",
    precision=None,
    preferred_element_type=None,
):
    return _conv_input(
        "jconv.torch.conv1d_input",
        1,
        input_size,
        weight,
        grad_output,
        stride,
        padding,
        dilation,
        groups,
        method,
        precision,
        preferred_element_type,
    )


def conv2d_input(
    input_size,
    weight,
    grad_output,
    stride=1,
    padding=0,
    dilation=1,
    groups=1,
    *,
    method="auto",
    precision=None,
    preferred_element_type=None,
):
    return _conv_input(
        "jconv.torch.conv2d_input",
        2,
        input_size,
        weight,
        grad_output,
        stride,
        padding,
        dilation,
        groups,
        method,
        precision,
        preferred_element_type,
    )


def conv3d_input(
    input_size,
    weight,
    grad_output,
    stride=1,
    padding=0,
    dilation=1,
    groups=1,
    *,
    method="auto",
    precision=None,
    preferred_element_type=None,
):
    return _conv_input(
        "jconv.torch.conv3d_input",
        3,
        input_size,
        weight,
        grad_output,
        stride,
        padding,
        dilation,
        groups,
        method,
        precision,
        preferred_element_type,
    )


def conv1d_weight(
    input,
    weight_size,
    grad_output,
    stride=1,
    padding=0,
    dilation=1,
    groups=1,
    *,
    method="auto",
    precision=None,
    preferred_element_type=None,
):
    return _conv_weight(
        "jconv.torch.conv1d_weight",
        1,
        input,
        weight_size,
        grad_output,
        stride,
        padding,
        dilation,
        groups,
        method,
        precision,
        preferred_element_type,
    )


def conv2d_weight(
    input,
    weight_size,
    grad_output,
    stride=1,
    padding=0,
    dilation=1,
    groups=1,
    *,
    method="auto",
    precision=None,
    preferred_element_type=None,
):
    return _conv_weight(
        "jconv.torch.conv2d_weight",
        2,
        input,
        weight_size,
        grad_output,
        stride,
        padding,
        dilation,
        groups,
        method,
        precision,
        preferred_element_type,
    )


def conv3d_weight(
    input,
    weight_size,
    grad_output,
    stride=1,
    padding=0,
    dilation=1,
    groups=1,
    *,
    method="auto",
    precision=None,
    preferred_element_type=None,
):
    return _conv_weight(
        "jconv.torch.conv3d_weight",
        3,
        input,
        weight_size,
        grad_output,
        stride,
        padding,
        dilation,
        groups,
        method,
        precision,
        preferred_element_type,
    )


for _fn, _r in ((conv1d_input, 1), (conv2d_input, 2), (conv3d_input, 3)):
    _fn.__doc__ = _INPUT_DOC.format(r=_r, sp=", 5" * _r, k=", 3" * _r, m=", 2" * _r)
for _fn, _r in ((conv1d_weight, 1), (conv2d_weight, 2), (conv3d_weight, 3)):
    _fn.__doc__ = _WEIGHT_DOC.format(r=_r, sp=", 5" * _r, k=", 3" * _r, m=", 2" * _r)
