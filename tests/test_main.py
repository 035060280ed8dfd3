"""The main job runs, prints the classic example's matrix and an all-ok table, and exits 0."""

import re
import subprocess
import sys

import jconv


def test_main_job_quick():
    proc = subprocess.run(
        [sys.executable, "-m", "jconv", "--quick"], capture_output=True, text=True, timeout=300
    )
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-3000:]
    out = proc.stdout
    assert "backend cpu" in out or "backend" in out
    rows = [
        r"\[\[\s*67\s+-134\s+278\s+-154\s+231\]",
        r"\[\s*-268\s+335\s+-710\s+385\s+-462\]",
        r"\[\s*586\s+-770\s+1620\s+-870\s+1074\]",
        r"\[\s*-468\s+585\s+-1210\s+635\s+-762\]",
        r"\[\s*819\s+-936\s+1942\s+-1016\s+1143\]\]",
    ]
    for row in rows:
        assert len(re.findall(row, out)) == len(jconv.TRANSPOSE_METHODS), row  # once per method
    assert not [line for line in out.splitlines() if line.rstrip().endswith("FAIL")]
    assert re.search(r"\d+ checks, (\d+) ok, 0 FAIL", out)
    assert out.strip().endswith("all ok")


def test_main_help():
    proc = subprocess.run(
        [sys.executable, "-m", "jconv", "--help"], capture_output=True, text=True, timeout=60
    )
    assert proc.returncode == 0
    assert "exits 1 on any mismatch" in " ".join(proc.stdout.split())
