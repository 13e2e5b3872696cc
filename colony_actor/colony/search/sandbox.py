"""The limits a query worker process puts on itself before its first job.

`enter` is the worker's init (worker.py calls it first thing, while the process has one
thread): the worker ends soon after the daemon's process does, however that ends, runs
at a lower CPU priority, may map at most `memory_bytes` of address space and grow its
stack to `stack_bytes`, and has no network: it moves into a network namespace of its own
(an unprivileged user namespace, where the kernel allows one), whose only interface is a
loopback that is down, so no query reaches any host however it is written. Where that is
refused and pyseccomp (an optional package, with libseccomp) is installed, the kernel
refuses it every socket but a Unix one instead. `restart_cpu_clock` gives each job its
own `cpu_seconds` (RLIMIT_CPU counts the process's whole life; a reused worker would
otherwise run out). The kernel enforces all of them: past the memory limit an allocation
fails (the worker aborts), past the stack limit or the CPU limit it is killed by a
signal, and the daemon sees the worker die, never its own process.

Linux only; elsewhere a limit that cannot be set is left as it is. This module must never
be imported for its side effects: everything happens when `enter` is called.
"""

from __future__ import annotations

import ctypes
import ctypes.util
import errno
import importlib
import os
import resource
import socket
import sys
from dataclasses import dataclass
from typing import Any, Final

from colony_actor.runtime import children

_CLONE_NEWUSER: Final = 0x10000000
_CLONE_NEWNET: Final = 0x40000000


@dataclass(frozen=True)
class Limits:
    memory_bytes: int
    stack_bytes: int
    cpu_seconds: int


@dataclass(frozen=True)
class Report:
    """What a worker says of its own limits (`report`, run in the worker)."""

    memory_bytes: int
    stack_bytes: int
    cpu_seconds_left: int
    network_refused: bool


def network_filter() -> str | None:
    """None where the network filter can be installed, else why not (for the log)."""
    try:
        importlib.import_module("pyseccomp")
    except (ImportError, OSError, AttributeError) as exc:
        return f"pyseccomp or libseccomp is missing ({exc})"
    if not sys.platform.startswith("linux"):
        return "seccomp is Linux only"
    return None


def enter(limits: Limits, parent: int) -> None:
    """The worker's init: every limit, in this process, for good."""
    if os.getppid() != parent:  # the daemon is already gone
        os._exit(1)
    children.lower_priority()
    if not _own_network_namespace():  # while this process has one thread
        _refuse_network()
    children.end_with(parent)  # starts a thread: after the namespace move
    _lower(resource.RLIMIT_AS, limits.memory_bytes)
    _lower(resource.RLIMIT_STACK, limits.stack_bytes)
    restart_cpu_clock(limits.cpu_seconds)


def restart_cpu_clock(cpu_seconds: int) -> None:
    """Allow `cpu_seconds` more seconds of CPU from now (SIGXCPU past them)."""
    used = resource.getrusage(resource.RUSAGE_SELF)
    spent = int(used.ru_utime + used.ru_stime) + 1
    _, hard = resource.getrlimit(resource.RLIMIT_CPU)
    soft = spent + cpu_seconds
    if hard != resource.RLIM_INFINITY:
        soft = min(soft, hard)
    resource.setrlimit(resource.RLIMIT_CPU, (soft, hard))


def report() -> Report:
    """This worker's limits as the kernel applies them (run in a worker)."""
    used = resource.getrusage(resource.RUSAGE_SELF)
    cpu, _ = resource.getrlimit(resource.RLIMIT_CPU)
    return Report(memory_bytes=resource.getrlimit(resource.RLIMIT_AS)[0],
                  stack_bytes=resource.getrlimit(resource.RLIMIT_STACK)[0],
                  cpu_seconds_left=int(cpu - used.ru_utime - used.ru_stime),
                  network_refused=_network_refused())


def _own_network_namespace() -> bool:
    """Move this (single-threaded) process into new user and network namespaces; False
    where the kernel refuses (no unprivileged user namespaces) or this is not Linux."""
    if not sys.platform.startswith("linux"):
        return False
    libc = ctypes.CDLL(ctypes.util.find_library("c"), use_errno=True)
    return bool(libc.unshare(_CLONE_NEWUSER | _CLONE_NEWNET) == 0)


def _lower(which: int, limit: int) -> None:
    _, hard = resource.getrlimit(which)
    if hard != resource.RLIM_INFINITY:
        limit = min(limit, hard)
    try:
        resource.setrlimit(which, (limit, limit))
    except (ValueError, OSError):
        resource.setrlimit(which, (limit, hard))


def _refuse_network() -> None:
    if network_filter() is not None:
        return
    pyseccomp: Any = importlib.import_module("pyseccomp")
    rules: Any = pyseccomp.SyscallFilter(pyseccomp.ALLOW)
    rules.add_rule(pyseccomp.ERRNO(errno.EACCES), "socket",
                   pyseccomp.Arg(0, pyseccomp.NE, socket.AF_UNIX))
    for call in ("io_uring_setup", "io_uring_enter", "io_uring_register"):
        try:
            rules.add_rule(pyseccomp.ERRNO(errno.ENOSYS), call)
        except OSError:
            continue  # a kernel or libseccomp that does not know it: nothing to refuse
    rules.set_attr(pyseccomp.Attr.CTL_TSYNC, 1)  # every thread, not only this one
    try:
        rules.load()
    except OSError:
        return  # no seccomp in this kernel: the lexer's check still holds


def _network_refused() -> bool:
    """Whether this process can reach nothing over IP: no socket, or no route even to
    127.0.0.1 (a fresh network namespace)."""
    try:
        probe = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    except PermissionError:
        return True
    with probe:
        try:
            probe.connect(("127.0.0.1", 9))
        except OSError as exc:
            return exc.errno in (errno.ENETUNREACH, errno.EACCES, errno.EPERM)
    return False
