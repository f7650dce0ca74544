"""Learned quirks: announced once, recorded only when a request without the field succeeded,
forgotten after a week, shown by `relay config show`, and forgotten on request."""

from __future__ import annotations

import json
from pathlib import Path

import httpx
import pytest

from relaycli.config.profile import Profile
from relaycli.core.quirks import QuirkStore
from relaycli.errors import APIError
from tests.conftest import run_relay
from tests.core.support import openai_stream, sse_response
from tests.core.test_client_stream import REQ, routed
from tests.integration.support import write_config

DAY = 86400.0
T0 = 1_764_547_200.0  # 2025-12-01 00:00 UTC
PROFILE = Profile(name="p", base_url="http://127.0.0.1:9/v1")


class Clock:
    def __init__(self, now: float) -> None:
        self.now = now

    def __call__(self) -> float:
        return self.now


def test_a_quirk_is_stamped_announced_once_and_expires(tmp_path: Path) -> None:
    path, clock = tmp_path / "quirks.json", Clock(T0)
    store = QuirkStore(path, {"p": PROFILE}, clock=clock)
    store.for_client(PROFILE)["p"]["no_stream_options"] = True
    notes = store.save()
    assert len(notes) == 1 and "stream_options" in notes[0] and "forget-quirks -p p" in notes[0]
    clock.now = T0 + 6 * DAY
    again = QuirkStore(path, {"p": PROFILE}, clock=clock)
    assert again.for_client(PROFILE)["p"]["no_stream_options"] is True
    assert again.save() == []  # known already: no second note
    assert again.learned() == {"p": [("no_stream_options", "true", "2025-12-01")]}
    clock.now = T0 + 7 * DAY + 1
    expired = QuirkStore(path, {"p": PROFILE}, clock=clock)
    assert expired.for_client(PROFILE)["p"] == {"base_url": PROFILE.base_url}
    assert expired.learned() == {}


def test_quirks_without_a_date_are_not_trusted(tmp_path: Path) -> None:
    path = tmp_path / "quirks.json"
    path.write_text(json.dumps({"p": {"base_url": PROFILE.base_url, "no_stream_options": True}}))
    store = QuirkStore(path, {"p": PROFILE}, clock=Clock(T0))
    assert "no_stream_options" not in store.for_client(PROFILE)["p"]


def test_forget_one_profile_or_all(tmp_path: Path) -> None:
    path, other = tmp_path / "quirks.json", Profile(name="q", base_url="http://127.0.0.1:8/v1")
    store = QuirkStore(path, {"p": PROFILE, "q": other}, clock=Clock(T0))
    store.for_client(PROFILE)["p"]["no_stream_options"] = True
    store.for_client(other)["q"]["no_stream_options"] = True
    store.save()
    store = QuirkStore(path, {"p": PROFILE, "q": other}, clock=Clock(T0))
    assert store.forget("p") == ["p"]
    assert set(json.loads(path.read_text())) == {"q"}
    assert store.forget() == ["q"] and json.loads(path.read_text()) == {}


def test_a_quirk_is_recorded_only_after_the_retry_without_it_succeeded() -> None:
    reject = httpx.Response(400, json={"error": {"message": "Unrecognized request argument: stream_options"}})
    other = httpx.Response(400, json={"error": {"message": "bad request"}})
    h, _ = routed(reject, other)
    with pytest.raises(APIError):
        h.client.complete(REQ)
    assert not h.quirks.get("holysheep")  # nothing learned from a request that failed
    h, _ = routed(reject, sse_response(openai_stream("x", usage=False)))
    assert h.client.complete(REQ).text == "x"
    assert h.quirks == {"holysheep": {"no_stream_options": True}}


def test_cli_learns_announces_shows_and_forgets(relay_env: dict[str, str], mock_server: object) -> None:
    write_config(relay_env, "[profiles.mock]\nretries = 0\n")
    log = mock_server.log  # type: ignore[attr-defined]
    ran = run_relay("stream", "-p", "mock", "[[mock: reject_stream_options]] hi", env=relay_env)
    assert ran.code == 0, ran.err
    assert ran.err.count("learned that") == 1 and "stream_options" in ran.err and "forget-quirks" in ran.err
    ran = run_relay("stream", "--no-cache", "-p", "mock", "hi", env=relay_env)
    assert ran.code == 0 and "learned that" not in ran.err
    rows = {r["key"]: r for r in json.loads(run_relay("config", "show", "--json", env=relay_env).out)["settings"]}
    learned = rows["profiles.mock.learned.no_stream_options"]
    assert learned["value"] == "true" and learned["source"].startswith("learned 20")
    ran = run_relay("config", "forget-quirks", "-p", "mock", env=relay_env)
    assert ran.code == 0 and "mock" in ran.err
    before = len(log)
    ran = run_relay("stream", "--no-cache", "-p", "mock", "--json", "hi", env=relay_env)
    assert ran.code == 0 and json.loads(ran.out)["usage"]["completion_tokens"] is not None
    assert [r.status for r in log[before:]] == [200]
    rows = {r["key"] for r in json.loads(run_relay("config", "show", "--json", env=relay_env).out)["settings"]}
    assert "profiles.mock.learned.no_stream_options" not in rows
    assert run_relay("config", "forget-quirks", "-p", "nosuch", env=relay_env).code == 3


def test_cli_a_failed_retry_teaches_nothing(relay_env: dict[str, str]) -> None:
    write_config(relay_env, "[profiles.mock]\nretries = 0\n")
    ran = run_relay("stream", "-p", "mock", "[[mock: reject_stream_options fail=400]] hi", env=relay_env)
    assert ran.code == 1 and "HTTP 400" in ran.err, ran.err
    assert "learned that" not in ran.err
    assert not (Path(relay_env["RELAY_HOME"]) / "cache" / "quirks.json").exists()
