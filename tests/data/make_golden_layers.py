"""Write ``tests/data/golden_layers.npz``: PyTorch's conv layers, their outputs and gradients.

Run from the repository root (needs PyTorch)::

    python tests/data/make_golden_layers.py

Each case builds a ``torch.nn`` layer (``Conv1d/2d/3d`` or ``ConvTranspose1d/2d/3d``) in float64
with the stored constructor arguments, sets its weight and bias to integer values, calls it on an
integer-valued input (with ``output_size=`` for some transposed cases) and differentiates
``sum(layer(x) * r)`` for an integer-valued ``r``. Every value is an exact integer, so
``tests/test_layers.py`` demands equality. The cases cover every constructor option: stride,
int/tuple/``"same"``/``"valid"`` padding, dilation, groups, bias on and off, the four padding
modes, ``output_padding``, ``output_size``, batched and unbatched data, 1-3 spatial dims.

Layout: ``case0007/config`` is a JSON string ``{"id", "cls", "args", "kwargs", "output_size",
"x_shape"}``; ``case0007/{x, weight, bias, r, out, grad_x, grad_weight, grad_bias}`` the arrays
(``bias``/``grad_bias`` absent when ``bias=False``); ``meta/torch`` the PyTorch version.
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np

OUT = Path(__file__).parent / "golden_layers.npz"


def cases():
    """``(cls, args, kwargs, x_shape, output_size)`` per case; ``x_shape`` without the batch dim
    is an unbatched call."""
    c = []

    def add(cls, args, x_shape, output_size=None, **kwargs):
        c.append((cls, list(args), kwargs, list(x_shape), output_size))

    # forward convs: every padding form and mode, groups, dilation, stride, bias off
    add("Conv1d", (3, 4, 3), (2, 3, 9))
    add("Conv1d", (4, 6, 4), (4, 6), stride=1, padding="same", groups=2, dilation=2, bias=False)
    add("Conv1d", (2, 4, 5), (1, 2, 11), stride=3, padding=2, padding_mode="reflect")
    add("Conv1d", (2, 2, 3), (2, 5), padding=4, padding_mode="replicate")
    add("Conv1d", (3, 3, 3), (1, 3, 4), padding=4, padding_mode="circular", groups=3)
    add("Conv2d", (3, 4, 3), (2, 3, 6, 7), padding=1)
    add("Conv2d", (4, 8, (3, 2)), (1, 4, 7, 6), stride=(2, 1), padding=(1, 0), groups=4)
    add("Conv2d", (2, 3, 3), (2, 6, 5), padding="valid", dilation=(1, 2), bias=False)
    add("Conv2d", (2, 4, (2, 3)), (1, 2, 5, 6), padding="same", padding_mode="reflect")
    add("Conv2d", (4, 4, 3), (2, 4, 5, 4), stride=2, padding=(2, 1), padding_mode="reflect")
    add("Conv2d", (2, 2, 3), (1, 2, 3, 4), padding=2, dilation=2, padding_mode="replicate")
    add("Conv2d", (6, 4, 3), (6, 4, 5), padding=(1, 2), groups=2, padding_mode="circular")
    add("Conv2d", (1, 2, 4), (1, 1, 4, 4), padding="same", padding_mode="circular", dilation=1)
    add("Conv3d", (2, 3, 3), (1, 2, 4, 5, 4), padding=1)
    add("Conv3d", (2, 4, (2, 3, 1)), (2, 3, 4, 5), stride=(1, 2, 1), groups=2, bias=False)
    add("Conv3d", (2, 2, 3), (1, 2, 3, 4, 5), padding=(1, 2, 0), padding_mode="reflect")
    add("Conv3d", (3, 3, 2), (3, 3, 3, 3), padding="same", padding_mode="replicate", groups=3)
    add("Conv3d", (2, 2, 3), (1, 2, 2, 3, 4), padding=(2, 1, 1), padding_mode="circular")
    # transposed convs: output_padding, output_size (spatial only and full), groups, dilation
    add("ConvTranspose1d", (3, 4, 3), (2, 3, 5), stride=2)
    add("ConvTranspose1d", (4, 2, 4), (4, 6), stride=3, padding=1, output_padding=2, groups=2)
    add("ConvTranspose1d", (2, 3, 3), (1, 2, 4), [15], stride=3, dilation=2, bias=False)
    add("ConvTranspose2d", (3, 2, 3), (2, 3, 4, 4), stride=2, padding=1, output_padding=1)
    add("ConvTranspose2d", (4, 6, (2, 3)), (1, 4, 3, 5), stride=(2, 3), groups=2, dilation=(2, 1))
    add("ConvTranspose2d", (2, 2, 3), (2, 4, 4), [2, 10, 10], stride=2, bias=False)
    add("ConvTranspose2d", (2, 4, 4), (1, 2, 3, 3), [7, 6], stride=2, padding=1)
    add("ConvTranspose2d", (2, 2, 3), (1, 2, 3, 4), stride=(1, 2), output_padding=(0, 1))
    add("ConvTranspose3d", (2, 3, 3), (1, 2, 2, 3, 2), stride=2, padding=1, output_padding=1)
    add("ConvTranspose3d", (4, 4, (1, 2, 2)), (4, 2, 2, 3), stride=(1, 2, 2), groups=4)
    add("ConvTranspose3d", (2, 2, 2), (1, 2, 2, 2, 3), [1, 2, 5, 4, 6], stride=2, dilation=1)
    return c


def case_id(i, cls, args, kwargs, x_shape, output_size):
    parts = [f"{i:02d}", cls, "x".join(map(str, x_shape))]
    for k, v in kwargs.items():
        parts.append(f"{k}={v}".replace(" ", ""))
    if output_size is not None:
        parts.append("size=" + "x".join(map(str, output_size)))
    return "-".join(parts)


def main():
    import torch

    rng = np.random.default_rng(20261207)
    arrays = {"meta/torch": np.array(torch.__version__), "meta/numpy": np.array(np.__version__)}
    for i, (cls, args, kwargs, x_shape, output_size) in enumerate(cases()):
        layer = getattr(torch.nn, cls)(*args, **kwargs, dtype=torch.float64)
        w = rng.integers(-3, 4, tuple(layer.weight.shape)).astype(np.float64)
        x = rng.integers(-3, 4, x_shape).astype(np.float64)
        with torch.no_grad():
            layer.weight.copy_(torch.from_numpy(w))
            if layer.bias is not None:
                layer.bias.copy_(torch.from_numpy(rng.integers(-3, 4, layer.bias.shape) * 1.0))
        tx = torch.from_numpy(x).requires_grad_()
        y = layer(tx) if output_size is None else layer(tx, output_size=output_size)
        r = rng.integers(-3, 4, tuple(y.shape)).astype(np.float64)
        (y * torch.from_numpy(r)).sum().backward()
        prefix = f"case{i:04d}/"
        config = {
            "id": case_id(i, cls, args, kwargs, x_shape, output_size),
            "cls": cls,
            "args": args,
            "kwargs": kwargs,
            "output_size": output_size,
            "x_shape": x_shape,
        }
        arrays[prefix + "config"] = np.array(json.dumps(config))
        arrays[prefix + "x"] = x
        arrays[prefix + "weight"] = w
        arrays[prefix + "r"] = r
        arrays[prefix + "out"] = y.detach().numpy()
        arrays[prefix + "grad_x"] = tx.grad.numpy()
        arrays[prefix + "grad_weight"] = layer.weight.grad.numpy()
        if layer.bias is not None:
            arrays[prefix + "bias"] = layer.bias.detach().numpy()
            arrays[prefix + "grad_bias"] = layer.bias.grad.numpy()
    np.savez_compressed(OUT, **arrays)
    print(f"wrote {OUT} ({len(cases())} cases, torch {torch.__version__})")


if __name__ == "__main__":
    main()
