"""Four PyTorch models and their twins in Flax NNX and Equinox, built from jconv's layers.

Each twin has its PyTorch model's attribute names, so ``jconv.nnx.load_state_dict(twin,
torch_model.state_dict())`` (or ``jconv.equinox.load_state_dict``) ports the weights:

* ``DCGANGenerator``: a DCGAN-style generator, a code ``(N, nz, 1, 1)`` to a ``(N, 3, 32, 32)``
  image through four ``ConvTranspose2d`` (4x4 kernels, stride 2, padding 1) in an
  ``nn.Sequential`` (normalisation layers left out: jconv provides the conv layers only).
* ``UNet``: a small U-Net with a reflect-padded stem, a strided down conv, a 3x3 stride-2
  up-conv called with ``output_size=`` of its skip (13 or 14 rows from 7: odd sizes work), a
  skip concatenation and a replicate-padded decoder conv.
* ``Block1d``: a vocoder-style 1-D block, an 8x upsampling ``ConvTranspose1d`` then a residual
  dilated grouped ``Conv1d`` with ``padding="same"`` and reflect padding.
* ``Block3d``: a 3-D encoder-decoder block, a circular-padded conv, a strided grouped conv and a
  ``ConvTranspose3d`` back up.

``torch_models()`` builds the PyTorch classes (PyTorch is imported only there); the NNX and
Equinox classes need only Flax and Equinox. The tests (``tests/test_port.py``), the notebook
``05_port_a_pytorch_decoder`` and ``examples/distributed_unet.py`` use them.
"""

from __future__ import annotations

import jax
import jax.numpy as jnp

# name -> (constructor kwargs, input shape): the configurations the tests and notebook port
CONFIGS = {
    "DCGANGenerator": ({"nz": 8, "width": 8}, (2, 8, 1, 1)),
    "UNet": ({"channels": 3, "width": 8}, (2, 3, 13, 10)),
    "Block1d": ({"channels": 8}, (2, 8, 12)),
    "Block3d": ({"channels": 2}, (1, 2, 6, 5, 6)),
}


