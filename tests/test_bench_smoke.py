"""Smoke runs of the benchmarks (bench/*.py --quick), so they do not rot.

Each benchmark runs as a subprocess at tiny sizes, as a person would run it, with its data
cached in one temporary work directory shared by the module. Only "it runs and prints its
ratio lines last" is asserted: no timing, no target. The whole module takes about a
minute; set COLONY_ACTOR_SKIP_BENCH_SMOKE=1 to skip it.
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parent.parent

pytestmark = pytest.mark.skipif(os.environ.get("COLONY_ACTOR_SKIP_BENCH_SMOKE") == "1",
                                reason="COLONY_ACTOR_SKIP_BENCH_SMOKE=1")


@pytest.fixture(scope="module")
def workdir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("bench")


def run_bench(name: str, workdir: Path, *extra: str, timeout: float = 120) -> list[str]:
    result = subprocess.run(
        [sys.executable, str(REPO / "bench" / f"{name}.py"), "--quick",
         "--workdir", str(workdir), *extra],
        cwd=REPO, capture_output=True, text=True, timeout=timeout, check=False)
    assert result.returncode == 0, f"{name} failed:\n{result.stdout}\n{result.stderr}"
    lines = [line for line in result.stdout.splitlines() if line.strip()]
    assert any(line.startswith("# command: ") for line in lines), result.stdout
    ratios = [line for line in lines if line.startswith("RATIO ")]
    assert ratios, f"{name} printed no RATIO line:\n{result.stdout}"
    # The ratios come last.
    assert lines[-len(ratios):] == ratios, result.stdout
    return ratios


@pytest.mark.parametrize(("name", "extra", "expected"), [
    ("poll", ("--load-tool", "python"), "poll_vs_health"),
    ("sync", (), "upload_speedup_default_vs_c1"),
    ("search", (), "search_speedup_daemon_vs_reference"),
    ("loop", (), "health_p99_busy_vs_idle"),
    ("watch", (), "watch_cpu_sse_vs_poll_net"),
    ("memory", (), "rss_mb_per_10k_retained_jobs"),
    ("scale", (), "search3_p50_ms"),
    ("soak", (), "soak_acknowledged_edits_lost"),
])
def test_benchmark_runs_quick(workdir: Path, name: str, extra: tuple[str, ...],
                              expected: str) -> None:
    ratios = run_bench(name, workdir, *extra)
    assert any(line.startswith(f"RATIO {expected}") for line in ratios), ratios
