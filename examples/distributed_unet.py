"""Data-parallel training of the ported U-Net across processes with ``jax.distributed``.

The model is the Equinox twin of ``examples/ported_models.py``'s PyTorch ``UNet`` (reflect- and
replicate-padded ``jconv.equinox.Conv2d`` layers, a strided down conv and a
``ConvTranspose2d`` called with ``output_size=``). Equinox rather than the NNX twin because an
Equinox model is a plain pytree: ``eqx.partition`` splits it into its arrays (what is sharded,
differentiated and handed to optax) and its static layer specs, with no graph/state split and
no mutable module to keep in step across processes.

Every process builds the model from the same key (or loads the same PyTorch ``state_dict``
with ``--weights``) and makes the same synthetic denoising dataset from a fixed seed (smooth
images ``(3, 16, 16)`` and their noisy copies), so all processes start from identical
parameters and agree on the data without exchanging any. Training is data-parallel: a global
``"data"`` mesh over all processes' devices, the parameters and the Adam state replicated over
it, and each global batch (``--batch``, 8 by default) split along it; each process builds only
its own rows of the batch and hands them to ``jax.make_array_from_process_local_data``. The
step is one ``jax.jit``: the loss is the mean squared error over the *global* batch, so XLA's
partitioner inserts the all-reduce of the gradients (over gloo between CPU processes). The
global batch and the parameters are the same whatever the number of processes, so the loss of
each step equals the 1-process run's up to float32 rounding (only the order of the reduction
differs). Process 0 prints ``step {i} loss {loss}`` each step; every process prints
``done {N} processes`` at the end.

On one machine's CPU, as the tests run it (``JAX_PLATFORMS=cpu``)::

    python examples/distributed_unet.py                      # 1 process, no coordinator
    python examples/distributed_unet.py --num-processes 2 --process-id 0 \\
        --coordinator 127.0.0.1:12345 &
    python examples/distributed_unet.py --num-processes 2 --process-id 1 \\
        --coordinator 127.0.0.1:12345

There the script sets ``jax_cpu_collectives_implementation="gloo"`` before
``jax.distributed.initialize`` (JAX 0.10.2's default already; set for the JAX versions whose
CPU backend had no collectives across processes without it). The same script runs multi-host
on GPU or TPU, one process per host: there the gloo flag is not set (the accelerators' own
collectives are used) and ``--cluster`` calls ``jax.distributed.initialize()`` with no
arguments, so that it takes the coordinator, the process count and the process id from the
environment (SLURM, Open MPI, Cloud TPU, ...); or pass them explicitly as above. Each host then
feeds the rows of the global batch that fall on its own devices (``--batch`` must divide by the
total device count).

Two safeguards: jconv's oneDNN path is switched off unless ``JCONV_ONEDNN`` is set (see the
comment at the imports; the convolutions take jconv's patches form, which XLA partitions over the
batch), and before the first step the processes compare hashes of their traced step: a process
that traced another program fails at once with "the processes traced different training steps"
instead of waiting in a collective its peers never join.
"""

from __future__ import annotations

import argparse
import hashlib
import os
import sys
from pathlib import Path

# jconv's oneDNN path off by default, before jconv is imported: XLA's SPMD partitioner does not
# split oneDNN's custom call over the batch (it all-gathers the operands and runs it replicated on
# every device: the same losses, no data parallelism), while jconv's patches form is partitioned.
# JCONV_ONEDNN=1 runs it anyway (every process decides alike: jconv's first-use check runs on the
# process's own device).
os.environ.setdefault("JCONV_ONEDNN", "0")

import jax  # noqa: E402
import jax.numpy as jnp  # noqa: E402
import numpy as np  # noqa: E402
from jax.experimental import multihost_utils  # noqa: E402
from jax.sharding import Mesh, NamedSharding  # noqa: E402
from jax.sharding import PartitionSpec as P  # noqa: E402

sys.path.insert(0, str(Path(__file__).resolve().parent))  # ported_models, run from anywhere

CHANNELS, SIZE, DATASET, NOISE = 3, 16, 32, 0.3


def parse_args(argv=None):
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--num-processes", type=int, default=1)
    p.add_argument("--process-id", type=int, default=0)
    p.add_argument("--coordinator", help="host:port of process 0's coordinator service")
    p.add_argument(
        "--cluster",
        action="store_true",
        help="jax.distributed.initialize() with no arguments: taken from the environment",
    )
    p.add_argument("--steps", type=int, default=5)
    p.add_argument("--batch", type=int, default=8, help="global batch size")
    p.add_argument("--width", type=int, default=8, help="the U-Net's width")
    p.add_argument("--lr", type=float, default=3e-3)
    p.add_argument("--weights", help="a PyTorch state_dict of the UNet saved with np.savez")
    p.add_argument(
        "--timeout",
        type=int,
        default=60,
        help="seconds to wait for the other processes (start, heartbeats, shutdown)",
    )
    return p.parse_args(argv)


