"""The scripts in ``examples/`` run and check themselves; each runs in a subprocess (the sharding
example forces 8 host devices, which must happen before JAX starts; the distributed example
starts several processes)."""

import importlib.util
import os
import socket
import subprocess
import sys
import time
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent


def example_env():
    env = dict(os.environ)
    env["PYTHONPATH"] = os.pathsep.join(filter(None, [str(ROOT), env.get("PYTHONPATH")]))
    env["JAX_PLATFORMS"] = "cpu"
    return env


def run_example(name, timeout=120):
    return subprocess.run(
        [sys.executable, str(ROOT / "examples" / name)],
        capture_output=True,
        text=True,
        timeout=timeout,
        env=example_env(),
        cwd=ROOT,
    )


def step_losses(stdout):
    return [float(line.split()[-1]) for line in stdout.splitlines() if line.startswith("step ")]


def test_shard_map_training():
    proc = run_example("shard_map_training.py")
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-3000:]
    lines = proc.stdout.splitlines()
    losses = step_losses(proc.stdout)
    assert len(losses) == 20
    assert losses[-1] < losses[0]
    assert any("sharded step == single-device step (8 devices vs 1)" in line for line in lines)


def free_port():
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.mark.skipif(
    any(importlib.util.find_spec(m) is None for m in ("equinox", "optax")),
    reason="needs equinox and optax",
)
def test_distributed_unet_two_processes_match_one(tmp_path):
    """Two CPU processes (one device each, gloo collectives) train the U-Net on the same global
    batches as one process: the same losses up to float32 rounding."""
    env = example_env()
    env.pop("XLA_FLAGS", None)  # one CPU device per process: no forced host device count
    script = [sys.executable, str(ROOT / "examples" / "distributed_unet.py"), "--steps", "5"]
    coordinator = f"127.0.0.1:{free_port()}"
    commands = [
        [*script, "--num-processes", "2", "--process-id", str(i), "--coordinator", coordinator]
        for i in range(2)
    ]
    commands.append(script)  # the 1-process run, alongside
    procs, outputs = [], []
    try:
        for i, command in enumerate(commands):
            # files, not pipes: a process blocked on a full pipe could hold up its peer
            out = open(tmp_path / f"out{i}.txt", "w+")
            outputs.append(out)
            procs.append(
                subprocess.Popen(
                    [*command, "--timeout", "60"],
                    stdout=out,
                    stderr=subprocess.STDOUT,
                    text=True,
                    env=env,
                    cwd=ROOT,
                )
            )
        deadline = time.monotonic() + 180  # for all three together
        for proc in procs:
            proc.wait(timeout=max(1.0, deadline - time.monotonic()))
    finally:
        for proc in procs:
            if proc.poll() is None:
                proc.kill()
                proc.wait()
        texts = []
        for out in outputs:
            out.seek(0)
            texts.append(out.read())
            out.close()
    for proc, text in zip(procs, texts):
        assert proc.returncode == 0, text[-3000:]
    two, one = step_losses(texts[0]), step_losses(texts[2])
    assert step_losses(texts[1]) == []  # only process 0 prints the losses
    assert len(two) == len(one) == 5
    assert two == pytest.approx(one, rel=1e-5, abs=0)
    assert one[-1] < one[0]
    assert any(line.startswith("done 2 processes") for line in texts[0].splitlines())
    assert any(line.startswith("done 2 processes") for line in texts[1].splitlines())
    assert any(line.startswith("done 1 processes") for line in texts[2].splitlines())
