"""Every op, by every method, and its gradients under ``jax.jit`` with inputs sharded over 8
devices equal the single-device result (every method through the TF names of each rank; the
PyTorch names and the rank-generic TF names, which reach the same jit entry points, by
``"auto"``).

The work runs in a subprocess with ``XLA_FLAGS=--xla_force_host_platform_device_count=8`` (the
flag must be set before JAX starts; pytest has started it already): ``python
tests/test_sharding.py`` runs it directly and sets the flag itself. For each rank (1-3), API
(TensorFlow-style with the rank-generic names, PyTorch-style) and sharding, one ``jax.jit``
computes every op by its methods, its output and the gradients of ``sum(c * op(a, b))`` w.r.t.
both array arguments:

* ``batch``: the data arguments (input, out_backprop, grad_output) are sharded along the batch
  axis over a ``Mesh`` of 8 devices, ``PartitionSpec("b", ...)``; filters are replicated;
* ``space``: the data are sharded along the first spatial axis (16 rows of input, 8 of
  out_backprop: 2 and 1 per device), so every window that crosses a shard boundary needs its
  neighbour's rows, and XLA's partitioner inserts the halo exchange (collective-permutes).

The same jitted function on unsharded inputs gives the single-device result. Data are
integer-valued float32, so the comparison is exact: each sum is an integer below 2**24 whatever
order the devices add in. The script prints one line per group and a summary, which the test
checks.
"""

from __future__ import annotations

import os
import subprocess
import sys
import time
from pathlib import Path

import pytest

DEVICES = 8
FLAG = f"--xla_force_host_platform_device_count={DEVICES}"
ROOT = Path(__file__).resolve().parent.parent


def _env():
    """8 host devices, set before JAX starts in the subprocess; jconv importable."""
    env = dict(os.environ)
    env["XLA_FLAGS"] = f"{env.get('XLA_FLAGS', '')} {FLAG}".strip()
    env["PYTHONPATH"] = os.pathsep.join(filter(None, [str(ROOT), env.get("PYTHONPATH")]))
    env["JAX_PLATFORMS"] = "cpu"
    return env


def test_every_op_sharded_over_batch_and_space_matches_single_device():
    proc = subprocess.run(
        [sys.executable, __file__],
        capture_output=True,
        text=True,
        timeout=300,
        env=_env(),
        cwd=ROOT,
    )
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-5000:]
    summary = proc.stdout.strip().splitlines()[-1]
    assert summary.startswith("ALL EXACT:"), proc.stdout[-3000:]
    # the TF names of each rank by every method (6 transposed-conv / input-gradient ops, 3
    # filter-gradient ops, 3 forward convs); the PyTorch names of each rank and the generic TF
    # names in 2-D by "auto" (4 ranks x 4 ops)
    import jconv

    pairs = 6 * len(jconv.TRANSPOSE_METHODS) + 3 * len(jconv.FILTER_GRAD_METHODS) + 3 + 16
    assert f"{pairs} op/method pairs x 2 shardings" in summary, summary


# With (16, 3, 4) inputs and PyTorch's padding 1, sharding the depth over 8 devices makes XLA's
# SPMD partitioner emit a per-shard lhs_dilation conv, for the "dilate" and "vjp" input
# gradients, that would trip the operand-swap abort of jaxlib 0.10.2 (README, "A known XLA
# abort") although the global shapes are safe; plain jax.vjp of lax.conv_general_dilated aborts
# here. jconv's guard breaks every group-like dim, not only those that trip at the global
# shapes, so these run clean.
ABORT_REPRO = """
import sys, jax, numpy as np, jconv.torch as jt
from jax.sharding import Mesh, NamedSharding, PartitionSpec
mesh = Mesh(np.array(jax.devices()), ("b",))
depth_split = NamedSharding(mesh, PartitionSpec(None, None, "b"))
dy = jax.device_put(np.ones((1, 1, 8, 2, 3), np.float32), depth_split)
w = np.ones((1, 1, 3, 2, 2), np.float32)
f = lambda dy, w: jt.conv3d_input((1, 1, 16, 3, 4), w, dy, stride=2, padding=1,
                                  method=sys.argv[1])
print(jax.jit(f)(dy, w).shape)
"""


