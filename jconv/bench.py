"""Benchmark jconv's transposed convolutions against ``jax.lax``, PyTorch and TensorFlow.

Five decoder-style workloads (:data:`WORKLOADS`, a quarter-size set in :data:`SMALL_WORKLOADS`,
the same kinds at other sizes in :data:`OTHER_WORKLOADS`),
each timed as a forward transposed conv and as a training step: the value and the gradients
with respect to the input *and* the kernel of ``sum(conv_transpose(x, w) ** 2)``, the same loss
in every framework. Implementations (:data:`FRAMEWORKS`):

* ``jconv``: ``jconv.conv{1,2,3}d_transpose(..., method="auto")``, jit-compiled;
* ``lax``: ``jax.lax.conv_transpose(..., transpose_kernel=True)`` with the explicit padding that
  makes it equal to TensorFlow's (``jconv._shapes.transpose_padding``), jit-compiled;
* ``vjp``: jconv with ``method="vjp"``, the naive ``jax.vjp`` of the forward conv;
* ``torch``: ``torch.nn.functional.conv_transpose{1,2,3}d`` on ``(N, C, *spatial)`` data, autograd,
  ``torch.set_num_threads(cpu count)``;
* ``tf``: ``tf.nn.conv_transpose`` and ``tf.GradientTape`` in a ``tf.function``
  (``jit_compile=False``, TensorFlow's default).

Each implementation runs in its own subprocess, one after the other, so no thread pool competes
for the cores with another framework's and no allocator state carries over. Every measurement is
the median of at least ``repeats`` runs after two warm-up calls (more, up to 50, while they fit
in half a second), with ``block_until_ready`` / ``.numpy()`` so the time is the whole
computation; the process's CPU time over that wall time (``cpu_share``) shows how much of the
machine it got. The JAX subprocess also measures the machine's matmul peak, ``jnp.dot`` of two
2048 x 2048 float32 matrices, before and after the workloads (the better counts).

Useful FLOPs of one transposed conv are ``2 * N * prod(m) * C_in * C_out * prod(k)`` (``m`` its
input sizes), the multiplies a dense implementation cannot skip; a training step counts three
times that (forward, input gradient, kernel gradient). Ratios are ``peer_ms / jconv_ms``: above 1
jconv is faster.

Every implementation also computes one cheap check case per workload (batch 1, few channels,
the workload's sizes, kernel, strides and padding); its output, loss and both gradients must
match jconv's to a relative ``1e-4``, or the report prints a warning row.

Examples:
  >>> import jconv.bench
  >>> sorted(jconv.bench.WORKLOADS)
  ['audio1d', 'gan2d', 'patch2d', 'unet2d', 'vol3d']
  >>> w = jconv.bench.WORKLOADS["gan2d"]
  >>> w.input_shape, w.output_shape, round(w.gflop, 2)
  ((8, 16, 16, 256), (8, 32, 32, 128), 2.15)
  >>> rows = jconv.bench.run(["patch2d"], frameworks=("jconv", "lax"), small=True,
  ...                        repeats=3)  # doctest: +SKIP
  >>> {(r["op"], r["impl"]) for r in rows} == {(op, impl) for op in ("forward", "step")
  ...                                           for impl in ("jconv", "lax")}  # doctest: +SKIP
  True

Command line: ``python -m jconv bench --help``.
"""

# This module is also loaded by file path, outside the jconv package, as the torch and tf
# subprocesses' worker (see _spawn): its top level imports only the standard library and NumPy,
# so those processes never load JAX.

from __future__ import annotations

import argparse
import dataclasses
import datetime
import importlib.metadata
import importlib.util
import json
import math
import os
import platform
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Sequence

import numpy as np

FRAMEWORKS = ("jconv", "lax", "vjp", "torch", "tf")
"""Implementations :func:`run` can compare, in report order. ``jconv`` is always measured."""

JAX_IMPLS = ("jconv", "lax", "vjp")
OPS = ("forward", "step")
MATMUL_SIZE = 2048
CHECK_RTOL = 1e-4
_RESULT_MARK = "JCONV-BENCH-RESULT "


