"""Resolving a profile's API key: ``api_key_env``, then ``api_key_cmd``, then a literal ``api_key``.

Every source is stripped of surrounding whitespace (a pasted key often ends in a line break, which no
HTTP header may carry); ``ResolvedKey.note`` then says so, without the key.
"""

from __future__ import annotations

import os
import re
from collections.abc import Mapping

from relaycli.config.profile import Profile, ResolvedKey
from relaycli.errors import ConfigError, MissingKey

_CONTROL = re.compile(r"[\x00-\x1f\x7f]")
INVISIBLE = " \t\r\n\f\v\u00a0\u200b\u2060\ufeff"  # what a paste leaves around a key


def _clean(raw: str, source: str, profile: Profile) -> tuple[str, str | None]:
    value = raw.strip(INVISIBLE)
    if _CONTROL.search(value) or not value.isascii():
        raise ConfigError(
            f"the API key of profile {profile.name!r} from {source} contains a line break, "
            "control or non-ASCII character (a smart quote?)",
            hint="set it again: one line, nothing else",
        )
    note = None
    if value != raw:
        note = f"removed surrounding whitespace (a line break?) from the API key of profile {profile.name!r} ({source})"
    return value, note


def resolve_key(profile: Profile, env: Mapping[str, str] | None = None) -> ResolvedKey:
    """The profile's API key: api_key_env, then api_key_cmd, then a literal api_key."""
    env = os.environ if env is None else env
    if not profile.needs_key:
        return ResolvedKey(None, "none needed")
    tried = []
    if profile.api_key_env:
        raw = env.get(profile.api_key_env, "")
        if raw.strip(INVISIBLE):
            source = f"env {profile.api_key_env}"
            value, note = _clean(raw, source, profile)
            return ResolvedKey(value, source, note)
        tried.append(f"environment variable {profile.api_key_env} is not set")
    if profile.api_key_cmd:
        output, problem = _run_key_command(profile.api_key_cmd)
        if output is not None:
            source = f"api_key_cmd `{profile.api_key_cmd}`"
            value, note = _clean(output, source, profile)
            return ResolvedKey(value, source, note)
        tried.append(f"api_key_cmd `{profile.api_key_cmd}` {problem}")
    if profile.api_key:
        source = "api_key in the config file"
        value, note = _clean(profile.api_key, source, profile)
        return ResolvedKey(value, source, note)
    if not tried:  # a local server (vLLM, llama.cpp, Ollama) that needs no key
        return ResolvedKey(None, "no key configured")
    if profile.api_key_cmd:
        hint = f"run `{profile.api_key_cmd}` yourself to see why it fails, or set api_key_env"
    else:
        hint = f"export {profile.api_key_env}=..., or add api_key_cmd to [profiles.{profile.name}]"
    raise MissingKey(f"no API key for profile {profile.name!r}: {'; '.join(tried)}", hint=hint)


def _run_key_command(command: str) -> tuple[str | None, str]:
    """The command's first non-empty output line, unstripped (the caller strips and says so)."""
    import subprocess  # only for a profile with api_key_cmd

    try:
        done = subprocess.run(command, shell=True, capture_output=True, text=True, timeout=30, check=False)
    except (OSError, subprocess.TimeoutExpired) as exc:
        return None, f"could not run ({type(exc).__name__})"
    if done.returncode != 0:
        said = done.stderr.strip().splitlines()[-1][:200] if done.stderr.strip() else ""
        return None, f"exited with status {done.returncode}" + (f" ({said})" if said else "")
    lines = [line for line in done.stdout.split("\n") if line.strip()]
    if not lines:
        return None, "printed nothing"
    return lines[0], ""
