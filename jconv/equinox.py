"""PyTorch's conv layers as Equinox modules, and PyTorch ``state_dict`` loading.

``Conv1d/2d/3d`` and ``ConvTranspose1d/2d/3d`` take ``torch.nn``'s constructor arguments in
``torch.nn``'s order with its defaults, plus ``dtype=`` and ``key=`` (keyword only, as Equinox's
own layers). Parameters are array fields named ``weight`` and ``bias`` in PyTorch's layouts,
initialised as PyTorch initialises them; data is ``(N, C, *spatial)`` or unbatched
``(C, *spatial)`` (no ``jax.vmap`` needed, though it works). The layers run
:mod:`jconv.torch`'s functions, so their values are PyTorch's and their derivatives jconv's
``auto`` derivations.

A model of these layers with the attribute names of its PyTorch twin loads that twin's weights:

>>> import jax, numpy as np
>>> import jconv.equinox
>>> layer = jconv.equinox.ConvTranspose2d(4, 2, 3, stride=2, key=jax.random.key(0))
>>> layer.weight.shape
(4, 2, 3, 3)
>>> sd = {"weight": np.ones((4, 2, 3, 3)), "bias": np.zeros(2)}
>>> layer = jconv.equinox.load_state_dict(layer, sd)
>>> layer(np.ones((1, 4, 5, 5), np.float32), output_size=(12, 12)).shape
(1, 2, 12, 12)

Keys are attribute paths joined by dots, list and tuple indices included (``blocks.0.weight``);
an ``eqx.nn.Sequential``'s ``layers`` level is left out, as in ``torch.nn.Sequential``
(``0.weight``). The keys are those of the model's array leaves (non-static fields).

Needs Equinox: ``pip install 'jconv[equinox]'``.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

try:
    import equinox as eqx
except ImportError as e:  # pragma: no cover - exercised in a subprocess test
    raise ImportError(
        "jconv.equinox needs Equinox: pip install 'jconv[equinox]' (or pip install equinox)"
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


class _Conv(_layers.TorchAttributes, eqx.Module):
    """``torch.nn.Conv{rank}d``; subclasses fix ``rank``."""

    spec: _layers.ConvSpec = eqx.field(static=True)
    weight: jax.Array
    bias: jax.Array | None
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
        key: jax.Array,
    ):
        name = f"jconv.equinox.{type(self).__name__}"
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
        self.spec, self.weight, self.bias = _layers.build(
            name, self.rank, False, key, dtype, *torch_args
        )

    def __call__(self, x: ArrayLike, *, key: jax.Array | None = None) -> jax.Array:
        """``key`` is unused (Equinox's layer convention)."""
        return _layers.call(self.spec, self.weight, self.bias, x)


class _ConvTranspose(_layers.TorchAttributes, eqx.Module):
    """``torch.nn.ConvTranspose{rank}d``; subclasses fix ``rank``."""

    spec: _layers.ConvSpec = eqx.field(static=True)
    weight: jax.Array
    bias: jax.Array | None
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
        key: jax.Array,
    ):
        name = f"jconv.equinox.{type(self).__name__}"
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
        self.spec, self.weight, self.bias = _layers.build(
            name, self.rank, True, key, dtype, *torch_args
        )

    def __call__(
        self,
        x: ArrayLike,
        output_size: Sequence[int] | None = None,
        *,
        key: jax.Array | None = None,
    ) -> jax.Array:
        """``output_size`` (spatial sizes, optionally after batch and channels) picks the
        ``output_padding`` as PyTorch's ``forward(x, output_size)`` does; ``key`` is unused."""
        return _layers.call(self.spec, self.weight, self.bias, x, output_size)


class Conv1d(_Conv):
    """``torch.nn.Conv1d`` as an Equinox module (see :mod:`jconv.equinox`,
    :func:`jconv.torch.conv1d`)."""

    rank = 1


