"""``python -m jconv fuzz``: the crash campaign. Random legal and illegal configurations of every
public op, each run in a worker subprocess that is restarted after a death.

Configuration ``i`` of seed ``S`` is drawn from ``numpy.random.default_rng([S, i])`` alone
(:func:`draw`), so ``python -m jconv fuzz --seed S --only i`` replays one. A configuration is an API
(TensorFlow or PyTorch names), an op (transposed conv, input gradient, filter gradient, forward
conv), a transform (the value, ``jax.grad``, ``jax.jvp``), a method (every listed one and
``"auto"``; for the forward conv also a ``grad_method``: ``"auto"``, ``"jax"`` or one derivation
named for either gradient), rank 1-3, groups 1-4 (depthwise included), strides and dilations 1-3,
kernels 1-5, sizes from 1 with every legal output size or ``output_padding``, PyTorch's padding
modes for its forward convs (``"zeros"``, ``"reflect"``, ``"replicate"``, ``"circular"``), a dtype
(float16, bfloat16, float32, float64, complex64, complex128) and a mode: eager, ``jax.jit``,
``jax.vmap`` or ``jax.jit`` with the data sharded over 8 host devices along the batch axis (1 row
per device). About one in ten is made illegal (an unreachable output size, groups that do not
divide, negative padding, a zero stride, an integer or mixed dtype, an unknown method, a reflect or
circular pad over its limit) and must raise a ``ValueError``/``TypeError`` that names the function;
one in twenty has a zero-size dim and must either return the reference's result or raise such an
error.

Values are checked against :mod:`jconv.reference` in float64 on integer-valued data. The op is
bilinear, ``f(a, b)``, so with random integer tangents ``ta, tb``, cotangent ``c`` and directions
``ua, ub``: the value must equal ``ref(a, b)``, the jvp ``ref(ta, b) + ref(a, tb)``, and the
gradients of ``sum(c * f(a, b))`` must satisfy ``<ga, ua> + <gb, ub> = <c, ref(ua, b) + ref(a,
ub)>``. Each error must be within ``tol * ref(|a|, |b|)`` (the sum of the absolute terms): ``tol``
is 0 for float64 and complex128 (exact), the float32 epsilon for float32 and complex64, and the
dtype's epsilon for float16 (``2**-10``) and bfloat16 (``2**-7``), twice the half-ulp rounding of
an output accumulated in float32 and rounded once.

The first call of each configuration (trace, compile and run) is timed; with ``method="auto"``
more than :data:`SLOW_S` seconds counts as a failure. Exit status 1 on any death, hang, wrong
value, unexpected exception or slow compile; the last line of output is the summary.
"""

from __future__ import annotations

import argparse
import json
import os
import selectors
import subprocess
import sys
import tempfile
import time
from collections import Counter

import numpy as np

from jconv import _shapes
from jconv.torch._common import PADDING_MODES

OPS = ("transpose", "input", "filter", "conv")
DTYPES = ("float32", "float64", "float16", "bfloat16", "complex64", "complex128")
MODES = ("eager", "jit", "vmap", "shard")
ILLEGAL = ("unreachable", "groups", "negative_padding", "zero_stride", "dtype", "method")
"""The illegal kinds :func:`draw` makes; a PyTorch padding mode's pad over its limit
(``"padding_mode"``) also occurs, from the drawn sizes."""
DEVICES = 8
SLOW_S = 5.0
HANG_S = 300.0
TRANSPOSE_METHODS = (
    "dilate",
    "vjp",
    "pad",
    "phase",
    "col2im",
    "winograd",
    "phase+col2im",
    "winograd+col2im",
)
FILTER_GRAD_METHODS = ("vjp", "conv", "patches", "onednn", "taps")
FORWARD_METHODS = ("xla", "onednn", "patches", "taps")


# ----------------------------------------------------------------------------------- drawing
def _k_eff(k: int, d: int) -> int:
    return (k - 1) * d + 1


