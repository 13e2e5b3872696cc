"""The daemon's process allocates from few malloc arenas (runtime/memory.py): counted by
glibc's own malloc_stats in a fresh process whose threads all allocate."""

from __future__ import annotations

import subprocess
import sys

import pytest

CHILD = """
import ctypes, sys, threading
from colony_actor.runtime import memory
if sys.argv[1] == "limited":
    assert memory.limit_arenas()
held, alive, done = [], threading.Barrier(9), threading.Barrier(9)
def allocate():
    alive.wait()  # every thread runs at once: none inherits an arena a finished one freed
    held.append([bytearray(4096) for _ in range(64)])
    done.wait()
threads = [threading.Thread(target=allocate) for _ in range(8)]
for t in threads: t.start()
alive.wait()
done.wait()
ctypes.CDLL(None).malloc_stats()
for t in threads: t.join()
"""


def arenas(mode: str) -> int:
    done = subprocess.run([sys.executable, "-c", CHILD, mode], capture_output=True, text=True,
                          timeout=60, check=True)
    return sum(1 for line in done.stderr.splitlines() if line.startswith("Arena "))


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="glibc's malloc")
def test_two_arenas_however_many_threads_allocate() -> None:
    assert arenas("default") > 2  # each thread takes an arena of its own
    assert arenas("limited") <= 2


TRIM_CHILD = """
import ctypes
from colony_actor.runtime import memory
libc = ctypes.CDLL(None)
libc.malloc.restype = ctypes.c_void_p
libc.free.argtypes = [ctypes.c_void_p]
def resident_kb():
    with open("/proc/self/status") as status:
        return next(int(line.split()[1]) for line in status if line.startswith("VmRSS"))
# 200 MB in 1 KB blocks, touched; every block but one in a hundred freed, so the heap
# cannot shrink from its top and the free pages stay resident until trimmed.
blocks = [libc.malloc(1024) for _ in range(200_000)]
for block in blocks:
    ctypes.memset(block, 1, 1024)
for number, block in enumerate(blocks):
    if number % 100:
        libc.free(block)
before = resident_kb()
trimmed = memory.trim()
print(before, resident_kb(), trimmed)
"""


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="glibc's malloc")
def test_trim_gives_free_heap_pages_back() -> None:
    done = subprocess.run([sys.executable, "-c", TRIM_CHILD], capture_output=True, text=True,
                          timeout=60, check=True)
    before, after, trimmed = done.stdout.split()
    assert trimmed == "True"
    assert int(before) - int(after) > 100_000  # kB: most of the 198 MB freed
