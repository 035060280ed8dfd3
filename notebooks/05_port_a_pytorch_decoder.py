# ---
# jupyter:
#   jupytext:
#     formats: ipynb,py:percent
#     text_representation:
#       extension: .py
#       format_name: percent
#       format_version: '1.3'
#       jupytext_version: 1.19.7
#   kernelspec:
#     display_name: Python 3 (ipykernel)
#     language: python
#     name: python3
# ---

# %% [markdown]
# # Port a PyTorch decoder to JAX
#
# `jconv.nnx` (Flax NNX) and `jconv.equinox` (Equinox) have `torch.nn`'s convolution layers:
# `Conv1d`–`Conv3d` and `ConvTranspose1d`–`ConvTranspose3d`, with `torch.nn`'s constructor
# arguments in `torch.nn`'s order and with its defaults, plus `rngs=` (NNX) or `key=`
# (Equinox). Their weights are stored in PyTorch's layouts, and both modules read and write
# PyTorch `state_dict`s. This notebook ports a small image decoder:
#
# 1. the decoder in PyTorch: transposed convolutions from a code to an image, one of them
#    called with `output_size=`, and a reflect-padded `Conv2d` at the end;
# 2. its twins in NNX and in Equinox, with the same attribute names;
# 3. PyTorch's weights loaded into both; outputs and parameter gradients compared;
# 4. what strict loading refuses;
# 5. a few Adam steps in all three frameworks from the same start, loss curves compared;
# 6. the trained JAX weights saved back into the PyTorch model.
#
# Everything is float32 on the CPU.

# %%
import os

import equinox as eqx
import jax
import jax.numpy as jnp
import matplotlib.pyplot as plt
import numpy as np
import optax
import torch
from flax import nnx
from torch import nn

import jconv.equinox
import jconv.nnx

# The tests run every cell with JCONV_NOTEBOOK_QUICK=1: fewer training steps.
QUICK = os.environ.get("JCONV_NOTEBOOK_QUICK") == "1"

plt.rcParams.update({"figure.dpi": 80, "savefig.dpi": 80, "font.size": 9})
np.set_printoptions(linewidth=110, suppress=True)
torch.manual_seed(0)

# %% [markdown]
# ## The decoder in PyTorch
#
# A DCGAN-style generator maps a code $z$ of shape $(N, n_z, 1, 1)$ to an image
# $(N, 1, 16, 16)$. Along each spatial axis a `ConvTranspose2d` with kernel $k$, stride $s$,
# padding $p$, dilation $d$ and output padding $a$ gives
#
# $$H_{\text{out}} = (H_{\text{in}} - 1)\,s - 2p + d\,(k - 1) + a + 1 .$$
#
# | layer | $k$, $s$, $p$ | size |
# |---|---|---|
# | `stem.0`: `ConvTranspose2d(16, 64, 4, 1, 0)` | 4, 1, 0 | $1 \to 4$ |
# | `stem.2`: `ConvTranspose2d(64, 32, 4, 2, 1)` | 4, 2, 1 | $4 \to 8$ |
# | `up`: `ConvTranspose2d(32, 16, 3, stride=2, padding=1)` | 3, 2, 1 | $8 \to 15 + a$ |
# | `head`: `Conv2d(16, 1, 3, padding=1, padding_mode="reflect")` | 3, 1, 1 | $16 \to 16$ |
#
# For `up`, sizes 15 ($a = 0$) and 16 ($a = 1$) both come from 8 rows with stride 2 (a
# strided convolution maps both back to 8), so the layer alone cannot know which is wanted.
# `forward(x, output_size=(16, 16))` picks $a = 1$ for that call. `head` pads its input by
# reflection (`padding_mode="reflect"`: row $-1$ is row $1$) instead of with zeros, so the
# image border is not pulled towards zero. The first two layers sit in an `nn.Sequential`
# with their ReLUs, and have no bias, as in DCGAN.

# %%
NZ, WIDTH, SIZE = 16, 16, 16


