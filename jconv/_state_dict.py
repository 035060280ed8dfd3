"""Strict ``state_dict`` loading shared by :mod:`jconv.nnx` and :mod:`jconv.equinox`: PyTorch's
``load_state_dict(strict=True)`` rules on flat ``{dotted.key: array}`` dicts, with no Flax or
Equinox in it. The libraries turn their module trees into keys; this module checks and converts."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np


def key(parts: Sequence[Any]) -> str:
    """PyTorch's dotted name of a path of attribute names and list indices: ``up.0.weight``."""
    return ".".join(str(p) for p in parts)


def torch_key(parts: Sequence[Any], parents: Sequence[Any], sequential: type) -> str:
    """PyTorch's key of a leaf reached through ``parts`` (``parents[i]`` holds ``parts[i]``): a
    ``sequential`` container's ``layers`` level is dropped, since ``torch.nn.Sequential`` names
    its children ``0``, ``1``, ... directly (``up.layers.0.weight`` -> ``up.0.weight``)."""
    kept = [p for p, o in zip(parts, parents) if not (isinstance(o, sequential) and p == "layers")]
    return key(kept)


def as_numpy(fn: str, name: str, value: Any) -> np.ndarray:
    """A torch tensor (any device, grad or not; bfloat16 through float32), a NumPy or JAX array,
    as a NumPy array."""
    if hasattr(value, "detach") and hasattr(value, "cpu"):  # a torch.Tensor, without torch
        value = value.detach().cpu()
        if str(value.dtype) == "torch.bfloat16":
            value = value.float()
        return value.numpy()
    if isinstance(value, np.ndarray) or hasattr(value, "__array__"):
        return np.asarray(value)
    raise TypeError(
        f"{fn}: state_dict[{name!r}] is a {type(value).__name__}; expected a torch tensor or an "
        "array"
    )


def checked(
    fn: str,
    module_name: str,
    expected: Mapping[str, tuple[tuple[int, ...], np.dtype]],
    state_dict: Mapping[str, Any],
) -> dict[str, np.ndarray]:
    """``state_dict``'s arrays for exactly the keys of ``expected`` (``key -> (shape, dtype)``),
    cast to the module's dtypes; every missing key, unexpected key and size mismatch is named in
    one ``ValueError``, before anything is loaded."""
    if not isinstance(state_dict, Mapping):
        raise TypeError(
            f"{fn}: state_dict is a {type(state_dict).__name__}; expected a mapping of names to "
            "arrays (torch's model.state_dict())"
        )
    missing = [k for k in expected if k not in state_dict]
    unexpected = [k for k in state_dict if k not in expected]
    arrays, mismatched = {}, []
    for k, (shape, dtype) in expected.items():
        if k not in state_dict:
            continue
        a = as_numpy(fn, k, state_dict[k])
        if a.shape != tuple(shape):
            mismatched.append(
                f"size mismatch for {k}: copying a param with shape {a.shape} from the "
                f"state_dict, the shape in the module is {tuple(shape)}"
            )
        arrays[k] = a.astype(dtype)
    if missing or unexpected or mismatched:
        lines = []
        if missing:
            lines.append("missing key(s): " + ", ".join(map(repr, missing)))
        if unexpected:
            lines.append("unexpected key(s): " + ", ".join(map(repr, unexpected)))
        lines += mismatched
        raise ValueError(
            f"{fn}: error(s) in loading state_dict for {module_name} (nothing was loaded):\n  "
            + "\n  ".join(lines)
        )
    return arrays
