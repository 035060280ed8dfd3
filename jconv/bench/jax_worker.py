"""The JAX worker: jconv (``method="auto"``), ``jax.lax.conv_transpose``, jconv's ``"vjp"``, and
the machine's matmul peak.

Run by the parent as ``python -m jconv.bench.jax_worker --spec JSON``, one process per
implementation (lax's and vjp's steps allocate hundreds of MiB per call, which leaves the
allocator in another state for whatever runs after them in the same process). JAX is imported in
:func:`work`, so importing this module is cheap.
"""

from __future__ import annotations

import importlib.metadata
import statistics
import sys
from collections.abc import Callable
from typing import Any

import numpy as np

from jconv.bench.checks import save_check
from jconv.bench.processes import Result, Spec, serve
from jconv.bench.timing import log, measure, time_calls
from jconv.bench.workloads import Workload, cotangent, inputs

MATMUL_SIZE = 2048
"""The peak is ``jnp.dot`` of two ``MATMUL_SIZE`` x ``MATMUL_SIZE`` float32 matrices."""

Fn = Callable[[Any, Any], Any]


def jconv_fn(w: Workload, method: str) -> Fn:
    """``jconv.conv{r}d_transpose(x, f, ...)`` (or ``jconv.conv{r}d`` for an encoder) with
    ``method``, TensorFlow's arguments."""
    import jconv

    if w.encoder:
        conv: dict[int, Callable[..., Any]] = {1: jconv.conv1d, 2: jconv.conv2d, 3: jconv.conv3d}
        return lambda x, f: conv[w.rank](x, f, w.strides, w.padding, method=method)

    op: dict[int, Callable[..., Any]] = {
        1: jconv.conv1d_transpose,
        2: jconv.conv2d_transpose,
        3: jconv.conv3d_transpose,
    }
    return lambda x, f: op[w.rank](
        x, f, w.output_shape, strides=w.strides, padding=w.padding, method=method
    )


def lax_fn(w: Workload) -> Fn:
    """``jax.lax.conv_transpose`` with the explicit padding that makes it TensorFlow's op, or
    ``jax.lax.conv_general_dilated`` for an encoder (plain JAX: JAX's own derivatives)."""
    import jax

    from jconv import _shapes

    spatial = "DHW"[3 - w.rank :]
    dn = (f"N{spatial}C", f"{spatial}IO", f"N{spatial}C")
    if w.encoder:
        return lambda x, f: jax.lax.conv_general_dilated(
            x, f, w.strides, w.padding, dimension_numbers=dn, feature_group_count=w.groups
        )
    pads = []
    for n, m, k, s in zip(w.out_sizes, w.in_sizes, w.kernel, w.strides):
        lo, _ = _shapes.resolve_padding(w.padding, n, k, s, 1)
        pads.append(_shapes.transpose_padding(n, m, k, s, 1, lo))
    # transpose_kernel=True flips the kernel and swaps its channel axes, so TensorFlow's
    # (*k, C_out, C_in) filter is passed as is under "HWIO".
    return lambda x, f: jax.lax.conv_transpose(
        x, f, w.strides, pads, dimension_numbers=dn, transpose_kernel=True
    )


def torch_args_fn(w: Workload) -> Fn:
    """``jconv.torch.conv_transpose{r}d`` with PyTorch's arguments, channels-last in and out.

    The reference for PyTorch's check: it shifts unet2d by a row exactly as PyTorch does.
    """
    import jax.numpy as jnp

    import jconv.torch

    first, last = (0, w.rank + 1, *range(1, w.rank + 1)), (0, *range(2, w.rank + 2), 1)
    weight = (w.rank + 1, w.rank, *range(w.rank))
    if w.encoder:
        conv = getattr(jconv.torch, f"conv{w.rank}d")
        return lambda x, f: jnp.transpose(
            conv(
                jnp.transpose(x, first),
                jnp.transpose(f, weight),
                stride=w.strides,
                padding=w.torch_padding,
                groups=w.groups,
            ),
            last,
        )
    ops: dict[int, Callable[..., Any]] = {
        1: jconv.torch.conv_transpose1d,
        2: jconv.torch.conv_transpose2d,
        3: jconv.torch.conv_transpose3d,
    }
    op = ops[w.rank]
    return lambda x, f: jnp.transpose(
        op(
            jnp.transpose(x, first),
            jnp.transpose(f, weight),
            stride=w.strides,
            padding=w.torch_padding,
            output_padding=w.torch_output_padding,
        ),
        last,
    )


