"""``jconv.torch`` against PyTorch's stored results: every golden case, the methods in turn.

``tests/data/golden_torch.npz`` holds about 190 cases computed by PyTorch in float64 (made by
``tests/data/make_golden.py``, which records the PyTorch version in ``meta/torch``): forward
convs, transposed convs with every legal ``output_padding``, ``torch.nn.grad`` input gradients at
every legal input size and filter gradients, with groups, dilation, asymmetric strides and
int/tuple/"same"/"valid" padding. PyTorch is not needed here. Inputs are integer-valued, so every
method must reproduce PyTorch exactly.

Each case runs one method of its op under ``jax.jit`` (one compile); the methods take turns across
the cases of each op, so every method reproduces PyTorch on several cases (that every method
agrees with the reference on every legal size is tests/test_ops.py's method matrix). The first
case of each op also runs eagerly with ``method="auto"`` (eager calls compile too, and
``tests/test_torch.py`` covers the eager path for every op).
"""

from __future__ import annotations

from pathlib import Path

import jax
import numpy as np
import pytest
from _helpers import load_golden

import jconv
import jconv.torch as jt

GOLDEN = Path(__file__).parent / "data" / "golden_torch.npz"

if not GOLDEN.exists():
    pytest.skip(
        f"{GOLDEN} is missing: make it with `python tests/data/make_golden.py torch` "
        "(needs PyTorch)",
        allow_module_level=True,
    )


CASES = load_golden(GOLDEN)
IDS = [case["config"]["id"] for case in CASES]


def methods(op):
    """The named methods an op takes; ``[None]`` for the forward conv, which has none."""
    if op.startswith("conv_transpose") or op.endswith("_input"):
        return list(jconv.TRANSPOSE_METHODS)
    if op.endswith("_weight"):
        return list(jconv.FILTER_GRAD_METHODS)
    return [None]


FIRST_OF_OP = {}  # op -> id of its first case
TURN = {}  # case id -> its place among the earlier cases whose op takes the same methods
_seen: dict = {}
for _config in (case["config"] for case in CASES):
    FIRST_OF_OP.setdefault(_config["op"], _config["id"])
    _kind = tuple(methods(_config["op"]))
    TURN[_config["id"]] = _seen[_kind] = _seen.get(_kind, -1) + 1


def caller(config):
    """``f(*arrays, method=...)`` calling the case's ``jconv.torch`` op with its stored settings."""
    fn = getattr(jt, config["op"])
    names = list(config["arrays"])
    kwargs = config["kwargs"]

    def call(*arrays, method=None):
        extra = {} if method is None else {"method": method}
        return fn(**dict(zip(names, arrays)), **kwargs, **extra)

    return call


def test_golden_file_is_complete():
    with np.load(GOLDEN) as z:
        assert str(z["meta/torch"])  # the version that made the file
    assert len(CASES) >= 150
    assert len(set(IDS)) == len(IDS)
    ops = {case["config"]["op"] for case in CASES}
    for r in (1, 2, 3):
        assert {f"conv{r}d", f"conv_transpose{r}d", f"conv{r}d_input", f"conv{r}d_weight"} <= ops
    groups = {(c["config"]["op"], c["config"]["kwargs"].get("groups", 1)) for c in CASES}
    assert ("conv2d_weight", 3) in groups and ("conv_transpose2d", 2) in groups


def method_of(config):
    ms = methods(config["op"])
    return ms[TURN[config["id"]] % len(ms)]


def test_methods_take_turns():
    for kind in {tuple(methods(case["config"]["op"])) for case in CASES}:
        used = {method_of(c["config"]) for c in CASES if tuple(methods(c["config"]["op"])) == kind}
        assert used == set(kind), kind


@pytest.mark.parametrize("case", CASES, ids=IDS)
def test_golden(case, x64):
    config = case["config"]
    call = caller(config)
    arrays = [case["arrays"][name] for name in config["arrays"].values()]
    assert all(a.dtype == np.float64 for a in arrays)
    want = case["out"]
    ms = [method_of(config)]
    jitted = jax.jit(lambda *a: [call(*a, method=m) for m in ms])(*arrays)
    for method, got in zip(ms, jitted):
        assert got.dtype == np.float64 and got.shape == want.shape, method
        np.testing.assert_array_equal(np.asarray(got), want, err_msg=f"jit method={method}")
    if FIRST_OF_OP[config["op"]] == config["id"]:
        eager = call(*arrays, method=None if ms == [None] else "auto")
        np.testing.assert_array_equal(np.asarray(eager), want, err_msg="eager method=auto")
