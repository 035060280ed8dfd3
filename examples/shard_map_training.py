"""Data-parallel training of a tiny convolutional decoder with ``jax.shard_map``.

The decoder maps a latent grid ``(B, 4, 4, 16)`` to an image ``(B, 8, 8, 1)``: a stride-2
``jconv.conv2d_transpose`` (TensorFlow's semantics: ``output_shape``, SAME padding), a ReLU and a
3x3 ``jconv.conv2d``. It learns to imitate a fixed random "teacher" decoder by SGD on the mean
squared error.

Each of the 8 devices gets an eighth of the batch; ``jax.shard_map`` runs the per-device step,
and ``jax.lax.pmean`` averages the gradients (and the loss) over the ``"data"`` mesh axis, so every
device applies the same update to its replica of the parameters. Run as a script it forces 8 CPU
devices (``--xla_force_host_platform_device_count=8``), trains for 20 steps printing the loss,
and checks each sharded step against the same step on one device (the batch mean is the mean of
the per-device means: equal up to float32 rounding). It exits 1 if the loss does not decrease or
the two disagree.

    pip install -e . && python examples/shard_map_training.py
"""

import os
import sys

DEVICES = 8
if __name__ == "__main__":  # the flag must be set before JAX starts
    flag = f"--xla_force_host_platform_device_count={DEVICES}"
    os.environ["XLA_FLAGS"] = f"{os.environ.get('XLA_FLAGS', '')} {flag}".strip()

import jax  # noqa: E402
import jax.numpy as jnp  # noqa: E402
import numpy as np  # noqa: E402
from jax.sharding import NamedSharding  # noqa: E402
from jax.sharding import PartitionSpec as P  # noqa: E402

import jconv  # noqa: E402

BATCH, STEPS, LEARNING_RATE = 64, 20, 0.3
LATENT, HIDDEN = 16, 8


def init(key, scale=0.05):
    k_up, k_out = jax.random.split(key)
    return {
        # conv2d_transpose filter, TensorFlow's layout (kh, kw, C_out, C_in)
        "up": scale * jax.random.normal(k_up, (4, 4, HIDDEN, LATENT)),
        "bias": jnp.zeros(HIDDEN),
        # conv2d filter (kh, kw, C_in, C_out)
        "out": scale * jax.random.normal(k_out, (3, 3, HIDDEN, 1)),
    }


def decode(params, z):
    """``(B, 4, 4, LATENT)`` -> ``(B, 8, 8, 1)``."""
    h = jconv.conv2d_transpose(
        z, params["up"], (z.shape[0], 8, 8, HIDDEN), strides=2, padding="SAME"
    )
    h = jax.nn.relu(h + params["bias"])
    return jconv.conv2d(h, params["out"], padding="SAME")


def loss_fn(params, z, target):
    return jnp.mean((decode(params, z) - target) ** 2)


def sgd(params, grads):
    return jax.tree.map(lambda p, g: p - LEARNING_RATE * g, params, grads)


def local_step(params, z, target):
    """One device's step on its shard of the batch; gradients averaged over "data"."""
    # Mark the replicated parameters as varying over "data" so that the gradient is this
    # device's own: without it, shard_map's autodiff already sums the gradients over devices
    # and pmean would leave that sum (8x the mean gradient).
    local = jax.lax.pcast(params, "data", to="varying")
    loss, grads = jax.value_and_grad(loss_fn)(local, z, target)
    grads = jax.lax.pmean(grads, "data")
    return sgd(params, grads), jax.lax.pmean(loss, "data")


def make_steps(mesh):
    sharded = jax.jit(
        jax.shard_map(
            local_step,
            mesh=mesh,
            in_specs=(P(), P("data"), P("data")),  # parameters replicated, batch split
            out_specs=(P(), P()),
        )
    )

    @jax.jit
    def single(params, z, target):
        loss, grads = jax.value_and_grad(loss_fn)(params, z, target)
        return sgd(params, grads), loss

    return sharded, single


def main():
    if len(jax.devices()) < DEVICES:
        sys.exit(f"needs {DEVICES} devices, found {jax.devices()}; run this file as a script")
    mesh = jax.make_mesh((DEVICES,), ("data",))
    key_teacher, key_student, key_data = jax.random.split(jax.random.key(0), 3)
    teacher, params = init(key_teacher, scale=0.5), init(key_student)
    z = jax.random.normal(key_data, (BATCH, 4, 4, LATENT))
    target = decode(teacher, z)
    target = target / jnp.std(target)  # unit variance: the loss starts near 1
    batch_sharding = NamedSharding(mesh, P("data"))
    z_sharded = jax.device_put(z, batch_sharding)
    target_sharded = jax.device_put(target, batch_sharding)

    sharded_step, single_step = make_steps(mesh)
    one_device = jax.devices()[0]
    single_params, losses, worst = params, [], 0.0
    for step in range(1, STEPS + 1):
        # the reference: the same step from the same parameters, on one device
        want = single_step(jax.device_put(params, one_device), z, target)
        params, loss = sharded_step(params, z_sharded, target_sharded)
        for got, expected in zip(jax.tree.leaves((params, loss)), jax.tree.leaves(want)):
            np.testing.assert_allclose(got, expected, rtol=1e-5, atol=1e-6)
            worst = max(worst, float(np.max(np.abs(np.asarray(got) - np.asarray(expected)))))
        single_params, _ = single_step(single_params, z, target)
        losses.append(float(loss))
        print(f"step {step:2d}  loss {loss:.5f}")
    # and the two trajectories stay together over all the steps
    drift = max(
        float(np.max(np.abs(np.asarray(a) - np.asarray(b))))
        for a, b in zip(jax.tree.leaves(params), jax.tree.leaves(single_params))
    )
    print(
        f"sharded step == single-device step ({len(z_sharded.sharding.device_set)} devices vs "
        f"1): max |difference| per step {worst:.1e}, parameter drift after {STEPS} steps "
        f"{drift:.1e}"
    )
    if not all(b < a for a, b in zip(losses, losses[1:])) or losses[-1] > 0.75 * losses[0]:
        sys.exit(f"the loss did not decrease steadily: {losses}")
    print(f"loss {losses[0]:.5f} -> {losses[-1]:.5f}")


if __name__ == "__main__":
    main()
