"""The cache key: every field that can change an answer changes the key, nothing else does, and no
credential ever reaches what the key is a hash of."""

from __future__ import annotations

import json
from dataclasses import replace
from typing import Any

import pytest

from relaycli.cache.key import cache_key, key_document
from relaycli.config.profile import Billing, Profile, Timeouts
from relaycli.datatypes import ChatRequest, Message
from relaycli.pipeline.request import Ask

SECRET = "sk-live-0123456789abcdefSECRET"
PROFILE = Profile(name="relay", base_url="https://relay.example.com/v1")
ANTHROPIC = Profile(name="claude", base_url="https://api.anthropic.example.com", protocol="anthropic")


def request(**changes: Any) -> ChatRequest:
    base: dict[str, Any] = {"model": "gpt-4.1-mini", "messages": (Message("user", "What is HTTP/2?"),)}
    base.update(changes)
    return ChatRequest(**base)


def key(profile: Profile = PROFILE, **changes: Any) -> str:
    found = cache_key(profile, request(**changes))
    assert found is not None and len(found) == 64
    return found


def document_text(profile: Profile = PROFILE, **changes: Any) -> str:
    return json.dumps(key_document(profile, request(**changes)), ensure_ascii=False)


def all_different(keys: list[str]) -> bool:
    return len(set(keys)) == len(keys)


def test_the_same_request_has_the_same_key_every_time() -> None:
    assert key() == key() == cache_key(replace(PROFILE), request())


# -- the endpoint ------------------------------------------------------------------------------------------


def test_the_protocol_changes_the_key() -> None:
    assert key(PROFILE) != key(replace(PROFILE, protocol="anthropic"))


@pytest.mark.parametrize(
    "other",
    [
        "http://relay.example.com/v1",  # scheme
        "https://relay2.example.com/v1",  # host
        "https://relay.example.com:8443/v1",  # port
        "https://relay.example.com/v2",  # path
        "https://relay.example.com/openai/v1",  # path
        "https://relay.example.com/v1?api-version=2024-10-21",  # query
    ],
)
def test_each_part_of_the_endpoint_changes_the_key(other: str) -> None:
    assert key(PROFILE) != key(replace(PROFILE, base_url=other))


def test_query_values_and_ports_are_told_apart() -> None:
    keys = [
        key(replace(PROFILE, base_url="https://relay.example.com/v1?api-version=1")),
        key(replace(PROFILE, base_url="https://relay.example.com/v1?api-version=2")),
        key(replace(PROFILE, base_url="https://relay.example.com:8443/v1")),
        key(replace(PROFILE, base_url="https://relay.example.com:8444/v1")),
        key(replace(PROFILE, base_url="http://127.0.0.1:8765/v1")),
        key(replace(PROFILE, base_url="http://[::1]:8765/v1")),
    ]
    assert all_different(keys)


@pytest.mark.parametrize(
    "same",
    [
        "https://relay.example.com/v1/",  # a trailing slash
        "https://RELAY.Example.COM/v1",  # host case
        "HTTPS://relay.example.com/v1",  # scheme case
        "https://relay.example.com:443/v1",  # the default port spelled out
        "https://alice:hunter2-pw@relay.example.com/v1",  # user:password
    ],
)
def test_spellings_of_the_same_endpoint_share_a_key(same: str) -> None:
    assert key(replace(PROFILE, base_url=same)) == key(PROFILE)


def test_user_and_password_in_the_base_url_never_reach_the_key_document() -> None:
    profile = replace(PROFILE, base_url="https://alice:hunter2-pw@relay.example.com:8443/v1?api-version=3")
    text = document_text(profile)
    assert "hunter2-pw" not in text and "alice" not in text and "@" not in text
    assert "relay.example.com:8443" in text and "api-version=3" in text  # the endpoint itself is there


def test_a_key_in_the_base_url_query_is_left_out() -> None:
    first = replace(PROFILE, base_url=f"https://relay.example.com/v1?api-version=1&key={SECRET}")
    second = replace(PROFILE, base_url="https://relay.example.com/v1?api-version=1&key=sk-another-key-entirely")
    assert SECRET not in document_text(first)
    assert key(first) == key(second)
    assert key(first) != key(replace(PROFILE, base_url="https://relay.example.com/v1?api-version=2&key=x"))


# -- the body -------------------------------------------------------------------------------------------------


def test_the_model_as_sent_changes_the_key() -> None:
    assert all_different([key(model="gpt-4.1-mini"), key(model="gpt-4.1"), key(model="GPT-4.1-mini")])


