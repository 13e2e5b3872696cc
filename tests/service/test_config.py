"""Settings precedence (defaults < file < environment < flags) and their validation."""

from __future__ import annotations

from pathlib import Path

import pytest

from colony_actor.service import catalogue, config

SHIPPED = Path(__file__).resolve().parents[2] / "config" / "colony-actor.toml"


def test_the_shipped_file_holds_exactly_the_defaults() -> None:
    assert config.load(SHIPPED, env={}) == config.load(env={})


def test_every_setting_of_the_file_has_its_environment_variable() -> None:
    variables = config.env_variables()
    assert variables["network.latency_ms"] == "COLONY_ACTOR_NETWORK_LATENCY_MS"
    assert variables["jobs.timeout_seconds.search"] == "COLONY_ACTOR_JOBS_TIMEOUT_SECONDS_SEARCH"
    text = SHIPPED.read_text()
    for dotted in variables:
        section, key = dotted.split(".", 1)
        if section == "jobs" and key.startswith("timeout_seconds"):
            continue
        assert f"\n{key} = " in text, f"{dotted} is missing from {SHIPPED.name}"


def test_the_shipped_file_names_every_job_type() -> None:
    listed = next(line for line in SHIPPED.read_text().splitlines()
                  if line.startswith("# Types: "))
    assert listed.removeprefix("# Types: ").rstrip(".").split(", ") == list(catalogue.NAMES)


def test_precedence(tmp_path: Path) -> None:
    file = tmp_path / "c.toml"
    file.write_text("[network]\nlatency_ms = 5\nconcurrency = 3\n[server]\nport = 4000\n")
    settings = config.load(file, env={"COLONY_ACTOR_NETWORK_LATENCY_MS": "200",
                                      "COLONY_ACTOR_SERVER_PORT": "5000"},
                           overrides={"server.port": 0, "network.concurrency": None})
    assert settings.network.latency_ms == 200
    assert settings.network.concurrency == 3
    assert settings.server.port == 0
    assert settings.network_dir == settings.data_dir / "network"


def test_job_time_limits(tmp_path: Path) -> None:
    default = config.load(env={})
    assert default.jobs.timeout_seconds == {"search": 60.0}
    tuned = config.load(env={"COLONY_ACTOR_JOBS_TIMEOUT_SECONDS_UPLOADALL": "90",
                             "COLONY_ACTOR_JOBS_TIMEOUT_SECONDS_SEARCH": "0"})
    assert tuned.jobs.timeout_seconds == {"uploadall": 90.0}


@pytest.mark.parametrize(("env", "fragment"), [
    ({"COLONY_ACTOR_SERVER_PORT": "abc"}, "server.port"),
    ({"COLONY_ACTOR_SERVER_PORT": "70000"}, "server.port"),
    ({"COLONY_ACTOR_NETWORK_LATENCY_MS": "-1"}, "latency_ms"),
    ({"COLONY_ACTOR_AUTH_PUBLIC": "maybe"}, "auth.public"),
    ({"COLONY_ACTOR_NETWORK_TIMEOUT_SECONDS": "0"}, "network.timeout_seconds"),
    ({"COLONY_ACTOR_NETWORK_MAX_REFS_PER_POD": "0"}, "network.max_refs_per_pod"),
    ({"COLONY_ACTOR_JOBS_TIMEOUT_SECONDS_NOPE": "1"}, None),
])
def test_bad_values_are_named(env: dict[str, str], fragment: str | None) -> None:
    if fragment is None:
        config.load(env=env)  # an unknown variable is not ours to judge
        return
    with pytest.raises(config.ConfigError, match=fragment.replace(".", r"\.")):
        config.load(env=env)


def test_the_pod_cap_is_derived_from_the_scratchpad_limit_unless_set() -> None:
    assert config.load(env={}).network.pod_cap_bytes == 16 * 4 * 1024 * 1024
    small = {"COLONY_ACTOR_NETWORK_SCRATCHPAD_LIMIT": "2048"}
    assert config.load(env=small).network.pod_cap_bytes == 16 * 2048
    assert config.load(env={**small, "COLONY_ACTOR_NETWORK_MAX_POD_BYTES": "5000"}
                       ).network.pod_cap_bytes == 5000


def test_bad_files(tmp_path: Path) -> None:
    unknown = tmp_path / "u.toml"
    unknown.write_text("[network]\nlatency = 5\n")
    with pytest.raises(config.ConfigError, match=r"Unknown setting network\.latency"):
        config.load(unknown, env={})
    broken = tmp_path / "b.toml"
    broken.write_text("[network\n")
    with pytest.raises(config.ConfigError, match="not valid TOML"):
        config.load(broken, env={})
    with pytest.raises(config.ConfigError, match="Cannot read"):
        config.load(tmp_path / "missing.toml", env={})


def test_allowed_hosts(tmp_path: Path) -> None:
    assert config.load(env={}).server.allowed_hosts == ()
    from_env = config.load(env={"COLONY_ACTOR_SERVER_ALLOWED_HOSTS": "colony.lan, NAS.local,"})
    assert from_env.server.allowed_hosts == ("colony.lan", "nas.local")
    file = tmp_path / "c.toml"
    file.write_text('[server]\nallowed_hosts = ["colony.lan", "[fd00::1]", "192.168.1.2"]\n')
    assert config.load(file, env={}).server.allowed_hosts == (
        "colony.lan", "[fd00::1]", "192.168.1.2")
    for bad in ("http://colony.lan", "colony.lan:3000", "a b", "fd00::1", "-x"):
        with pytest.raises(config.ConfigError, match=r"server\.allowed_hosts"):
            config.load(env={"COLONY_ACTOR_SERVER_ALLOWED_HOSTS": bad})
    file.write_text("[server]\nallowed_hosts = [1]\n")
    with pytest.raises(config.ConfigError, match="a list of strings"):
        config.load(file, env={})


@pytest.mark.parametrize(("env", "fragment"), [
    ({"COLONY_ACTOR_AUTH_LOGIN_ATTEMPTS_BEFORE_DELAY": "0"}, "login_attempts_before_delay"),
    ({"COLONY_ACTOR_AUTH_LOGIN_MAX_DELAY_SECONDS": "0.5"}, "login_max_delay_seconds"),
])
def test_login_throttle_settings_are_checked(env: dict[str, str], fragment: str) -> None:
    with pytest.raises(config.ConfigError, match=fragment):
        config.load(env=env)
