"""``python -m jconv bench``: a tiny run writes the report and the JSON; ``--help`` names it."""

import contextlib
import io
import json
import pathlib
import subprocess
import sys

ROOT = pathlib.Path(__file__).resolve().parents[1]


def _run(*args, timeout=60):
    return subprocess.run(
        [sys.executable, "-m", "jconv", *args],
        capture_output=True,
        text=True,
        timeout=timeout,
        cwd=ROOT,
    )


def _main(*args):
    """``python -m jconv ARGS`` in this process (its ``main``; argparse's exits caught):
    ``(return code, stdout, stderr)``. test_bench_small_writes_json and tests/test_main.py
    run the module itself."""
    from jconv.__main__ import main

    out, err = io.StringIO(), io.StringIO()
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
        try:
            code = main(list(args))
        except SystemExit as e:
            code = e.code
    return code, out.getvalue(), err.getvalue()


def test_bench_small_writes_json(tmp_path):
    path = tmp_path / "bench.json"
    proc = _run(
        "bench",
        "--small",
        "--frameworks",
        "jconv,lax",
        "--workloads",
        "patch2d,resnet2d",
        "--repeats",
        "1",
        "--rounds",
        "2",
        "--json",
        str(path),
    )
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-3000:]
    result = json.loads(path.read_text())
    assert {
        "machine",
        "settings",
        "matmul",
        "workloads",
        "rows",
        "geomeans",
        "geomeans_by_kind",
        "checks",
        "wall_s",
    } <= set(result)
    machine = result["machine"]
    assert {"platform", "cpu_count", "cpu_model", "date", "versions"} <= set(machine)
    assert {"jax", "jaxlib", "numpy", "python"} <= set(machine["versions"])
    assert result["settings"]["small"] and result["settings"]["frameworks"] == ["jconv", "lax"]
    assert result["settings"]["other"] is False
    assert "settings: small sizes" in proc.stdout
    assert result["settings"]["rounds"] == 2 and len(result["matmul"]["rounds"]) == 2
    assert result["matmul"]["gflops"] == max(m["gflops"] for m in result["matmul"]["rounds"]) > 0
    assert list(result["workloads"]) == ["patch2d", "resnet2d"]
    assert result["workloads"]["patch2d"]["input_shape"] == [2, 16, 16, 256]
    assert result["workloads"]["resnet2d"]["kind"] == "encoder"
    assert result["workloads"]["resnet2d"]["filter_shape"] == [3, 3, 64, 64]

    rows = result["rows"]
    assert {(r["workload"], r["op"], r["impl"]) for r in rows} == {
        (name, op, impl)
        for name in ("patch2d", "resnet2d")
        for op in ("forward", "step")
        for impl in ("jconv", "lax")
    }
    for r in rows:
        assert r["ms"] > 0 and r["gflops"] > 0 and r["peak_fraction"] > 0, r
        assert len(r["times_ms"]) == r["runs"] >= 2 and min(r["times_ms"]) > 0
        assert len(r["round_medians_ms"]) == 2  # every round's runs are pooled
        assert r["jconv_speedup"] > 0
        assert r["gflop"] == result["workloads"][r["workload"]]["gflop"] * (
            3 if r["op"] == "step" else 1
        )
        assert r["peak_mib"] is None or r["peak_mib"] >= 0, r
        if r["impl"] == "jconv":
            assert r["jconv_speedup"] == 1.0
    assert set(result["geomeans"]) == {"forward", "step"}
    assert set(result["geomeans"]["step"]) == {"lax"}
    assert set(result["geomeans_by_kind"]) == {"decoder", "encoder"}
    assert [(c["workload"], c["impl"], c["ok"]) for c in result["checks"]] == [
        ("patch2d", "lax", True),
        ("resnet2d", "lax", True),
    ]

    assert "| patch2d" in proc.stdout and "geomean (encoders)" in proc.stdout
    assert "WARNING" not in proc.stdout


def test_help_mentions_bench():
    code, out, _ = _main("--help")
    assert code == 0
    assert "python -m jconv bench" in " ".join(out.split())
    code, out, _ = _main("bench", "--help")
    assert code == 0
    for option in (
        "--json",
        "--repeats",
        "--rounds",
        "--workloads",
        "--frameworks",
        "--small",
        "--other",
    ):
        assert option in out


def test_bench_rejects_unknown_names():
    code, _, err = _main("bench", "--workloads", "gan2d,nope")
    assert code == 2
    assert "nope" in err and "gan2d" in err
    code, _, err = _main("bench", "--rounds", "0")
    assert code == 2
    assert "rounds=0" in err
    code, _, err = _main("bench", "--other", "--workloads", "gan2d")  # a default-set name
    assert code == 2
    assert "workloads=('gan2d',): unknown" in err and "'gan2d-hr'" in err
    code, _, err = _main("bench", "--small", "--other")
    assert code == 2 and "not allowed with" in err


def test_other_workloads_are_the_five_kinds_at_other_sizes():
    import jconv.bench as bench

    kinds = {name.split("-")[0] for name in bench.OTHER_WORKLOADS}
    assert kinds == {"gan2d", "unet2d", "patch2d", "audio1d", "vol3d"}
    default_shapes = {w.input_shape for w in bench.WORKLOADS.values() if not w.encoder}
    for name, w in bench.OTHER_WORKLOADS.items():
        base = bench.WORKLOADS[name.split("-")[0]]
        assert (w.kernel, w.strides, w.padding) == (base.kernel, base.strides, base.padding)
        assert w.input_shape not in default_shapes
        assert w.out_sizes == tuple(m * s for m, s in zip(w.in_sizes, w.strides))
    try:
        bench.benchmark(small=True, other=True)
    except ValueError as e:
        assert "small=True and other=True" in str(e)
    else:
        raise AssertionError("small and other together must raise")
