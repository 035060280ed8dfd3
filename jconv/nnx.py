"""PyTorch's conv layers as Flax NNX modules, and PyTorch ``state_dict`` loading.

``Conv1d/2d/3d`` and ``ConvTranspose1d/2d/3d`` take ``torch.nn``'s constructor arguments in
``torch.nn``'s order with its defaults, plus ``dtype=`` and ``rngs=`` (keyword only). Parameters
are ``nnx.Param``\\ s named ``weight`` and ``bias`` in PyTorch's layouts, initialised as PyTorch
initialises them; data is ``(N, C, *spatial)`` or unbatched ``(C, *spatial)``. The layers run
:mod:`jconv.torch`'s functions, so their values are PyTorch's and their derivatives jconv's
``auto`` derivations.

A model of these layers with the attribute names of its PyTorch twin loads that twin's weights:

>>> import numpy as np
>>> from flax import nnx
>>> import jconv.nnx
>>> layer = jconv.nnx.ConvTranspose2d(4, 2, 3, stride=2, rngs=nnx.Rngs(0))
>>> layer.weight.shape
(4, 2, 3, 3)
>>> jconv.nnx.load_state_dict(layer, {"weight": np.ones((4, 2, 3, 3)), "bias": np.zeros(2)})
>>> layer(np.ones((1, 4, 5, 5), np.float32), output_size=(12, 12)).shape
(1, 2, 12, 12)

Keys are attribute paths joined by dots, list indices included (``blocks.0.weight``); an
``nnx.Sequential``'s ``layers`` level is left out, as in ``torch.nn.Sequential`` (``0.weight``).
The keys are those of the model's ``nnx.Param`` and ``nnx.BatchStat`` variables (PyTorch's
parameters and buffers).

Needs Flax: ``pip install 'jconv[flax]'``.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

try:
    from flax import nnx
except ImportError as e:  # pragma: no cover - exercised in a subprocess test
    raise ImportError(
        "jconv.nnx needs Flax NNX: pip install 'jconv[flax]' (or pip install flax)"
    ) from e

import jax
import jax.numpy as jnp
import numpy as np
from jax.typing import ArrayLike, DTypeLike

from jconv import _layers, _state_dict

__all__ = [
    "Conv1d",
    "Conv2d",
    "Conv3d",
    "ConvTranspose1d",
    "ConvTranspose2d",
    "ConvTranspose3d",
    "load_state_dict",
    "state_dict",
]


class _Conv(_layers.TorchAttributes, nnx.Module):
    """``torch.nn.Conv{rank}d``; subclasses fix ``rank``."""

    rank = 0

    def __init__(
        self,
        in_channels: int,
        out_channels: int,
        kernel_size: int | Sequence[int],
        stride: int | Sequence[int] = 1,
        padding: str | int | Sequence[int] = 0,
        dilation: int | Sequence[int] = 1,
        groups: int = 1,
        bias: bool = True,
        padding_mode: str = "zeros",
        *,
        dtype: DTypeLike = jnp.float32,
        rngs: nnx.Rngs,
    ):
        name = f"jconv.nnx.{type(self).__name__}"
        torch_args = (
            in_channels,
            out_channels,
            kernel_size,
            stride,
            padding,
            dilation,
            groups,
            bias,
            padding_mode,
        )
        self.spec, w, b = _layers.build(name, self.rank, False, rngs.params(), dtype, *torch_args)
        self.weight = nnx.Param(w)
        self.bias = None if b is None else nnx.Param(b)

    def __call__(self, x: ArrayLike) -> jax.Array:
        bias = None if self.bias is None else self.bias.get_value()
        return _layers.call(self.spec, self.weight.get_value(), bias, x)


class _ConvTranspose(_layers.TorchAttributes, nnx.Module):
    """``torch.nn.ConvTranspose{rank}d``; subclasses fix ``rank``."""

    rank = 0

    def __init__(
        self,
        in_channels: int,
        out_channels: int,
        kernel_size: int | Sequence[int],
        stride: int | Sequence[int] = 1,
        padding: int | Sequence[int] = 0,
        output_padding: int | Sequence[int] = 0,
        groups: int = 1,
        bias: bool = True,
        dilation: int | Sequence[int] = 1,
        padding_mode: str = "zeros",
        *,
        dtype: DTypeLike = jnp.float32,
        rngs: nnx.Rngs,
    ):
        name = f"jconv.nnx.{type(self).__name__}"
        torch_args = (
            in_channels,
            out_channels,
            kernel_size,
            stride,
            padding,
            output_padding,
            groups,
            bias,
            dilation,
            padding_mode,
        )
        self.spec, w, b = _layers.build(name, self.rank, True, rngs.params(), dtype, *torch_args)
        self.weight = nnx.Param(w)
        self.bias = None if b is None else nnx.Param(b)

    def __call__(self, x: ArrayLike, output_size: Sequence[int] | None = None) -> jax.Array:
        """``output_size`` (spatial sizes, optionally after batch and channels) picks the
        ``output_padding`` as PyTorch's ``forward(x, output_size)`` does."""
        bias = None if self.bias is None else self.bias.get_value()
        return _layers.call(self.spec, self.weight.get_value(), bias, x, output_size)


