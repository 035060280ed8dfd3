"""Argument normalisation and validation shared by the TensorFlow- and PyTorch-style wrappers.

Everything here runs at trace time on Python values and raises ``ValueError`` / ``TypeError``
whose message names the public function, the argument, the value and what would be legal.
"""

from __future__ import annotations

import operator
from collections.abc import Sequence

import jax
import jax.numpy as jnp
import numpy as np
from jax import core, lax

from jconv import _shapes

_DIM_NAMES = {1: ("width",), 2: ("height", "width"), 3: ("depth", "height", "width")}
_PRECISIONS = ("default", "high", "highest", "bfloat16", "tensorfloat32", "float32", "fastest")


def dim_name(rank: int, i: int) -> str:
    """``height``/``width``/``depth`` for ranks 1-3, else ``spatial dim i``."""
    names = _DIM_NAMES.get(rank)
    return names[i] if names else f"spatial dim {i}"


def as_int(fn: str, name: str, value) -> int:
    """An int from an int-like (numpy ints, 0-d concrete arrays); no bools, floats, tracers."""
    if isinstance(value, core.Tracer):
        raise TypeError(
            f"{fn}: {name} must be static Python ints, got a traced value; pass it as a "
            "static argument of jax.jit"
        )
    if isinstance(value, (bool, np.bool_)) or not hasattr(value, "__index__"):
        if (
            isinstance(value, (np.ndarray, jax.Array))
            and value.ndim == 0
            and value.dtype.kind in "iu"
        ):
            return int(value)
        raise TypeError(f"{fn}: {name} must be an int, got {type(value).__name__} {value!r}")
    return operator.index(value)


def as_int_tuple(fn: str, name: str, value) -> tuple[int, ...]:
    if isinstance(value, core.Tracer):
        raise TypeError(
            f"{fn}: {name} must be static Python ints, got a traced value; pass it as a "
            "static argument of jax.jit"
        )
    if isinstance(value, (np.ndarray, jax.Array)):
        value = np.asarray(value).tolist()
    if not isinstance(value, Sequence) or isinstance(value, str):
        raise TypeError(
            f"{fn}: {name} must be a sequence of ints, got {type(value).__name__} {value!r}"
        )
    return tuple(as_int(fn, name, v) for v in value)


def array(fn: str, name: str, value):
    """``jnp.asarray`` with a dtype check: floating or complex only."""
    try:
        value = jnp.asarray(value)
    except TypeError as e:
        raise TypeError(f"{fn}: {name} must be an array, got {type(value).__name__}") from e
    if not jnp.issubdtype(value.dtype, jnp.inexact):
        raise TypeError(
            f"{fn}: {name} has dtype {value.dtype}; use a floating or complex dtype "
            "(float16, bfloat16, float32, float64, complex64, complex128)"
        )
    return value


def same_dtype(fn: str, names: tuple[str, str], a, b) -> None:
    if a.dtype != b.dtype:
        raise TypeError(
            f"{fn}: {names[0]} has dtype {a.dtype} but {names[1]} has dtype {b.dtype}; "
            "cast them to one dtype"
        )


def ints_per_dim(fn: str, name: str, value, rank: int, channels_first: bool) -> tuple[int, ...]:
    """Strides or dilations: an int, one int per spatial dim, or TF's full-rank form.

    The full-rank form has ``rank + 2`` entries in data_format order with 1 for batch and channel.
    Every spatial value must be >= 1.
    """
    if isinstance(value, Sequence) or isinstance(value, (np.ndarray, jax.Array)):
        values = as_int_tuple(fn, name, value)
        if len(values) == rank + 2:
            outer = (values[0], values[1]) if channels_first else (values[0], values[-1])
            if outer != (1, 1):
                raise ValueError(
                    f"{fn}: {name}={list(values)} sets the batch or channel entry to "
                    f"{outer}; in the full-rank form both must be 1"
                )
            values = values[2:] if channels_first else values[1:-1]
        elif len(values) != rank:
            raise ValueError(
                f"{fn}: {name}={list(values)} has {len(values)} entries; give an int, {rank} "
                f"(one per spatial dim) or {rank + 2} (full rank)"
            )
    else:
        values = (as_int(fn, name, value),) * rank
    for v in values:
        if v < 1:
            raise ValueError(f"{fn}: {name} must be >= 1 in every spatial dim, got {value!r}")
    return values


