"""The PyTorch worker: ``torch.nn.functional.conv_transpose{1,2,3}d`` / ``conv{1,2,3}d`` and
autograd.

Run by the parent as ``python -m jconv.bench.torch_worker --spec JSON``. Data is ``(N, C, *m)``
(PyTorch's layout), ``torch.set_num_threads(cores)``; the forward runs under
``torch.inference_mode()``, the step is ``torch.autograd.grad`` of ``sum(y * y)`` (decoders) or
``sum(y * r)`` (encoders). PyTorch is
imported in :func:`work`, so importing this module is cheap and needs no PyTorch.
"""

from __future__ import annotations

import sys
from collections.abc import Callable
from typing import Any

import numpy as np

from jconv.bench.checks import save_check
from jconv.bench.processes import Result, Spec, serve
from jconv.bench.timing import cpu_count, measure
from jconv.bench.workloads import Workload, cotangent, inputs


def _no_sync(_: object) -> None:
    """PyTorch's CPU ops return when their results are computed: nothing to wait for."""


def work(spec: Spec) -> Result:
    """Time the forward and the step on every workload; write the check cases."""
    import torch
    import torch.nn.functional as F

    torch.set_num_threads(cpu_count())
    out: Result = {
        "framework": "torch",
        "measurements": [],
        "versions": {"torch": torch.__version__},
        "threads": torch.get_num_threads(),
    }

    def tensors(w: Workload, seed: int, grad: bool) -> tuple[Any, Any]:
        x, f = inputs(w, seed)
        xt = torch.from_numpy(np.ascontiguousarray(np.moveaxis(x, -1, 1)))
        # (*k, C_out, C_in) -> PyTorch's ConvTranspose weight (C_in, C_out, *k); an encoder's
        # (*k, C_in / g, C_out) -> Conv's (C_out, C_in / g, *k): the same permutation
        ft = torch.from_numpy(
            np.ascontiguousarray(np.transpose(f, (w.rank + 1, w.rank, *range(w.rank))))
        )
        return xt.requires_grad_(grad), ft.requires_grad_(grad)

    def conv(w: Workload) -> Callable[[Any, Any], Any]:
        if w.encoder:
            fwd = getattr(F, f"conv{w.rank}d")
            return lambda x, f: fwd(
                x, f, stride=w.strides, padding=w.torch_padding, groups=w.groups
            )
        op = getattr(F, f"conv_transpose{w.rank}d")
        return lambda x, f: op(
            x, f, stride=w.strides, padding=w.torch_padding, output_padding=w.torch_output_padding
        )

    def cotangent_of(w: Workload) -> Any:
        r = cotangent(w)
        return None if r is None else torch.from_numpy(np.ascontiguousarray(np.moveaxis(r, -1, 1)))

    def step(fwd: Callable[[Any, Any], Any], x: Any, f: Any, r: Any) -> tuple[Any, ...]:
        y = fwd(x, f)
        loss = (y * y).sum() if r is None else (y * r).sum()
        return (loss, *torch.autograd.grad(loss, (x, f)))

    def forward(fwd: Callable[[Any, Any], Any], x: Any, f: Any) -> Any:
        with torch.inference_mode():
            return fwd(x, f)

    repeats = spec["repeats"]
    for wd in spec["workloads"]:
        w = Workload.from_dict(wd)
        fwd = conv(w)
        x, f = tensors(w, 0, False)
        out["measurements"].append(
            measure("torch", "torch", w, "forward", repeats, forward, (fwd, x, f), _no_sync)
        )
        x, f = tensors(w, 0, True)
        r = cotangent_of(w)
        out["measurements"].append(
            measure("torch", "torch", w, "step", repeats, step, (fwd, x, f, r), _no_sync)
        )
    if spec.get("check_dir"):
        for wd in spec["check_workloads"]:
            w = Workload.from_dict(wd)
            x, f = tensors(w, 1, True)
            loss, dx, dw = step(conv(w), x, f, cotangent_of(w))
            y = forward(conv(w), x, f)
            save_check(
                spec["check_dir"],
                "torch",
                w,
                np.moveaxis(y.numpy(), 1, -1),
                loss.detach().numpy(),
                np.moveaxis(dx.numpy(), 1, -1),
                np.transpose(dw.numpy(), (*range(2, w.rank + 2), 1, 0)),
            )
    return out


if __name__ == "__main__":
    sys.exit(serve(work))