class TorchDecoder(nn.Module):
    def __init__(self, nz=NZ, width=WIDTH):
        super().__init__()
        self.stem = nn.Sequential(
            nn.ConvTranspose2d(nz, 4 * width, 4, 1, 0, bias=False),
            nn.ReLU(),
            nn.ConvTranspose2d(4 * width, 2 * width, 4, 2, 1, bias=False),
            nn.ReLU(),
        )
        self.up = nn.ConvTranspose2d(2 * width, width, 3, stride=2, padding=1)
        self.head = nn.Conv2d(width, 1, 3, padding=1, padding_mode="reflect")

    def forward(self, z):
        h = torch.relu(self.up(self.stem(z), output_size=(SIZE, SIZE)))
        return torch.sigmoid(self.head(h))


torch_model = TorchDecoder()
sd = torch_model.state_dict()
for k, v in sd.items():
    print(f"{k:15s} {tuple(v.shape)}")
print("output:", tuple(torch_model(torch.zeros(2, NZ, 1, 1)).shape))

# %% [markdown]
# ## Its twins in Flax NNX and Equinox
#
# The twins are written line by line from the PyTorch class: `torch.nn.ConvTranspose2d`
# becomes `jconv.nnx.ConvTranspose2d` (or `jconv.equinox.ConvTranspose2d`) with the same
# arguments, `forward` becomes `__call__`, `torch.relu` becomes `jax.nn.relu`. Data stays in
# PyTorch's $(N, C, H, W)$ order.
#
# The keys of a `state_dict` are attribute paths joined by dots: `up.weight` is the attribute
# `weight` of the attribute `up`; `stem.2.weight` is the weight of element 2 of the
# sequential `stem` (element 1 is the ReLU, which has no parameters). `jconv.nnx` and
# `jconv.equinox` name their modules' parameters the same way, leaving out the `layers`
# level that `nnx.Sequential` and `eqx.nn.Sequential` keep their elements in, so a twin with
# the same attribute names has the same keys.
#
# Weights keep PyTorch's layouts: $(C_{\text{out}}, C_{\text{in}}/g, k_h, k_w)$ for
# `Conv2d` and $(C_{\text{in}}, C_{\text{out}}/g, k_h, k_w)$ for `ConvTranspose2d`, with $g$
# the number of groups. Porting a model is then copying arrays key by key: nothing is
# transposed, flipped or reshaped. (Flax's `nnx.Conv` and Equinox's `eqx.nn.ConvTranspose2d`
# store their kernels differently, and a port to them has to convert each one.)
#
# Two differences between the frameworks show in the code:
#
# - `nnx.Sequential` takes plain functions such as `jax.nn.relu`; `eqx.nn.Sequential` calls
#   each element as `layer(x, key=...)`, so a function without a `key` argument is wrapped in
#   `eqx.nn.Lambda`.
# - NNX modules are built with `rngs=nnx.Rngs(seed)`; Equinox modules take a `key=` and
#   split it for their layers. Both draw their initial weights as PyTorch does (uniform on
#   $\pm 1/\sqrt{\text{fan\_in}}$), but from JAX's random numbers, so before loading they
#   differ from the PyTorch model's.


# %%
class NNXDecoder(nnx.Module):
    def __init__(self, nz=NZ, width=WIDTH, *, rngs):
        self.stem = nnx.Sequential(
            jconv.nnx.ConvTranspose2d(nz, 4 * width, 4, 1, 0, bias=False, rngs=rngs),
            jax.nn.relu,
            jconv.nnx.ConvTranspose2d(4 * width, 2 * width, 4, 2, 1, bias=False, rngs=rngs),
            jax.nn.relu,
        )
        self.up = jconv.nnx.ConvTranspose2d(2 * width, width, 3, stride=2, padding=1, rngs=rngs)
        self.head = jconv.nnx.Conv2d(width, 1, 3, padding=1, padding_mode="reflect", rngs=rngs)

    def __call__(self, z):
        h = jax.nn.relu(self.up(self.stem(z), output_size=(SIZE, SIZE)))
        return jax.nn.sigmoid(self.head(h))


