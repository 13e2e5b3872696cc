"""Settings: the embedded defaults, then a TOML file, then the environment, then flags.

The dataclasses below are the one home of every default: the daemon's parts take each value
from `Settings` and hold no default of their own, and a test checks that the shipped
`config/colony-actor.toml` says exactly these.

Every setting `section.key` has the environment variable `COLONY_ACTOR_SECTION_KEY`
(`network.latency_ms` is `COLONY_ACTOR_NETWORK_LATENCY_MS`); per-job-type time limits
`jobs.timeout_seconds.<type>` are `COLONY_ACTOR_JOBS_TIMEOUT_SECONDS_<TYPE>`. This module
only reads and validates; it must never create directories or touch the data.
"""

from __future__ import annotations

import dataclasses
import os
import re
import tomllib
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from colony_actor import locations
from colony_actor.colony.network import faults
from colony_actor.service import catalogue

# A host name or IPv4 address (letters, digits, dots, hyphens), or an IPv6 one in brackets.
_HOST_NAME = re.compile(r"[a-z0-9]([a-z0-9.-]*[a-z0-9])?|\[[0-9a-f:.]+\]")


class ConfigError(Exception):
    """A setting that cannot be used; the message names it."""


@dataclass(frozen=True)
class ServerSettings:
    listen: str = locations.DEFAULT_LISTEN
    port: int = locations.DEFAULT_PORT
    max_body_bytes: int = 16 * 1024 * 1024
    # 0 means derived from the descriptor limit at start-up (api/capacity.py says how).
    max_connections: int = 0
    max_streams: int = 0
    # Host names the daemon answers to besides the loopback ones (any port); a list in the
    # file, comma-separated in the environment.
    allowed_hosts: tuple[str, ...] = ()


@dataclass(frozen=True)
class StorageSettings:
    # Empty means the platform's user data directory.
    data_dir: str = ""


# A referenced pod may fill this many scratchpads by default (64 MiB at 4 MiB each).
POD_CAP_SCRATCHPADS = 16


@dataclass(frozen=True)
class NetworkSettings:
    backend: str = "local"
    # Empty means `<data_dir>/network`.
    dir: str = ""
    latency_ms: float = 0.0
    concurrency: int = 16
    scratchpad_limit: int = 4 * 1024 * 1024
    claim_timeout_seconds: float = 2.0
    # Injected failures (demos, tests, benchmarks): each call of the named operations
    # fails with this probability; the draws are seeded, so a run can be repeated.
    failure_rate: float = 0.0
    # Comma-separated: get_pointer, put_pointer, get_scratchpad, put_scratchpad; empty
    # means all four.
    fail_operations: str = ""
    failure_seed: int = 0
    # One record read (or a write's wait for its lock) that takes longer fails.
    timeout_seconds: float = 10.0
    # A referenced pod larger than this is skipped; 0 means POD_CAP_SCRATCHPADS
    # scratchpads' worth (`pod_cap_bytes`).
    max_pod_bytes: int = 0
    # References followed from one pod, and in all in one refresh_ref.
    max_refs_per_pod: int = 1000
    max_refs_per_refresh: int = 10000

    @property
    def pod_cap_bytes(self) -> int:
        """The size cap of a referenced pod: `max_pod_bytes`, or the derived default."""
        return self.max_pod_bytes or POD_CAP_SCRATCHPADS * self.scratchpad_limit


@dataclass(frozen=True)
class AuthSettings:
    token_ttl_seconds: int = 3600
    # When true, /api/v1 routes need no token (only sensible on a private loopback).
    public: bool = False
    # Wrong passwords a client may send to /auth/token before it must wait.
    login_attempts_before_delay: int = 5
    # The longest wait after a wrong password (the wait doubles from 1 second up to it).
    login_max_delay_seconds: float = 60.0


@dataclass(frozen=True)
class JobSettings:
    queue_size: int = 16
    retention_seconds: float = 86400.0
    max_retained: int = 10000
    shutdown_grace_seconds: float = 10.0
    # A start is answered once the job journal holds the job; past this, it is refused.
    record_timeout_seconds: float = 10.0
    results_in_memory: int = 256
    result_bytes_in_memory: int = 1 << 20
    timeout_seconds: Mapping[str, float] = field(default_factory=lambda: {"search": 60.0})


@dataclass(frozen=True)
class SearchSettings:
    timeout_seconds: float = 30.0
    default_limit: int = 50
    # An advanced query runs in a worker process with these limits (colony/search/sandbox.py).
    workers: int = 2
    worker_memory_bytes: int = 2 * 1024 * 1024 * 1024
    worker_stack_bytes: int = 8 * 1024 * 1024
    worker_cpu_seconds: int = 60


@dataclass(frozen=True)
class LogSettings:
    level: str = "info"


