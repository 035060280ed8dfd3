"""The value check: every implementation's output, loss and gradients against jconv's.

Each worker computes one cheap check case per workload (:meth:`Workload.check_case`) and writes
it with :func:`save_check`, in one layout whatever the framework; the parent compares the files
with :func:`compare`.
"""

from __future__ import annotations

import math
import os
from collections.abc import Sequence
from typing import Any

import numpy as np

from jconv.bench.workloads import Workload

CHECK_RTOL = 1e-4
"""Largest legal ``max |peer - jconv| / max |jconv|`` for each of output, loss and gradients."""


def save_check(check_dir: str, impl: str, w: Workload, y: Any, loss: Any, dx: Any, dw: Any) -> None:
    """Write ``impl``'s check arrays: channels-last ``y``/``dx``, TensorFlow-layout ``dw``."""
    np.savez(
        os.path.join(check_dir, f"{impl}-{w.name}.npz"),
        y=np.asarray(y),
        loss=np.asarray(loss),
        dx=np.asarray(dx),
        dw=np.asarray(dw),
    )


def compare(
    check_dir: str, workloads: Sequence[Workload], impls: Sequence[str]
) -> list[dict[str, Any]]:
    """Each peer's check-case arrays against jconv's, relative to the largest magnitude.

    PyTorch is compared with ``jconv-torch-args`` (jconv.torch called with PyTorch's arguments),
    the others with ``jconv``. A shape mismatch counts as an infinite error.

    Returns:
      One dict per (workload, peer): ``workload``, ``impl``, ``reference``, ``rel_err`` (per
      array) and ``ok`` (every error within :data:`CHECK_RTOL`).
    """
    checks = []
    for w in workloads:
        for impl in impls:
            if impl == "jconv" or (impl == "vjp" and w.encoder):
                continue  # "vjp" is a transposed-conv derivation: not run on forward convs
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