@dataclasses.dataclass(frozen=True)
class Workload:
    """One transposed convolution: ``(N, *m, C_in) -> (N, *n, C_out)``, TensorFlow's semantics.

    ``padding`` is TensorFlow's (``"SAME"``/``"VALID"``); ``torch_padding`` and
    ``torch_output_padding`` are the PyTorch arguments that give the same output size. They give
    the same values too unless TensorFlow's padding is uneven (``torch_exact`` is False): SAME
    puts an odd pad row after, PyTorch's ``padding`` pads both sides equally, so a PyTorch port
    shifts the result by a row (unet2d). That row's cost is the same, and the check compares
    PyTorch against ``jconv.torch.conv_transpose{r}d`` with these arguments.
    """

    name: str
    description: str
    batch: int
    in_sizes: tuple[int, ...]
    in_channels: int
    out_sizes: tuple[int, ...]
    out_channels: int
    kernel: tuple[int, ...]
    strides: tuple[int, ...]
    padding: str
    torch_padding: tuple[int, ...]
    torch_output_padding: tuple[int, ...]

    @classmethod
    def from_dict(cls, d: dict) -> Workload:
        return cls(**{k: tuple(v) if isinstance(v, list) else v for k, v in d.items()})

    @property
    def rank(self) -> int:
        return len(self.in_sizes)

    @property
    def input_shape(self) -> tuple[int, ...]:
        """``(N, *m, C_in)``, channels last."""
        return (self.batch, *self.in_sizes, self.in_channels)

    @property
    def output_shape(self) -> tuple[int, ...]:
        """``(N, *n, C_out)``, channels last."""
        return (self.batch, *self.out_sizes, self.out_channels)

    @property
    def filter_shape(self) -> tuple[int, ...]:
        """``(*k, C_out, C_in)``: TensorFlow's ``conv{r}d_transpose`` filter."""
        return (*self.kernel, self.out_channels, self.in_channels)

    @property
    def gflop(self) -> float:
        """Useful GFLOP of the forward op: ``2 * N * prod(m) * C_in * C_out * prod(k) / 1e9``."""
        return (
            2
            * self.batch
            * math.prod(self.in_sizes)
            * self.in_channels
            * self.out_channels
            * math.prod(self.kernel)
            / 1e9
        )

    @property
    def torch_exact(self) -> bool:
        """Whether the PyTorch arguments give TensorFlow's values, not only its sizes."""
        from jconv import _shapes

        return all(
            _shapes.resolve_padding(self.padding, n, k, s, 1) == (p, p)
            for n, k, s, p in zip(self.out_sizes, self.kernel, self.strides, self.torch_padding)
        )

    def resized(
        self,
        *,
        batch: int | None = None,
        in_channels: int | None = None,
        out_channels: int | None = None,
    ) -> Workload:
        return dataclasses.replace(
            self,
            batch=batch or self.batch,
            in_channels=in_channels or self.in_channels,
            out_channels=out_channels or self.out_channels,
        )

    def check_case(self) -> Workload:
        """Batch 1 and at most 32 -> 16 channels: the same geometry at a check's cost."""
        return self.resized(
            batch=1, in_channels=min(self.in_channels, 32), out_channels=min(self.out_channels, 16)
        )


# fmt: off
WORKLOADS: dict[str, Workload] = {w.name: w for w in (
    #        name       what                     N  m          C_in  n             C_out
    #        k          s          padding  torch padding, output_padding
    Workload("gan2d",   "GAN generator block",   8, (16, 16),   256, (32, 32),     128,
             (4, 4),    (2, 2),    "SAME",  (1, 1),     (0, 0)),
    Workload("unet2d",  "U-Net decoder",         8, (32, 32),   128, (64, 64),      64,
             (3, 3),    (2, 2),    "SAME",  (1, 1),     (1, 1)),
    Workload("patch2d", "ViT patch un-embed",    8, (16, 16),   256, (32, 32),      64,
             (2, 2),    (2, 2),    "VALID", (0, 0),     (0, 0)),
    Workload("audio1d", "audio upsampler",       8, (256,),     128, (2048,),       64,
             (16,),     (8,),      "SAME",  (4,),       (0,)),
    Workload("vol3d",   "3-D U-Net decoder",     2, (8, 8, 8),   64, (16, 16, 16),  32,
             (4, 4, 4), (2, 2, 2), "SAME",  (1, 1, 1),  (0, 0, 0)),
)}
# fmt: on
"""The default workloads, a training batch each, by name."""