def padding_spec(fn: str, padding, rank: int, channels_first: bool):
    """``"SAME"``/``"VALID"`` (any case), one ``(lo, hi)`` pair per spatial dim, or TF's full-rank
    pair list (batch and channel pairs ``(0, 0)``). Returns the string or a tuple of int pairs."""
    if isinstance(padding, str):
        upper = padding.upper()
        if upper not in ("SAME", "VALID"):
            raise ValueError(
                f"{fn}: padding {padding!r} is not one of 'SAME', 'VALID' or a list of "
                f"{rank} (low, high) pairs"
            )
        return upper
    if isinstance(padding, (np.ndarray, jax.Array)):
        padding = np.asarray(padding).tolist()
    if not isinstance(padding, Sequence):
        raise TypeError(
            f"{fn}: padding must be 'SAME', 'VALID' or a list of (low, high) pairs, got "
            f"{type(padding).__name__} {padding!r}"
        )
    pairs = []
    for pair in padding:
        pair = as_int_tuple(fn, "padding", pair)
        if len(pair) != 2:
            raise ValueError(f"{fn}: padding entry {pair} is not a (low, high) pair")
        pairs.append(pair)
    if len(pairs) == rank + 2:
        outer = (pairs[0], pairs[1]) if channels_first else (pairs[0], pairs[-1])
        if outer != ((0, 0), (0, 0)):
            raise ValueError(
                f"{fn}: padding {padding!r} pads the batch or channel dimension; in the "
                "full-rank form their pairs must be (0, 0)"
            )
        pairs = pairs[2:] if channels_first else pairs[1:-1]
    elif len(pairs) != rank:
        raise ValueError(
            f"{fn}: padding {padding!r} has {len(pairs)} pairs; give {rank} (one per spatial "
            f"dim) or {rank + 2} (full rank)"
        )
    for lo, hi in pairs:
        if lo < 0 or hi < 0:
            raise ValueError(f"{fn}: padding {padding!r} is negative; pads must be >= 0")
    return tuple(pairs)


def precision(fn: str, value):
    """None, a ``lax.Precision``, a name ('highest', ...) or a pair of those, as ``lax.Precision``
    (hashable, and a mixed pair of a name and an enum is one kind for lax)."""
    if value is None or isinstance(value, lax.Precision):
        return value
    if isinstance(value, str):
        if value.lower() not in _PRECISIONS:
            raise ValueError(
                f"{fn}: precision {value!r} is not one of {_PRECISIONS} or a lax.Precision"
            )
        return lax.Precision(value.lower())
    if isinstance(value, (tuple, list)) and len(value) == 2:
        return tuple(precision(fn, v) for v in value)
    raise TypeError(f"{fn}: precision must be None, a string or a lax.Precision, got {value!r}")


def element_type(fn: str, value) -> str | None:
    """``preferred_element_type`` as the name of its dtype (``"float64"``), or ``None``.

    A name, not a ``np.dtype``: the value is a static argument of jconv's jitted functions, and
    ``np.dtype("float64") == None`` is true in NumPy (``np.dtype(None)`` is float64), so a jit
    cache that compares keys whose hashes collide could hand a call with float64 the program
    traced without it (a float32 result where float64 was asked for, seen once in a full test
    run). Names compare as they should.

    >>> element_type("f", np.float64), element_type("f", None), np.dtype("float64") == None
    ('float64', None, True)
    """
    if value is None:
        return None
    try:
        return np.dtype(value).name
    except TypeError as e:
        raise TypeError(f"{fn}: preferred_element_type {value!r} is not a dtype") from e


def method(
    fn: str, value, methods: tuple[str, ...], dtype=None, preferred_element_type=None, name="method"
) -> str:
    """``value`` if it is ``"auto"`` or in ``methods``; with ``dtype`` given, ``"onednn"`` only
    where oneDNN runs (:func:`onednn_runs`)."""
    if not isinstance(value, str) or (value != "auto" and value not in methods):
        raise ValueError(f"{fn}: {name} {value!r} is not one of {('auto', *methods)}")
    if value == "onednn" and dtype is not None:
        onednn_runs(fn, name, dtype, preferred_element_type)
    return value