class EqxDecoder(eqx.Module):
    stem: eqx.nn.Sequential
    up: jconv.equinox.ConvTranspose2d
    head: jconv.equinox.Conv2d

    def __init__(self, nz=NZ, width=WIDTH, *, key):
        k = jax.random.split(key, 4)
        relu = eqx.nn.Lambda(jax.nn.relu)
        self.stem = eqx.nn.Sequential(
            [
                jconv.equinox.ConvTranspose2d(nz, 4 * width, 4, 1, 0, bias=False, key=k[0]),
                relu,
                jconv.equinox.ConvTranspose2d(4 * width, 2 * width, 4, 2, 1, bias=False, key=k[1]),
                relu,
            ]
        )
        self.up = jconv.equinox.ConvTranspose2d(2 * width, width, 3, stride=2, padding=1, key=k[2])
        self.head = jconv.equinox.Conv2d(width, 1, 3, padding=1, padding_mode="reflect", key=k[3])

    def __call__(self, z):
        h = jax.nn.relu(self.up(self.stem(z), output_size=(SIZE, SIZE)))
        return jax.nn.sigmoid(self.head(h))


nnx_model = NNXDecoder(rngs=nnx.Rngs(0))
eqx_model = EqxDecoder(key=jax.random.key(0))
print(nnx_model.head.spec)
nnx_sd, eqx_sd = jconv.nnx.state_dict(nnx_model), jconv.equinox.state_dict(eqx_model)
print(f"{'key':15s} {'PyTorch':>16s} {'NNX':>16s} {'Equinox':>16s}")
for k in sd:
    shapes = [tuple(sd[k].shape), nnx_sd[k].shape, eqx_sd[k].shape]
    print(f"{k:15s} " + " ".join(f"{str(s):>16s}" for s in shapes))
assert set(nnx_sd) == set(eqx_sd) == set(sd)

# %% [markdown]
# ## Loading PyTorch's weights
#
# `jconv.nnx.load_state_dict(model, sd)` writes the arrays into the NNX model in place (NNX
# modules are mutable). Equinox modules are immutable pytrees, so
# `jconv.equinox.load_state_dict(model, sd)` returns a new model. Both accept torch tensors
# as they come from `state_dict()`.
#
# Then the three models get the same batch of codes. In float32 the outputs can differ in the
# last bits: the frameworks add up the products of each convolution in different orders.
# The longest sums have $64 \cdot 2 \cdot 2 = 256$ terms (in `stem.2`, with stride 2, each
# output pixel meets 2 of the 4 kernel rows and 2 of the 4 columns), so the differences
# should be a few units of $2^{-24} \approx 6 \cdot 10^{-8}$ relative to the output scale,
# far below the $10^{-5}$ asserted.

# %%
jconv.nnx.load_state_dict(nnx_model, sd)
eqx_model = jconv.equinox.load_state_dict(eqx_model, sd)

N = 16
z = np.random.default_rng(0).standard_normal((N, NZ, 1, 1)).astype(np.float32)
with torch.no_grad():
    y_torch = torch_model(torch.from_numpy(z)).numpy()
y_nnx, y_eqx = np.asarray(nnx_model(z)), np.asarray(eqx_model(z))

scale = np.abs(y_torch).max()
print("output shape:", y_nnx.shape, " scale max|y|:", f"{scale:.3f}")
for name, y in [("NNX", y_nnx), ("Equinox", y_eqx)]:
    diff = np.abs(y - y_torch).max()
    print(f"{name:8s} max |y - y_torch| = {diff:.1e}  ({diff / scale:.1e} of the scale)")
    assert diff < 1e-5 * scale

