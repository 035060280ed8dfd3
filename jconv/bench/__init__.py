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

Each implementation runs in its own subprocess (``python -m jconv.bench.<framework>_worker``),
one after the other, so no thread pool competes for the cores with another framework's and no
allocator state carries over. Every measurement is
the median of at least ``repeats`` runs after two warm-up calls (more, up to 50, while they fit
in half a second), with ``block_until_ready`` / ``.numpy()`` so the time is the whole
computation; the process's CPU time over that wall time (``cpu_share``) shows how much of the
machine it got. The JAX subprocess also measures the machine's matmul peak, ``jnp.dot`` of two
2048 x 2048 float32 matrices, before and after the workloads (the better counts).

Useful FLOPs of one transposed conv are ``2 * N * prod(m) * C_in * C_out * prod(k)`` (``m`` its
input sizes; for a forward conv ``m`` its output sizes and ``C_in`` per group), the multiplies a
dense implementation cannot skip; a training step counts three times that (forward, input gradient,
kernel gradient). Ratios are ``peer_ms / jconv_ms``: above 1 jconv is faster.

Every implementation also computes one cheap check case per workload (batch 1, few channels,
the workload's sizes, kernel, strides and padding); its output, loss and both gradients must
match jconv's to a relative ``1e-4``, or the report prints a warning row.

Examples:
  >>> import jconv.bench
  >>> [name for name, w in jconv.bench.WORKLOADS.items() if w.kind == "decoder"]
  ['gan2d', 'unet2d', 'patch2d', 'audio1d', 'vol3d', 'upconv2d']
  >>> [name for name, w in jconv.bench.WORKLOADS.items() if w.kind == "encoder"]
  ['resnet2d', 'down2d', 'stem2d', 'dw2d', 'enc1d', 'enc3d', 'down3d']
  >>> w = jconv.bench.WORKLOADS["gan2d"]
  >>> w.input_shape, w.output_shape, round(w.gflop, 2)
  ((8, 16, 16, 256), (8, 32, 32, 128), 2.15)
  >>> rows = jconv.bench.run(["patch2d"], frameworks=("jconv", "lax"), small=True,
  ...                        repeats=3)  # doctest: +SKIP
  >>> {(r["op"], r["impl"]) for r in rows} == {(op, impl) for op in ("forward", "step")
  ...                                           for impl in ("jconv", "lax")}  # doctest: +SKIP
  True

Command line: ``python -m jconv bench --help``. Modules, one job each:

* :mod:`~jconv.bench.workloads`: the workloads, the ops, the implementations, the inputs;
* :mod:`~jconv.bench.timing`: timing one call (warm-up, median, CPU share);
* :mod:`~jconv.bench.jax_worker`, :mod:`~jconv.bench.torch_worker`,
  :mod:`~jconv.bench.tf_worker`: one framework each, run as its own process;
* :mod:`~jconv.bench.processes`: spawning a worker and reading its answer;
* :mod:`~jconv.bench.checks`: the value check against jconv;
* :mod:`~jconv.bench.results`: pooling rounds into rows, ratios, geometric means;
* :mod:`~jconv.bench.runner`: :func:`benchmark` and :func:`run`, the parent's sequence;
* :mod:`~jconv.bench.report`: the printed report; :mod:`~jconv.bench.cli`: :func:`main`.
"""

# The worker modules are not imported here: ``python -m jconv.bench.torch_worker`` imports this
# package first, and a worker module already imported by then would exist twice, once as itself
# and once as __main__ (runpy warns).
from jconv.bench.checks import CHECK_RTOL
from jconv.bench.cli import main
from jconv.bench.report import format_report
from jconv.bench.results import geomeans
from jconv.bench.runner import benchmark, run
from jconv.bench.workloads import (
    FRAMEWORKS,
    OPS,
    OTHER_WORKLOADS,
    SMALL_WORKLOADS,
    WORKLOADS,
    Workload,
)

__all__ = [
    "CHECK_RTOL",
    "FRAMEWORKS",
    "OPS",
    "OTHER_WORKLOADS",
    "SMALL_WORKLOADS",
    "WORKLOADS",
    "Workload",
    "benchmark",
    "format_report",
    "geomeans",
    "main",
    "run",
]