@dataclass(frozen=True)
class Settings:
    server: ServerSettings = field(default_factory=ServerSettings)
    storage: StorageSettings = field(default_factory=StorageSettings)
    network: NetworkSettings = field(default_factory=NetworkSettings)
    auth: AuthSettings = field(default_factory=AuthSettings)
    jobs: JobSettings = field(default_factory=JobSettings)
    search: SearchSettings = field(default_factory=SearchSettings)
    log: LogSettings = field(default_factory=LogSettings)

    @property
    def data_dir(self) -> Path:
        if self.storage.data_dir:
            return Path(self.storage.data_dir).expanduser()
        return locations.default_data_dir()

    @property
    def network_dir(self) -> Path:
        if self.network.dir:
            return Path(self.network.dir).expanduser()
        return self.data_dir / "network"


def load(config_file: Path | None = None, env: Mapping[str, str] | None = None,
         overrides: Mapping[str, Any] | None = None) -> Settings:
    """Settings from the defaults, the file, the environment and `overrides`
    (`{"server.port": 0}`, as given by flags), each later one winning."""
    values: dict[str, dict[str, Any]] = {}
    if config_file is not None:
        try:
            with config_file.open("rb") as handle:
                document = tomllib.load(handle)
        except OSError as exc:
            raise ConfigError(f"Cannot read the configuration file {config_file}: "
                              f"{exc.strerror}") from exc
        except tomllib.TOMLDecodeError as exc:
            raise ConfigError(f"The configuration file {config_file} is not valid TOML: "
                              f"{exc}") from exc
        except UnicodeDecodeError as exc:
            raise ConfigError(f"The configuration file {config_file} is not UTF-8 text "
                              f"(at byte {exc.start}): save it as UTF-8") from None
        for section, table in document.items():
            if not isinstance(table, dict):
                raise ConfigError(f"{section} in {config_file} must be a [section]")
            for key, value in table.items():
                _put(values, f"{section}.{key}", value, config_file.name)
    environ = os.environ if env is None else env
    for dotted, variable in env_variables().items():
        if variable in environ:
            _put(values, dotted, environ[variable], variable)
    for dotted, value in (overrides or {}).items():
        if value is not None:
            _put(values, dotted, value, "--" + dotted.split(".")[-1].replace("_", "-"))
    return _build(values)


def env_variables() -> dict[str, str]:
    """`section.key` -> the environment variable that sets it."""
    names: dict[str, str] = {}
    for section, cls in _section_types().items():
        for leaf in dataclasses.fields(cls):
            dotted = f"{section}.{leaf.name}"
            if dotted == "jobs.timeout_seconds":
                for job_type in catalogue.NAMES:
                    names[f"{dotted}.{job_type}"] = _env_name(f"{dotted}.{job_type}")
            else:
                names[dotted] = _env_name(dotted)
    return names


def _env_name(dotted: str) -> str:
    return locations.ENV_PREFIX + dotted.replace(".", "_").upper()


def _section_types() -> dict[str, type]:
    return {"server": ServerSettings, "storage": StorageSettings, "network": NetworkSettings,
            "auth": AuthSettings, "jobs": JobSettings, "search": SearchSettings,
            "log": LogSettings}


def _put(values: dict[str, dict[str, Any]], dotted: str, value: Any, source: str) -> None:
    section, _, key = dotted.partition(".")
    sections = _section_types()
    if section not in sections:
        raise ConfigError(f"Unknown setting section [{section}] (from {source})")
    known = {f.name: f for f in dataclasses.fields(sections[section])}
    if section == "jobs" and key.startswith("timeout_seconds"):
        _put_timeouts(values, key, value, source)
        return
    if key not in known:
        raise ConfigError(f"Unknown setting {dotted} (from {source})")
    default = getattr(sections[section](), key)
    values.setdefault(section, {})[key] = _coerce(dotted, value, type(default), source)


def _put_timeouts(values: dict[str, dict[str, Any]], key: str, value: Any,
                  source: str) -> None:
    timeouts = dict(values.get("jobs", {}).get("timeout_seconds",
                                               JobSettings().timeout_seconds))
    if key == "timeout_seconds":
        if not isinstance(value, dict):
            raise ConfigError(f"jobs.timeout_seconds must be a table of job types (from {source})")
        items = list(value.items())
    else:
        items = [(key.removeprefix("timeout_seconds."), value)]
    for job_type, limit in items:
        if job_type not in catalogue.NAMES:
            raise ConfigError(f"Unknown job type {job_type!r} in jobs.timeout_seconds "
                              f"(from {source}); known: {', '.join(catalogue.NAMES)}")
        seconds = _coerce(f"jobs.timeout_seconds.{job_type}", limit, float, source)
        if seconds <= 0:
            timeouts.pop(job_type, None)  # 0 or less means no limit
        else:
            timeouts[job_type] = seconds
    values.setdefault("jobs", {})["timeout_seconds"] = timeouts