class Conv2d(_Conv):
    """``torch.nn.Conv2d`` as an Equinox module (see :mod:`jconv.equinox`,
    :func:`jconv.torch.conv2d`).

    >>> import jax, jax.numpy as jnp, jconv.equinox
    >>> key = jax.random.key(0)
    >>> conv = jconv.equinox.Conv2d(3, 8, 3, padding=1, padding_mode="circular", key=key)
    >>> conv(jnp.ones((3, 16, 16))).shape, conv.weight.shape
    ((8, 16, 16), (8, 3, 3, 3))
    """

    rank = 2


class Conv3d(_Conv):
    """``torch.nn.Conv3d`` as an Equinox module (see :mod:`jconv.equinox`,
    :func:`jconv.torch.conv3d`)."""

    rank = 3


class ConvTranspose1d(_ConvTranspose):
    """``torch.nn.ConvTranspose1d`` as an Equinox module (see
    :func:`jconv.torch.conv_transpose1d`)."""

    rank = 1


class ConvTranspose2d(_ConvTranspose):
    """``torch.nn.ConvTranspose2d`` as an Equinox module (see
    :func:`jconv.torch.conv_transpose2d`)."""

    rank = 2


class ConvTranspose3d(_ConvTranspose):
    """``torch.nn.ConvTranspose3d`` as an Equinox module (see
    :func:`jconv.torch.conv_transpose3d`)."""

    rank = 3


def _path_part(k: Any) -> Any:
    if isinstance(k, jax.tree_util.GetAttrKey):
        return k.name
    if isinstance(k, jax.tree_util.SequenceKey):
        return k.idx
    if isinstance(k, jax.tree_util.DictKey):
        return k.key
    raise TypeError(f"jconv.equinox: cannot name the pytree path entry {k!r} as a state_dict key")


def _leaves(module: Any) -> tuple[list[tuple[str | None, Any]], Any]:
    """``[(torch key or None, leaf)]`` over all leaves (keys for the arrays) and the treedef."""
    pairs, treedef = jax.tree_util.tree_flatten_with_path(module)
    out: list[tuple[str | None, Any]] = []
    for path, leaf in pairs:
        if not eqx.is_array(leaf):
            out.append((None, leaf))
            continue
        obj, parts, parents = module, [], []
        for k in path:
            part = _path_part(k)
            parts.append(part)
            parents.append(obj)
            obj = getattr(obj, part) if isinstance(k, jax.tree_util.GetAttrKey) else obj[part]
        out.append((_state_dict.torch_key(parts, parents, eqx.nn.Sequential), leaf))
    return out, treedef


def state_dict(module: Any) -> dict[str, np.ndarray]:
    """The module's array leaves as ``{torch key: NumPy array}``; PyTorch loads it back with
    ``model.load_state_dict({k: torch.from_numpy(v) for k, v in sd.items()})``."""
    leaves, _ = _leaves(module)
    return {k: np.array(leaf) for k, leaf in leaves if k is not None}


def load_state_dict(module: Any, state_dict: Mapping[str, Any]) -> Any:
    """A copy of ``module`` with a PyTorch ``state_dict``'s weights (torch tensors or arrays),
    loaded strictly as ``torch.nn.Module.load_state_dict(strict=True)``: every array leaf's key
    must be there with its shape, and no other. Values are cast to the module's dtypes.

    Raises:
      ValueError: missing keys, unexpected keys, shape mismatches, all named with both shapes;
        no module is returned then.
      TypeError: ``state_dict`` is not a mapping, or holds something that is not an array.
    """
    leaves, treedef = _leaves(module)
    expected = {k: (leaf.shape, leaf.dtype) for k, leaf in leaves if k is not None}
    arrays = _state_dict.checked(
        "jconv.equinox.load_state_dict", type(module).__name__, expected, state_dict
    )
    new = [leaf if k is None else jnp.asarray(arrays[k]) for k, leaf in leaves]
    return jax.tree_util.tree_unflatten(treedef, new)
