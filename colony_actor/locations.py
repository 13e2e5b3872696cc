"""Where an install keeps its data and listens, the names of its environment variables,
and where its password comes from.

Both sides read this module: the daemon (`service/config.py`, `service/identity.py`) and
the command line, which must start without loading the daemon. So it imports nothing of
ours, and it must never create or write anything: it names places and reads one file.

The password's precedence is the settings' (defaults < file < environment < flags), read
from the most specific end: the `--password-file` flag, then `COLONY_ACTOR_PASSWORD`, then
`<data-dir>/password` (the file the daemon generates on its first run).
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path

import platformdirs

APP_NAME = "colony-actor"
ENV_PREFIX = "COLONY_ACTOR_"
PASSWORD_ENV = ENV_PREFIX + "PASSWORD"
MNEMONIC_ENV = ENV_PREFIX + "MNEMONIC"
# The daemon URL the command line talks to, when --url does not give one.
URL_ENV = ENV_PREFIX + "URL"
# The variable of the setting `storage.data_dir` (service/config.py names every setting's
# variable by one rule; a test checks that this one follows it).
DATA_DIR_ENV = ENV_PREFIX + "STORAGE_DATA_DIR"
PASSWORD_FILE = "password"
# The daemon's default address (the defaults of `server.listen` and `server.port`), and
# so the URL the client and the command line try first.
DEFAULT_LISTEN = "127.0.0.1"
DEFAULT_PORT = 3000
DEFAULT_URL = f"http://{DEFAULT_LISTEN}:{DEFAULT_PORT}"


class PasswordError(Exception):
    """A password file that cannot be used; the message names it."""


def default_data_dir() -> Path:
    """The platform's user data directory (on Linux `~/.local/share/colony-actor`)."""
    return Path(platformdirs.user_data_dir(APP_NAME, appauthor=False))


def data_dir(configured: str | Path | None, env: Mapping[str, str]) -> Path:
    """The data directory: `configured` (a flag or a setting), else the environment's,
    else the platform's."""
    chosen = configured or env.get(DATA_DIR_ENV)
    return Path(chosen).expanduser() if chosen else default_data_dir()


def password_file(data_dir: Path) -> Path:
    """The password file the daemon generates in its data directory."""
    return data_dir / PASSWORD_FILE


def find_password(flag_file: Path | None, env: Mapping[str, str], data_dir: Path) -> str | None:
    """The password from the flag's file, the environment or the data directory's file, in
    that order; None when none of them gives one. Raises PasswordError for a file that is
    named (or present) but unreadable or empty."""
    if flag_file is not None:
        return read_password(flag_file)
    if env.get(PASSWORD_ENV):
        return env[PASSWORD_ENV]
    generated = password_file(data_dir)
    if generated.exists():
        return read_password(generated)
    return None


def read_password(path: Path) -> str:
    """The password a file holds, without its trailing line break."""
    try:
        password = path.read_text(encoding="utf-8").rstrip("\r\n")
    except OSError as exc:
        raise PasswordError(f"Cannot read the password file {path}: {exc.strerror}") from exc
    except UnicodeDecodeError:
        # Never `from exc`: the decode error holds the file's bytes, the password's own.
        raise PasswordError(f"The password file {path} is not UTF-8 text: write the "
                            f"password in it as UTF-8 text") from None
    if not password:
        raise PasswordError(f"The password file {path} is empty")
    return password