# %% [markdown]
# ### Gradients with respect to the parameters
#
# The loss used for training below is the mean squared error against a fixed batch of
# target images $t$,
#
# $$L(\theta) = \frac{1}{N\,H\,W}\sum_{n,i,j}
#   \big(y_\theta(z)[n, 0, i, j] - t[n, 0, i, j]\big)^2 .$$
#
# The targets are Gaussian blobs, one per code, with centres and widths drawn at random:
# $t(i, j) = \exp\!\big(-((i - c_i)^2 + (j - c_j)^2) / (2\sigma^2)\big)$.
#
# PyTorch's gradients come from `loss.backward()`, in the `.grad` of each parameter. NNX's
# `nnx.grad` returns an `nnx.State` shaped like the model's parameters; merged with the
# model's graph definition it becomes a module whose "parameters" are the gradients, and
# `jconv.nnx.state_dict` names them with PyTorch's keys. Equinox's `eqx.filter_grad` returns
# a pytree shaped like the model itself, which `jconv.equinox.state_dict` reads directly.

# %%
rng = np.random.default_rng(1)
ii, jj = np.mgrid[0:SIZE, 0:SIZE]
centres = rng.uniform(3, SIZE - 4, (N, 2))
sigmas = rng.uniform(1.2, 2.5, N)
target = np.exp(
    -((ii - centres[:, 0, None, None]) ** 2 + (jj - centres[:, 1, None, None]) ** 2)
    / (2 * sigmas[:, None, None] ** 2)
)[:, None].astype(np.float32)
z_t, target_t = torch.from_numpy(z), torch.from_numpy(target)


def nnx_loss(model):
    return jnp.mean((model(z) - target) ** 2)


def eqx_loss(model):
    return jnp.mean((model(z) - target) ** 2)


torch_model.zero_grad()
loss_torch = torch.mean((torch_model(z_t) - target_t) ** 2)
loss_torch.backward()
g_torch = {k: p.grad.numpy() for k, p in torch_model.named_parameters()}

graphdef, _ = nnx.split(nnx_model)
g_nnx = jconv.nnx.state_dict(nnx.merge(graphdef, nnx.grad(nnx_loss)(nnx_model)))
g_eqx = jconv.equinox.state_dict(eqx.filter_grad(eqx_loss)(eqx_model))

print(f"loss: PyTorch {loss_torch.item():.7f}  NNX {nnx_loss(nnx_model):.7f}", end="")
print(f"  Equinox {eqx_loss(eqx_model):.7f}")
print(f"{'parameter':15s} {'max|g_torch|':>13s} {'NNX rel. diff':>14s} {'Eqx rel. diff':>14s}")
for k, g in g_torch.items():
    gscale = np.abs(g).max()
    rel = [np.abs(gj[k] - g).max() / gscale for gj in (g_nnx, g_eqx)]
    print(f"{k:15s} {gscale:13.2e} {rel[0]:14.1e} {rel[1]:14.1e}")
    assert max(rel) < 1e-5, k

# %% [markdown]
# ## Strict loading
#
# Like `torch.nn.Module.load_state_dict` with its default `strict=True`, both loaders want
# exactly the model's keys, each with the model's shape. Anything else raises a `ValueError`
# that lists every problem at once, and nothing is loaded. Three common mistakes:
#
# - a twin whose attribute is named differently (`upsample` for `up`): two missing keys and
#   two unexpected ones;
# - a weight converted to TensorFlow's layout $(k_h, k_w, C_{\text{in}}, C_{\text{out}})$ on
#   the way: a size mismatch (a square kernel with $C_{\text{in}} = C_{\text{out}}$ would
#   slip through, as it would in PyTorch);
# - a key left out, here `head.bias`, as when one model has `bias=False` and the other not:
#   a missing key.

# %%
renamed = {k.replace("up.", "upsample."): v for k, v in sd.items()}
tf_layout = dict(sd, **{"head.weight": sd["head.weight"].permute(2, 3, 1, 0)})
before = np.array(nnx_model.head.weight.get_value())

for label, bad in [("renamed attribute", renamed), ("TF layout", tf_layout)]:
    try:
        jconv.nnx.load_state_dict(nnx_model, bad)
    except ValueError as e:
        print(f"{label}:\n{e}\n")
assert np.array_equal(nnx_model.head.weight.get_value(), before)  # nothing was loaded