def torch_models():
    """The four models in PyTorch, as ``{name: class}``."""
    import torch
    from torch import nn
    from torch.nn import functional as F

    class DCGANGenerator(nn.Module):
        def __init__(self, nz=8, width=8):
            super().__init__()
            self.main = nn.Sequential(
                nn.ConvTranspose2d(nz, width * 4, 4, 1, 0, bias=False),
                nn.ReLU(),
                nn.ConvTranspose2d(width * 4, width * 2, 4, 2, 1, bias=False),
                nn.ReLU(),
                nn.ConvTranspose2d(width * 2, width, 4, 2, 1, bias=False),
                nn.ReLU(),
                nn.ConvTranspose2d(width, 3, 4, 2, 1),
                nn.Tanh(),
            )

        def forward(self, z):
            return self.main(z)

    class UNet(nn.Module):
        def __init__(self, channels=3, width=8):
            super().__init__()
            self.stem = nn.Conv2d(channels, width, 3, padding=1, padding_mode="reflect")
            self.down = nn.Conv2d(width, 2 * width, 3, stride=2, padding=1)
            self.mid = nn.Conv2d(2 * width, 2 * width, 3, padding="same")
            self.up = nn.ConvTranspose2d(2 * width, width, 3, stride=2, padding=1)
            self.dec = nn.Conv2d(2 * width, width, 3, padding=1, padding_mode="replicate")
            self.head = nn.Conv2d(width, channels, 1)

        def forward(self, x):
            e = F.relu(self.stem(x))
            h = F.relu(self.mid(F.relu(self.down(e))))
            u = self.up(h, output_size=e.shape[-2:])
            return self.head(F.relu(self.dec(torch.cat([u, e], dim=1))))

    class Block1d(nn.Module):
        def __init__(self, channels=8):
            super().__init__()
            self.up = nn.ConvTranspose1d(channels, channels // 2, 16, stride=8, padding=4)
            self.res = nn.Conv1d(
                channels // 2, channels // 2, 7, dilation=3, padding="same", groups=2,
                padding_mode="reflect",
            )  # fmt: skip

        def forward(self, x):
            h = F.leaky_relu(self.up(x), 0.1)
            return h + self.res(F.leaky_relu(h, 0.1))

    class Block3d(nn.Module):
        def __init__(self, channels=2):
            super().__init__()
            self.enc = nn.Conv3d(channels, 4, 3, padding=1, padding_mode="circular")
            self.down = nn.Conv3d(4, 8, 3, stride=2, padding=1, groups=2)
            self.up = nn.ConvTranspose3d(8, channels, 3, stride=2, padding=1)

        def forward(self, x):
            h = F.relu(self.down(F.relu(self.enc(x))))
            return self.up(h, output_size=x.shape[-3:])

    return {m.__name__: m for m in (DCGANGenerator, UNet, Block1d, Block3d)}


def _leaky(x):
    return jax.nn.leaky_relu(x, 0.1)


def nnx_models():
    """The four models in Flax NNX over :mod:`jconv.nnx`, as ``{name: class}``; each takes
    ``rngs=`` after the PyTorch model's arguments."""
    from flax import nnx

    import jconv.nnx as L

    class DCGANGenerator(nnx.Module):
        def __init__(self, nz=8, width=8, *, rngs):
            self.main = nnx.Sequential(
                L.ConvTranspose2d(nz, width * 4, 4, 1, 0, bias=False, rngs=rngs),
                jax.nn.relu,
                L.ConvTranspose2d(width * 4, width * 2, 4, 2, 1, bias=False, rngs=rngs),
                jax.nn.relu,
                L.ConvTranspose2d(width * 2, width, 4, 2, 1, bias=False, rngs=rngs),
                jax.nn.relu,
                L.ConvTranspose2d(width, 3, 4, 2, 1, rngs=rngs),
                jnp.tanh,
            )

        def __call__(self, z):
            return self.main(z)

    class UNet(nnx.Module):
        def __init__(self, channels=3, width=8, *, rngs):
            self.stem = L.Conv2d(channels, width, 3, padding=1, padding_mode="reflect", rngs=rngs)
            self.down = L.Conv2d(width, 2 * width, 3, stride=2, padding=1, rngs=rngs)
            self.mid = L.Conv2d(2 * width, 2 * width, 3, padding="same", rngs=rngs)
            self.up = L.ConvTranspose2d(2 * width, width, 3, stride=2, padding=1, rngs=rngs)
            self.dec = L.Conv2d(2 * width, width, 3, padding=1, padding_mode="replicate", rngs=rngs)
            self.head = L.Conv2d(width, channels, 1, rngs=rngs)

        def __call__(self, x):
            e = jax.nn.relu(self.stem(x))
            h = jax.nn.relu(self.mid(jax.nn.relu(self.down(e))))
            u = self.up(h, output_size=e.shape[-2:])
            return self.head(jax.nn.relu(self.dec(jnp.concatenate([u, e], axis=-3))))

    class Block1d(nnx.Module):
        def __init__(self, channels=8, *, rngs):
            self.up = L.ConvTranspose1d(channels, channels // 2, 16, stride=8, padding=4, rngs=rngs)
            self.res = L.Conv1d(
                channels // 2, channels // 2, 7, dilation=3, padding="same", groups=2,
                padding_mode="reflect", rngs=rngs,
            )  # fmt: skip

        def __call__(self, x):
            h = _leaky(self.up(x))
            return h + self.res(_leaky(h))

    class Block3d(nnx.Module):
        def __init__(self, channels=2, *, rngs):
            self.enc = L.Conv3d(channels, 4, 3, padding=1, padding_mode="circular", rngs=rngs)
            self.down = L.Conv3d(4, 8, 3, stride=2, padding=1, groups=2, rngs=rngs)
            self.up = L.ConvTranspose3d(8, channels, 3, stride=2, padding=1, rngs=rngs)

        def __call__(self, x):
            h = jax.nn.relu(self.down(jax.nn.relu(self.enc(x))))
            return self.up(h, output_size=x.shape[-3:])

    return {m.__name__: m for m in (DCGANGenerator, UNet, Block1d, Block3d)}


def equinox_models():
    """The four models in Equinox over :mod:`jconv.equinox`, as ``{name: class}``; each takes
    ``key=`` after the PyTorch model's arguments."""
    import equinox as eqx

    import jconv.equinox as L

    class DCGANGenerator(eqx.Module):
        main: eqx.nn.Sequential

        def __init__(self, nz=8, width=8, *, key):
            k = jax.random.split(key, 4)
            relu = eqx.nn.Lambda(jax.nn.relu)
            self.main = eqx.nn.Sequential(
                [
                    L.ConvTranspose2d(nz, width * 4, 4, 1, 0, bias=False, key=k[0]),
                    relu,
                    L.ConvTranspose2d(width * 4, width * 2, 4, 2, 1, bias=False, key=k[1]),
                    relu,
                    L.ConvTranspose2d(width * 2, width, 4, 2, 1, bias=False, key=k[2]),
                    relu,
                    L.ConvTranspose2d(width, 3, 4, 2, 1, key=k[3]),
                    eqx.nn.Lambda(jnp.tanh),
                ]
            )

        def __call__(self, z):
            return self.main(z)

    class UNet(eqx.Module):
        stem: L.Conv2d
        down: L.Conv2d
        mid: L.Conv2d
        up: L.ConvTranspose2d
        dec: L.Conv2d
        head: L.Conv2d

        def __init__(self, channels=3, width=8, *, key):
            k = jax.random.split(key, 6)
            self.stem = L.Conv2d(channels, width, 3, padding=1, padding_mode="reflect", key=k[0])
            self.down = L.Conv2d(width, 2 * width, 3, stride=2, padding=1, key=k[1])
            self.mid = L.Conv2d(2 * width, 2 * width, 3, padding="same", key=k[2])
            self.up = L.ConvTranspose2d(2 * width, width, 3, stride=2, padding=1, key=k[3])
            self.dec = L.Conv2d(2 * width, width, 3, padding=1, padding_mode="replicate", key=k[4])
            self.head = L.Conv2d(width, channels, 1, key=k[5])

        def __call__(self, x):
            e = jax.nn.relu(self.stem(x))
            h = jax.nn.relu(self.mid(jax.nn.relu(self.down(e))))
            u = self.up(h, output_size=e.shape[-2:])
            return self.head(jax.nn.relu(self.dec(jnp.concatenate([u, e], axis=-3))))

    class Block1d(eqx.Module):
        up: L.ConvTranspose1d
        res: L.Conv1d

        def __init__(self, channels=8, *, key):
            k = jax.random.split(key)
            self.up = L.ConvTranspose1d(channels, channels // 2, 16, stride=8, padding=4, key=k[0])
            self.res = L.Conv1d(
                channels // 2, channels // 2, 7, dilation=3, padding="same", groups=2,
                padding_mode="reflect", key=k[1],
            )  # fmt: skip

        def __call__(self, x):
            h = _leaky(self.up(x))
            return h + self.res(_leaky(h))

    class Block3d(eqx.Module):
        enc: L.Conv3d
        down: L.Conv3d
        up: L.ConvTranspose3d

        def __init__(self, channels=2, *, key):
            k = jax.random.split(key, 3)
            self.enc = L.Conv3d(channels, 4, 3, padding=1, padding_mode="circular", key=k[0])
            self.down = L.Conv3d(4, 8, 3, stride=2, padding=1, groups=2, key=k[1])
            self.up = L.ConvTranspose3d(8, channels, 3, stride=2, padding=1, key=k[2])

        def __call__(self, x):
            h = jax.nn.relu(self.down(jax.nn.relu(self.enc(x))))
            return self.up(h, output_size=x.shape[-3:])

    return {m.__name__: m for m in (DCGANGenerator, UNet, Block1d, Block3d)}
