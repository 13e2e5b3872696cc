"""The login throttle: guesses slow down, the user is never locked out for good.

The clock is a plain number the test moves (the throttle takes any monotonic clock)."""

from __future__ import annotations

import pytest

from colony_actor.service import config
from colony_actor.service.tokens import (
    EVERYONE_FACTOR,
    FORGET_AFTER_SECONDS,
    TRACKED_CLIENTS,
    LoginThrottle,
    LoginThrottled,
    TokenAuthority,
    WrongPassword,
)
from tests.support import PASSWORD, SECRET


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def authority(clock: Clock, free: int = 3, max_delay: float = 60.0) -> TokenAuthority:
    return TokenAuthority(SECRET, PASSWORD, 3600,
                          throttle=LoginThrottle(free, max_delay, clock=clock))


def wrong(auth: TokenAuthority, client: str = "127.0.0.1") -> None:
    with pytest.raises(WrongPassword):
        auth.login("guess", client)


def throttled(auth: TokenAuthority, password: str, client: str = "127.0.0.1") -> float:
    with pytest.raises(LoginThrottled) as caught:
        auth.login(password, client)
    return caught.value.retry_after


def test_the_wait_doubles_up_to_its_maximum_and_the_right_password_then_works() -> None:
    clock = Clock()
    auth = authority(clock, free=3, max_delay=10)
    for _ in range(2):
        wrong(auth)
    waits = []
    for _ in range(6):
        wrong(auth)
        waits.append(throttled(auth, "guess"))
        assert throttled(auth, PASSWORD) == waits[-1]  # the right one waits too
        clock.now += waits[-1]
    assert waits == [1, 2, 4, 8, 10, 10]
    assert auth.verify(auth.login(PASSWORD, "127.0.0.1")) is not None
    # Logging in forgave the address: it has its free tries again.
    for _ in range(2):
        wrong(auth)
    assert auth.login(PASSWORD, "127.0.0.1")


def test_tries_during_a_wait_are_not_counted() -> None:
    clock = Clock()
    auth = authority(clock, free=1, max_delay=60)
    wrong(auth)
    for _ in range(100):
        assert throttled(auth, "guess") == 1
    assert auth.throttle.statistics().failures == 1
    clock.now += 1
    assert auth.login(PASSWORD, "127.0.0.1")


def test_wrong_passwords_are_forgotten() -> None:
    clock = Clock()
    auth = authority(clock, free=2)
    wrong(auth)
    wrong(auth)
    clock.now += FORGET_AFTER_SECONDS + 1
    assert auth.throttle.statistics().failures == 0
    wrong(auth)  # a free try again, not a wait
    assert auth.login(PASSWORD, "127.0.0.1")


def test_every_address_together_is_throttled_too() -> None:
    clock = Clock()
    auth = authority(clock, free=2)
    for n in range(2 * EVERYONE_FACTOR):
        wrong(auth, f"10.0.0.{n}")
    assert throttled(auth, PASSWORD, "10.0.1.1") == 1
    clock.now += 1
    assert auth.login(PASSWORD, "10.0.1.1")


def test_the_addresses_remembered_are_bounded() -> None:
    clock = Clock()
    throttle = LoginThrottle(10_000, 60, clock=clock)
    for n in range(TRACKED_CLIENTS + 50):
        throttle.failed(f"client {n}")
    statistics = throttle.statistics()
    assert statistics.clients == TRACKED_CLIENTS
    assert statistics.failures == TRACKED_CLIENTS + 50


def test_the_throttle_takes_its_settings() -> None:
    settings = config.load(env={"COLONY_ACTOR_AUTH_LOGIN_ATTEMPTS_BEFORE_DELAY": "1",
                                "COLONY_ACTOR_AUTH_LOGIN_MAX_DELAY_SECONDS": "2"})
    clock = Clock()
    auth = TokenAuthority(SECRET, PASSWORD, 60,
                          throttle=LoginThrottle.of(settings.auth, clock=clock))
    waits = []
    for _ in range(3):
        wrong(auth)
        waits.append(throttled(auth, PASSWORD))
        clock.now += waits[-1]
    assert waits == [1, 2, 2]