SMALL_WORKLOADS: dict[str, Workload] = {
    name: (
        w.resized(batch=1, in_channels=w.in_channels // 2)
        if w.batch < 4
        else w.resized(batch=w.batch // 4)
    )
    for name, w in WORKLOADS.items()
}
"""About a quarter of each workload's FLOPs (a quarter of the batch; vol3d: half the batch and
half the input channels), for quick runs and notebooks."""


def _other(name: str, batch: int, m: int, c_in: int, c_out: int) -> Workload:
    base = WORKLOADS[name.split("-")[0]]
    s = base.strides[0]
    return dataclasses.replace(
        base,
        name=name,
        batch=batch,
        in_sizes=(m,) * base.rank,
        in_channels=c_in,
        out_sizes=(m * s,) * base.rank,
        out_channels=c_out,
    )


OTHER_WORKLOADS: dict[str, Workload] = {w.name: w for w in (
    _other("gan2d-hr", 4, 64, 64, 32),
    _other("gan2d-deep", 16, 8, 512, 256),
    _other("unet2d-hr", 4, 128, 32, 16),
    _other("unet2d-mid", 8, 64, 64, 32),
    _other("patch2d-b32", 32, 16, 256, 64),
    _other("audio1d-long", 8, 1024, 64, 32),
    _other("audio1d-b32", 32, 256, 128, 64),
    _other("vol3d-16", 2, 16, 32, 16),
    _other("vol3d-12", 2, 12, 64, 32),
    _other("vol3d-deep", 4, 4, 256, 128),
)}  # fmt: skip
"""The same five kinds (kernel, stride, padding) at other batches, resolutions and channel
counts, none of which the defaults of ``method="auto"`` were tuned on except that the 3-D
rule's threshold was set from k=4 s=2 runs at m = 4..32 (``python -m jconv bench --other``)."""


def _table(fn: str, small: bool, other: bool) -> dict[str, Workload]:
    if small and other:
        raise ValueError(f"{fn}: small=True and other=True: choose one set of workloads")
    return SMALL_WORKLOADS if small else OTHER_WORKLOADS if other else WORKLOADS


# ---------------------------------------------------------------------------------------------
# timing (every worker)


def _time(fn, args, sync, repeats: int, budget_s: float = 0.5, max_runs: int = 50) -> dict:
    """Milliseconds of ``max(repeats, ...)`` runs of ``fn(*args)`` after two warm-up calls.

    The first warm-up call compiles; when the second shows that a run is fast, more runs fill
    about ``budget_s``. ``cpu_share`` is this process's CPU time over the timed runs' wall time
    times the usable cores: well under 1 when other processes took cores (the times are then
    inflated), though threads that spin while waiting count as busy.
    """
    sync(fn(*args))
    start = time.perf_counter()
    sync(fn(*args))
    first = time.perf_counter() - start
    runs = max(repeats, min(max_runs, int(budget_s / max(first, 1e-6))))
    times = []
    cpu_start, wall_start = time.process_time(), time.perf_counter()
    for _ in range(runs):
        start = time.perf_counter()
        sync(fn(*args))
        times.append((time.perf_counter() - start) * 1e3)
    cpu, wall = time.process_time() - cpu_start, time.perf_counter() - wall_start
    return {"times_ms": times, "cpu_share": cpu / (wall * _cpu_count())}


def _inputs(w: Workload, seed: int = 0):
    """Channels-last input and TensorFlow-layout filter, the same in every worker."""
    rng = np.random.default_rng(seed)
    x = rng.standard_normal(w.input_shape, dtype=np.float32)
    f = rng.standard_normal(w.filter_shape, dtype=np.float32)
    f /= np.float32(math.sqrt(w.in_channels * math.prod(w.kernel)))
    return x, f


def _log(framework: str, text: str) -> None:
    print(f"  [{framework}] {text}", file=sys.stderr, flush=True)


def _measure(framework, impl, w, op, repeats, fn, args, sync):
    timing = _time(fn, args, sync, repeats[OPS.index(op)])
    _log(
        framework,
        f"{w.name:8s} {op:7s} {impl:5s} {statistics.median(timing['times_ms']):9.2f} ms "
        f"(median of {len(timing['times_ms'])}, CPU share {timing['cpu_share']:.0%})",
    )
    return {"workload": w.name, "op": op, "impl": impl, **timing}


def _save_check(check_dir, impl, w, y, loss, dx, dw):
    """Channels-last ``y``/``dx``, TensorFlow-layout ``dw``: every worker writes the same form."""
    np.savez(
        os.path.join(check_dir, f"{impl}-{w.name}.npz"),
        y=np.asarray(y),
        loss=np.asarray(loss),
        dx=np.asarray(dx),
        dw=np.asarray(dw),
    )


# ---------------------------------------------------------------------------------------------
# the JAX worker: jconv, lax, vjp and the matmul peak


def _jax_worker(spec: dict) -> dict:
    import jax
    import jax.numpy as jnp

    import jconv
    from jconv import _shapes

    def jconv_fn(w: Workload, method: str):
        op = {1: jconv.conv1d_transpose, 2: jconv.conv2d_transpose, 3: jconv.conv3d_transpose}
        return lambda x, f: op[w.rank](
            x, f, w.output_shape, strides=w.strides, padding=w.padding, method=method
        )

    def lax_fn(w: Workload):
        spatial = "DHW"[3 - w.rank :]
        dn = (f"N{spatial}C", f"{spatial}IO", f"N{spatial}C")
        pads = []
        for n, m, k, s in zip(w.out_sizes, w.in_sizes, w.kernel, w.strides):
            lo, _ = _shapes.resolve_padding(w.padding, n, k, s, 1)
            pads.append(_shapes.transpose_padding(n, m, k, s, 1, lo))
        # transpose_kernel=True flips the kernel and swaps its channel axes, so TensorFlow's
        # (*k, C_out, C_in) filter is passed as is under "HWIO".
        return lambda x, f: jax.lax.conv_transpose(
            x, f, w.strides, pads, dimension_numbers=dn, transpose_kernel=True
        )

    def torch_args_fn(w: Workload):
        op = {
            1: jconv.torch.conv_transpose1d,
            2: jconv.torch.conv_transpose2d,
            3: jconv.torch.conv_transpose3d,
        }[w.rank]
        first, last = (0, w.rank + 1, *range(1, w.rank + 1)), (0, *range(2, w.rank + 2), 1)
        weight = (w.rank + 1, w.rank, *range(w.rank))
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

    def fns(w: Workload, impl: str):
        fwd = {
            "jconv": lambda: jconv_fn(w, "auto"),
            "vjp": lambda: jconv_fn(w, "vjp"),
            "lax": lambda: lax_fn(w),
            "jconv-torch-args": lambda: torch_args_fn(w),
        }[impl]()
        step = jax.value_and_grad(lambda x, f: jnp.sum(fwd(x, f) ** 2), argnums=(0, 1))
        return jax.jit(fwd), jax.jit(step)

    repeats = spec["repeats"]
    out = {
        "framework": "jax",
        "measurements": [],
        "versions": {"jax": jax.__version__, "jaxlib": importlib.metadata.version("jaxlib")},
        "backend": jax.default_backend(),
        "devices": [str(d) for d in jax.devices()],
    }
    mat = jnp.asarray(np.random.default_rng(0).standard_normal((MATMUL_SIZE,) * 2, np.float32))
    dot = jax.jit(jnp.dot)

    def matmul(when):
        timing = _time(dot, (mat, mat), jax.block_until_ready, 7)
        timing["gflops"] = 2 * MATMUL_SIZE**3 / statistics.median(timing["times_ms"]) / 1e6
        _log(
            "jax",
            f"matmul {MATMUL_SIZE}^2 float32 ({when}): {statistics.median(timing['times_ms']):.1f}"
            f" ms, {timing['gflops']:.1f} GFLOP/s, CPU share {timing['cpu_share']:.0%}",
        )
        return timing

    # Measured before and after the workloads; other processes on the machine only ever lower
    # it, so the higher of the two is the peak.
    if spec.get("matmul", True):
        out["matmul"] = {"size": MATMUL_SIZE, "start": matmul("start")}

    for wd in spec["workloads"]:
        w = Workload.from_dict(wd)
        x, f = (jnp.asarray(a) for a in _inputs(w))
        for impl in spec["impls"]:
            fwd, step = fns(w, impl)
            for op, fn in (("forward", fwd), ("step", step)):
                out["measurements"].append(
                    _measure("jax", impl, w, op, repeats, fn, (x, f), jax.block_until_ready)
                )
    if spec.get("check_dir"):
        for wd in spec["check_workloads"]:
            w = Workload.from_dict(wd)
            x, f = (jnp.asarray(a) for a in _inputs(w, seed=1))
            impls = [*spec["impls"], *(["jconv-torch-args"] if spec["torch_check"] else [])]
            for impl in impls:
                fwd, step = fns(w, impl)
                loss, (dx, dw) = step(x, f)
                _save_check(spec["check_dir"], impl, w, fwd(x, f), loss, dx, dw)
    if spec.get("matmul", True):
        out["matmul"]["end"] = matmul("end")
        out["matmul"]["gflops"] = max(out["matmul"][k]["gflops"] for k in ("start", "end"))
    return out


# ---------------------------------------------------------------------------------------------
# the PyTorch worker


def _no_sync(_):
    pass


def _torch_worker(spec: dict) -> dict:
    import torch
    import torch.nn.functional as F

    torch.set_num_threads(_cpu_count())
    out = {
        "framework": "torch",
        "measurements": [],
        "versions": {"torch": torch.__version__},
        "threads": torch.get_num_threads(),
    }

    def tensors(w: Workload, seed: int, grad: bool):
        x, f = _inputs(w, seed)
        x = torch.from_numpy(np.ascontiguousarray(np.moveaxis(x, -1, 1)))
        # (*k, C_out, C_in) -> PyTorch's ConvTranspose weight (C_in, C_out, *k)
        f = torch.from_numpy(
            np.ascontiguousarray(np.transpose(f, (w.rank + 1, w.rank, *range(w.rank))))
        )
        return x.requires_grad_(grad), f.requires_grad_(grad)

    def conv(w: Workload):
        op = getattr(F, f"conv_transpose{w.rank}d")
        return lambda x, f: op(
            x, f, stride=w.strides, padding=w.torch_padding, output_padding=w.torch_output_padding
        )

    def step(fwd, x, f):
        y = fwd(x, f)
        loss = (y * y).sum()
        return (loss, *torch.autograd.grad(loss, (x, f)))

    def forward(fwd, x, f):
        with torch.inference_mode():
            return fwd(x, f)

    repeats = spec["repeats"]
    for wd in spec["workloads"]:
        w = Workload.from_dict(wd)
        fwd = conv(w)
        x, f = tensors(w, 0, False)
        # PyTorch's CPU ops return when their results are computed: nothing to wait for.
        out["measurements"].append(
            _measure("torch", "torch", w, "forward", repeats, forward, (fwd, x, f), _no_sync)
        )
        x, f = tensors(w, 0, True)
        out["measurements"].append(
            _measure("torch", "torch", w, "step", repeats, step, (fwd, x, f), _no_sync)
        )
    if spec.get("check_dir"):
        for wd in spec["check_workloads"]:
            w = Workload.from_dict(wd)
            x, f = tensors(w, 1, True)
            loss, dx, dw = step(conv(w), x, f)
            y = forward(conv(w), x, f)
            _save_check(
                spec["check_dir"],
                "torch",
                w,
                np.moveaxis(y.numpy(), 1, -1),
                loss.detach().numpy(),
                np.moveaxis(dx.numpy(), 1, -1),
                np.transpose(dw.numpy(), (*range(2, w.rank + 2), 1, 0)),
            )
    return out


# ---------------------------------------------------------------------------------------------
# the TensorFlow worker


def _tf_worker(spec: dict) -> dict:
    import tensorflow as tf

    tf.config.threading.set_intra_op_parallelism_threads(_cpu_count())
    tf.get_logger().setLevel("ERROR")  # one tf.function per workload is retracing by design
    out = {
        "framework": "tf",
        "measurements": [],
        "versions": {"tensorflow": tf.__version__},
        "threads": {
            "intra_op": tf.config.threading.get_intra_op_parallelism_threads(),
            "inter_op": tf.config.threading.get_inter_op_parallelism_threads(),
        },
    }

    def fns(w: Workload):
        def fwd(x, f):
            return tf.nn.conv_transpose(x, f, w.output_shape, strides=w.strides, padding=w.padding)

        def step(x, f):
            with tf.GradientTape() as tape:
                tape.watch([x, f])
                y = fwd(x, f)
                loss = tf.reduce_sum(y * y)
            return (loss, *tape.gradient(loss, [x, f]))

        return tf.function(fwd, jit_compile=False), tf.function(step, jit_compile=False)

    def sync(result):
        for t in tf.nest.flatten(result):
            t.numpy()

    repeats = spec["repeats"]
    for wd in spec["workloads"]:
        w = Workload.from_dict(wd)
        x, f = (tf.constant(a) for a in _inputs(w))
        for op, fn in zip(OPS, fns(w)):
            out["measurements"].append(_measure("tf", "tf", w, op, repeats, fn, (x, f), sync))
    if spec.get("check_dir"):
        for wd in spec["check_workloads"]:
            w = Workload.from_dict(wd)
            x, f = (tf.constant(a) for a in _inputs(w, seed=1))
            fwd, step = fns(w)
            loss, dx, dw = step(x, f)
            _save_check(spec["check_dir"], "tf", w, fwd(x, f), loss, dx, dw)
    return out


_WORKERS = {"jax": _jax_worker, "torch": _torch_worker, "tf": _tf_worker}


def _worker_main(argv: Sequence[str]) -> int:
    """Subprocess entry: ``--worker {jax,torch,tf} --spec JSON``; prints one result line."""
    parser = argparse.ArgumentParser()
    parser.add_argument("--worker", choices=tuple(_WORKERS), required=True)
    parser.add_argument("--spec", required=True)
    args = parser.parse_args(argv)
    result = _WORKERS[args.worker](json.loads(args.spec))
    print(_RESULT_MARK + json.dumps(result), flush=True)
    return 0


# ---------------------------------------------------------------------------------------------
# the parent: spawn, collect, compare, report


def _cpu_count() -> int:
    try:
        return len(os.sched_getaffinity(0))
    except AttributeError:  # not on Linux
        return os.cpu_count() or 1


def _spawn(worker: str, spec: dict, verbose: bool) -> dict:
    """Run one worker in a fresh interpreter and parse its result line.

    The torch and tf workers load this file by path under another module name, so they never
    import the ``jconv`` package (and with it JAX); the jax worker imports jconv from the source
    tree this file lives in.
    """
    code = (
        "import importlib.util as u, sys; "
        "s = u.spec_from_file_location('_jconv_bench_worker', sys.argv[1]); "
        "m = sys.modules[s.name] = u.module_from_spec(s); s.loader.exec_module(m); "
        "sys.exit(m._worker_main(sys.argv[2:]))"
    )
    root = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
    env = dict(os.environ, TF_CPP_MIN_LOG_LEVEL="2")
    env["PYTHONPATH"] = os.pathsep.join(p for p in (root, env.get("PYTHONPATH")) if p)
    cmd = [
        sys.executable,
        "-c",
        code,
        os.path.abspath(__file__),
        "--worker",
        worker,
        "--spec",
        json.dumps(spec),
    ]
    proc = subprocess.run(
        cmd, stdout=subprocess.PIPE, stderr=None if verbose else subprocess.PIPE, text=True, env=env
    )
    lines = [ln for ln in proc.stdout.splitlines() if ln.startswith(_RESULT_MARK)]
    if proc.returncode or not lines:
        tail = (proc.stderr or "")[-2000:] + proc.stdout[-1000:]
        raise RuntimeError(
            f"jconv.bench: the {worker} worker failed (exit {proc.returncode}):\n{tail}"
        )
    return json.loads(lines[-1][len(_RESULT_MARK) :])


def _parse_list(fn, name, values, legal) -> tuple[str, ...]:
    if isinstance(values, str):
        values = [v for v in values.split(",") if v]
    values = tuple(values)
    unknown = [v for v in values if v not in legal]
    if unknown or not values:
        raise ValueError(f"{fn}: {name}={values!r}: unknown or empty; choose from {legal}")
    return values


def _machine(workers: dict) -> dict:
    versions = {"python": platform.python_version(), "numpy": np.__version__}
    for result in workers.values():
        versions.update(result.get("versions", {}))
    model = platform.processor()
    try:
        with open("/proc/cpuinfo") as cpuinfo:
            model = next(
                (ln.split(":", 1)[1].strip() for ln in cpuinfo if ln.startswith("model name")),
                model,
            )
    except OSError:
        pass
    info = {
        "platform": platform.platform(),
        "machine": platform.machine(),
        "cpu_model": model,
        "cpu_count": os.cpu_count(),
        "cpus_usable": _cpu_count(),
        "date": datetime.datetime.now().astimezone().isoformat(timespec="seconds"),
        "versions": versions,
    }
    if "jax" in workers:
        info["jax_backend"] = workers["jax"]["backend"]
        info["jax_devices"] = workers["jax"]["devices"]
    if "torch" in workers:
        info["torch_threads"] = workers["torch"]["threads"]
    if "tf" in workers:
        info["tf_threads"] = workers["tf"]["threads"]
    return info


def _compare(check_dir: str, workloads: Sequence[Workload], impls: Sequence[str]) -> list[dict]:
    """Each peer's check-case arrays against jconv's, relative to the largest magnitude."""
    checks = []
    for w in workloads:
        for impl in impls:
            if impl == "jconv":
                continue
            ref_name = "jconv-torch-args" if impl == "torch" else "jconv"
            path = os.path.join(check_dir, f"{impl}-{w.name}.npz")
            with (
                np.load(os.path.join(check_dir, f"{ref_name}-{w.name}.npz")) as ref,
                np.load(path) as got,
            ):
                errors = {}
                for key in ("y", "loss", "dx", "dw"):
                    a, b = got[key].astype(np.float64), ref[key].astype(np.float64)
                    if a.shape != b.shape:
                        errors[key] = math.inf
                        continue
                    errors[key] = float(np.max(np.abs(a - b)) / max(np.max(np.abs(b)), 1e-30))
            worst = max(errors.values())
            checks.append(
                {
                    "workload": w.name,
                    "impl": impl,
                    "reference": ref_name,
                    "rel_err": errors,
                    "ok": worst <= CHECK_RTOL,
                }
            )
    return checks


def _pool(measurements) -> list[dict]:
    """One measurement per (workload, op, impl): the timed runs of every round together."""
    pooled: dict = {}
    for m in measurements:
        key = (m["workload"], m["op"], m["impl"])
        if key not in pooled:
            pooled[key] = {**m, "times_ms": list(m["times_ms"]), "round_medians_ms": []}
        else:
            pooled[key]["times_ms"] += m["times_ms"]
        pooled[key]["round_medians_ms"].append(statistics.median(m["times_ms"]))
        shares = pooled[key].setdefault("cpu_shares", [])
        shares.append(m["cpu_share"])
        pooled[key]["cpu_share"] = statistics.mean(shares)
    return list(pooled.values())


def _rows(measurements, workloads, peak_gflops) -> list[dict]:
    by_key = {(m["workload"], m["op"], m["impl"]): m for m in measurements}
    rows = []
    for w in workloads:
        for op in OPS:
            jconv_ms = statistics.median(by_key[(w.name, op, "jconv")]["times_ms"])
            gflop = w.gflop * (3 if op == "step" else 1)
            for impl in FRAMEWORKS:
                m = by_key.get((w.name, op, impl))
                if m is None:
                    continue
                ms = statistics.median(m["times_ms"])
                gflops = gflop / ms * 1e3
                rows.append(
                    {
                        "workload": w.name,
                        "op": op,
                        "impl": impl,
                        "ms": ms,
                        "min_ms": min(m["times_ms"]),
                        "runs": len(m["times_ms"]),
                        "times_ms": m["times_ms"],
                        "round_medians_ms": m["round_medians_ms"],
                        "cpu_share": m["cpu_share"],
                        "gflop": gflop,
                        "gflops": gflops,
                        "peak_fraction": gflops / peak_gflops if peak_gflops else None,
                        "jconv_speedup": ms / jconv_ms,
                    }
                )
    return rows


def geomeans(rows: Sequence[dict]) -> dict[str, dict[str, float]]:
    """Geometric mean over workloads of ``jconv_speedup`` (``peer_ms / jconv_ms``), per op/peer.

    Examples:
      >>> rows = [{"op": "step", "impl": "lax", "jconv_speedup": s} for s in (2.0, 8.0)]
      >>> geomeans(rows)
      {'step': {'lax': 4.0}}
    """
    out: dict[str, dict[str, float]] = {}
    for op in OPS:
        for impl in FRAMEWORKS:
            ratios = [r["jconv_speedup"] for r in rows if r["op"] == op and r["impl"] == impl]
            if ratios and impl != "jconv":
                out.setdefault(op, {})[impl] = math.exp(
                    sum(math.log(r) for r in ratios) / len(ratios)
                )
    return out


def benchmark(
    workloads: Sequence[str] | str | None = None,
    frameworks: Sequence[str] | str | None = None,
    *,
    small: bool = False,
    other: bool = False,
    repeats: int | None = None,
    rounds: int = 1,
    check: bool = True,
    verbose: bool = False,
) -> dict:
    """Run the benchmark and return everything :func:`format_report` and ``--json`` use.

    Args:
      workloads: names from :data:`WORKLOADS` (a sequence or a comma-separated string); all
        when None.
      frameworks: names from :data:`FRAMEWORKS`; when None, every one whose framework is
        installed. ``jconv`` is added when missing: the ratios are against it. A requested
        framework that is not installed is skipped and listed in ``"skipped"``.
      small: use :data:`SMALL_WORKLOADS`.
      other: use :data:`OTHER_WORKLOADS` (not with ``small``).
      repeats: minimum timed runs per measurement; None: 5 forward, 3 step.
      rounds: run every worker this many times, in turn (jconv, lax, vjp, torch, tf, jconv,
        ...); each measurement is then the median of all its timed runs from every round, so a
        burst of load from elsewhere lands on every implementation rather than on one.
      check: compute the check case in every implementation and compare with jconv.
      verbose: stream each worker's progress to stderr.

    Returns:
      A dict with ``machine`` (platform, CPU, versions, date, threads), ``settings``,
      ``matmul`` (``gflops``: the peak), ``workloads`` (their shapes), ``rows`` (see
      :func:`run`), ``geomeans`` (:func:`geomeans`), ``checks`` (per peer and workload:
      relative errors and ``ok``), ``skipped`` and ``wall_s``.

    Raises:
      ValueError: unknown workload or framework names, ``repeats < 1``, ``small`` and
        ``other`` both set.
      RuntimeError: a worker subprocess failed (its stderr is in the message).
    """
    start = time.perf_counter()
    fn = "jconv.bench.benchmark"
    table = _table(fn, small, other)
    names = _parse_list(fn, "workloads", workloads or tuple(table), tuple(table))
    if frameworks is None:
        frameworks = FRAMEWORKS
    frameworks = _parse_list(fn, "frameworks", frameworks, FRAMEWORKS)
    if repeats is not None and (not isinstance(repeats, int) or repeats < 1):
        raise ValueError(f"{fn}: repeats={repeats!r} must be an int >= 1")
    if not isinstance(rounds, int) or isinstance(rounds, bool) or rounds < 1:
        raise ValueError(f"{fn}: rounds={rounds!r} must be an int >= 1")
    modules = {"torch": "torch", "tf": "tensorflow"}
    skipped = [
        f for f in frameworks if f in modules and importlib.util.find_spec(modules[f]) is None
    ]
    impls = [f for f in FRAMEWORKS if f == "jconv" or (f in frameworks and f not in skipped)]
    chosen = [table[n] for n in names]
    checks_on = [w.check_case() for w in chosen]
    reps = (repeats, repeats) if repeats else (5, 3)
    with tempfile.TemporaryDirectory(prefix="jconv-bench-") as check_dir:
        spec = {
            "workloads": [dataclasses.asdict(w) for w in chosen],
            "check_workloads": [dataclasses.asdict(w) for w in checks_on],
            "repeats": reps,
            "check_dir": check_dir if check else None,
            "impls": [i for i in impls if i in JAX_IMPLS],
            "torch_check": "torch" in impls,
        }
        # One process per implementation, the JAX ones too: lax's and vjp's steps allocate
        # hundreds of MiB per call, which leaves the allocator in another state for whatever
        # runs after them in the same process.
        runs = []
        for r in range(rounds):
            first = {**spec, "check_dir": spec["check_dir"] if r == 0 else None}
            workers = {"jax": _spawn("jax", {**first, "impls": ["jconv"]}, verbose)}
            for impl in [i for i in impls if i in JAX_IMPLS and i != "jconv"]:
                alone = {**first, "impls": [impl], "torch_check": False, "matmul": False}
                workers[impl] = _spawn("jax", alone, verbose)
            for impl in ("torch", "tf"):
                if impl in impls:
                    workers[impl] = _spawn(impl, {**first, "impls": [impl]}, verbose)
            runs.append(workers)
        checks = _compare(check_dir, checks_on, impls) if check else []
    matmul = runs[0]["jax"]["matmul"]
    if rounds > 1:
        matmul = {
            **matmul,
            "rounds": [w["jax"]["matmul"] for w in runs],
            "gflops": max(w["jax"]["matmul"]["gflops"] for w in runs),
        }
    peak = matmul["gflops"]
    measurements = _pool([m for w in runs for r in w.values() for m in r["measurements"]])
    rows = _rows(measurements, chosen, peak)
    return {
        "machine": _machine(runs[0]),
        "settings": {
            "small": small,
            "other": other,
            "repeats": {"forward": reps[0], "step": reps[1]},
            "rounds": rounds,
            "workloads": list(names),
            "frameworks": impls,
            "check_rtol": CHECK_RTOL,
        },
        "matmul": matmul,
        "workloads": {
            w.name: {
                **dataclasses.asdict(w),
                "input_shape": w.input_shape,
                "output_shape": w.output_shape,
                "filter_shape": w.filter_shape,
                "gflop": w.gflop,
                "torch_exact": w.torch_exact,
            }
            for w in chosen
        },
        "rows": rows,
        "geomeans": geomeans(rows),
        "checks": checks,
        "skipped": skipped,
        "wall_s": time.perf_counter() - start,
    }


def run(
    workloads: Sequence[str] | str | None = None,
    frameworks: Sequence[str] | str | None = ("jconv", "lax"),
    *,
    small: bool = False,
    other: bool = False,
    repeats: int | None = None,
    verbose: bool = False,
) -> list[dict]:
    """Time the workloads in each framework; one row per (workload, op, implementation).

    The notebook-sized entry to :func:`benchmark` (which also returns the machine, the matmul
    peak and the checks). Each implementation runs in its own subprocess.

    Args:
      workloads: names from :data:`WORKLOADS`; all when None.
      frameworks: from :data:`FRAMEWORKS`; None for every installed one.
      small: the quarter-size :data:`SMALL_WORKLOADS`.
      other: :data:`OTHER_WORKLOADS`, the five kinds at other sizes.
      repeats: minimum runs per measurement (None: 5 forward, 3 step).
      verbose: stream progress to stderr.

    Returns:
      Dicts with ``workload``, ``op`` (``"forward"``/``"step"``), ``impl``, ``ms`` (median),
      ``min_ms``, ``runs``, ``times_ms``, ``gflop`` (useful work), ``gflops``,
      ``peak_fraction`` (of this run's matmul peak) and ``jconv_speedup``
      (``ms / jconv's ms``: above 1 jconv is faster; 1.0 on jconv's rows).

    Examples:
      >>> import jconv.bench
      >>> rows = jconv.bench.run(["patch2d", "gan2d"], small=True, repeats=3)  # doctest: +SKIP
      >>> [(r["workload"], r["op"], r["impl"]) for r in rows][:3]  # doctest: +SKIP
      [('patch2d', 'forward', 'jconv'), ('patch2d', 'forward', 'lax'), ('patch2d', 'step', 'jconv')]
    """
    return benchmark(
        workloads,
        frameworks,
        small=small,
        other=other,
        repeats=repeats,
        check=False,
        verbose=verbose,
    )["rows"]


# ---------------------------------------------------------------------------------------------
# the report


def _sizes_name(settings: dict) -> str:
    return "small" if settings["small"] else "other" if settings.get("other") else "default"


def _md_table(header: Sequence[str], rows: Sequence[Sequence[str]]) -> str:
    widths = [max(len(str(c)) for c in col) for col in zip(header, *rows)]
    right = [i > 1 for i in range(len(header))]

    def line(cells):
        return (
            "| "
            + " | ".join(
                str(c).rjust(w) if r else str(c).ljust(w) for c, w, r in zip(cells, widths, right)
            )
            + " |"
        )

    sep = (
        "|"
        + "|".join("-" * (w + 1) + ":" if r else ":" + "-" * (w + 1) for w, r in zip(widths, right))
        + "|"
    )
    return "\n".join([line(header), sep, *(line(r) for r in rows)])


def format_report(result: dict) -> str:
    """The markdown report :func:`benchmark`'s result prints as (machine, checks, tables)."""
    machine, versions = result["machine"], result["machine"]["versions"]
    peak = result["matmul"]["gflops"]
    out = [
        f"date: {machine['date']}",
        f"machine: {machine['platform']}, {machine['cpu_model']}, {machine['cpu_count']} CPUs "
        f"({machine['cpus_usable']} usable)",
        "versions: " + ", ".join(f"{k} {v}" for k, v in versions.items()),
        f"matmul peak: {peak:.1f} GFLOP/s, jnp.dot {result['matmul']['size']}^2 float32, the "
        "best of "
        + ", ".join(
            f"{m['start']['gflops']:.1f} (before the workloads) and {m['end']['gflops']:.1f} "
            "(after)"
            for m in result["matmul"].get("rounds", [result["matmul"]])
        )
        + ", medians",
        f"settings: {_sizes_name(result['settings'])} sizes, repeats "
        f"{result['settings']['repeats']['forward']} forward / "
        f"{result['settings']['repeats']['step']} step (median; more runs when fast), "
        f"{result['settings'].get('rounds', 1)} round(s) pooled, wall {result['wall_s']:.0f} s",
    ]
    if result["skipped"]:
        out.append(f"skipped (not installed): {', '.join(result['skipped'])}")
    bad = [c for c in result["checks"] if not c["ok"]]
    if result["checks"]:
        out.append(
            f"checks vs jconv (rel. err <= {result['settings']['check_rtol']:g}): "
            f"{len(result['checks']) - len(bad)} ok, {len(bad)} differ"
        )
    for c in bad:
        errs = ", ".join(f"{k} {v:.1e}" for k, v in c["rel_err"].items())
        out.append(f"WARNING: {c['impl']} differs from {c['reference']} on {c['workload']}: {errs}")
    out.append("")
    shapes = [
        [
            name,
            w["description"],
            f"{tuple(w['input_shape'])} -> {tuple(w['output_shape'])}",
            f"k={w['kernel'][0]} s={w['strides'][0]} {w['padding']}",
            f"{w['gflop']:.3f}",
        ]
        for name, w in result["workloads"].items()
    ]
    out += [
        _md_table(["workload", "what", "shape (channels last)", "conv", "GFLOP fwd"], shapes),
        "",
    ]
    detail = [
        [
            r["workload"],
            r["op"],
            r["impl"],
            f"{r['ms']:.2f}",
            f"{r['gflops']:.1f}",
            f"{100 * r['peak_fraction']:.0f}%",
            f"{r['jconv_speedup']:.2f}",
            f"{r['cpu_share']:.0%}",
        ]
        for r in result["rows"]
    ]
    header = ["workload", "op", "impl", "ms", "GFLOP/s", "% peak", "impl ms / jconv ms", "CPU"]
    out += [
        _md_table(header, detail),
        "",
    ]
    peers = [f for f in result["settings"]["frameworks"] if f != "jconv"]
    by_key = {(r["workload"], r["op"], r["impl"]): r for r in result["rows"]}
    summary = []
    for op in OPS:
        for name in result["workloads"]:
            j = by_key[(name, op, "jconv")]
            summary.append(
                [
                    name,
                    op,
                    f"{j['ms']:.2f}",
                    f"{100 * j['peak_fraction']:.0f}%",
                    *(
                        f"{by_key[(name, op, p)]['jconv_speedup']:.2f}"
                        if (name, op, p) in by_key
                        else "-"
                        for p in peers
                    ),
                ]
            )
        gm = result["geomeans"].get(op, {})
        summary.append(
            ["geomean", op, "", "", *(f"{gm[p]:.2f}" if p in gm else "-" for p in peers)]
        )
    out.append(
        _md_table(["workload", "op", "jconv ms", "% peak", *(f"{p}/jconv" for p in peers)], summary)
    )
    out.append(
        "\nratios: peer ms / jconv ms (> 1: jconv is faster); % peak: useful GFLOP/s "
        "over the matmul peak (a step counts 3x the forward FLOPs); CPU: the process's CPU time "
        "over wall time x cores while timed (well under 100%: other processes had cores)."
    )
    return "\n".join(out)


def main(argv: Sequence[str] | None = None, prog: str = "python -m jconv bench") -> int:
    """Command line: run the benchmark, print the report, optionally write the JSON."""
    parser = argparse.ArgumentParser(
        prog=prog,
        description=(
            "Time jconv's transposed convolutions (forward, and a training step: value and "
            "gradients w.r.t. input and kernel of sum(out**2)) against jax.lax.conv_transpose, "
            "jconv's naive vjp method, PyTorch and TensorFlow, each framework in its own "
            "subprocess, on decoder-style workloads: "
            + "; ".join(
                f"{w.name} {w.input_shape}->{w.output_shape} k={w.kernel[0]} "
                f"s={w.strides[0]} {w.padding}"
                for w in WORKLOADS.values()
            )
            + ". Prints ms, GFLOP/s, the fraction of this run's matmul peak and peer/jconv "
            "time ratios with their geometric means."
        ),
    )
    parser.add_argument("--json", metavar="PATH", help="write every number and the machine here")
    parser.add_argument(
        "--repeats",
        type=int,
        metavar="N",
        help="minimum timed runs per measurement (default 5 forward, 3 step)",
    )
    parser.add_argument(
        "--workloads",
        metavar="A,B",
        default=None,
        help=f"comma-separated subset of {','.join(WORKLOADS)} (or of the --small/--other "
        "set's names; default all)",
    )
    parser.add_argument(
        "--frameworks",
        metavar="A,B",
        default=None,
        help=f"comma-separated subset of {','.join(FRAMEWORKS)} (default: all "
        "installed; jconv is always run)",
    )
    parser.add_argument(
        "--rounds",
        type=int,
        default=1,
        metavar="N",
        help="run every implementation N times in turn and pool the runs (default 1)",
    )
    sizes = parser.add_mutually_exclusive_group()
    sizes.add_argument("--small", action="store_true", help="quarter-size workloads")
    sizes.add_argument(
        "--other",
        action="store_true",
        help="the five kinds at other batches, resolutions and channel counts: "
        + ", ".join(OTHER_WORKLOADS),
    )
    parser.add_argument(
        "--no-check", action="store_true", help="skip the cross-implementation value check"
    )
    args = parser.parse_args(argv)
    try:
        result = benchmark(
            args.workloads,
            args.frameworks,
            small=args.small,
            other=args.other,
            repeats=args.repeats,
            rounds=args.rounds,
            check=not args.no_check,
            verbose=True,
        )
    except ValueError as e:
        parser.error(str(e))
    print(format_report(result))
    if args.json:
        with open(args.json, "w") as f:
            json.dump(result, f, indent=1)
        print(f"\nwrote {args.json}")
    return 0


if __name__ == "__main__":
    sys.exit(main(prog="python -m jconv.bench"))
