"""What the benchmark times: the workloads, the two ops timed on each, the implementations.

Six decoder-style transposed convolutions and seven encoder-style forward convolutions
(:data:`WORKLOADS`; ``kind`` tells them apart), a quarter-size set (:data:`SMALL_WORKLOADS`)
and the five original decoder kinds at other sizes (:data:`OTHER_WORKLOADS`), each with
TensorFlow's arguments and the PyTorch arguments that give the same output size. This module
imports only the standard library and NumPy: every worker process, whatever its framework, reads
its workloads from here.
"""

from __future__ import annotations

import dataclasses
import math
from collections.abc import Mapping
from typing import Any

import numpy as np

FRAMEWORKS = ("jconv", "lax", "vjp", "torch", "tf")
"""Implementations :func:`jconv.bench.run` can compare, in report order. ``jconv`` is always
measured."""

JAX_IMPLS = ("jconv", "lax", "vjp")
"""The implementations the JAX worker runs (one process each)."""

OPS = ("forward", "step")
"""The ops timed on every workload: the conv (transposed or forward), and a training step: the
value and both gradients of ``sum(conv_transpose(x, w) ** 2)`` (decoders) or of
``sum(conv(x, w) * r)`` with a fixed random ``r`` (encoders, :func:`cotangent`)."""

KINDS = ("decoder", "encoder")
"""``Workload.kind``: a transposed conv (decoder) or a forward conv (encoder)."""


