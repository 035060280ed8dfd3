"""One crash-campaign configuration (:func:`jconv.fuzz.draw`) run in this process: the public
call it describes, its transform and mode, and the check against :mod:`jconv.reference`.

Arrays are drawn in TensorFlow's channels-last layout (``x (N, *n, cx)``, ``w (*k, cx / g,
cy)``, ``dy (N, *m, cy)``) and moved to the API's layout for the call; results are moved back
before they are compared.
"""

from __future__ import annotations

import time

import jax
import jax.numpy as jnp
import numpy as np
from jax.sharding import Mesh, NamedSharding, PartitionSpec

import jconv
import jconv.torch as jt
from jconv import reference
from jconv.fuzz import SLOW_S, _k_eff, _tf_pads

EPS = {
    "float16": 2.0**-10,
    "bfloat16": 2.0**-7,
    "float32": 2.0**-23,
    "complex64": 2.0**-23,
    "float64": 0.0,
    "complex128": 0.0,
}
# the two operands of each bilinear op, and the kind of array each and the result are
OPERANDS = {
    "transpose": ("dy", "w", "x"),
    "input": ("w", "dy", "x"),
    "filter": ("x", "dy", "w"),
    "conv": ("x", "w", "dy"),
}
TF_NAMES = {
    "transpose": "conv{r}d_transpose",
    "input": "conv{r}d_backprop_input",
    "filter": "conv{r}d_backprop_filter",
    "conv": "conv{r}d",
}
TORCH_NAMES = {
    "transpose": "conv_transpose{r}d",
    "input": "conv{r}d_input",
    "filter": "conv{r}d_weight",
    "conv": "conv{r}d",
}
CHANNELS_FIRST = {1: "NCW", 2: "NCHW", 3: "NCDHW"}
CHANNELS_LAST = {1: "NWC", 2: "NHWC", 3: "NDHWC"}


