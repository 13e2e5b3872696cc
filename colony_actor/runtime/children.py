"""What a child process of the daemon (a query worker, the index builder) does to end with
the daemon and to yield the CPU to it.

Not PR_SET_PDEATHSIG: it fires when the daemon's *thread* that started the child ends, and
trio starts processes from cached threads that end when idle. Blocking helpers for the
child's own process; this module must never be called in the daemon's process (`end_with`
ends the process it runs in).
"""

from __future__ import annotations

import contextlib
import os
import threading
import time
from pathlib import Path
from typing import Final

# Added to a child's nice value: the daemon's event loop gets a CPU first.
NICENESS: Final = 10
# How often a child looks whether the daemon is still there.
WATCH_SECONDS: Final = 0.25


def end_with(parent: int) -> None:
    """End this process once `parent` is gone, however it ended: a thread checks a few
    times a second (code that holds the GIL delays it)."""
    if os.getppid() != parent:  # already gone
        os._exit(1)

    def watch() -> None:
        while os.getppid() == parent:
            time.sleep(WATCH_SECONDS)
        os._exit(1)

    threading.Thread(target=watch, name="watch-daemon", daemon=True).start()


def lower_priority() -> None:
    """Run this process at NICENESS more than it had (where the system allows)."""
    with contextlib.suppress(OSError):
        os.nice(NICENESS)


def run_when_idle() -> str:
    """Run this process only when a CPU has nothing else to do (Linux SCHED_IDLE), for
    background work that must not delay the daemon's answers; where that is refused, at a
    lower priority. What it got: "idle" or "nice". (Unlike the daemon's worker threads, a
    child holds no lock the daemon waits for, so starving it delays only its own work.)"""
    if hasattr(os, "sched_setscheduler") and hasattr(os, "SCHED_IDLE"):
        try:
            os.sched_setscheduler(0, os.SCHED_IDLE, os.sched_param(0))
            return "idle"
        except OSError:
            pass
    lower_priority()
    return "nice"


def environment(**extra: str) -> dict[str, str]:
    """The environment a child of the daemon starts with: the daemon's, plus `extra`, with
    this package importable however the daemon was started."""
    root = str(Path(__file__).resolve().parents[2])
    return {**os.environ, **extra,
            "PYTHONPATH": os.pathsep.join([root, *filter(None, [os.environ.get("PYTHONPATH")])])}