class Conv1d(_Conv):
    """``torch.nn.Conv1d`` as an NNX module (see :mod:`jconv.nnx`, :func:`jconv.torch.conv1d`)."""

    rank = 1


class Conv2d(_Conv):
    """``torch.nn.Conv2d`` as an NNX module (see :mod:`jconv.nnx`, :func:`jconv.torch.conv2d`).

    >>> from flax import nnx
    >>> import jax.numpy as jnp, jconv.nnx
    >>> conv = jconv.nnx.Conv2d(3, 8, 3, padding=1, padding_mode="reflect", rngs=nnx.Rngs(0))
    >>> conv(jnp.ones((2, 3, 16, 16))).shape, conv.weight.shape
    ((2, 8, 16, 16), (8, 3, 3, 3))
    """

    rank = 2


class Conv3d(_Conv):
    """``torch.nn.Conv3d`` as an NNX module (see :mod:`jconv.nnx`, :func:`jconv.torch.conv3d`)."""

    rank = 3


class ConvTranspose1d(_ConvTranspose):
    """``torch.nn.ConvTranspose1d`` as an NNX module (see :func:`jconv.torch.conv_transpose1d`)."""

    rank = 1


class ConvTranspose2d(_ConvTranspose):
    """``torch.nn.ConvTranspose2d`` as an NNX module (see :func:`jconv.torch.conv_transpose2d`)."""

    rank = 2


class ConvTranspose3d(_ConvTranspose):
    """``torch.nn.ConvTranspose3d`` as an NNX module (see :func:`jconv.torch.conv_transpose3d`)."""

    rank = 3


def _variables(module: nnx.Module) -> dict[str, nnx.Variable]:
    """``{torch key: variable}`` for the module's ``Param`` and ``BatchStat`` variables."""
    out = {}
    state = nnx.state(module, (nnx.Param, nnx.BatchStat))
    for path, _ in nnx.to_flat_state(state):
        obj: Any = module
        parents = []
        for part in path:
            parents.append(obj)
            obj = obj[part] if isinstance(part, int) else getattr(obj, str(part))
        out[_state_dict.torch_key(path, parents, nnx.Sequential)] = obj
    return out


def state_dict(module: nnx.Module) -> dict[str, np.ndarray]:
    """The module's parameters and batch statistics as ``{torch key: NumPy array}``; PyTorch loads
    it back with ``model.load_state_dict({k: torch.from_numpy(v) for k, v in sd.items()})``."""
    return {k: np.array(v.get_value()) for k, v in _variables(module).items()}


def load_state_dict(module: nnx.Module, state_dict: Mapping[str, Any]) -> None:
    """Loads a PyTorch ``state_dict`` (torch tensors or arrays) into ``module`` in place, strictly
    as ``torch.nn.Module.load_state_dict(strict=True)``: every key of the module must be there
    with its shape, and no other. Values are cast to the module's dtypes.

    Raises:
      ValueError: missing keys, unexpected keys, shape mismatches, all named with both shapes;
        nothing is loaded then.
      TypeError: ``state_dict`` is not a mapping, or holds something that is not an array.
    """
    variables = _variables(module)
    expected = {k: (v.get_value().shape, v.get_value().dtype) for k, v in variables.items()}
    arrays = _state_dict.checked(
        "jconv.nnx.load_state_dict", type(module).__name__, expected, state_dict
    )
    for k, v in variables.items():
        v.set_value(jnp.asarray(arrays[k]))