@pytest.mark.parametrize("method", ["dilate", "vjp"])
def test_depth_sharded_3d_input_gradient_does_not_abort(method):
    """The per-shard conv of a depth-sharded 3-D input gradient does not abort the process
    ("Window dimensions do not match RHS shape"); the other methods run no lhs_dilation conv."""
    proc = subprocess.run(
        [sys.executable, "-c", ABORT_REPRO, method],
        capture_output=True,
        text=True,
        timeout=120,
        env=_env(),
        cwd=ROOT,
    )
    failed = [line for line in proc.stderr.splitlines() if "Check failed" in line]
    assert proc.returncode == 0, (failed or proc.stderr.splitlines()[-20:])[0][:400]
    assert "(1, 1, 16, 3, 4)" in proc.stdout


# ---------------------------------------------------------------------------------------------
# the subprocess

STRIDE, BATCH, ROWS, CIN, COUT = 2, DEVICES, 16, 4, 4
OTHER = {1: (), 2: (5,), 3: (4, 5)}  # the spatial sizes after the sharded one
KERNEL = {1: (3,), 2: (3, 2), 3: (3, 2, 2)}


def _shapes(rank, api, groups):
    """Shapes of the forward input ``x``, filter ``w`` and output gradient ``dy``.

    SAME (TF) / padding 1 (PyTorch) with kernel 3 and stride 2 maps the 16 rows of the sharded
    axis to 8: 2 input rows and 1 output row per device."""
    ns, ks = (ROWS, *OTHER[rank]), KERNEL[rank]
    if api == "torch":
        ms = tuple((n + 2 - k) // STRIDE + 1 for n, k in zip(ns, ks))
        return {
            "x": (BATCH, CIN, *ns),
            "w": (COUT, CIN // groups, *ks),
            "dy": (BATCH, COUT, *ms),
        }
    ms = tuple(-(-n // STRIDE) for n in ns)
    return {"x": (BATCH, *ns, CIN), "w": (*ks, CIN // groups, COUT), "dy": (BATCH, *ms, COUT)}


def _op(api, name, method, groups, shape):
    """One public op as a function of its two arrays (settings bound)."""
    import jconv
    import jconv.torch as jt

    x_shape, w_shape = shape["x"], shape["w"]
    by = {} if method is None else {"method": method}
    if api == "torch":
        f = getattr(jt, name)
        kw = dict(stride=STRIDE, padding=1, groups=groups, **by)
        if name.startswith("conv_transpose"):
            # the transposed-conv weight (C_in, C_out / g, *k) is the forward weight;
            # output_padding picks the forward input size back (1 on the 16 rows)
            out_pad = tuple(
                n - ((m - 1) * STRIDE - 2 + k)
                for n, m, k in zip(x_shape[2:], shape["dy"][2:], w_shape[2:])
            )
            return lambda dy, w: f(dy, w, output_padding=out_pad, **kw)
        if name.endswith("_input"):
            return lambda dy, w: f(x_shape, w, dy, **kw)
        if name.endswith("_weight"):
            return lambda x, dy: f(x, w_shape, dy, **kw)
        return lambda x, w: f(x, w, **kw)
    f = getattr(jconv, name)
    tf = (STRIDE, "SAME")
    if name.endswith("_transpose"):
        return lambda dy, w: f(dy, w, x_shape, *tf, **by)
    if name.endswith("_backprop_input"):
        return lambda dy, w: f(x_shape, w, dy, *tf, **by)
    if name.endswith("_backprop_filter"):
        return lambda x, dy: f(x, w_shape, dy, *tf, **by)
    return lambda x, w: f(x, w, *tf)


def _cases(rank, api):
    """``(label, fn, (kind of a, kind of b), kind of the output, groups)`` for every op and
    method of one API at one rank. Kinds are ``"x"``, ``"w"``, ``"dy"`` (shapes from
    :func:`_shapes`); groups alternate 1, 2 from case to case."""
    import jconv

    if api == "torch":
        names = ["conv{}d", "conv_transpose{}d", "conv{}d_input", "conv{}d_weight"]
        bases = [[n.format(rank) for n in names]]
    else:
        names = ["conv{}", "conv{}_transpose", "conv{}_backprop_input", "conv{}_backprop_filter"]
        bases = [[n.format(f"{rank}d") for n in names]]
        if rank == 2:  # the rank-generic names
            bases.append([n.format("") for n in names])
    cases = []
    for i, (forward, transpose, input_grad, filter_grad) in enumerate(bases):
        # every method through the TF names of each rank; "auto" through the PyTorch names and
        # the rank-generic aliases, which reach the same jit entry points
        every = api == "tf" and i == 0
        transpose_methods = jconv.TRANSPOSE_METHODS if every else ("auto",)
        filter_methods = jconv.FILTER_GRAD_METHODS if every else ("auto",)
        ops = [(forward, None, ("x", "w"), "dy")]
        for name in (transpose, input_grad):
            ops += [(name, m, ("dy", "w"), "x") for m in transpose_methods]
        ops += [(filter_grad, m, ("x", "dy"), "w") for m in filter_methods]
        for name, method, kinds, out in ops:
            groups = 1 + len(cases) % 2
            fn = _op(api, name, method, groups, _shapes(rank, api, groups))
            label = ("torch." if api == "torch" else "") + name + (f"-{method}" if method else "")
            cases.append((label, fn, kinds, out, groups))
    return cases


def _main():
    import jax
    import jax.numpy as jnp
    import numpy as np
    from jax.sharding import Mesh, NamedSharding, PartitionSpec

    assert len(jax.devices()) == DEVICES, jax.devices()
    mesh = Mesh(np.array(jax.devices()), ("b",))
    rng = np.random.default_rng(0)
    total_pairs, start = 0, time.perf_counter()
    for rank in (1, 2, 3):
        for api in ("tf", "torch"):
            cases = _cases(rank, api)
            # x, w, dy for each groups value, and a cotangent of each kind
            arrays = {}
            for groups in (1, 2):
                for kind, shape in _shapes(rank, api, groups).items():
                    for role in ("arg", "cot"):
                        values = rng.integers(-3, 4, shape).astype(np.float32)
                        arrays[f"{role}-{kind}-{groups}"] = values

            def run(arrays, cases=cases):
                results = {}
                for label, fn, (ka, kb), out, g in cases:
                    a, b = arrays[f"arg-{ka}-{g}"], arrays[f"arg-{kb}-{g}"]
                    c = arrays[f"cot-{out}-{g}"]

                    def loss(a, b, fn=fn, c=c):
                        return jnp.sum(c * fn(a, b))

                    results[label] = (fn(a, b), *jax.grad(loss, argnums=(0, 1))(a, b))
                return results

            jitted = jax.jit(run)
            want = jitted(jax.device_put(arrays, jax.devices()[0]))
            spatial_axis = 2 if api == "torch" else 1
            for mode, axis in (("batch", 0), ("space", spatial_axis)):

                def sharding(key, axis=axis, rank=rank):
                    if "-w-" in key:  # filters are replicated
                        return NamedSharding(mesh, PartitionSpec())
                    spec = [None] * (rank + 2)
                    spec[axis] = "b"
                    return NamedSharding(mesh, PartitionSpec(*spec))

                sharded = {k: jax.device_put(v, sharding(k)) for k, v in arrays.items()}
                compiled = jitted.lower(sharded).compile()
                hlo = compiled.as_text()
                got = compiled(sharded)
                worst, mismatched = 0.0, []
                for label in want:
                    for part, g, w in zip(("y", "da", "db"), got[label], want[label]):
                        diff = float(np.max(np.abs(np.asarray(g) - np.asarray(w))))
                        worst = max(worst, diff)
                        if diff or g.shape != w.shape or g.dtype != w.dtype:
                            mismatched.append(f"{label}:{part}")
                # the outputs really are spread over the 8 devices
                spread = all(len(y.sharding.device_set) == DEVICES for y, *_ in got.values())
                permutes = hlo.count("collective-permute-start(") + hlo.count("collective-permute(")
                reduces = hlo.count("all-reduce-start(") + hlo.count("all-reduce(")
                print(
                    f"{rank}-D {api:5s} {mode:5s}: {len(cases):2d} op/method pairs, outputs and "
                    f"both gradients; max |sharded - single| = {worst:g}; outputs on all "
                    f"devices: {spread}; collective-permutes {permutes}, all-reduces {reduces}",
                    flush=True,
                )
                if mismatched or not spread:
                    raise SystemExit(f"MISMATCH {rank}-D {api} {mode}: {mismatched[:10]}")
                if mode == "space" and not permutes:
                    raise SystemExit(f"no halo exchange in {rank}-D {api} {mode}")
            total_pairs += len(cases)
    print(
        f"ALL EXACT: {total_pairs} op/method pairs x 2 shardings (batch, space) on {DEVICES} "
        f"devices, outputs and input/filter gradients, {time.perf_counter() - start:.1f} s"
    )


if __name__ == "__main__":
    # as a script: force the 8 host devices before JAX starts
    if FLAG not in os.environ.get("XLA_FLAGS", ""):
        os.environ["XLA_FLAGS"] = f"{os.environ.get('XLA_FLAGS', '')} {FLAG}".strip()
    _main()
