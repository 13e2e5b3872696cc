"""Structured logs: JSON lines on stderr, one event per fact.

Every line has `timestamp`, `level`, `logger` and `event`. Secrets (password, token,
mnemonic) are never passed to a logger; as a second line of defence, the processor
`_redact` blanks any field whose name says it holds one. This module must never log.
"""

from __future__ import annotations

import logging
import sys
from collections.abc import MutableMapping
from typing import Any, TextIO

import structlog

_SECRET_FIELDS = frozenset({"password", "token", "mnemonic", "secret", "authorization"})


def _redact(_logger: Any, _name: str, event: MutableMapping[str, Any]) -> MutableMapping[str, Any]:
    for key in list(event):
        if key.lower() in _SECRET_FIELDS:
            event[key] = "[redacted]"
    return event


class _NamedWriteLogger(structlog.WriteLogger):
    """A WriteLogger that remembers the name it was asked for (the `logger` field)."""

    def __init__(self, file: TextIO, name: str) -> None:
        super().__init__(file)
        self.name = name


class _NamedWriteLoggerFactory:
    def __init__(self, file: TextIO) -> None:
        self._file = file

    def __call__(self, *args: Any) -> _NamedWriteLogger:
        return _NamedWriteLogger(self._file, str(args[0]) if args else "colony_actor")


def configure(level: str = "info", stream: TextIO | None = None) -> None:
    """Send structlog and stdlib logging (hypercorn's) as JSON lines to `stream`."""
    output = stream or sys.stderr
    numeric = logging.getLevelName(level.upper())
    shared: list[Any] = [
        structlog.contextvars.merge_contextvars,
        structlog.processors.add_log_level,
        structlog.processors.TimeStamper(fmt="iso", utc=True),
        _redact,
    ]
    # Our own events take structlog's direct path (no stdlib LogRecord per event: the
    # access log writes one per request); libraries' stdlib records get the same shape
    # through the handler below.
    structlog.configure(
        processors=[*shared, structlog.stdlib.add_logger_name,
                    structlog.processors.format_exc_info,
                    structlog.processors.JSONRenderer()],
        wrapper_class=structlog.make_filtering_bound_logger(numeric),
        logger_factory=_NamedWriteLoggerFactory(output),
        cache_logger_on_first_use=True,
    )
    handler = logging.StreamHandler(output)
    handler.setFormatter(structlog.stdlib.ProcessorFormatter(
        foreign_pre_chain=[*shared, structlog.stdlib.add_logger_name],
        processors=[structlog.stdlib.ProcessorFormatter.remove_processors_meta,
                    structlog.processors.format_exc_info,
                    structlog.processors.JSONRenderer()],
    ))
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(numeric)
