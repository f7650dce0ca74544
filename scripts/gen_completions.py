"""Generate completions/relay.{bash,zsh,fish} from the Typer app.

    python scripts/gen_completions.py          # rewrite the three files
    python scripts/gen_completions.py --check  # exit 1 if any file is stale

The scripts are static (no Python runs when the user presses Tab) except for the values that depend on
the user's config: profile names after -p/--profile (`relay config profiles --names`), model names
after -m/--model (`relay models --names --offline`: aliases and the price table, no request) and the
profile names inside the setting keys of `relay config set` and `unset`. The keys after `relay cost
--by` (comma-combinable) and the settings' names are written into the scripts.
"""

from __future__ import annotations

import sys
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
OUT = ROOT / "completions"
PROFILE_OPTS = {"-p", "--profile"}
MODEL_OPTS = {"-m", "--model"}
BY_OPTS = {"--by"}
PROFILES = "relay config profiles --names 2>/dev/null"
MODELS = "relay models --names --offline 2>/dev/null"
TABLES = ("aliases", "headers")  # their keys are the user's own names: nothing to offer


def value_kind(names: list[str]) -> str | None:
    """What an option's value is: a profile, a model, the --by keys, or anything."""
    for kind, opts in (("profile", PROFILE_OPTS), ("model", MODEL_OPTS), ("by", BY_OPTS)):
        if set(names) & opts:
            return kind
    return None


PERIODS = ("day", "month")  # --by takes one of them, not both


def _zsh_by() -> list[str]:
    def exclusive(key: str) -> str:
        other = [p for p in PERIODS if p != key]
        return f"'({other[0]}){key}'" if key in PERIODS else key

    return [exclusive(k) for k in by_keys()]


def by_keys() -> list[str]:
    from relaycli.usage.report import DIMENSIONS

    return list(DIMENSIONS)


def setting_keys() -> tuple[list[str], list[str]]:
    """The settings `relay config set` takes: the top-level ones, and those under ``profiles.NAME.``."""
    import dataclasses

    from relaycli.config.checks import PROFILE_KEYS
    from relaycli.config.profile import Billing, Timeouts

    tables = {"timeout": Timeouts, "billing": Billing, "compare_to": Billing}
    per_profile: list[str] = []
    for key in sorted(PROFILE_KEYS - set(TABLES)):
        if key in tables:
            per_profile += [f"{key}.{f.name}" for f in dataclasses.fields(tables[key])]  # type: ignore[arg-type]
        else:
            per_profile.append(key)
    return ["default_profile"], per_profile


@dataclass
class Cmd:
    path: list[str]
    help: str
    options: list[tuple[list[str], str, bool]]  # (names, help, takes a value)
    children: list[Cmd]
    key_argument: bool = False  # its first argument is a setting's name (config set, config unset)


def collect() -> Cmd:
    sys.path.insert(0, str(ROOT))
    import typer

    from relaycli.cli import app

    def walk(command: object, path: list[str]) -> Cmd:
        options = []
        params = command.params  # type: ignore[attr-defined]
        first = next((p for p in params if p.param_type_name == "argument"), None)
        key_argument = path[:1] == ["config"] and first is not None and first.name == "key"
        for param in params:
            if param.param_type_name != "option" or getattr(param, "hidden", False):
                continue
            names = list(param.opts) + list(param.secondary_opts)
            options.append((names, (param.help or "").split("\n")[0], not param.is_flag))
        options.append((["-h", "--help"], "Show help and exit.", False))
        children = []
        if hasattr(command, "list_commands"):
            ctx = typer.Context(command)  # type: ignore[arg-type]
            for name in command.list_commands(ctx):  # type: ignore[attr-defined]
                sub = command.get_command(ctx, name)  # type: ignore[attr-defined]
                if sub is not None and not getattr(sub, "hidden", False):
                    children.append(walk(sub, [*path, name]))
        text = (getattr(command, "short_help", None) or getattr(command, "help", None) or "").strip()
        return Cmd(
            path=path,
            help=text.split("\n")[0].rstrip("."),
            options=options,
            children=children,
            key_argument=key_argument,
        )

    return walk(typer.main.get_command(app), [])