no_head_bias = {k: v for k, v in sd.items() if k != "head.bias"}
try:
    jconv.equinox.load_state_dict(eqx_model, no_head_bias)
except ValueError as e:
    print(f"head.bias left out:\n{e}")


# %% [markdown]
# ## Training in all three frameworks
#
# All three models start from the PyTorch weights loaded above and take the same full-batch
# Adam steps on $L(\theta)$, with learning rate $\eta = 5 \cdot 10^{-3}$ and PyTorch's and
# optax's common defaults $\beta_1 = 0.9$, $\beta_2 = 0.999$, $\epsilon = 10^{-8}$. Both
# libraries implement the same update,
#
# $$m_t = \beta_1 m_{t-1} + (1 - \beta_1)\,g_t,\quad
#   v_t = \beta_2 v_{t-1} + (1 - \beta_2)\,g_t^2,\quad
#   \theta_t = \theta_{t-1} - \eta\,\frac{m_t / (1 - \beta_1^t)}
#                                    {\sqrt{v_t / (1 - \beta_2^t)} + \epsilon},$$
#
# so the runs can differ only by float32 rounding: in the forward pass, in the gradients and
# in the optimizer's own arithmetic.
#
# - **NNX**: `nnx.Optimizer(model, optax.adam(lr), wrt=nnx.Param)` holds the optax state;
#   `optimizer.update(model, grads)` updates the model in place, and `nnx.jit` compiles the
#   whole step, model and optimizer included.
# - **Equinox**: the model is a pytree whose leaves are its arrays; the layer settings are
#   static fields, not leaves. `eqx.filter(model, eqx.is_array)` keeps the arrays for optax,
#   `eqx.filter_value_and_grad` differentiates with respect to them, `eqx.apply_updates`
#   returns the updated model, and `eqx.filter_jit` compiles the step. Equinox models are
#   immutable, so `eqx_start` below still holds the starting weights after training.
# - **PyTorch**: `torch.optim.Adam`.

# %%
STEPS = 20 if QUICK else 200
LR = 5e-3

# The starting point, for the pictures and the runs further down.
y_start, eqx_start = y_nnx, eqx_model

optimizer = nnx.Optimizer(nnx_model, optax.adam(LR), wrt=nnx.Param)


@nnx.jit
def nnx_step(model, optimizer):
    loss, grads = nnx.value_and_grad(nnx_loss)(model)
    optimizer.update(model, grads)
    return loss


def make_eqx_step(adam):
    @eqx.filter_jit
    def eqx_step(model, opt_state):
        loss, grads = eqx.filter_value_and_grad(eqx_loss)(model)
        updates, opt_state = adam.update(grads, opt_state, eqx.filter(model, eqx.is_array))
        return eqx.apply_updates(model, updates), opt_state, loss

    return eqx_step


def train_eqx(model, adam, steps):
    step, opt_state, curve = make_eqx_step(adam), adam.init(eqx.filter(model, eqx.is_array)), []
    for _ in range(steps):
        model, opt_state, loss = step(model, opt_state)
        curve.append(float(loss))
    return model, np.array(curve)


def train_torch(model, x, t, steps):
    opt, curve = torch.optim.Adam(model.parameters(), lr=LR), []
    for _ in range(steps):
        opt.zero_grad()
        loss = torch.mean((model(x) - t) ** 2)
        loss.backward()
        opt.step()
        curve.append(loss.item())
    return np.array(curve)


losses = {"PyTorch": train_torch(torch_model, z_t, target_t, STEPS)}
losses["NNX"] = np.array([float(nnx_step(nnx_model, optimizer)) for _ in range(STEPS)])
eqx_model, losses["Equinox"] = train_eqx(eqx_model, optax.adam(LR), STEPS)

