"""The circuit's state machine on its own: when it opens, how long it stays open, the one probe, and how
it closes or opens again."""

from __future__ import annotations

from relaycli.config.profile import Breaker
from relaycli.limits.breaker import Circuit

COUNT = Breaker(failures=3, cooldown=30)
PROBE_S = 65.0


def fail(circuit: Circuit, now: float, settings: Breaker = COUNT, kind: str = "endpoint") -> None:
    circuit.failed(now, settings, kind=kind, error=f"HTTP 503 at {now:g}")  # type: ignore[arg-type]


def test_it_opens_after_n_consecutive_counted_failures() -> None:
    circuit = Circuit()
    fail(circuit, 0)
    fail(circuit, 1)
    assert circuit.state == "closed" and circuit.consecutive == 2
    assert circuit.admit(1, probe_s=PROBE_S) == "pass"
    fail(circuit, 2)
    assert circuit.state == "open"
    assert (circuit.opened_at, circuit.until, circuit.failures_at_open) == (2, 32, 3)
    assert circuit.last_error == "HTTP 503 at 2" and circuit.last_kind == "endpoint"
    assert circuit.admit(31.9, probe_s=PROBE_S) == "refuse"


def test_a_success_or_an_answer_in_between_resets_the_count() -> None:
    circuit = Circuit()
    fail(circuit, 0)
    fail(circuit, 1)
    circuit.succeeded(2, COUNT)  # the guard counts a 4xx as this: the endpoint answered
    fail(circuit, 3)
    fail(circuit, 4)
    assert circuit.state == "closed" and circuit.consecutive == 2


def test_a_failure_share_over_a_minimum_count_in_a_window_opens_it() -> None:
    share = Breaker(failures=0, ratio=0.5, min_requests=4, window=60)
    circuit = Circuit()
    for now in (0, 1, 2):
        fail(circuit, now, share)
    assert circuit.state == "closed"  # 3 of 3 failed, but fewer than min_requests
    circuit.succeeded(3, share)
    assert circuit.state == "closed"  # a success never opens it, whatever the share
    fail(circuit, 4, share)
    assert circuit.state == "open"  # 4 of 5
    circuit.reset()
    assert circuit == Circuit()

    circuit = Circuit()
    for now, failed in ((0, True), (1, False), (2, False), (3, True), (4, False)):
        if failed:
            fail(circuit, now, share)
        else:
            circuit.succeeded(now, share)
    assert circuit.state == "closed"  # 2 of 5
    fail(circuit, 5, share)
    assert circuit.state == "open" and circuit.failures_at_open == 1  # 3 of 6: a share, not a streak


def test_the_window_starts_over_after_its_length() -> None:
    share = Breaker(failures=0, ratio=0.5, min_requests=4, window=60)
    circuit = Circuit()
    for now in (0, 1, 2):
        fail(circuit, now, share)
    fail(circuit, 100, share)  # the first three are out of the window now
    assert circuit.state == "closed" and (circuit.window_total, circuit.window_failed) == (1, 1)


def test_after_the_cooldown_exactly_one_probe_goes_through() -> None:
    circuit = Circuit()
    for now in (0, 0, 0):
        fail(circuit, now)
    assert circuit.admit(29, probe_s=PROBE_S) == "refuse"
    assert circuit.admit(30, probe_s=PROBE_S) == "probe"
    assert circuit.state == "half_open" and circuit.probe_until == 30 + PROBE_S
    assert circuit.admit(30, probe_s=PROBE_S) == "refuse"  # the probe is out: nobody else
    assert circuit.admit(90, probe_s=PROBE_S) == "refuse"


def test_a_successful_probe_closes_the_circuit() -> None:
    circuit = Circuit()
    for now in (0, 0, 0):
        fail(circuit, now)
    assert circuit.admit(30, probe_s=PROBE_S) == "probe"
    circuit.succeeded(31, COUNT)
    assert circuit.state == "closed" and circuit.consecutive == 0 and circuit.opened_at is None
    assert circuit.admit(31, probe_s=PROBE_S) == "pass"


def test_a_failed_probe_opens_it_again_for_another_cooldown() -> None:
    circuit = Circuit()
    for now in (0, 0, 0):
        fail(circuit, now)
    assert circuit.admit(30, probe_s=PROBE_S) == "probe"
    fail(circuit, 32)
    assert circuit.state == "open" and circuit.until == 62
    assert circuit.opened_at == 0  # open since it first opened
    assert circuit.failures_at_open == 4
    assert circuit.admit(61, probe_s=PROBE_S) == "refuse"
    assert circuit.admit(62, probe_s=PROBE_S) == "probe"


def test_a_probe_that_never_reports_back_is_given_up_after_probe_s() -> None:
    circuit = Circuit()
    for now in (0, 0, 0):
        fail(circuit, now)
    assert circuit.admit(30, probe_s=PROBE_S) == "probe"  # its process is killed: no word ever comes
    assert circuit.admit(30 + PROBE_S - 0.1, probe_s=PROBE_S) == "refuse"
    assert circuit.admit(30 + PROBE_S, probe_s=PROBE_S) == "probe"
    assert circuit.probe_until == 30 + 2 * PROBE_S


def test_a_retry_after_sent_with_a_failure_extends_the_cooldown() -> None:
    circuit = Circuit()
    fail(circuit, 0)
    circuit.server_asked(120)  # a 503 said retry-after: 120 while the circuit was still closed
    fail(circuit, 1)
    fail(circuit, 2)
    assert circuit.state == "open" and circuit.until == 120  # longer than the 30 s cooldown
    circuit.server_asked(200)  # asked again while open
    assert circuit.until == 200
    circuit.server_asked(50)  # a shorter wait never shortens it
    assert circuit.until == 200


def test_failures_of_requests_let_through_before_it_opened_do_not_extend_the_cooldown() -> None:
    circuit = Circuit()
    for now in (0, 0, 0):
        fail(circuit, now)
    fail(circuit, 10)  # was already in flight when the circuit opened
    assert circuit.state == "open" and circuit.until == 30 and circuit.failures_at_open == 3


def test_network_failures_are_told_apart() -> None:
    circuit = Circuit()
    for now in (0, 1, 2):
        fail(circuit, now, kind="network")
    assert circuit.last_kind == "network"


def test_it_round_trips_through_storage_and_garbage_reads_as_closed() -> None:
    circuit = Circuit()
    for now in (0, 1, 2):
        fail(circuit, now)
    assert Circuit.from_dict(circuit.to_dict()) == circuit
    assert Circuit.from_dict(None) == Circuit()
    assert Circuit.from_dict([1, 2]) == Circuit()
    assert Circuit.from_dict({"state": "open", "until": 5, "unknown": 1}).until == 5
    odd = Circuit.from_dict({"state": "open", "consecutive": "x", "until": "soon", "window_total": -1})
    assert (odd.state, odd.consecutive, odd.until, odd.window_total) == ("open", 0, None, 0)
    assert Circuit.from_dict({"state": "ajar"}).state == "closed"
    fail(odd, 0)  # still usable
    assert odd.consecutive == 1
