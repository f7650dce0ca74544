"""Client keys: kept as SHA-256 digests or read from the environment, checked against every digest."""

from __future__ import annotations

import pytest

from relaycli.config.serve import ClientKey, hash_key
from relaycli.errors import ConfigError
from relaycli.serve.auth import ClientKeys, presented_key


def test_a_hashed_key_and_an_environment_key_are_both_accepted_by_name() -> None:
    keys = ClientKeys.resolve(
        (ClientKey("alice", sha256=hash_key("alice-secret").removeprefix("sha256:")), ClientKey("ci", env="CI_KEY")),
        {"CI_KEY": "  ci-secret\n"},
    )
    assert keys.required
    assert keys.check("alice-secret") == "alice"
    assert keys.check("ci-secret") == "ci"
    assert keys.check("alice-secret ") is None
    assert keys.check("") is None
    assert keys.check(None) is None


def test_no_keys_means_none_are_required() -> None:
    assert not ClientKeys.resolve((), {}).required


def test_a_key_whose_variable_is_unset_is_a_config_error_naming_it() -> None:
    with pytest.raises(ConfigError, match=r"\$SERVE_KEY"):
        ClientKeys.resolve((ClientKey("ci", env="SERVE_KEY"),), {})


def test_the_key_a_client_presents() -> None:
    assert presented_key({"authorization": "Bearer sk-1"}) == "sk-1"
    assert presented_key({"authorization": "bearer  sk-2 "}) == "sk-2"
    assert presented_key({"x-api-key": "sk-3", "authorization": "Bearer other"}) == "sk-3"
    assert presented_key({"authorization": "Basic abc"}) is None
    assert presented_key({}) is None


def test_hash_key_is_sha256_hex() -> None:
    assert hash_key("abc") == "sha256:ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"