print(f"{'step':>5s} {'PyTorch':>11s} {'NNX':>11s} {'Equinox':>11s}")
for i in sorted({0, 1, 2, 5, 10, STEPS // 2, STEPS - 1}):
    print(f"{i:5d} " + " ".join(f"{losses[k][i]:11.7f}" for k in losses))
# The loss before the first step is the same in all three, to float32 rounding.
np.testing.assert_allclose(losses["NNX"][0], losses["PyTorch"][0], rtol=1e-5)
np.testing.assert_allclose(losses["Equinox"][0], losses["PyTorch"][0], rtol=1e-5)

# %% [markdown]
# ### Where the JAX runs part from PyTorch's
#
# The JAX losses differ from PyTorch's in the sixth or seventh digit within a few steps.
# The forward pass and the gradients matched PyTorch's to about $10^{-7}$ above, so the
# difference comes from the optimizer. PyTorch computes the bias corrections
# $1 - \beta^t$ in Python's float64; optax computes them in float32 (`1 - decay**count` in
# `optax.tree_utils.tree_bias_correction`). In float32, $\beta_2 = 0.999$ is stored as
# $0.99900001287\ldots$, so $1 - \beta_2 \approx 0.00099998713$: the correction
# $1 - \beta_2^t$ is about $1.3 \cdot 10^{-5}$ too small for small $t$. That makes
# $\hat v_t$ too large by the same factor and every optax step about $6 \cdot 10^{-6}$
# shorter than PyTorch's:
#
# $$\frac{\text{optax step}}{\text{PyTorch step}}
#   = \frac{(1 - \beta_1^t)_{64}}{(1 - \beta_1^t)_{32}}
#     \sqrt{\frac{(1 - \beta_2^t)_{32}}{(1 - \beta_2^t)_{64}}}$$
#
# (when $\epsilon$ is negligible against $\sqrt{\hat v_t}$). Two more runs check this
# explanation:
#
# - Equinox with optax's Adam and the learning rate multiplied, at each step, by the inverse
#   of that ratio: it should follow PyTorch about as closely as the gradients matched;
# - PyTorch in float64, from the same weights: the distance of PyTorch's float32 run from it
#   is the effect of float32 rounding alone.

# %%
t = np.arange(1, STEPS + 1)
ratio = ((1 - 0.9**t) / np.asarray(1 - 0.9 ** jnp.arange(1, STEPS + 1))) * np.sqrt(
    np.asarray(1 - 0.999 ** jnp.arange(1, STEPS + 1)) / (1 - 0.999**t)
)
print("float32 1 - beta2:", 1 - np.float32(0.999))
print("optax step / PyTorch step - 1, steps 1, 2, 3, 10:", (ratio[[0, 1, 2, 9]] - 1).round(8))

correction = jnp.asarray(1 / ratio, jnp.float32)  # optax's schedule sees count = t - 1
adam_as_torch = optax.adam(lambda count: LR * correction[count])
_, losses["Equinox, torch's bias correction"] = train_eqx(eqx_start, adam_as_torch, STEPS)

torch64 = TorchDecoder().double()
torch64.load_state_dict(
    {k: torch.from_numpy(v).double() for k, v in jconv.equinox.state_dict(eqx_start).items()}
)
losses["PyTorch float64"] = train_torch(torch64, z_t.double(), target_t.double(), STEPS)

dist = {k: np.abs(v - losses["PyTorch"]) / losses["PyTorch"] for k, v in losses.items()}
shown = sorted({1, 5, 10, STEPS // 2, STEPS - 1})
print("relative distance from PyTorch's float32 loss")
print(f"{'run':34s}" + "".join(f"{f'step {i}':>10s}" for i in shown))
for name in list(dist)[1:]:
    print(f"{name:34s}" + "".join(f"{dist[name][i]:10.1e}" for i in shown))


# %% [markdown]
# The left panel shows the three loss curves; the right one each run's relative distance
# from PyTorch's float32 run, $|L - L_{\text{PyTorch}}| / L_{\text{PyTorch}}$ at each step,
# on a log scale (zeros drawn at $10^{-9}$). NNX and Equinox run the same operations and
# give the same losses, so their lines coincide.
#
# With the bias correction matched, the JAX run stays within about $10^{-7}$ of PyTorch's
# for the first steps, as close as PyTorch float32 stays to float64. In the full run (200
# steps; the tests run 20) the loss falls quickly between steps 100 and 150, and there every
# run separates from every other, PyTorch float32 from float64 included: the training
# amplifies whatever small differences it starts with. A ported model trains like its
# original, not bit for bit like it.

# %%
fig, (ax0, ax1) = plt.subplots(1, 2, figsize=(10, 3.6))
styles = {
    "PyTorch": ("k", "-", 3.5),
    "NNX": ("tab:orange", "--", 1.8),
    "Equinox": ("tab:blue", ":", 1.8),
    "Equinox, torch's bias correction": ("tab:green", "-", 1.2),
    "PyTorch float64": ("tab:gray", "-", 1.2),
}
for name in ("PyTorch", "NNX", "Equinox"):
    color, ls, lw = styles[name]
    ax0.plot(losses[name], color=color, ls=ls, lw=lw, label=name)
ax0.set_yscale("log")
ax0.set_xlabel("Adam step")
ax0.set_ylabel("training loss (MSE)")
ax0.set_title("the same steps in three frameworks")
ax0.legend()
for name, d in dist.items():
    if name != "PyTorch":
        color, ls, _ = styles[name]
        ax1.semilogy(np.maximum(d, 1e-9), color=color, ls=ls, lw=1.3, label=name)
ax1.set_xlabel("Adam step")
ax1.set_ylabel("relative distance from PyTorch's loss")
ax1.set_title("float32 drift")
ax1.legend(fontsize=7)
fig.tight_layout()
plt.show()

# %% [markdown]
# Targets, then the NNX decoder's images before and after training, for eight of the
# sixteen codes.

# %%
y_end = np.asarray(nnx_model(z))
fig, axes = plt.subplots(3, 8, figsize=(8, 3.3))
for row, (label, images) in enumerate([("target", target), ("start", y_start), ("trained", y_end)]):
    for col in range(8):
        ax = axes[row, col]
        ax.imshow(images[col, 0], cmap="gray", vmin=0, vmax=1)
        ax.set_xticks([])
        ax.set_yticks([])
    axes[row, 0].set_ylabel(label)
fig.suptitle(f"NNX decoder, {STEPS} Adam steps")
fig.tight_layout()
plt.show()

# %% [markdown]
# ## Back to PyTorch
#
# `jconv.nnx.state_dict(model)` and `jconv.equinox.state_dict(model)` return
# `{key: NumPy array}` with PyTorch's keys and layouts; `torch.from_numpy` turns the arrays
# into tensors for `torch_model.load_state_dict`, which is strict as well. The PyTorch
# model, trained on its own above, ends at weights a little different from the NNX model's
# (the drift just shown); with the NNX weights loaded it computes the NNX model's function,
# to float32 rounding again. The same holds for the Equinox weights, loaded into a fresh
# `TorchDecoder`.

# %%
with torch.no_grad():
    y_torch_own = torch_model(z_t).numpy()
print(f"PyTorch trained on its own vs NNX:  max |diff| = {np.abs(y_torch_own - y_end).max():.1e}")

torch_model.load_state_dict(
    {k: torch.from_numpy(v) for k, v in jconv.nnx.state_dict(nnx_model).items()}
)
torch_from_eqx = TorchDecoder()
torch_from_eqx.load_state_dict(
    {k: torch.from_numpy(v) for k, v in jconv.equinox.state_dict(eqx_model).items()}
)
y_eqx_end = np.asarray(eqx_model(z))
with torch.no_grad():
    y_back = torch_model(z_t).numpy()
    y_back_eqx = torch_from_eqx(z_t).numpy()
for name, a, b in [("NNX", y_back, y_end), ("Equinox", y_back_eqx, y_eqx_end)]:
    diff = np.abs(a - b).max()
    print(f"PyTorch with the {name} weights vs {name}: max |diff| = {diff:.1e}")
    assert diff < 1e-5 * np.abs(b).max()