def onednn_runs(fn: str, name: str, dtype, preferred_element_type=None) -> None:
    """Refuse an explicit ``"onednn"`` where jconv does not emit oneDNN's call: anything but
    float32 in and out on the CPU backend with :func:`jconv._onednn.enabled`."""
    from jconv import _onednn  # imports jax's lowering machinery: only when asked

    out = preferred_element_type is None or np.dtype(preferred_element_type) == np.float32
    float32 = np.dtype(dtype) == np.float32 and out
    backend = jax.default_backend()
    if float32 and backend == "cpu" and _onednn.enabled():
        return
    raise ValueError(
        f"{fn}: {name} 'onednn' runs oneDNN's float32 kernel on the CPU backend (Linux x86-64, "
        f"jaxlib {' or '.join(_onednn.VERIFIED_JAXLIB)}, JCONV_ONEDNN not 0); here the dtype is "
        f"{np.dtype(dtype).name}"
        + ("" if preferred_element_type is None else f" -> {np.dtype(preferred_element_type)}")
        + f", the backend {backend!r} and oneDNN {'on' if _onednn.enabled() else 'off'}: "
        "use 'auto' or another method"
    )


def grad_method(
    fn: str,
    value,
    transpose_methods: tuple[str, ...],
    filter_methods: tuple[str, ...],
):
    """A forward conv's ``grad_method``: ``"auto"`` -> ``("auto", "auto")``, ``"jax"`` (JAX
    differentiates the forward program), or a pair ``(input_method, filter_method)``."""
    legal = (
        f"'auto', 'jax' or a pair (input_method, filter_method) with input_method one of "
        f"{('auto', *transpose_methods)} and filter_method one of {('auto', *filter_methods)}"
    )
    if isinstance(value, str):
        if value in ("auto", "jax"):
            return ("auto", "auto") if value == "auto" else "jax"
        raise ValueError(f"{fn}: grad_method {value!r} is not {legal}")
    if not (isinstance(value, (tuple, list)) and len(value) == 2):
        raise TypeError(f"{fn}: grad_method {value!r} is not {legal}")
    input_method, filter_method = value
    for i, (v, methods) in enumerate(
        ((input_method, transpose_methods), (filter_method, filter_methods))
    ):
        if not isinstance(v, str) or (v != "auto" and v not in methods):
            raise ValueError(f"{fn}: grad_method[{i}] {v!r} is not one of {('auto', *methods)}")
    return (input_method, filter_method)


def pad_repr(spec: str | _shapes.Pair) -> str:
    """One dim's padding for messages: 'SAME', 'VALID' or (lo, hi)."""
    return repr(spec) if isinstance(spec, str) else repr(tuple(spec))


# ---------------------------------------------------------------------------------------------
# shape rules with their messages, shared by both front doors


def tf_forward_sizes(
    fn: str,
    spec: str | Sequence[_shapes.Pair],
    sizes: Sequence[int],
    ks: Sequence[int],
    ss: Sequence[int],
    ds: Sequence[int],
) -> tuple[tuple[_shapes.Pair, ...], tuple[int, ...]]:
    """The explicit pads and TensorFlow's forward output sizes, per spatial dim.

    TensorFlow refuses a negative output size ``(n + lo + hi - k_eff + s) / s`` (C's division);
    a window that misses the padded input by less than the stride gives an empty output
    (:func:`jconv._shapes.tf_forward_size`).
    """
    rank = len(sizes)
    pads, ms = [], []
    for i, (n, k, s, d) in enumerate(zip(sizes, ks, ss, ds)):
        p = spec if isinstance(spec, str) else spec[i]
        lo, hi = _shapes.resolve_padding(p, n, k, s, d)
        m = _shapes.tf_forward_size(p, n, k, s, d)
        if m < 0:
            k_eff = _shapes.effective_kernel_size(k, d)
            raise ValueError(
                f"{fn}: the window is larger than the padded input in {dim_name(rank, i)}: "
                f"kernel {k} dilated by {d} spans {k_eff}, the input {n} padded by ({lo}, {hi}) "
                f"is {n + lo + hi}, so TensorFlow's output size (n + lo + hi - k_eff + s) / s = "
                f"({n + lo + hi} - {k_eff} + {s}) / {s} is negative; it must be >= 0: pad more "
                "or use a smaller kernel/dilation"
            )
        pads.append((lo, hi))
        ms.append(m)
    return tuple(pads), tuple(ms)