def _coerce(dotted: str, value: Any, kind: type, source: str) -> Any:
    try:
        if kind is bool:
            if isinstance(value, bool):
                return value
            text = str(value).strip().lower()
            if text in {"1", "true", "yes", "on"}:
                return True
            if text in {"0", "false", "no", "off"}:
                return False
            raise ValueError(text)
        if kind is int and isinstance(value, float):
            raise ValueError(value)
        if kind is str:
            if not isinstance(value, str | Path):
                raise ValueError(value)
            return str(value)
        if kind is tuple:
            items = value.split(",") if isinstance(value, str) else value
            if not isinstance(items, list | tuple) or not all(
                    isinstance(item, str) for item in items):
                raise ValueError(value)
            return tuple(item.strip().lower() for item in items if item.strip())
        return kind(value)
    except (TypeError, ValueError):
        kind_name = "a list of strings" if kind is tuple else kind.__name__
        raise ConfigError(f"Setting {dotted} must be {kind_name}, got {value!r} "
                          f"(from {source})") from None


def _build(values: Mapping[str, Mapping[str, Any]]) -> Settings:
    sections = {name: cls(**values.get(name, {})) for name, cls in _section_types().items()}
    settings = Settings(**sections)
    _validate(settings)
    return settings


def _validate(settings: Settings) -> None:
    checks = [
        (0 <= settings.server.port <= 65535, "server.port must be 0..65535"),
        (settings.server.max_body_bytes > 0, "server.max_body_bytes must be positive"),
        (settings.server.max_connections >= 0, "server.max_connections must be >= 0"),
        (settings.server.max_streams >= 0, "server.max_streams must be >= 0"),
        (settings.network.backend == "local",
         "network.backend must be \"local\" (the only backend built so far)"),
        (settings.network.latency_ms >= 0, "network.latency_ms must be >= 0"),
        (settings.network.concurrency >= 1, "network.concurrency must be >= 1"),
        (settings.network.scratchpad_limit >= 1024, "network.scratchpad_limit must be >= 1024"),
        (settings.network.claim_timeout_seconds > 0,
         "network.claim_timeout_seconds must be positive"),
        (all(_HOST_NAME.fullmatch(host) for host in settings.server.allowed_hosts),
         "server.allowed_hosts must be host names or IP addresses, without scheme or port "
         "(an IPv6 address in brackets)"),
        (0 <= settings.network.failure_rate <= 1, "network.failure_rate must be 0..1"),
        (settings.network.timeout_seconds > 0, "network.timeout_seconds must be positive"),
        (settings.network.max_pod_bytes >= 0, "network.max_pod_bytes must be >= 0"),
        (settings.network.max_refs_per_pod >= 1, "network.max_refs_per_pod must be >= 1"),
        (settings.network.max_refs_per_refresh >= 1,
         "network.max_refs_per_refresh must be >= 1"),
        (settings.auth.token_ttl_seconds > 0, "auth.token_ttl_seconds must be positive"),
        (settings.auth.login_attempts_before_delay >= 1,
         "auth.login_attempts_before_delay must be >= 1"),
        (settings.auth.login_max_delay_seconds >= 1,
         "auth.login_max_delay_seconds must be >= 1"),
        (settings.jobs.queue_size >= 0, "jobs.queue_size must be >= 0"),
        (settings.jobs.retention_seconds > 0, "jobs.retention_seconds must be positive"),
        (settings.jobs.max_retained >= 1, "jobs.max_retained must be >= 1"),
        (settings.jobs.results_in_memory >= 0, "jobs.results_in_memory must be >= 0"),
        (settings.jobs.result_bytes_in_memory >= 0,
         "jobs.result_bytes_in_memory must be >= 0"),
        (settings.jobs.shutdown_grace_seconds >= 0, "jobs.shutdown_grace_seconds must be >= 0"),
        (settings.jobs.record_timeout_seconds > 0, "jobs.record_timeout_seconds must be positive"),
        (settings.search.timeout_seconds > 0, "search.timeout_seconds must be positive"),
        (1 <= settings.search.default_limit <= 1000, "search.default_limit must be 1..1000"),
        (1 <= settings.search.workers <= 64, "search.workers must be 1..64"),
        (settings.search.worker_memory_bytes >= 256 * 1024 * 1024,
         "search.worker_memory_bytes must be at least 268435456 (256 MiB)"),
        (settings.search.worker_stack_bytes >= 1024 * 1024,
         "search.worker_stack_bytes must be at least 1048576 (1 MiB)"),
        (settings.search.worker_cpu_seconds >= 1, "search.worker_cpu_seconds must be >= 1"),
        (settings.log.level in {"debug", "info", "warning", "error"},
         "log.level must be debug, info, warning or error"),
    ]
    for ok, message in checks:
        if not ok:
            raise ConfigError(message)
    try:
        faults.parse_operations(settings.network.fail_operations)
    except ValueError as exc:
        raise ConfigError(f"network.fail_operations: {exc}") from None