def test_an_alias_counts_as_the_model_it_resolves_to() -> None:
    ask = Ask(model="fast", messages=(Message("user", "hi"),))
    mini = replace(PROFILE, aliases={"fast": "gpt-4.1-mini"})
    full = replace(PROFILE, aliases={"fast": "gpt-4.1"})
    assert cache_key(mini, ask.for_profile(mini)) != cache_key(full, ask.for_profile(full))
    direct = Ask(model="gpt-4.1", messages=(Message("user", "hi"),))
    assert cache_key(full, ask.for_profile(full)) == cache_key(PROFILE, direct.for_profile(PROFILE))


def test_the_system_prompt_changes_the_key() -> None:
    keys = [key(), key(system="You are terse."), key(system="You are verbose.")]
    assert all_different(keys)
    anthropic = [key(ANTHROPIC, model="claude-haiku-4-5"), key(ANTHROPIC, model="claude-haiku-4-5", system="Be terse.")]
    assert all_different(anthropic)


def test_each_message_changes_the_key_by_role_content_order_and_count() -> None:
    a, b = Message("user", "first"), Message("assistant", "second")
    keys = [
        key(messages=(a, b)),
        key(messages=(b, a)),  # order
        key(messages=(a,)),  # count
        key(messages=(a, b, Message("user", "third"))),  # count
        key(messages=(a, Message("user", "second"))),  # role
        key(messages=(a, Message("assistant", "second!"))),  # content
        key(messages=(Message("user", "first "), b)),  # content, by one space
    ]
    assert all_different(keys)


def test_temperature_omitted_zero_and_set_all_differ_but_one_is_one_point_zero() -> None:
    assert all_different([key(), key(temperature=0), key(temperature=0.7), key(temperature=1)])
    assert key(temperature=1) == key(temperature=1.0)
    assert key(temperature=0) == key(temperature=0.0)


def test_max_tokens_omitted_and_set_differ() -> None:
    assert all_different([key(), key(max_tokens=100), key(max_tokens=200)])


def test_reasoning_models_send_and_key_max_completion_tokens() -> None:
    body = key_document(PROFILE, request(model="o4-mini", max_tokens=100))["body"]
    assert body.get("max_completion_tokens") == 100 and "max_tokens" not in body
    assert all_different(
        [key(model="o4-mini"), key(model="o4-mini", max_tokens=100), key(model="o4-mini", max_tokens=99)]
    )


def test_anthropic_max_tokens_changes_the_key() -> None:
    model = "claude-haiku-4-5"
    assert key(ANTHROPIC, model=model, max_tokens=100) != key(ANTHROPIC, model=model, max_tokens=200)


PARAMS: dict[str, list[Any]] = {
    "top_p": [0.9, 0.5, 1],
    "stop": [["END"], ["END", "STOP"], "END"],
    "seed": [1, 2, 0],
    "tools": [
        [{"type": "function", "function": {"name": "get_weather", "parameters": {"type": "object"}}}],
        [{"type": "function", "function": {"name": "get_time", "parameters": {"type": "object"}}}],
        [],
    ],
    "response_format": [{"type": "json_object"}, {"type": "text"}, {"type": "json_schema", "json_schema": {}}],
    "logit_bias": [{"50256": -100}, {"50256": 100}, {"50257": -100}],
    "top_k": [40, 1, 0],
    "n": [1, 2, 3],
    "presence_penalty": [0.5, -0.5, 0],
    "frequency_penalty": [0.5, 1.5, 0],
    "reasoning_effort": ["low", "high", "medium"],
}


@pytest.mark.parametrize("name", sorted(PARAMS))
def test_each_body_param_changes_the_key(name: str) -> None:
    keys = [key()] + [key(params={name: value}) for value in PARAMS[name]]
    assert all_different(keys)


def test_two_params_are_not_one() -> None:
    assert key(params={"top_p": 0.9, "seed": 1}) != key(params={"top_p": 0.9})
    assert key(params={"top_p": 0.9, "seed": 1}) == key(params={"seed": 1, "top_p": 0.9})


def test_key_order_inside_a_dict_param_does_not_matter() -> None:
    schema_a = {"type": "json_schema", "json_schema": {"name": "a", "schema": {"type": "object", "required": []}}}
    schema_b = {"json_schema": {"schema": {"required": [], "type": "object"}, "name": "a"}, "type": "json_schema"}
    assert key(params={"response_format": schema_a}) == key(params={"response_format": schema_b})
    assert key(params={"logit_bias": {"1": 5, "2": -5}}) == key(params={"logit_bias": {"2": -5, "1": 5}})
    tool_a = {"type": "function", "function": {"name": "f", "description": "d"}}
    tool_b = {"function": {"description": "d", "name": "f"}, "type": "function"}
    assert key(params={"tools": [tool_a]}) == key(params={"tools": [tool_b]})