@dataclasses.dataclass(frozen=True)
class Workload:
    """One convolution: ``(N, *m, C_in) -> (N, *n, C_out)``, TensorFlow's semantics.

    ``kind="decoder"``: a transposed conv (``conv{r}d_transpose``; ``in_sizes`` are the
    transposed conv's input ``m``). ``kind="encoder"``: a forward conv (``conv{r}d``) with
    ``groups`` feature groups (``groups == in_channels``: depthwise).

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
    kind: str = "decoder"
    groups: int = 1

    @classmethod
    def from_dict(cls, d: Mapping[str, Any]) -> Workload:
        """The inverse of ``dataclasses.asdict`` after a JSON round trip (lists back to tuples)."""
        fields: dict[str, Any] = {k: tuple(v) if isinstance(v, list) else v for k, v in d.items()}
        return cls(**fields)

    @property
    def rank(self) -> int:
        """The number of spatial dimensions."""
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
    def encoder(self) -> bool:
        """Whether this is a forward conv (``kind == "encoder"``)."""
        return self.kind == "encoder"

    @property
    def filter_shape(self) -> tuple[int, ...]:
        """TensorFlow's filter: ``(*k, C_out, C_in)`` for ``conv{r}d_transpose``,
        ``(*k, C_in / groups, C_out)`` for ``conv{r}d``."""
        if self.encoder:
            return (*self.kernel, self.in_channels // self.groups, self.out_channels)
        return (*self.kernel, self.out_channels, self.in_channels)

    @property
    def gflop(self) -> float:
        """Useful GFLOP of the forward op: ``2 * N * prod(m) * C_in * C_out * prod(k) / 1e9`` for
        a transposed conv (``m`` its input sizes), ``2 * N * prod(n) * C_out * C_in / g * prod(k)``
        for a forward conv (``n`` its output sizes)."""
        sizes = self.out_sizes if self.encoder else self.in_sizes
        cin = self.in_channels // self.groups
        return (
            2
            * self.batch
            * math.prod(sizes)
            * cin
            * self.out_channels
            * math.prod(self.kernel)
            / 1e9
        )

    @property
    def torch_exact(self) -> bool:
        """Whether the PyTorch arguments give TensorFlow's values, not only its sizes."""
        from jconv import _shapes

        forward_in = self.in_sizes if self.encoder else self.out_sizes
        return all(
            _shapes.resolve_padding(self.padding, n, k, s, 1) == (p, p)
            for n, k, s, p in zip(forward_in, self.kernel, self.strides, self.torch_padding)
        )

    def resized(
        self,
        *,
        batch: int | None = None,
        in_channels: int | None = None,
        out_channels: int | None = None,
    ) -> Workload:
        """The same geometry with another batch or channel counts (None keeps the value); a
        depthwise conv stays depthwise (its output channels follow its input channels)."""
        if self.groups > 1 and self.groups == self.in_channels:
            c = in_channels or self.in_channels
            mult = self.out_channels // self.in_channels
            return dataclasses.replace(
                self, batch=batch or self.batch, in_channels=c, out_channels=c * mult, groups=c
            )
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
    Workload("upconv2d", "U-Net 2x2 up-conv",    8, (32, 32),   128, (64, 64),      64,
             (2, 2),    (2, 2),    "VALID", (0, 0),     (0, 0)),
    # encoders: forward convs, (N, *n, C_in) -> (N, *m, C_out)
    Workload("resnet2d", "ResNet 3x3 block",     8, (32, 32),    64, (32, 32),      64,
             (3, 3),    (1, 1),    "SAME",  (1, 1),     (0, 0),    "encoder"),
    Workload("down2d",  "3x3 stride-2 down",     8, (64, 64),    64, (32, 32),     128,
             (3, 3),    (2, 2),    "SAME",  (1, 1),     (0, 0),    "encoder"),
    Workload("stem2d",  "7x7 stride-2 stem",     8, (96, 96),     3, (48, 48),      64,
             (7, 7),    (2, 2),    "SAME",  (3, 3),     (0, 0),    "encoder"),
    Workload("dw2d",    "depthwise 3x3",         8, (64, 64),   128, (64, 64),     128,
             (3, 3),    (1, 1),    "SAME",  (1, 1),     (0, 0),    "encoder", 128),
    Workload("enc1d",   "strided audio encoder", 8, (4096,),     32, (1024,),       64,
             (8,),      (4,),      "SAME",  (2,),       (0,),      "encoder"),
    Workload("enc3d",   "3-D 3x3x3 stride 1",    2, (16, 16, 16), 32, (16, 16, 16), 32,
             (3, 3, 3), (1, 1, 1), "SAME",  (1, 1, 1),  (0, 0, 0), "encoder"),
    Workload("down3d",  "3-D 3x3x3 stride 2",    2, (32, 32, 32), 32, (16, 16, 16), 64,
             (3, 3, 3), (2, 2, 2), "SAME",  (1, 1, 1),  (0, 0, 0), "encoder"),
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
    """The kind ``name.split("-")[0]`` at batch ``batch``, input size ``m`` per dim, channels."""
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
    # the two large steps whose peak memory issue 21 compares with PyTorch's
    _other("gan2d-big", 16, 128, 64, 32),
    _other("vol3d-big", 2, 32, 64, 32),
)}  # fmt: skip
"""The same five kinds (kernel, stride, padding) at other batches, resolutions and channel
counts, none of which the defaults of ``method="auto"`` were tuned on except that the 3-D
rule's threshold was set from k=4 s=2 runs at m = 4..32 (``python -m jconv bench --other``)."""


def select(fn: str, small: bool, other: bool) -> dict[str, Workload]:
    """The workload table ``small``/``other`` name (the defaults when neither).

    Raises:
      ValueError: ``small`` and ``other`` both set (the message starts with ``fn``).
    """
    if small and other:
        raise ValueError(f"{fn}: small=True and other=True: choose one set of workloads")
    return SMALL_WORKLOADS if small else OTHER_WORKLOADS if other else WORKLOADS


def inputs(w: Workload, seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    """Channels-last input and TensorFlow-layout filter, the same in every worker.

    The filter is scaled by ``1 / sqrt(C_in / groups * prod(k))`` so outputs stay of order one.
    """
    rng = np.random.default_rng(seed)
    x = rng.standard_normal(w.input_shape, dtype=np.float32)
    f = rng.standard_normal(w.filter_shape, dtype=np.float32)
    f /= np.float32(math.sqrt(w.in_channels // w.groups * math.prod(w.kernel)))
    return x, f


def cotangent(w: Workload, seed: int = 0) -> np.ndarray | None:
    """An encoder's fixed ``r`` (channels last, the output's shape): its step differentiates
    ``sum(conv(x, w) * r)``; None for decoders (``sum(y ** 2)``)."""
    if not w.encoder:
        return None
    return np.random.default_rng(seed + 1000).standard_normal(w.output_shape, dtype=np.float32)
