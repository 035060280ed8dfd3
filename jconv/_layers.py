"""What the layers of :mod:`jconv.nnx` and :mod:`jconv.equinox` share, with no Flax or Equinox in
it: ``torch.nn``'s conv-layer arguments checked and normalised into a :class:`ConvSpec`, PyTorch's
initialisation, and the call through :mod:`jconv.torch`'s functions (``method="auto"``).

PyTorch checks some arguments only in ``forward`` (a kernel size 0, a stride 0, a negative padding,
``output_padding >= max(stride, dilation)``) or never (a padding tuple of the wrong length); these
layers refuse all of them when the layer is built.
"""

from __future__ import annotations

import dataclasses
import math
from collections.abc import Sequence
from typing import Any

import jax
from jax.typing import ArrayLike, DTypeLike

from jconv import _args, _shapes
from jconv import torch as jt
from jconv.torch import _common


@dataclasses.dataclass(frozen=True)
class ConvSpec:
    """A conv layer's settings, normalised: one int per spatial dim, ``padding`` as ints or
    ``"same"``/``"valid"``. Hashable, so the libraries keep it as static metadata."""

    name: str
    rank: int
    transposed: bool
    in_channels: int
    out_channels: int
    kernel_size: tuple[int, ...]
    stride: tuple[int, ...]
    padding: tuple[int, ...] | str
    dilation: tuple[int, ...]
    groups: int
    output_padding: tuple[int, ...]
    bias: bool
    padding_mode: str

    @property
    def weight_shape(self) -> tuple[int, ...]:
        """PyTorch's layouts: ``(out, in / groups, *k)``; transposed ``(in, out / groups, *k)``."""
        if self.transposed:
            return (self.in_channels, self.out_channels // self.groups, *self.kernel_size)
        return (self.out_channels, self.in_channels // self.groups, *self.kernel_size)

    @property
    def fan_in(self) -> int:
        """``weight.shape[1] * prod(kernel_size)``, as ``torch.nn.init`` computes it (for a
        transposed conv that is ``out / groups * prod(k)``: PyTorch reads dim 1 either way)."""
        return self.weight_shape[1] * math.prod(self.kernel_size)

    def __repr__(self) -> str:
        parts = [f"{self.in_channels}, {self.out_channels}, kernel_size={self.kernel_size}"]
        parts.append(f"stride={self.stride}")
        if self.padding != (0,) * self.rank:
            parts.append(f"padding={self.padding!r}")
        if self.dilation != (1,) * self.rank:
            parts.append(f"dilation={self.dilation}")
        if self.output_padding != (0,) * self.rank:
            parts.append(f"output_padding={self.output_padding}")
        if self.groups != 1:
            parts.append(f"groups={self.groups}")
        if not self.bias:
            parts.append("bias=False")
        if self.padding_mode != "zeros":
            parts.append(f"padding_mode={self.padding_mode!r}")
        return f"{self.name}({', '.join(parts)})"


def conv_spec(
    name: str,
    rank: int,
    transposed: bool,
    in_channels: Any,
    out_channels: Any,
    kernel_size: Any,
    stride: Any,
    padding: Any,
    dilation: Any,
    groups: Any,
    bias: Any,
    padding_mode: Any,
    output_padding: Any = 0,
) -> ConvSpec:
    """Checks ``torch.nn.Conv*d`` / ``ConvTranspose*d`` arguments as PyTorch does (and the ones
    it leaves to ``forward``) and returns them normalised; ``name`` heads every message."""
    cin = _args.as_int(name, "in_channels", in_channels)
    cout = _args.as_int(name, "out_channels", out_channels)
    for arg, value in (("in_channels", cin), ("out_channels", cout)):
        if value < 1:
            raise ValueError(f"{name}: {arg}={value} must be >= 1")
    g = _args.as_int(name, "groups", groups)
    if g < 1:
        raise ValueError(f"{name}: groups={groups!r} must be a positive integer")
    if cin % g:
        raise ValueError(f"{name}: in_channels={cin} must be divisible by groups={g}")
    if cout % g:
        raise ValueError(f"{name}: out_channels={cout} must be divisible by groups={g}")
    ks = _common.ints(name, "kernel_size", kernel_size, rank, 1)
    ss = _common.ints(name, "stride", stride, rank, 1)
    ds = _common.ints(name, "dilation", dilation, rank, 1)
    if not isinstance(bias, bool):
        raise TypeError(f"{name}: bias={bias!r} must be True or False")
    if not isinstance(padding_mode, str) or padding_mode not in _common.PADDING_MODES:
        raise ValueError(
            f"{name}: padding_mode must be one of {', '.join(map(repr, _common.PADDING_MODES))}, "
            f"but got padding_mode={padding_mode!r}"
        )
    ops = (0,) * rank
    pad: tuple[int, ...] | str
    if transposed:
        if padding_mode != "zeros":
            raise ValueError(
                f"{name}: only padding_mode='zeros' is supported for transposed convs (as in "
                f"PyTorch), got {padding_mode!r}"
            )
        if isinstance(padding, str):
            raise ValueError(
                f"{name}: padding={padding!r}: a transposed conv takes an int or one int per "
                "spatial dim (PyTorch has no 'same'/'valid' for ConvTranspose)"
            )
        pad = _common.ints(name, "padding", padding, rank, 0)
        ops = _common.ints(name, "output_padding", output_padding, rank, 0)
        for i, (op, s, d) in enumerate(zip(ops, ss, ds)):
            if op >= max(s, d):
                raise ValueError(
                    f"{name}: output_padding {op} in {_args.dim_name(rank, i)} must be smaller "
                    f"than either stride ({s}) or dilation ({d})"
                )
    elif isinstance(padding, str):
        _common.padding(name, padding, rank, ks, ss, ds)  # PyTorch's string checks
        pad = padding
    else:
        pad = _common.ints(name, "padding", padding, rank, 0)
    return ConvSpec(name, rank, transposed, cin, cout, ks, ss, pad, ds, g, ops, bias, padding_mode)


def init(spec: ConvSpec, key: jax.Array, dtype: DTypeLike) -> tuple[jax.Array, jax.Array | None]:
    """PyTorch's ``reset_parameters``: ``kaiming_uniform_(weight, a=sqrt(5))`` and a bias uniform
    in ``+-1 / sqrt(fan_in)``.

    Kaiming-uniform draws from ``+-gain * sqrt(3 / fan_in)`` with
    ``gain = sqrt(2 / (1 + a^2)) = sqrt(1 / 3)``, so both bounds are ``1 / sqrt(fan_in)``.
    """
    bound = 1 / math.sqrt(spec.fan_in) if spec.fan_in else 0.0
    kw, kb = jax.random.split(key)
    w = jax.random.uniform(kw, spec.weight_shape, dtype, -bound, bound)
    if not spec.bias:
        return w, None
    return w, jax.random.uniform(kb, (spec.out_channels,), dtype, -bound, bound)


def build(
    name: str, rank: int, transposed: bool, key: jax.Array, dtype: DTypeLike, *torch_args: Any
) -> tuple[ConvSpec, jax.Array, jax.Array | None]:
    """The :class:`ConvSpec` and PyTorch-initialised ``(weight, bias)`` of a layer built with
    ``torch.nn``'s positional arguments in its own order: ``Conv*d(in_channels, out_channels,
    kernel_size, stride, padding, dilation, groups, bias, padding_mode)`` or
    ``ConvTranspose*d(in_channels, out_channels, kernel_size, stride, padding, output_padding,
    groups, bias, dilation, padding_mode)``."""
    if transposed:
        cin, cout, k, stride, padding, output_padding, groups, bias, dilation, mode = torch_args
    else:
        cin, cout, k, stride, padding, dilation, groups, bias, mode = torch_args
        output_padding = 0
    spec = conv_spec(
        name, rank, transposed, cin, cout, k, stride, padding, dilation, groups, bias, mode,
        output_padding,
    )  # fmt: skip
    return (spec, *init(spec, key, dtype))


def _data(spec: ConvSpec, x: jax.Array) -> int:
    """The number of non-spatial dims of ``x`` (2 batched, 1 unbatched); checks its channels."""
    if x.ndim not in (spec.rank + 1, spec.rank + 2):
        raise ValueError(
            f"{spec.name}: input has shape {x.shape}; expected {spec.rank + 2} dims (N, C, "
            f"*spatial) or {spec.rank + 1} (C, *spatial)"
        )
    lead = x.ndim - spec.rank
    if x.shape[lead - 1] != spec.in_channels:
        raise ValueError(
            f"{spec.name}: input has shape {x.shape} with {x.shape[lead - 1]} channels; this "
            f"layer expects in_channels={spec.in_channels}"
        )
    return lead


def output_padding(
    spec: ConvSpec, x: jax.Array, lead: int, output_size: Sequence[int] | None
) -> tuple[int, ...]:
    """``ConvTranspose*d.forward(x, output_size)``'s choice of ``output_padding``: ``output_size``
    holds the spatial sizes, optionally after the batch and channel sizes (all of ``x``'s leading
    dims); each must be reachable (:func:`jconv._shapes.torch_output_padding`)."""
    if output_size is None:
        return spec.output_padding
    sizes = _args.as_int_tuple(spec.name, "output_size", output_size)
    if len(sizes) not in (spec.rank, spec.rank + lead):
        raise ValueError(
            f"{spec.name}: for {x.ndim}-D input, output_size must have {spec.rank} or "
            f"{spec.rank + lead} elements (got {len(sizes)}: {tuple(sizes)})"
        )
    sizes = sizes[-spec.rank :]
    assert isinstance(spec.padding, tuple)  # transposed specs hold ints
    geometry = list(zip(x.shape[lead:], spec.kernel_size, spec.stride, spec.dilation, spec.padding))
    ops = [_shapes.torch_output_padding(n, *g) for n, g in zip(sizes, geometry)]
    if any(op is None for op in ops):
        lows = [_shapes.torch_transpose_size(*g, 0) for g in geometry]
        highs = [lo + s - 1 for lo, s in zip(lows, spec.stride)]
        raise ValueError(
            f"{spec.name}: requested an output size of {list(sizes)}, but valid sizes range from "
            f"{lows} to {highs} (for an input of {list(x.shape[lead:])})"
        )
    return tuple(op for op in ops if op is not None)


def call(
    spec: ConvSpec,
    weight: jax.Array,
    bias: jax.Array | None,
    x: ArrayLike,
    output_size: Sequence[int] | None = None,
) -> jax.Array:
    """The layer's forward: :mod:`jconv.torch`'s conv or transposed conv with the layer's
    settings, on batched ``(N, C, *spatial)`` or unbatched ``(C, *spatial)`` data."""
    data: jax.Array = _args.array(spec.name, "input", x)
    lead = _data(spec, data)
    if spec.transposed:
        fn = getattr(jt, f"conv_transpose{spec.rank}d")
        ops = output_padding(spec, data, lead, output_size)
        return fn(data, weight, bias, spec.stride, spec.padding, ops, spec.groups, spec.dilation)
    fn = getattr(jt, f"conv{spec.rank}d")
    return fn(
        data,
        weight,
        bias,
        spec.stride,
        spec.padding,
        spec.dilation,
        spec.groups,
        padding_mode=spec.padding_mode,
    )


class TorchAttributes:
    """``torch.nn.Conv*d``'s read-only attributes (``in_channels``, ``kernel_size``, ...) from a
    layer's ``spec``."""

    spec: ConvSpec

    @property
    def in_channels(self) -> int:
        return self.spec.in_channels

    @property
    def out_channels(self) -> int:
        return self.spec.out_channels

    @property
    def kernel_size(self) -> tuple[int, ...]:
        return self.spec.kernel_size

    @property
    def stride(self) -> tuple[int, ...]:
        return self.spec.stride

    @property
    def padding(self) -> tuple[int, ...] | str:
        return self.spec.padding

    @property
    def dilation(self) -> tuple[int, ...]:
        return self.spec.dilation

    @property
    def groups(self) -> int:
        return self.spec.groups

    @property
    def output_padding(self) -> tuple[int, ...]:
        return self.spec.output_padding

    @property
    def padding_mode(self) -> str:
        return self.spec.padding_mode

    @property
    def transposed(self) -> bool:
        return self.spec.transposed