def fns(w: Workload, impl: str) -> tuple[Fn, Callable[[Any, Any], Any]] | None:
    """``impl``'s jit-compiled forward and step: the value and both gradients of ``sum(y ** 2)``
    (decoders) or ``sum(y * r)`` (encoders, :func:`~jconv.bench.workloads.cotangent`). None for
    ``"vjp"`` on an encoder (a decoder derivation)."""
    import jax
    import jax.numpy as jnp

    if impl == "vjp" and w.encoder:
        return None
    r = cotangent(w)
    fwd = {
        "jconv": lambda: jconv_fn(w, "auto"),
        "vjp": lambda: jconv_fn(w, "vjp"),
        "lax": lambda: lax_fn(w),
        "jconv-torch-args": lambda: torch_args_fn(w),
    }[impl]()
    if r is None:
        step = jax.value_and_grad(lambda x, f: jnp.sum(fwd(x, f) ** 2), argnums=(0, 1))
    else:
        rr = jnp.asarray(r)
        step = jax.value_and_grad(lambda x, f: jnp.sum(fwd(x, f) * rr), argnums=(0, 1))
    return jax.jit(fwd), jax.jit(step)


def _matmul(when: str, dot: Callable[[Any, Any], Any], mat: Any) -> dict[str, Any]:
    """Time the jit-compiled ``dot(mat, mat)`` (at least 7 runs) and its GFLOP/s."""
    import jax

    timing = time_calls(dot, (mat, mat), jax.block_until_ready, 7)
    timing["gflops"] = 2 * MATMUL_SIZE**3 / statistics.median(timing["times_ms"]) / 1e6
    log(
        "jax",
        f"matmul {MATMUL_SIZE}^2 float32 ({when}): {statistics.median(timing['times_ms']):.1f}"
        f" ms, {timing['gflops']:.1f} GFLOP/s, CPU share {timing['cpu_share']:.0%}",
    )
    return timing


def work(spec: Spec) -> Result:
    """Time ``spec["impls"]`` on every workload; write the check cases; time the matmul peak."""
    import jax
    import jax.numpy as jnp

    repeats = spec["repeats"]
    out: Result = {
        "framework": "jax",
        "measurements": [],
        "versions": {"jax": jax.__version__, "jaxlib": importlib.metadata.version("jaxlib")},
        "backend": jax.default_backend(),
        "devices": [str(d) for d in jax.devices()],
    }
    mat = jnp.asarray(np.random.default_rng(0).standard_normal((MATMUL_SIZE,) * 2, np.float32))
    dot = jax.jit(jnp.dot)
    # Measured before and after the workloads; other processes on the machine only ever lower
    # it, so the higher of the two is the peak.
    if spec.get("matmul", True):
        out["matmul"] = {"size": MATMUL_SIZE, "start": _matmul("start", dot, mat)}

    for wd in spec["workloads"]:
        w = Workload.from_dict(wd)
        x, f = (jnp.asarray(a) for a in inputs(w))
        for impl in spec["impls"]:
            pair = fns(w, impl)
            if pair is None:
                continue
            for op, fn in zip(("forward", "step"), pair):
                out["measurements"].append(
                    measure("jax", impl, w, op, repeats, fn, (x, f), jax.block_until_ready)
                )
    if spec.get("check_dir"):
        for wd in spec["check_workloads"]:
            w = Workload.from_dict(wd)
            x, f = (jnp.asarray(a) for a in inputs(w, seed=1))
            impls = [*spec["impls"], *(["jconv-torch-args"] if spec["torch_check"] else [])]
            for impl in impls:
                pair = fns(w, impl)
                if pair is None:
                    continue
                fwd, step = pair
                loss, (dx, dw) = step(x, f)
                save_check(spec["check_dir"], impl, w, fwd(x, f), loss, dx, dw)
    if spec.get("matmul", True):
        out["matmul"]["end"] = _matmul("end", dot, mat)
        out["matmul"]["gflops"] = max(out["matmul"][k]["gflops"] for k in ("start", "end"))
    return out


if __name__ == "__main__":
    sys.exit(serve(work))
