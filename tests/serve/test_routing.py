"""Which profile a model name reaches: routes in order, then aliases, then the default profile."""

from __future__ import annotations

from relaycli.config.profile import Profile
from relaycli.serve.routing import Routes


def _profile(name: str, protocol: str = "openai", **aliases: str) -> Profile:
    return Profile(name=name, base_url=f"http://{name}.test/v1", protocol=protocol, aliases=aliases)


PROFILES = {
    "main": _profile("main", fast="gpt-4.1-mini"),
    "claude": _profile("claude", "anthropic", sonnet="claude-sonnet-4-5"),
    "local": _profile("local", quick="llama3"),
}


def test_routes_are_tried_in_the_order_written() -> None:
    routes = Routes((("claude-haiku-*", "local"), ("claude-*", "claude")), PROFILES, PROFILES["main"])
    assert routes.pick("claude-haiku-4-5") == (PROFILES["local"], "route claude-haiku-*")
    assert routes.pick("claude-sonnet-4-5") == (PROFILES["claude"], "route claude-*")


def test_an_alias_picks_its_profile_and_anything_else_the_default() -> None:
    routes = Routes((), PROFILES, PROFILES["main"])
    assert routes.pick("sonnet") == (PROFILES["claude"], "alias")
    assert routes.pick("quick") == (PROFILES["local"], "alias")
    assert routes.pick("fast") == (PROFILES["main"], "alias")
    assert routes.pick("gpt-5") == (PROFILES["main"], "default")


def test_the_default_profiles_alias_wins_over_another_profiles() -> None:
    profiles = {**PROFILES, "other": _profile("other", fast="something-else")}
    routes = Routes((), profiles, profiles["main"])
    assert routes.pick("fast")[0].name == "main"


def test_patterns_match_the_whole_name_case_sensitively() -> None:
    routes = Routes((("gpt-?", "local"),), PROFILES, PROFILES["main"])
    assert routes.pick("gpt-5")[0].name == "local"
    assert routes.pick("gpt-55")[0].name == "main"
    assert routes.pick("GPT-5")[0].name == "main"


def test_reachable_profiles_start_with_the_default() -> None:
    routes = Routes((("claude-*", "claude"), ("x", "claude"), ("l*", "local")), PROFILES, PROFILES["main"])
    assert [p.name for p in routes.profiles()] == ["main", "claude", "local"]