def initialize(args):
    """Start ``jax.distributed`` when there is more than one process; True if started."""
    if not args.cluster and args.num_processes == 1:
        return False
    if os.environ.get("JAX_PLATFORMS", "").strip().lower() == "cpu":
        # cross-process collectives on CPU: must be set before the CPU backend starts
        jax.config.update("jax_cpu_collectives_implementation", "gloo")
    timeouts = {
        "initialization_timeout": args.timeout,
        "heartbeat_timeout_seconds": args.timeout,
        "shutdown_timeout_seconds": args.timeout,
    }
    if args.cluster:
        jax.distributed.initialize(**timeouts)
    else:
        if args.coordinator is None:
            sys.exit("--num-processes > 1 needs --coordinator host:port (or --cluster)")
        jax.distributed.initialize(
            coordinator_address=args.coordinator,
            num_processes=args.num_processes,
            process_id=args.process_id,
            **timeouts,
        )
    return True


def make_dataset(seed=0):
    """``(noisy, clean)``, each ``(DATASET, 3, 16, 16)`` float32: sums of random plane waves
    (smooth images) and the same plus Gaussian noise. The same on every process."""
    rng = np.random.default_rng(seed)
    yy, xx = np.meshgrid(np.arange(SIZE), np.arange(SIZE), indexing="ij")
    freq = rng.uniform(0.2, 0.8, (DATASET, CHANNELS, 3, 2))
    phase = rng.uniform(0, 2 * np.pi, (DATASET, CHANNELS, 3, 1, 1))
    waves = np.sin(freq[..., 0, None, None] * yy + freq[..., 1, None, None] * xx + phase)
    clean = waves.mean(axis=2).astype(np.float32)
    noisy = (clean + NOISE * rng.standard_normal(clean.shape)).astype(np.float32)
    return noisy, clean


def local_rows(sharding, global_shape):
    """The rows of the global batch that fall on this process's devices, as a slice."""
    index_map = sharding.addressable_devices_indices_map(global_shape)
    starts = [idx[0].start or 0 for idx in index_map.values()]
    stops = [global_shape[0] if idx[0].stop is None else idx[0].stop for idx in index_map.values()]
    start, stop = min(starts), max(stops)
    if stop - start != sum(b - a for a, b in set(zip(starts, stops))):
        raise ValueError("this process's rows of the batch are not contiguous")
    return slice(start, stop)


def build_model(args):
    import equinox as eqx
    import ported_models

    import jconv.equinox

    kwargs = dict(ported_models.CONFIGS["UNet"][0], channels=CHANNELS, width=args.width)
    model = ported_models.equinox_models()["UNet"](**kwargs, key=jax.random.key(0))
    if args.weights:
        with np.load(args.weights) as npz:
            model = jconv.equinox.load_state_dict(model, dict(npz))
    return eqx.partition(model, eqx.is_array)


def train(args):
    import equinox as eqx
    import optax

    devices = jax.devices()  # all processes' devices, in the same order on every process
    if args.batch % len(devices):
        sys.exit(f"--batch {args.batch} must divide by the device count {len(devices)}")
    mesh = Mesh(np.array(devices), ("data",))
    replicated, batch_sharding = NamedSharding(mesh, P()), NamedSharding(mesh, P("data"))

    params, static = build_model(args)
    # identical on every process: each supplies the whole (replicated) array
    params = jax.tree.map(
        lambda a: jax.make_array_from_process_local_data(replicated, np.asarray(a)), params
    )
    optimizer = optax.adam(args.lr)
    opt_state = jax.jit(optimizer.init, out_shardings=replicated)(params)

    noisy, clean = make_dataset()
    batches = DATASET // args.batch
    shape = (args.batch, CHANNELS, SIZE, SIZE)
    rows = local_rows(batch_sharding, shape)

    def loss_fn(params, x, y):
        model = eqx.combine(params, static)
        return jnp.mean((model(x) - y) ** 2)  # the mean over the global batch

    @jax.jit
    def step(params, opt_state, x, y):
        loss, grads = jax.value_and_grad(loss_fn)(params, x, y)
        updates, opt_state = optimizer.update(grads, opt_state, params)
        return optax.apply_updates(params, updates), opt_state, loss

    def batch(i):
        first = (i % batches) * args.batch
        return tuple(
            jax.make_array_from_process_local_data(
                batch_sharding, a[first : first + args.batch][rows], shape
            )
            for a in (noisy, clean)
        )

    lowered = step.lower(params, opt_state, *batch(0))
    if jax.process_count() > 1:
        # Every process must run the same program, or their collectives do not pair up and
        # hang: compare the traced programs' hashes first (a small program of its own).
        digest = hashlib.sha256(lowered.as_text().encode()).digest()
        multihost_utils.assert_equal(
            np.frombuffer(digest, np.uint8), "the processes traced different training steps"
        )
    step = lowered.compile()

    losses = []
    for i in range(args.steps):
        params, opt_state, loss = step(params, opt_state, *batch(i))
        loss = float(loss)  # replicated: every process holds the whole value
        losses.append(loss)
        if jax.process_index() == 0:
            print(f"step {i} loss {loss:.8f}", flush=True)
    return losses


def main(argv=None):
    args = parse_args(argv)
    started = initialize(args)
    try:
        losses = train(args)
        print(
            f"done {jax.process_count()} processes (process {jax.process_index()}, "
            f"{jax.device_count()} devices): loss {losses[0]:.6f} -> {losses[-1]:.6f}",
            flush=True,
        )
    finally:
        if started:
            jax.distributed.shutdown()


if __name__ == "__main__":
    main()