def test_order_inside_a_list_param_does_matter() -> None:
    assert key(params={"stop": ["a", "b"]}) != key(params={"stop": ["b", "a"]})


def test_a_whole_number_param_is_the_same_as_its_float_and_a_boolean_is_not_a_number() -> None:
    assert key(params={"top_k": 40}) == key(params={"top_k": 40.0})
    assert key(params={"logprobs": True}) != key(params={"logprobs": 1})
    assert key(params={"seed": 1}) != key(params={"seed": "1"})


@pytest.mark.parametrize("value", [float("nan"), float("inf"), -float("inf"), {"nested": float("nan")}, object()])
def test_a_param_that_is_not_a_json_value_has_no_key(value: object) -> None:
    assert cache_key(PROFILE, request(params={"top_p": value})) is None


def test_stream_is_how_the_answer_travels_not_what_it_says() -> None:
    assert key(stream=True) == key(stream=False)


# -- headers ----------------------------------------------------------------------------------------------------


def test_a_profile_header_changes_the_key() -> None:
    keys = [
        key(PROFILE),
        key(replace(PROFILE, headers={"X-Route": "eu"})),
        key(replace(PROFILE, headers={"X-Route": "us"})),
        key(replace(PROFILE, headers={"X-Other": "eu"})),
    ]
    assert all_different(keys)


def test_a_header_name_is_not_case_sensitive() -> None:
    assert key(replace(PROFILE, headers={"X-Route": "eu"})) == key(replace(PROFILE, headers={"x-route": "eu"}))


def test_anthropic_beta_changes_the_key() -> None:
    model = "claude-haiku-4-5"
    keys = [
        key(ANTHROPIC, model=model),
        key(replace(ANTHROPIC, headers={"anthropic-beta": "prompt-caching-2024-07-31"}), model=model),
        key(replace(ANTHROPIC, headers={"anthropic-beta": "output-128k-2025-02-19"}), model=model),
        key(replace(ANTHROPIC, headers={"anthropic-version": "2099-01-01"}), model=model),
    ]
    assert all_different(keys)


# -- what never matters ---------------------------------------------------------------------------------------------


def test_the_api_key_never_matters_and_never_reaches_the_document() -> None:
    plain = replace(PROFILE, api_key=None)
    with_key = replace(PROFILE, api_key=SECRET, api_key_env="RELAY_KEY", api_key_cmd="pass show relay")
    other_key = replace(PROFILE, api_key="sk-some-other-key-0000000000")
    assert key(plain) == key(with_key) == key(other_key)
    assert SECRET not in document_text(with_key)


@pytest.mark.parametrize(
    "name",
    [
        "Authorization",
        "authorization",
        "x-api-key",
        "X-API-Key",
        "api-key",
        "apikey",
        "X-ApiKey",
        "x-goog-api-key",
        "Ocp-Apim-Subscription-Key",
        "X-Auth-Token",
        "Proxy-Authorization",
        "Cookie",
        "X-Client-Secret",
    ],
)
def test_a_credential_header_never_matters_and_never_reaches_the_document(name: str) -> None:
    for profile in (PROFILE, ANTHROPIC):
        with_secret = replace(profile, headers={name: f"Bearer {SECRET}", "X-Route": "eu"})
        with_other = replace(profile, headers={name: "Bearer sk-other-0000000000000", "X-Route": "eu"})
        without = replace(profile, headers={"X-Route": "eu"})
        assert key(with_secret) == key(with_other) == key(without)
        assert SECRET not in document_text(with_secret)


def test_anthropic_profiles_with_different_keys_share_a_key() -> None:
    model = "claude-haiku-4-5"
    assert key(replace(ANTHROPIC, api_key=SECRET), model=model) == key(ANTHROPIC, model=model)
    assert SECRET not in document_text(replace(ANTHROPIC, api_key=SECRET), model=model)


def test_two_profiles_on_the_same_endpoint_share_a_key() -> None:
    # the answer depends on the endpoint, the headers and the body, not on what the profile is called
    # or how it is billed, retried or timed
    other = Profile(
        name="work",
        base_url=PROFILE.base_url,
        api_key=SECRET,
        default_model="gpt-4.1",
        aliases={"m": "gpt-4.1-mini"},
        timeout=Timeouts(read=5),
        retries=0,
        billing=Billing(currency="CNY"),
        fallback=("relay",),
    )
    assert key(PROFILE) == key(other)
    assert key(replace(other, headers={"X-Route": "eu"})) != key(PROFILE)
