"""Real ports: four PyTorch models (``examples/ported_models.py``: a DCGAN-style generator, a
U-Net, a 1-D and a 3-D block) loaded by ``state_dict`` into their NNX and Equinox twins.

In float32 the outputs and the gradients of ``mean((model(x) - t)^2)`` with respect to the input
and to every parameter match PyTorch's to ``2e-5`` of each array's largest magnitude (the two
frameworks sum in different orders), and three optax Adam steps lower the loss.
"""

from __future__ import annotations

import sys
from pathlib import Path

import jax
import jax.numpy as jnp
import numpy as np
import pytest

torch = pytest.importorskip("torch")
nnx = pytest.importorskip("flax.nnx")
eqx = pytest.importorskip("equinox")
optax = pytest.importorskip("optax")

import jconv.equinox  # noqa: E402
import jconv.nnx  # noqa: E402

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "examples"))
import ported_models  # noqa: E402

TORCH = ported_models.torch_models()
NNX = ported_models.nnx_models()
EQX = ported_models.equinox_models()
TOL = 2e-5


def close(got, want, what):
    got, want = np.asarray(got), np.asarray(want)
    assert got.shape == want.shape, what
    scale = max(float(np.abs(want).max()), 1e-6)
    err = float(np.abs(got - want).max())
    assert err <= TOL * scale, f"{what}: max error {err:.3g} against scale {scale:.3g}"


def torch_reference(name, seed=0):
    kwargs, shape = ported_models.CONFIGS[name]
    torch.manual_seed(seed)
    model = TORCH[name](**kwargs)
    rng = np.random.default_rng(seed)
    x = rng.standard_normal(shape).astype(np.float32)
    tx = torch.from_numpy(x).requires_grad_()
    y = model(tx)
    t = rng.standard_normal(tuple(y.shape)).astype(np.float32)
    loss = ((y - torch.from_numpy(t)) ** 2).mean()
    loss.backward()
    grads = {k: p.grad.numpy() for k, p in model.named_parameters()}
    return model, x, t, y.detach().numpy(), tx.grad.numpy(), grads


def loss_fn(model, x, t):
    return jnp.mean((model(x) - t) ** 2)


@pytest.mark.parametrize("lib", ["nnx", "equinox"])
@pytest.mark.parametrize("name", list(ported_models.CONFIGS))
def test_port_matches_pytorch_and_trains(name, lib):
    tmodel, x, t, y_want, gx_want, grads_want = torch_reference(name)
    kwargs, _ = ported_models.CONFIGS[name]
    if lib == "nnx":
        model = NNX[name](**kwargs, rngs=nnx.Rngs(1))
        jconv.nnx.load_state_dict(model, tmodel.state_dict())
        graphdef, params = nnx.split(model)

        def loss_of(params, x):
            return loss_fn(nnx.merge(graphdef, params), x, t)

        y = nnx.merge(graphdef, params)(x)
        gp, gx = jax.grad(loss_of, argnums=(0, 1))(params, x)
        grads = jconv.nnx.state_dict(nnx.merge(graphdef, gp))
    else:
        model = EQX[name](**kwargs, key=jax.random.key(1))
        model = jconv.equinox.load_state_dict(model, tmodel.state_dict())
        params, static = eqx.partition(model, eqx.is_inexact_array)

        def loss_of(params, x):
            return loss_fn(eqx.combine(params, static), x, t)

        y = model(x)
        gp, gx = jax.grad(loss_of, argnums=(0, 1))(params, x)
        grads = jconv.equinox.state_dict(gp)
    close(y, y_want, f"{name} output")
    close(gx, gx_want, f"{name} input gradient")
    assert set(grads) == set(grads_want)
    for k in grads_want:
        close(grads[k], grads_want[k], f"{name} {k} gradient")

    opt = optax.adam(1e-2)
    state = opt.init(params)

    @jax.jit
    def step(params, state):
        loss, g = jax.value_and_grad(loss_of)(params, x)
        updates, state = opt.update(g, state, params)
        return optax.apply_updates(params, updates), state, loss

    losses = []
    for _ in range(4):
        params, state, loss = step(params, state)
        losses.append(float(loss))
    assert losses[-1] < losses[0], losses
    np.testing.assert_allclose(losses[0], float(((y_want - t) ** 2).mean()), rtol=1e-5)