def flatten(cmd: Cmd) -> list[Cmd]:
    return [cmd, *(c for child in cmd.children for c in flatten(child))]


def bash(root: Cmd) -> str:
    cases = []
    for cmd in flatten(root):
        words = [c.path[-1] for c in cmd.children] + [n for names, _, _ in cmd.options for n in names]
        keys = (
            (
                'if (( args == 0 )) && [[ "$cur" != -* ]]; then '
                'COMPREPLY=( $(compgen -W "$(_relay_keys)" -- "$cur") ); return; fi; '
            )
            if cmd.key_argument
            else ""
        )
        cases.append(f'        "{" ".join(cmd.path)}") {keys}words="{" ".join(words)}" ;;')
    top, per_profile = setting_keys()
    paths = "\n".join(
        f'            "{" ".join(c.path)}") path="{" ".join(c.path)}" ;;' for c in flatten(root) if c.path
    )
    return f"""# bash completion for relay (generated by scripts/gen_completions.py; do not edit)
_relay_keys() {{
    local p k
    for k in {" ".join(top)}; do echo "$k"; done
    for p in $({PROFILES}); do
        for k in {" ".join(per_profile)}; do echo "profiles.$p.$k"; done
    done
}}
_relay_by() {{
    local head="" k
    [[ "$cur" == *,* ]] && head="${{cur%,*}},"
    for k in {" ".join(by_keys())}; do
        case ",$head|$k" in  # taken already, or the other period
            *",$k,"*|*",{PERIODS[0]},"*"|{PERIODS[1]}"|*",{PERIODS[1]},"*"|{PERIODS[0]}") ;;
            *) echo "$head$k" ;;
        esac
    done
}}
_relay_models() {{
    relay models --names --offline ${{profile:+-p "$profile"}} 2>/dev/null
}}
_relay() {{
    local cur prev path="" w before="" profile="" args=0
    cur="${{COMP_WORDS[COMP_CWORD]}}"
    prev="${{COMP_WORDS[COMP_CWORD-1]}}"
    for w in "${{COMP_WORDS[@]:1:COMP_CWORD-1}}"; do
        [[ "$before" == "-p" || "$before" == "--profile" ]] && profile="$w"
        before="$w"
        [[ "$w" == -* ]] && continue
        case "${{path:+$path }}$w" in
{paths}
            *) args=$((args + 1)) ;;
        esac
    done
    case "$prev" in
        -p|--profile) COMPREPLY=( $(compgen -W "$({PROFILES})" -- "$cur") ); return ;;
        -m|--model) COMPREPLY=( $(compgen -W "$(_relay_models)" -- "$cur") ); return ;;
        --by) COMPREPLY=( $(compgen -W "$(_relay_by)" -- "$cur") ); return ;;
    esac
    local words=""
    case "$path" in
{chr(10).join(cases)}
    esac
    COMPREPLY=( $(compgen -W "$words" -- "$cur") )
}}
complete -o default -F _relay relay
"""


def _zsh_escape(text: str) -> str:
    return text.replace("'", "'\\''").replace("[", "\\[").replace("]", "\\]").replace(":", "\\:")


ZSH_ACTIONS = {
    "profile": ":profile:_relay_profiles",
    "model": ":model:_relay_models",
    "by": ":keys:_relay_by",
    None: ":value:",
}