def torch_window_fits(
    fn: str,
    sizes: Sequence[int],
    ks: Sequence[int],
    ds: Sequence[int],
    pads: Sequence[_shapes.Pair],
) -> None:
    """PyTorch refuses a dilated kernel longer than the padded input, ``n + lo + hi < k_eff``
    (its output size would be 0 or less)."""
    rank = len(sizes)
    for i, (n, k, d, (lo, hi)) in enumerate(zip(sizes, ks, ds, pads)):
        k_eff = _shapes.effective_kernel_size(k, d)
        if n + lo + hi < k_eff:
            raise ValueError(
                f"{fn}: kernel size can't be greater than the padded input in "
                f"{dim_name(rank, i)}: kernel {k} dilated by {d} spans {k_eff}, the input "
                f"{n} padded by ({lo}, {hi}) is {n + lo + hi}"
            )


def forward_sizes_match(
    fn: str,
    name: str,
    got: Sequence[int],
    want: Sequence[int],
    geometry: Sequence[tuple[int, int, int, int, str | _shapes.Pair]] | None = None,
) -> None:
    """A filter gradient's output gradient must have the forward output's sizes ``want``.

    ``geometry`` (``(n, k, s, d, padding)`` per dim) adds the forward conv to the message.
    """
    rank = len(got)
    for i, (m, w) in enumerate(zip(got, want)):
        if m != w:
            dim = dim_name(rank, i)
            where = ""
            if geometry is not None:
                n, k, s, d, p = geometry[i]
                where = (
                    f" of input {dim} {n} with kernel {k}, stride {s}, dilation {d}, padding "
                    f"{pad_repr(p)}"
                )
            raise ValueError(
                f"{fn}: {name} {dim} {m} does not match the forward output {dim} {w}{where}"
            )


def reachable(
    fn: str,
    name: str,
    from_name: str,
    sizes: Sequence[int],
    ranges: Sequence[_shapes.Pair],
    geometry: Sequence[tuple[int, int, int, int, str | _shapes.Pair]],
) -> None:
    """Each chosen size ``n`` of a transpose or input gradient must lie in its legal range.

    ``ranges`` are ``(n_min, n_max)`` per dim (:func:`jconv._shapes.tf_transpose_size_range` or
    :func:`jconv._shapes.transpose_size_range`), ``geometry`` is ``(m, k, s, d, padding)`` per
    dim; the message names the range, since for stride ``s`` up to ``s`` sizes are legal.
    """
    rank = len(sizes)
    for i, (n, (lo_n, hi_n), (m, k, s, d, p)) in enumerate(zip(sizes, ranges, geometry)):
        dim = dim_name(rank, i)
        if lo_n > hi_n:
            raise ValueError(
                f"{fn}: no {dim} is reachable from {from_name} {dim} {m} with kernel {k}, stride "
                f"{s}, dilation {d} and padding {pad_repr(p)}: the padding is larger than the "
                "whole window span"
            )
        if not lo_n <= n <= hi_n:
            raise ValueError(
                f"{fn}: {name} {dim} {n} is not reachable from {from_name} {dim} {m} with kernel "
                f"{k}, stride {s}, dilation {d}, padding {pad_repr(p)}: valid {dim}s are "
                f"{lo_n}..{hi_n}"
            )


def forward_methods(
    fn: str, method_value, grad_value, dtype, cin_per_group: int, preferred_element_type=None
):
    """A forward conv's ``(method, grad_method)``, checked (:func:`method`, :func:`grad_method`;
    ``"taps"`` only for depthwise convs)."""
    from jconv import derivations

    m = method(fn, method_value, tuple(derivations.FORWARD), dtype, preferred_element_type)
    if m == "taps" and cin_per_group != 1:
        raise ValueError(
            f"{fn}: method 'taps' is for depthwise convs (one input channel per group); this conv "
            f"has {cin_per_group} input channels per group: use 'auto', 'xla', 'onednn' or "
            "'patches'"
        )
    g = grad_method(fn, grad_value, tuple(derivations.TRANSPOSE), tuple(derivations.FILTER_GRAD))
    return m, g
