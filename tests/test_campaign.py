"""The crash campaign (``python -m jconv fuzz``, :mod:`jconv.fuzz`): a fixed-seed slice of it
passes, its draws reach every corner they promise, a worker's death is reported as that
configuration while the run goes on, and its checker catches wrong values.

The 10,000-configuration run and its figures are in docs/fuzz.md.
"""

from __future__ import annotations

import subprocess
import sys
from collections import Counter
from pathlib import Path

import numpy as np
import pytest

from jconv import _fuzz_ops, fuzz, reference

ROOT = Path(__file__).resolve().parent.parent
N_CI = 80  # about 15 s on 2 cores; the 10,000-configuration run is docs/fuzz.md's


def test_fixed_seed_slice_has_no_death_wrong_value_or_unexpected_error():
    proc = subprocess.run(
        [sys.executable, "-m", "jconv", "fuzz", "--n", str(N_CI), "--seed", "0"],
        capture_output=True,
        text=True,
        timeout=900,
        cwd=ROOT,
    )
    summary = proc.stdout.strip().splitlines()[-1]
    assert proc.returncode == 0, proc.stdout[-4000:] + proc.stderr[-2000:]
    assert f": {N_CI} configs" in summary, summary
    assert "0 death, 0 hang, 0 wrong, 0 unexpected, 0 slow" in summary, summary


def test_draws_cover_every_api_op_method_rank_dtype_mode_and_bad_input():
    cfgs = [fuzz.draw(5, i) for i in range(3000)]
    seen = Counter()
    for c in cfgs:
        seen["api_op_method", c["api"], c["op"], c["method"]] += 1
        if c["op"] == "conv":
            gm = c["grad_method"]
            seen["grad_method", c["api"], gm if isinstance(gm, str) else tuple(gm)] += 1
        for key in (
            "rank",
            "dtype",
            "mode",
            "transform",
            "illegal",
            "zero",
            "groups",
            "padding_mode",
        ):
            seen[key, c[key]] += 1
        seen["depthwise", c["groups"] > 1 and c["cx"] == c["groups"]] += 1
        seen["stride", max(c["ss"])] += 1
        seen["dilation", max(c["ds"])] += 1
        seen["kernel", max(c["ks"])] += 1
        seen["size 1", min(c["n"]) == 1 or min(c["m"]) == 1] += 1
        if c["api"] == "torch" and c["op"] == "transpose":
            seen["output_padding", max(c["output_padding"])] += 1
    for api in ("tf", "torch"):
        for op, methods in (
            ("transpose", fuzz.TRANSPOSE_METHODS),
            ("input", fuzz.TRANSPOSE_METHODS),
            ("filter", fuzz.FILTER_GRAD_METHODS),
        ):
            for m in ("auto", *methods):
                assert seen["api_op_method", api, op, m], (api, op, m)
        for m in ("auto", *fuzz.FORWARD_METHODS):
            assert seen["api_op_method", api, "conv", m], (api, "conv", m)
        grad_methods = (
            "auto",
            "jax",
            *((m, "auto") for m in fuzz.TRANSPOSE_METHODS),
            *(("auto", m) for m in fuzz.FILTER_GRAD_METHODS),
        )
        for gm in grad_methods:
            assert seen["grad_method", api, gm], (api, gm)
    for key, values in (
        ("rank", (1, 2, 3)),
        ("dtype", fuzz.DTYPES),
        ("mode", fuzz.MODES),
        ("transform", ("value", "grad", "jvp")),
        ("illegal", (*fuzz.ILLEGAL, "padding_mode")),
        ("padding_mode", fuzz.PADDING_MODES),
        ("zero", ("batch", "cx", "cy", "spatial")),
        ("groups", (1, 2, 3, 4)),
        ("stride", (1, 2, 3)),
        ("dilation", (1, 2, 3)),
        ("kernel", (1, 2, 3, 4, 5)),
        ("output_padding", (0, 1, 2)),
    ):
        for v in values:
            assert seen[key, v], (key, v)
    assert seen["depthwise", True] and seen["size 1", True]
    # the lists above are the library's, so a new method cannot be left out of the campaign
    import jconv

    assert fuzz.TRANSPOSE_METHODS == jconv.TRANSPOSE_METHODS
    assert fuzz.FILTER_GRAD_METHODS == jconv.FILTER_GRAD_METHODS
    assert fuzz.FORWARD_METHODS == jconv.FORWARD_METHODS
    # configuration i depends on (seed, i) alone
    assert fuzz.draw(5, 17) == cfgs[17] and fuzz.draw(6, 17) != cfgs[17]


def _first(pred, seed=7):
    return next(c for c in (fuzz.draw(seed, i) for i in range(2000)) if pred(c))


def test_a_worker_death_is_that_config_and_the_run_goes_on():
    ok = [
        _first(lambda c: c["illegal"] is None and c["zero"] is None and c["rank"] == 1, s)
        for s in (1, 2)
    ]
    abort = {"selftest": "abort", "seed": 0, "i": 99}
    results = fuzz.campaign([ok[0], abort, ok[1]], workers=1)
    by_i = {(r["seed"], r["i"]): r for r in results}
    assert by_i[0, 99]["status"] == "death"
    assert by_i[ok[0]["seed"], ok[0]["i"]]["status"] == "ok"
    assert by_i[ok[1]["seed"], ok[1]["i"]]["status"] == "ok"


@pytest.mark.parametrize("transform", ["value", "jvp", "grad"])
def test_the_checker_catches_a_wrong_value(monkeypatch, transform):
    cfg = _first(
        lambda c: (
            c["op"] == "transpose"
            and c["transform"] == transform
            and c["illegal"] is None
            and c["zero"] is None
            and c["dtype"] == "float32"
            and c["mode"] in ("eager", "jit")
        )
    )
    assert _fuzz_ops.run(cfg)["status"] == "ok"
    right = reference.conv_transpose

    def off_by_a_little(dy, w, *args, **kwargs):
        y = right(dy, w, *args, **kwargs)
        return y + np.arange(y.size).reshape(y.shape) % 3 + 1

    monkeypatch.setattr(reference, "conv_transpose", off_by_a_little)
    assert _fuzz_ops.run(cfg)["status"] == "wrong"


def test_an_illegal_config_must_be_refused_by_name(monkeypatch):
    cfg = _first(
        lambda c: c["illegal"] == "zero_stride" and c["api"] == "tf" and c["dtype"] == "float32"
    )
    result = _fuzz_ops.run(cfg)
    assert result["status"] == "refused" and "stride" in result["error"], result
    import jconv

    name = _fuzz_ops.TF_NAMES[cfg["op"]].format(r=cfg["rank"])
    monkeypatch.setattr(jconv, name, lambda *a, **k: None)  # accepts anything
    assert _fuzz_ops.run(cfg)["status"] == "wrong"