def _tf_pads(padding, n: int, k: int, s: int, d: int) -> tuple[int, int]:
    """TensorFlow's (lo, hi) of one dim, written out here independently of jconv."""
    if padding == "VALID":
        return 0, 0
    if padding == "SAME":
        total = max((-(-n // s) - 1) * s + _k_eff(k, d) - n, 0)
        return total // 2, total - total // 2
    return tuple(padding)


def _out(n: int, k: int, s: int, d: int, lo: int, hi: int) -> int:
    return (n + lo + hi - _k_eff(k, d)) // s + 1


def _pick(rng, values, p=None):
    return values[int(rng.choice(len(values), p=p))]


def draw(seed: int, i: int) -> dict:
    """Configuration ``i`` of ``seed``: a JSON-able dict, canonical in TensorFlow's channels-last
    terms (``x (N, *n, cx)``, ``w (*k, cx / g, cy)``, ``dy (N, *m, cy)``, ``pads`` per dim)."""
    rng = np.random.default_rng([seed, i])
    api = _pick(rng, ("tf", "torch"))
    op = _pick(rng, OPS, [0.35, 0.2, 0.25, 0.2])
    rank = _pick(rng, (1, 2, 3), [0.35, 0.4, 0.25])
    kmax, nmax = (5, 7) if rank < 3 else (_pick(rng, (3, 5), [0.8, 0.2]), 4)
    groups = _pick(rng, (1, 2, 3, 4), [0.55, 0.2, 0.15, 0.1])
    if groups > 1 and rng.random() < 0.3:  # depthwise: one input channel per group
        cx, cy = groups, groups * _pick(rng, (1, 2))
    else:
        cx, cy = groups * _pick(rng, (1, 2)), groups * _pick(rng, (1, 2))
    ks = [int(rng.integers(1, kmax + 1)) for _ in range(rank)]
    ss = [_pick(rng, (1, 2, 3), [0.4, 0.4, 0.2]) for _ in range(rank)]
    ds = [_pick(rng, (1, 2, 3), [0.6, 0.25, 0.15]) for _ in range(rank)]
    mode = _pick(rng, MODES, [0.3, 0.4, 0.15, 0.15])
    methods = {"transpose": TRANSPOSE_METHODS, "input": TRANSPOSE_METHODS}.get(
        op, FILTER_GRAD_METHODS
    )
    cfg = {
        "seed": seed,
        "i": i,
        "api": api,
        "op": op,
        "rank": rank,
        "transform": _pick(rng, ("value", "grad", "jvp")),
        "mode": mode,
        "method": None if op == "conv" else _pick(rng, ("auto", *methods)),
        "dtype": _pick(rng, DTYPES, [0.35, 0.2, 0.1, 0.1, 0.1, 0.15]),
        "batch": DEVICES if mode == "shard" else int(rng.integers(1, 3)),
        "groups": groups,
        "cx": cx,
        "cy": cy,
        "ks": ks,
        "ss": ss,
        "ds": ds,
        "channels_first": bool(rng.random() < 0.3),
        "unbatched": False,
        "illegal": None,
        "zero": None,
    }
    if op == "conv":  # the forward conv's values by any method it can run, derivatives by any
        forward = [m for m in FORWARD_METHODS if m != "onednn" or cfg["dtype"] == "float32"]
        forward = [m for m in forward if m != "taps" or cx == groups]
        cfg["method"] = _pick(rng, ("auto", *forward))
        grads = [
            "auto",
            "jax",
            *([m, "auto"] for m in TRANSPOSE_METHODS),
            *(["auto", m] for m in FILTER_GRAD_METHODS),
        ]
        cfg["grad_method"] = grads[int(rng.integers(0, len(grads)))]
    for _ in range(100):
        if _sizes(rng, cfg, nmax):
            break
    else:  # nothing fits: the smallest always does
        cfg.update(ks=[1] * rank, ds=[1] * rank)
        _sizes(rng, cfg, nmax)
    if api == "torch" and op in ("transpose", "conv") and mode != "shard":
        cfg["unbatched"] = bool(cfg["batch"] == 1 and rng.random() < 0.3)
    u = rng.random()
    if u < 0.1:
        _make_illegal(rng, cfg)
    elif u < 0.15:
        _make_zero(rng, cfg)
    _padding_mode(cfg)
    return cfg


def _padding_mode(cfg: dict) -> None:
    """Half the padded, legal, non-empty PyTorch forward convs pad by ``"reflect"``,
    ``"replicate"`` or ``"circular"``, drawn from a stream of their own (``[seed, i, 2]``) so
    that every other draw of a seed stays as it was. Where the drawn mode's pad exceeds its limit
    on the drawn sizes (:func:`jconv._shapes.padding_mode_limit`), the configuration is illegal
    (``"padding_mode"``) and must be refused."""
    cfg["padding_mode"] = "zeros"
    padded = any(lo or hi for lo, hi in cfg["pads"])
    if cfg["api"] != "torch" or cfg["op"] != "conv" or cfg["illegal"] or cfg["zero"] or not padded:
        return
    rng = np.random.default_rng([cfg["seed"], cfg["i"], 2])
    if rng.random() < 0.5:
        return
    mode = _pick(rng, PADDING_MODES[1:])  # all but "zeros"
    cfg["padding_mode"] = mode
    limits = [_shapes.padding_mode_limit(mode, a) for a in cfg["n"]]
    if any(lim is not None and max(p) > lim for lim, p in zip(limits, cfg["pads"])):
        _mark_illegal(cfg, "padding_mode")


def _sizes(rng, cfg, nmax) -> bool:
    """Draw the spatial sizes and the API's padding / size arguments; False if a window misses."""
    rank, ks, ss, ds = cfg["rank"], cfg["ks"], cfg["ss"], cfg["ds"]
    torch_transpose = cfg["api"] == "torch" and cfg["op"] == "transpose"
    if torch_transpose:  # PyTorch's transposed conv is defined from its input size m
        m = [int(rng.integers(1, 6 if rank < 3 else 4)) for _ in range(rank)]
        p = [int(rng.integers(0, 3)) for _ in range(rank)]
        op = [int(rng.integers(0, max(s, d))) for s, d in zip(ss, ds)]
        n = [
            (a - 1) * s - 2 * q + _k_eff(k, d) + o for a, s, q, k, d, o in zip(m, ss, p, ks, ds, op)
        ]
        if min(n) < 1:
            return False
        cfg.update(n=n, m=m, pads=[[q, q] for q in p], padding=p, output_padding=op)
        return True
    n = [int(rng.integers(1, nmax + 1)) for _ in range(rank)]
    if cfg["api"] == "tf":
        kind = _pick(rng, ("SAME", "VALID", "explicit"))
        padding = (
            [[int(rng.integers(0, 3)), int(rng.integers(0, 3))] for _ in range(rank)]
            if kind == "explicit"
            else kind
        )
        pads = [
            list(_tf_pads(padding if kind != "explicit" else padding[j], *a))
            for j, a in enumerate(zip(n, ks, ss, ds))
        ]
    else:
        kinds = ("int", "valid", "same") if cfg["op"] == "conv" and max(ss) == 1 else ("int",)
        kind = _pick(rng, kinds)
        if kind == "int":
            p = [int(rng.integers(0, 3)) for _ in range(rank)]
            padding, pads = p, [[q, q] for q in p]
        elif kind == "valid":
            padding, pads = "valid", [[0, 0]] * rank
        else:
            tot = [d * (k - 1) for k, d in zip(ks, ds)]
            padding, pads = "same", [[t // 2, t - t // 2] for t in tot]
    if any(a + lo + hi < _k_eff(k, d) for a, (lo, hi), k, d in zip(n, pads, ks, ds)):
        return False
    m = [_out(a, k, s, d, lo, hi) for a, k, s, d, (lo, hi) in zip(n, ks, ss, ds, pads)]
    cfg.update(n=n, m=m, pads=pads, padding=padding)
    return True


def _make_illegal(rng, cfg):
    kind = _pick(rng, ILLEGAL)
    if kind == "unreachable" and cfg["op"] in ("filter", "conv"):
        kind = "zero_stride"
    if kind == "negative_padding" and cfg["api"] == "tf" and isinstance(cfg["padding"], str):
        cfg["padding"] = [[0, 0] for _ in range(cfg["rank"])]
    _mark_illegal(cfg, kind)


def _mark_illegal(cfg: dict, kind: str) -> None:
    """An illegal configuration is called once, eagerly, on at most 2 batched examples."""
    cfg.update(illegal=kind, mode="eager", transform="value", batch=min(cfg["batch"], 2))
    cfg["unbatched"] = False


def _make_zero(rng, cfg):
    """A zero-size dim: the batch, a channel count or a spatial size of the data argument."""
    where = _pick(rng, ("batch", "cx", "cy", "spatial"))
    cfg.update(zero=where, mode=_pick(rng, ("eager", "jit")), unbatched=False)
    if where == "batch":
        cfg["batch"] = 0
    elif where in ("cx", "cy"):
        cfg[where], cfg["groups"] = 0, 1
    else:
        cfg["zero_dim"] = int(rng.integers(0, cfg["rank"]))


# ---------------------------------------------------------------------- running one config
def run_one(cfg: dict) -> dict:
    """Run a configuration in this process; return ``{"status": ..., ...}``."""
    from jconv import _fuzz_ops

    try:
        return _fuzz_ops.run(cfg)
    except Exception as e:  # the harness's own bug must be visible, not a silent pass
        import traceback

        return {
            "status": "unexpected",
            "error": f"harness: {type(e).__name__}: {e}",
            "trace": traceback.format_exc()[-2000:],
        }


def _worker() -> int:
    """Read one JSON configuration per line on stdin, answer one JSON result per line."""
    import jax

    jax.config.update("jax_enable_x64", True)
    for line in sys.stdin:
        cfg = json.loads(line)
        if cfg.get("selftest") == "abort":  # lets the tests check that a death is survived
            os.abort()
        result = run_one(cfg)
        sys.stdout.write(json.dumps(result) + "\n")
        sys.stdout.flush()
    return 0


def _worker_env() -> dict:
    env = dict(os.environ)
    flag = f"--xla_force_host_platform_device_count={DEVICES}"
    if flag not in env.get("XLA_FLAGS", ""):
        env["XLA_FLAGS"] = f"{env.get('XLA_FLAGS', '')} {flag}".strip()
    root = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
    env["PYTHONPATH"] = os.pathsep.join(filter(None, [root, env.get("PYTHONPATH")]))
    return env


class _Worker:
    def __init__(self):
        self.log = tempfile.TemporaryFile()
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "jconv.fuzz", "--worker"],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=self.log,
            env=_worker_env(),
            text=True,
            bufsize=1,
        )
        assert self.proc.stdin is not None and self.proc.stdout is not None
        self.stdin, self.stdout = self.proc.stdin, self.proc.stdout
        self.cfg = None
        self.started = 0.0

    def send(self, cfg):
        self.cfg, self.started = cfg, time.monotonic()
        self.stdin.write(json.dumps(cfg) + "\n")
        self.stdin.flush()

    def last_stderr(self) -> str:
        self.log.seek(0)
        lines = [ln for ln in self.log.read().decode(errors="replace").splitlines() if ln.strip()]
        return " | ".join(lines[-3:])[-600:]

    def close(self):
        if self.proc.poll() is None:
            self.proc.kill()
        self.proc.wait()
        self.log.close()


def campaign(configs, workers: int, on_result=None) -> list[dict]:
    """Run ``configs`` over ``workers`` subprocesses; a worker that dies or hangs is replaced."""
    todo = list(reversed(configs))
    sel = selectors.DefaultSelector()
    pool = []
    results = []

    def start():
        w = _Worker()
        sel.register(w.stdout, selectors.EVENT_READ, w)
        pool.append(w)
        feed(w)

    def feed(w):
        if todo:
            w.send(todo.pop())
        else:
            w.cfg = None

    def finish(w, result):
        result.update(seed=w.cfg["seed"], i=w.cfg["i"])
        results.append(result)
        if on_result:
            on_result(w.cfg, result)

    def replace(w, status):
        finish(w, {"status": status, "error": w.last_stderr()})
        sel.unregister(w.stdout)
        pool.remove(w)
        w.close()
        start()

    for _ in range(min(workers, len(todo))):
        start()
    while any(w.cfg is not None for w in pool):
        events = sel.select(timeout=5.0)
        for key, _ in events:
            w = key.data
            if w.cfg is None:
                continue
            line = w.stdout.readline()
            if not line:  # EOF: the worker died with this configuration
                replace(w, "death")
                continue
            finish(w, json.loads(line))
            feed(w)
        for w in list(pool):
            if w.cfg is not None and time.monotonic() - w.started > HANG_S:
                w.proc.kill()
                replace(w, "hang")
    for w in pool:
        sel.unregister(w.stdout)
        w.stdin.close()
        w.close()
    return results


FAILURES = ("death", "hang", "wrong", "unexpected", "slow")


def summarize(seed: int, results: list[dict], seconds: float, workers: int) -> str:
    count = Counter(r["status"] for r in results)
    firsts = [r["first_call_s"] for r in results if "first_call_s" in r]
    autos = [r["first_call_s"] for r in results if "first_call_s" in r and r.get("auto")]
    fails = ", ".join(f"{count[k]} {k}" for k in FAILURES)
    return (
        f"fuzz seed {seed}: {len(results)} configs ({count['ok']} ok, {count['refused']} "
        f"refused as expected), {fails}; first call max {max(firsts, default=0):.1f} s (auto max "
        f"{max(autos, default=0):.1f} s, median {np.median(firsts) if firsts else 0:.2f} s); "
        f"{seconds:.0f} s on {workers} workers"
    )


def describe(cfg: dict) -> str:
    keys = (
        "api",
        "op",
        "transform",
        "mode",
        "method",
        "grad_method",
        "dtype",
        "rank",
        "batch",
        "groups",
        "cx",
        "cy",
        "ks",
        "ss",
        "ds",
        "n",
        "m",
        "padding",
        "padding_mode",
        "illegal",
        "zero",
    )
    return " ".join(f"{k}={cfg.get(k)}" for k in keys if cfg.get(k) is not None)


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m jconv fuzz",
        description="Crash campaign: random configurations of every op, each in a worker "
        "subprocess restarted after a death; checked against jconv.reference.",
    )
    parser.add_argument("--n", type=int, default=1000, help="number of configurations")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--start", type=int, default=0, help="first configuration index")
    parser.add_argument("--only", type=int, help="run configuration ONLY in this process, verbose")
    parser.add_argument("--workers", type=int, default=os.cpu_count() or 1)
    parser.add_argument("--json", help="write every configuration's result here")
    parser.add_argument("--progress", action="store_true", help="a line per 200 configs on stderr")
    parser.add_argument("--worker", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.worker:
        return _worker()
    if args.only is not None:
        if "jax" not in sys.modules:  # the sharded mode's 8 host devices, as in the workers
            os.environ["XLA_FLAGS"] = _worker_env()["XLA_FLAGS"]
        import jax

        jax.config.update("jax_enable_x64", True)
        cfg = draw(args.seed, args.only)
        print(describe(cfg))
        print(json.dumps(run_one(cfg), indent=1))
        return 0
    configs = [draw(args.seed, i) for i in range(args.start, args.start + args.n)]
    t0 = time.monotonic()
    done = 0

    def report(cfg, result):
        nonlocal done
        done += 1
        if result["status"] in FAILURES:
            print(
                f"{result['status'].upper()} [{describe(cfg)}] {result.get('error', '')} "
                f"(replay: python -m jconv fuzz --seed {cfg['seed']} --only {cfg['i']})",
                flush=True,
            )
        if args.progress and done % 200 == 0:
            print(
                f"... {done}/{len(configs)} in {time.monotonic() - t0:.0f} s",
                file=sys.stderr,
                flush=True,
            )

    results = campaign(configs, args.workers, report)
    if args.json:
        by_i = {c["i"]: c for c in configs}
        with open(args.json, "w") as f:
            json.dump([{**by_i[r["i"]], **r} for r in results], f)
    print(summarize(args.seed, results, time.monotonic() - t0, args.workers), flush=True)
    return 1 if any(r["status"] in FAILURES for r in results) else 0


if __name__ == "__main__":
    sys.exit(main())