def _shapes(cfg):
    r, n, m = cfg["rank"], list(cfg["n"]), list(cfg["m"])
    if cfg["zero"] == "spatial":
        j = cfg["zero_dim"]
        if cfg["op"] in ("transpose", "input"):
            m[j] = 0
        else:  # the forward input is empty; its output is whatever the padding leaves
            n[j] = 0
            lo, hi = cfg["pads"][j]
            m[j] = max((lo + hi - (cfg["ks"][j] - 1) * cfg["ds"][j] - 1) // cfg["ss"][j] + 1, 0)
    g = max(cfg["groups"], 1)
    return (
        {
            "x": (cfg["batch"], *n, cfg["cx"]),
            "w": (*cfg["ks"], cfg["cx"] // g, cfg["cy"]),
            "dy": (cfg["batch"], *m, cfg["cy"]),
        },
        n,
        r,
    )


def _ints(rng, shape, dtype):
    top = 2 if dtype in ("float16", "bfloat16") else 3
    a = rng.integers(-top, top + 1, shape).astype(np.float64)
    if dtype.startswith("complex"):
        a = a + 1j * rng.integers(-top, top + 1, shape)
    return a


def _reference(op, cfg, n, a, b, w_shape):
    ss, ds, pads = cfg["ss"], cfg["ds"], [tuple(p) for p in cfg["pads"]]
    if op == "transpose":
        return reference.conv_transpose(a, b, n, ss, pads, ds, cfg["groups"])
    if op == "input":
        return reference.conv_backprop_input((cfg["batch"], *n, cfg["cx"]), a, b, ss, pads, ds)
    if op == "filter":
        return reference.conv_backprop_filter(a, w_shape, b, ss, pads, ds)
    mode = cfg.get("padding_mode", "zeros")
    if mode != "zeros":  # PyTorch pads the input by the mode, then convolves it unpadded
        # (numpy's names spelled out here, not taken from jconv.torch: the oracle stays apart)
        np_mode = {"reflect": "reflect", "replicate": "edge", "circular": "wrap"}[mode]
        a = np.pad(a, [(0, 0), *pads, (0, 0)], mode=np_mode)
        pads = [(0, 0)] * len(pads)
    return reference.conv(a, b, ss, pads, ds)


# ------------------------------------------------------------------------ layouts of the API
def _to_api(kind, a, cfg, dtype):
    r = cfg["rank"]
    if kind == "w":
        if cfg["api"] == "torch":
            a = np.transpose(a, (r + 1, r, *range(r)))
    elif cfg["api"] == "torch" or cfg["channels_first"]:
        a = np.moveaxis(a, -1, 1)
        if cfg["unbatched"]:
            a = a[0]
    return jnp.asarray(a, dtype)


def _from_api(kind, a, cfg):
    r = cfg["rank"]
    a = np.asarray(jnp.asarray(a).astype(jnp.complex128 if jnp.iscomplexobj(a) else jnp.float64))
    if kind == "w":
        if cfg["api"] == "torch":
            a = np.transpose(a, (*range(2, r + 2), 1, 0))
    elif cfg["api"] == "torch" or cfg["channels_first"]:
        if cfg["unbatched"]:
            a = a[None]
        a = np.moveaxis(a, 1, -1)
    return a


def _api_shape(kind, shape, cfg):
    return tuple(_to_api(kind, np.zeros(shape), cfg, "float32").shape)


def _call(cfg, shapes):
    """The public function's name, ``f(a, b)`` calling it with the configuration's settings, and
    the shapes with an illegal configuration's change written in."""
    r, op, api = cfg["rank"], cfg["op"], cfg["api"]
    ss, ds, padding = list(cfg["ss"]), list(cfg["ds"]), cfg["padding"]
    method = cfg["method"]
    grad_method = cfg.get("grad_method", "auto")
    grad_method = tuple(grad_method) if isinstance(grad_method, list) else grad_method
    groups = cfg["groups"]
    out_padding = cfg.get("output_padding")
    x_shape = shapes["x"]
    w_shape = shapes["w"]
    illegal = cfg["illegal"]
    if illegal == "zero_stride":
        ss[0] = 0
    elif illegal == "negative_padding":
        if api == "tf":
            padding = [list(p) for p in padding]
            padding[0][0] = -1
        else:
            padding = [-1, *padding[1:]] if isinstance(padding, list) else -1
    elif illegal == "method":
        method = "bogus"
    elif illegal == "groups":
        if api == "torch":  # the transposed conv's input channels are the forward output's
            groups = (cfg["cy"] if op == "transpose" else cfg["cx"]) + 1
        else:
            w_shape = (*w_shape[:-2], cfg["cx"] + 1, w_shape[-1])
    elif illegal == "unreachable":
        if api == "torch" and op == "transpose":
            out_padding = [max(ss[0], ds[0]), *out_padding[1:]]
        else:
            x_shape = (x_shape[0], _unreachable(cfg), *x_shape[2:])
    if api == "tf":
        fn = getattr(jconv, TF_NAMES[op].format(r=r))
        fmt = (CHANNELS_FIRST if cfg["channels_first"] else CHANNELS_LAST)[r]
        sizes = list(_api_shape("x", x_shape, cfg))
        if op == "transpose":
            f = lambda a, b: fn(a, b, sizes, ss, padding, fmt, ds, method)  # noqa: E731
        elif op == "input":
            f = lambda a, b: fn(sizes, a, b, ss, padding, fmt, ds, method)  # noqa: E731
        elif op == "filter":
            f = lambda a, b: fn(a, list(w_shape), b, ss, padding, fmt, ds, method)  # noqa: E731
        else:
            f = lambda a, b: fn(  # noqa: E731
                a, b, ss, padding, fmt, ds, method=method, grad_method=grad_method
            )
    else:
        fn = getattr(jt, TORCH_NAMES[op].format(r=r))
        sizes = list(_api_shape("x", x_shape, cfg))
        if op == "transpose":
            f = lambda a, b: fn(  # noqa: E731
                a, b, None, ss, padding, out_padding, groups, ds, method=method
            )
        elif op == "input":
            f = lambda a, b: fn(sizes, a, b, ss, padding, ds, groups, method=method)  # noqa: E731
        elif op == "filter":
            wsize = list(_api_shape("w", w_shape, cfg))
            f = lambda a, b: fn(a, wsize, b, ss, padding, ds, groups, method=method)  # noqa: E731
        else:
            mode = cfg.get("padding_mode", "zeros")
            f = lambda a, b: fn(  # noqa: E731
                a,
                b,
                None,
                ss,
                padding,
                ds,
                groups,
                padding_mode=mode,
                method=method,
                grad_method=grad_method,
            )
    name = ("jconv.torch." if api == "torch" else "jconv.") + fn.__name__
    return name, f, {**shapes, "w": w_shape}


def _unreachable(cfg):
    """A forward input size for dim 0 whose forward output is not ``m[0]``."""
    k, s, d, m = cfg["ks"][0], cfg["ss"][0], cfg["ds"][0], cfg["m"][0]
    for n in range(cfg["n"][0] + 1, cfg["n"][0] + 4 * s * d + 8):
        if cfg["api"] == "tf" and isinstance(cfg["padding"], str):
            lo, hi = _tf_pads(cfg["padding"], n, k, s, d)
        else:
            lo, hi = cfg["pads"][0]
        if n + lo + hi < _k_eff(k, d) or (n + lo + hi - _k_eff(k, d)) // s + 1 != m:
            return n
    raise AssertionError("no unreachable size found")


# --------------------------------------------------------------------------------- checking
def _excess(got, want, bound, tol):
    """How far ``got`` is outside ``|got - want| <= tol * bound`` (0 when inside)."""
    got, want = np.asarray(got), np.asarray(want)
    if got.shape != want.shape:
        raise _Wrong(f"shape {got.shape}, expected {want.shape}")
    if got.size == 0:
        return 0.0
    diff = np.abs(got - want) - tol * np.asarray(bound)
    if not np.all(np.isfinite(got)):
        raise _Wrong("non-finite values")
    return float(max(diff.max(), 0.0))


class _Wrong(Exception):
    pass


def run(cfg: dict) -> dict:
    op, dtype = cfg["op"], cfg["dtype"]
    shapes, n, r = _shapes(cfg)
    ka, kb, kout = OPERANDS[op]
    rng = np.random.default_rng([cfg["seed"], cfg["i"], 1])
    name, f, shapes = _call(cfg, shapes)
    a, b = _ints(rng, shapes[ka], dtype), _ints(rng, shapes[kb], dtype)
    if cfg["illegal"] == "dtype":
        a_api = _to_api(ka, a, cfg, "int32" if rng.random() < 0.5 else "float32")
        b_api = _to_api(kb, b, cfg, "float64" if a_api.dtype == jnp.float32 else "float32")
    else:
        a_api, b_api = _to_api(ka, a, cfg, dtype), _to_api(kb, b, cfg, dtype)
    if cfg["illegal"]:
        try:
            f(a_api, b_api)
        except (ValueError, TypeError) as e:
            if name not in str(e):
                return {"status": "unexpected", "error": f"message lacks {name}: {e}"}
            return {"status": "refused", "error": str(e)[:200]}
        except Exception as e:
            return {"status": "unexpected", "error": f"{type(e).__name__}: {e}"[:400]}
        return {"status": "wrong", "error": f"illegal {cfg['illegal']} was accepted"}

    if cfg["zero"]:  # an empty operand or an empty sum: every entry of the result is 0
        want_shape = shapes[kout]
        if cfg["api"] == "torch" and op == "conv" and cfg["cx"] == 0:
            want_shape = (*want_shape[:-1], 0)  # PyTorch drops the output channels too
        ref = lambda p, q: np.zeros(want_shape)  # noqa: E731
    else:
        ref = lambda p, q: _reference(op, cfg, n, p, q, shapes["w"])  # noqa: E731
    a2 = _ints(rng, shapes[ka], dtype)
    ta, tb, ua, ub = (_ints(rng, shapes[k], dtype) for k in (ka, kb, ka, kb))
    ref_ab = ref(a, b)
    c = _ints(rng, ref_ab.shape, dtype)
    ta_api, tb_api = _to_api(ka, ta, cfg, dtype), _to_api(kb, tb, cfg, dtype)
    c_api = _to_api(kout, c, cfg, dtype)
    transform = cfg["transform"]
    if transform == "value":
        t = f
    elif transform == "jvp":
        t = lambda p, q: jax.jvp(f, (p, q), (ta_api, tb_api))  # noqa: E731
    elif dtype.startswith("complex"):  # jax.grad wants a real output: the vjp, as grad uses it
        t = lambda p, q: jax.vjp(f, p, q)[1](c_api)  # noqa: E731
    else:
        t = lambda p, q: jax.grad(  # noqa: E731
            lambda p, q: jnp.sum(f(p, q) * c_api), argnums=(0, 1)
        )(p, q)

    mode = cfg["mode"]
    t0 = time.perf_counter()
    try:
        if mode == "eager":
            outs = [jax.block_until_ready(t(a_api, b_api))]
            slices = [a]
        elif mode == "jit":
            outs = [jax.block_until_ready(jax.jit(t)(a_api, b_api))]
            slices = [a]
        elif mode == "vmap":
            a2_api = _to_api(ka, a2, cfg, dtype)
            both = jax.block_until_ready(jax.vmap(t, (0, None))(jnp.stack([a_api, a2_api]), b_api))
            outs = [jax.tree.map(lambda z, j=j: z[j], both) for j in range(2)]
            slices = [a, a2]
        else:
            devices = jax.devices()[: max(d for d in (1, 2, 4, 8) if d <= len(jax.devices()))]
            mesh = Mesh(np.array(devices), ("b",))
            spec = lambda k: NamedSharding(
                mesh, PartitionSpec("b") if k != "w" else PartitionSpec()
            )  # noqa: E731,E501
            ap, bp = jax.device_put(a_api, spec(ka)), jax.device_put(b_api, spec(kb))
            outs = [jax.block_until_ready(jax.jit(t)(ap, bp))]
            slices = [a]
    except (ValueError, TypeError) as e:
        if cfg["zero"] and name in str(e):
            return {"status": "refused", "error": str(e)[:200]}
        return {"status": "unexpected", "error": f"{type(e).__name__}: {e}"[:400]}
    except Exception as e:
        return {"status": "unexpected", "error": f"{type(e).__name__}: {e}"[:400]}
    first = time.perf_counter() - t0

    tol = EPS[dtype]
    excess = 0.0
    try:
        for j, (aj, out) in enumerate(zip(slices, outs)):
            absa = np.abs(aj)
            if transform in ("value", "jvp"):
                y = out if transform == "value" else out[0]
                want = ref_ab if j == 0 else ref(aj, b)
                excess = max(excess, _check_value(y, kout, cfg, want, ref(absa, np.abs(b)), tol))
            if transform == "jvp":
                ty = out[1]
                want = ref(ta, b) + ref(aj, tb)
                bound = ref(np.abs(ta), np.abs(b)) + ref(absa, np.abs(tb))
                excess = max(excess, _check_value(ty, kout, cfg, want, bound, tol))
            elif transform == "grad":
                ga, gb = out
                for g, ref_arr in ((ga, a_api), (gb, b_api)):
                    if g.shape != ref_arr.shape or g.dtype != ref_arr.dtype:
                        raise _Wrong(
                            f"gradient {g.shape} {g.dtype}, operand {ref_arr.shape} {ref_arr.dtype}"
                        )
                got = np.sum(_from_api(ka, ga, cfg) * ua) + np.sum(_from_api(kb, gb, cfg) * ub)
                want = np.sum(c * (ref(ua, b) + ref(aj, ub)))
                bound = np.sum(np.abs(c) * (ref(np.abs(ua), np.abs(b)) + ref(absa, np.abs(ub))))
                excess = max(excess, _excess(got, want, bound, tol))
    except _Wrong as e:
        return {"status": "wrong", "error": str(e), "first_call_s": first}
    status = "ok" if excess == 0.0 else "wrong"
    if status == "ok" and cfg["method"] == "auto" and first > SLOW_S:
        status = "slow"
    out = {"status": status, "first_call_s": round(first, 3), "auto": cfg["method"] == "auto"}
    if status == "wrong":
        out["error"] = f"{name}: max excess over tolerance {excess:.3g}"
    elif status == "slow":
        out["error"] = f"{name}: first call took {first:.1f} s with method='auto'"
    return out


def _check_value(y, kind, cfg, want, bound, tol):
    dtype = jnp.dtype(cfg["dtype"])
    if y.dtype != dtype:
        raise _Wrong(f"dtype {y.dtype}, expected {dtype}")
    return _excess(_from_api(kind, y, cfg), want, bound, tol)
