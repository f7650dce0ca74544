"""``relay config``: init, show, paths, profiles, set, unset, forget-quirks."""

from __future__ import annotations

import json
from typing import TYPE_CHECKING

import typer

if TYPE_CHECKING:
    from relaycli.context import AppContext

app = typer.Typer(
    help="Create, inspect and change the config file.",
    no_args_is_help=True,
    add_completion=False,
    rich_markup_mode=None,
)


@app.command("init")
def init(force: bool = typer.Option(False, "--force", help="Replace an existing file.")) -> None:
    """Write a commented starter config (an OpenAI-compatible relay and Anthropic direct)."""
    from relaycli.config import edit as config_edit
    from relaycli.context import AppContext

    ctx = AppContext()
    config_edit.init(ctx.paths.config, force=force)
    ctx.stdout.write(f"wrote {ctx.paths.config}\n")
    ctx.note("next: export RELAY_API_KEY=..., edit base_url, then `relay config show`")


@app.command("paths")
def paths(json_out: bool = typer.Option(False, "--json", help="Print one JSON document.")) -> None:
    """Where the config file, the usage ledger and the response cache live."""
    from relaycli.context import AppContext

    ctx = AppContext()
    p = ctx.paths
    data = {"config": str(p.config), "ledger": str(p.ledger), "cache": str(p.cache), "source": p.config_source}
    if json_out:
        ctx.stdout.write(json.dumps(data) + "\n")
        return
    for name in ("config", "ledger", "cache"):
        ctx.stdout.write(f"{name:<7} {data[name]}\n")


@app.command("profiles")
def profiles(
    json_out: bool = typer.Option(False, "--json", help="Print one JSON document."),
    names: bool = typer.Option(False, "--names", help="Only the names, one per line (for completion)."),
) -> None:
    """List the profiles: built-in ones and those in the config file."""
    from relaycli.config.show import profile_rows
    from relaycli.context import AppContext

    ctx = AppContext()
    rows = profile_rows(ctx.settings, ctx.env)
    if names:
        ctx.stdout.write("".join(f"{r['name']}\n" for r in rows))
    elif json_out:
        ctx.stdout.write(json.dumps({"profiles": rows}) + "\n")
    else:
        from relaycli.output.tables import table

        table(
            ctx.stdout,
            isatty=ctx.stdout_isatty,
            title=None,
            columns=["", "profile", "protocol", "base_url", "model", "key"],
            rows=[
                [
                    "*" if r["default"] else "",
                    r["name"],
                    r["protocol"],
                    r["base_url"],
                    r["default_model"] or "-",
                    r["key"],
                ]
                for r in rows
            ],
        )


@app.command("show")
def show(
    profile: str | None = typer.Option(None, "-p", "--profile", help="Only this profile."),
    json_out: bool = typer.Option(False, "--json", help="Print one JSON document."),
) -> None:
    """Every setting with its value and where it came from. Keys are masked."""
    from relaycli.config.show import settings_rows
    from relaycli.context import AppContext

    ctx = AppContext()
    if profile is not None:
        ctx.profile(profile)  # an unknown name is a config error, not an empty listing
    rows = settings_rows(ctx.settings, ctx.env, only=profile, learned=ctx.quirks.learned(), live=_live(ctx, profile))
    if json_out:
        ctx.stdout.write(json.dumps({"config": str(ctx.settings.path), "settings": rows}) + "\n")
        return
    from relaycli.output.tables import table

    exists = "" if ctx.settings.exists else " (not created yet: `relay config init`)"
    ctx.stdout.write(f"# {ctx.settings.path}{exists}\n")
    table(
        ctx.stdout,
        isatty=ctx.stdout_isatty,
        title=None,
        columns=["setting", "value", "source"],
        rows=[[r["key"], r["value"], r["source"]] for r in rows],
    )


def _live(ctx: AppContext, only: str | None) -> dict[str, list[tuple[str, str]]]:
    """Each profile's limits and circuit as they are now (from ``limits.db``, which a look never creates)."""
    from relaycli.limits.status import circuit_text, limits_text, look

    profiles = [p for name, p in sorted(ctx.settings.profiles.items()) if only is None or name == only]
    return {
        status.profile.name: [("limits.left", limits_text(status)), ("circuit", circuit_text(status))]
        for status in look(ctx.limits_path, profiles)
    }


@app.command("set")
def set_(
    key: str = typer.Argument(..., help="default_profile, profiles.NAME.KEY[.SUBKEY] or prices.MODEL.KEY"),
    value: str = typer.Argument(..., help='A TOML value (3, 1.5, true, ["a"]) or plain text.'),
) -> None:
    """Change one setting in the config file, keeping its comments; the result is checked first."""
    from relaycli.config import edit as config_edit
    from relaycli.config.show import shown_edit
    from relaycli.context import AppContext

    ctx = AppContext()
    line = config_edit.set_value(ctx.paths.config, key, value)
    ctx.note(f"{ctx.paths.config}: {shown_edit(key, line)}")


@app.command("unset")
def unset(
    key: str = typer.Argument(..., help="default_profile, profiles.NAME.KEY[.SUBKEY], prices.MODEL[.KEY] or a table"),
) -> None:
    """Remove one setting (or one table) from the config file, keeping its comments; the result is checked first."""
    from relaycli.config import edit as config_edit
    from relaycli.context import AppContext

    ctx = AppContext()
    removed = config_edit.unset_value(ctx.paths.config, key)
    ctx.note(f"{ctx.paths.config}: removed {removed}")


@app.command("forget-quirks")
def forget_quirks(
    profile: str | None = typer.Option(None, "-p", "--profile", help="Only this profile (else all)."),
) -> None:
    """Forget what relay learned about endpoints (e.g. that one rejects stream_options)."""
    from relaycli.context import AppContext

    ctx = AppContext()
    if profile is not None:
        ctx.profile(profile)
    names = ctx.quirks.forget(profile)
    if names:
        ctx.note(f"forgot what was learned about {', '.join(names)}")
    else:
        ctx.note("nothing learned to forget" + (f" about {profile}" if profile else ""))
