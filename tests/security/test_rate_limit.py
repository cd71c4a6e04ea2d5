from bot.security.rate_limit import ConnectionCap, Limits, RateLimiter


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def test_a_key_over_its_limit_waits_until_the_window_turns_and_then_recovers() -> None:
    clock = Clock()
    limiter = RateLimiter(3, window=60, clock=clock)
    assert [limiter.hit("a") for _ in range(3)] == [None, None, None]
    wait = limiter.hit("a")
    assert wait is not None and 1 <= wait <= 60
    assert limiter.hit("b") is None  # keys are independent
    clock.now += wait
    assert limiter.hit("a") is None


def test_memory_stays_bounded_by_the_keys_of_one_window() -> None:
    clock = Clock()
    limiter = RateLimiter(1, window=60, clock=clock, max_keys=100)
    for i in range(1000):
        limiter.hit(f"client-{i}")
        clock.now += 1
    assert len(limiter._counts) <= 100


def test_a_conversation_is_bounded_per_minute_and_per_day() -> None:
    limits = Limits.of(per_client=1000, per_conversation=1000, per_conversation_day=5)
    assert all(limits.conversation("c") is None for _ in range(5))
    assert limits.conversation("c") is not None


def test_connections_per_client_are_capped_and_released() -> None:
    cap = ConnectionCap(2)
    assert cap.open("ip") and cap.open("ip") and not cap.open("ip")
    cap.close("ip")
    assert cap.open("ip")
