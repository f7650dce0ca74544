"""``measure.interrupts.Deferred``: while results are being recorded a signal is noted, not raised; the
handlers are back afterwards; ignored signals stay ignored."""

from __future__ import annotations

import os
import signal
from collections.abc import Iterator

import pytest

from relaycli.errors import Terminated
from relaycli.measure.interrupts import Deferred

pytestmark = pytest.mark.skipif(not hasattr(signal, "SIGHUP"), reason="POSIX signals")


def _terminate(signum: int, frame: object) -> None:
    raise Terminated(signum)


@pytest.fixture
def handlers() -> Iterator[None]:
    saved = {s: signal.getsignal(s) for s in (signal.SIGTERM, signal.SIGHUP)}
    signal.signal(signal.SIGTERM, _terminate)
    signal.signal(signal.SIGHUP, signal.SIG_IGN)
    try:
        yield
    finally:
        for signum, handler in saved.items():
            signal.signal(signum, handler)


def test_a_signal_inside_is_noted_and_the_block_finishes(handlers: None) -> None:
    finished = False
    with Deferred() as held:
        os.kill(os.getpid(), signal.SIGTERM)
        os.kill(os.getpid(), signal.SIGHUP)  # ignored before, ignored inside
        finished = True
    assert finished and held.code == 143 and held.name == "SIGTERM"
    assert signal.getsignal(signal.SIGTERM) is _terminate and signal.getsignal(signal.SIGHUP) is signal.SIG_IGN
    with pytest.raises(Terminated):
        os.kill(os.getpid(), signal.SIGTERM)


def test_nothing_received_means_no_code(handlers: None) -> None:
    with Deferred() as held:
        pass
    assert held.code is None and held.name is None