def zsh(root: Cmd) -> str:
    functions = []
    for cmd in flatten(root):
        fname = "_relay" + "".join("_" + p.replace("-", "_") for p in cmd.path)
        specs = []
        for names, help_text, takes in cmd.options:
            action = ZSH_ACTIONS[value_kind(names)] if takes else ""
            spec = "{" + ",".join(names) + "}" if len(names) > 1 else names[0]
            specs.append(f"'{spec}[{_zsh_escape(help_text)}]{action}'")
        if cmd.children:
            subs = " ".join(f"'{c.path[-1]}:{_zsh_escape(c.help)}'" for c in cmd.children)
            specs.append("'1:command:->cmd' '*::arg:->args'")
            body = f"""    local -a subcmds; subcmds=({subs})
    _arguments -C {" ".join(specs)}
    case $state in
        cmd) _describe 'command' subcmds ;;
        args) local f="{fname}_${{words[1]//-/_}}"; (( $+functions[$f] )) && $f ;;
    esac"""
        elif cmd.key_argument:
            body = f"    _arguments {' '.join(specs)} '1:key:_relay_keys' '*:value:'"
        else:
            body = f"    _arguments {' '.join(specs)} '*:file:_files'"
        functions.append(f"{fname}() {{\n{body}\n}}")
    top, per_profile = setting_keys()
    return f"""#compdef relay
# zsh completion for relay (generated by scripts/gen_completions.py; do not edit)
_relay_profiles() {{
    local -a profiles; profiles=(${{(f)"$({PROFILES})"}})
    _describe 'profile' profiles
}}
_relay_models() {{
    local -a models; models=(${{(f)"$({MODELS})"}})
    compadd -a models
}}
_relay_by() {{
    _values -s , 'grouping' {" ".join(_zsh_by())}
}}
_relay_keys() {{
    local -a keys; keys=({" ".join(top)})
    local p k
    for p in ${{(f)"$({PROFILES})"}}; do
        for k in {" ".join(per_profile)}; do keys+=("profiles.$p.$k"); done
    done
    compadd -a keys
}}
{chr(10).join(functions)}
compdef _relay relay
"""


FISH_VALUES = {"profile": f"({PROFILES})", "model": f"({MODELS})", "by": "(__relay_by)"}


def fish(root: Cmd) -> str:
    top, per_profile = setting_keys()
    lines = [
        "# fish completion for relay (generated by scripts/gen_completions.py; do not edit)",
        "complete -c relay -f",
        "function __relay_by",
        "    set -l tok (commandline -ct)",
        "    set -l head (string match -r '^.*,' -- \"$tok\")",
        f"    for k in {' '.join(by_keys())}",
        '        set -l taken (string split , -- "$head")',
        "        contains -- $k $taken; and continue",
        f"        contains -- {PERIODS[0]} $taken; and test $k = {PERIODS[1]}; and continue",
        f"        contains -- {PERIODS[1]} $taken; and test $k = {PERIODS[0]}; and continue",
        "        echo $head$k",
        "    end",
        "end",
        "function __relay_keys",
        f"    printf '%s\\n' {' '.join(top)}",
        f"    for p in ({PROFILES})",
        f"        for k in {' '.join(per_profile)}",
        "            echo profiles.$p.$k",
        "        end",
        "    end",
        "end",
    ]
    for cmd in flatten(root):
        if not cmd.path:
            cond = "__fish_use_subcommand"
        else:
            cond = " && ".join(f"__fish_seen_subcommand_from {p}" for p in cmd.path)
        for child in cmd.children:
            lines.append(f"complete -c relay -n '{cond}' -a {child.path[-1]} -d '{child.help.replace(chr(39), '')}'")
        for names, help_text, takes in cmd.options:
            flags = " ".join(f"-s {n[1:]}" if len(n) == 2 else f"-l {n[2:]}" for n in names)
            extra = " -r" if takes else ""
            kind = value_kind(names) if takes else None
            if kind is not None:
                extra += f" -a '{FISH_VALUES[kind]}'"
            lines.append(f"complete -c relay -n '{cond}' {flags}{extra} -d '{help_text.replace(chr(39), '')}'")
        if cmd.key_argument:
            first = f"test (count (commandline -opc)) -eq {len(cmd.path) + 1}"
            lines.append(f"complete -c relay -n '{cond} && {first}' -a '(__relay_keys)' -d setting")
    return "\n".join(lines) + "\n"


def render() -> dict[str, str]:
    root = collect()
    return {"relay.bash": bash(root), "relay.zsh": zsh(root), "relay.fish": fish(root)}


def main(argv: list[str]) -> int:
    files = render()
    if "--check" in argv:
        stale = [n for n, text in files.items() if not (OUT / n).exists() or (OUT / n).read_text() != text]
        if stale:
            print(f"stale completions: {', '.join(stale)}; run python scripts/gen_completions.py")
            return 1
        print("completions are current")
        return 0
    OUT.mkdir(exist_ok=True)
    for name, text in files.items():
        (OUT / name).write_text(text)
        print(f"wrote completions/{name}")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
