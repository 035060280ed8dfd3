"""The derivations: each a different program for the same transposed conv / filter gradient.

Every derivation takes canonical arrays (``(N, *spatial, C)`` data, ``(*k, C_in / g, C_out)``
filters) and explicit, validated settings as keywords:

* ``out_sizes`` / ``kernel_sizes``: the forward input sizes ``n`` / kernel sizes ``k``,
* ``strides``, ``dilations``: per spatial dim,
* ``padding``: the forward conv's explicit ``(lo, hi)`` per dim (already resolved for ``n``),
* ``groups``: the forward conv's feature groups,
* ``precision``, ``preferred_element_type``: passed to XLA.

The transposed conv of ``dy`` is the input gradient of the forward conv ``x -> conv(x, w)``; the
filter gradient is the gradient of ``w -> conv(x, w)``. An explicit ``method=`` runs exactly the
derivation of that name; ``"auto"`` (:mod:`jconv.derivations.auto`) chooses one of these.

Modules: ``dilate``, ``vjp``, ``pad``, ``phase``, ``col2im`` (also ``"phase+col2im"`` and
``"winograd+col2im"``: one derivation's values with col2im's derivatives), ``winograd``;
``filter_grad`` (``"vjp"``, ``"conv"``, ``"patches"``, ``"onednn"``, ``"taps"``); ``forward``
(the forward conv's own derivations, :data:`FORWARD`); ``_common`` (shared pieces); ``auto``.
"""

from __future__ import annotations

import functools

from jconv.derivations.col2im import transpose_col2im
from jconv.derivations.dilate import transpose_dilate
from jconv.derivations.filter_grad import (
    filter_grad_conv,
    filter_grad_onednn,
    filter_grad_patches,
    filter_grad_taps,
    filter_grad_vjp,
)
from jconv.derivations.forward import FORWARD as FORWARD
from jconv.derivations.pad import transpose_pad
from jconv.derivations.phase import transpose_phase
from jconv.derivations.vjp import transpose_vjp
from jconv.derivations.winograd import transpose_winograd

TRANSPOSE = {
    "dilate": transpose_dilate,
    "vjp": transpose_vjp,
    "pad": transpose_pad,
    "phase": transpose_phase,
    "col2im": transpose_col2im,
    "winograd": transpose_winograd,
    "phase+col2im": functools.partial(transpose_col2im, values="phase"),
    "winograd+col2im": functools.partial(transpose_col2im, values="winograd"),
}
"""Transposed conv / input gradient derivations by ``method=`` name."""

FILTER_GRAD = {
    "vjp": filter_grad_vjp,
    "conv": filter_grad_conv,
    "patches": filter_grad_patches,
    "onednn": filter_grad_onednn,
    "taps": filter_grad_taps,
}
"""Filter-gradient derivations by ``method=`` name."""
