"""The layout's rules, checked on the source: which folders may import httpx, sqlite3, rich and typer,
which modules may see ``AppContext``, and how many modules live loose at the top of the package.

Every import counts, also one inside a function (a lazy import still ties a module to the library).
"""

from __future__ import annotations

import ast
from collections.abc import Iterator
from pathlib import Path

PACKAGE = Path(__file__).resolve().parents[1] / "relaycli"

# library -> the places (a folder ending in "/", or a module) allowed to import it
RULES: dict[str, tuple[str, ...]] = {
    "httpx": ("core/",),
    "sqlite3": ("ledger/", "cache/store.py", "limits/store.py"),
    "psycopg": ("team/store.py",),
    "rich": ("output/", "chat/render.py", "chat/markdown_stream.py", "bench/report.py"),
    "typer": ("cli.py", "commands/"),
    "click": ("cli.py", "commands/"),
    "uvicorn": ("serve/run.py",),  # the HTTP server loads only in `relay serve`
    "httptools": ("core/loop_connection.py",),  # the upstream responses of serve and batch; uvicorn's own
    "greenlet": ("core/bridge.py",),  # the pipeline on an event loop (serve, batch)
}
CONTEXT_ALLOWED = ("context.py", "cli.py", "commands/")
LOOSE_ALLOWED = {
    "__init__.py",
    "__main__.py",
    "entry.py",
    "cli.py",
    "context.py",
    "errors.py",
    "datatypes.py",
    "paths.py",
}


def modules(root: Path) -> Iterator[tuple[str, ast.Module]]:
    for path in sorted(root.rglob("*.py")):
        yield path.relative_to(root).as_posix(), ast.parse(path.read_text(), str(path))


def imported(tree: ast.Module) -> Iterator[tuple[str, int]]:
    """(top-level module name, line) of every import, absolute or relative to relaycli."""
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            for alias in node.names:
                yield alias.name.split(".")[0], node.lineno
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            yield node.module.split(".")[0], node.lineno


def allowed(module: str, places: tuple[str, ...]) -> bool:
    return any(module.startswith(place) if place.endswith("/") else module == place for place in places)


def violations(root: Path) -> list[str]:
    found = []
    for module, tree in modules(root):
        for name, line in imported(tree):
            if name in RULES and not allowed(module, RULES[name]):
                found.append(f"{module}:{line} imports {name} (allowed in {', '.join(RULES[name])})")
        if not allowed(module, CONTEXT_ALLOWED):
            for node in ast.walk(tree):
                if isinstance(node, ast.Name | ast.alias) and "AppContext" in (
                    node.id if isinstance(node, ast.Name) else node.name
                ):
                    found.append(f"{module}:{node.lineno} uses AppContext")
                    break
    return found


def test_libraries_are_imported_only_where_the_layout_allows() -> None:
    assert violations(PACKAGE) == []


def test_the_rules_catch_a_breach(tmp_path: Path) -> None:
    (tmp_path / "usage").mkdir()
    (tmp_path / "usage" / "money.py").write_text("def f():\n    import httpx\n    from rich.text import Text\n")
    (tmp_path / "chat").mkdir()
    (tmp_path / "chat" / "session.py").write_text("from relaycli.context import AppContext\n")
    (tmp_path / "core").mkdir()
    (tmp_path / "core" / "client.py").write_text("import httpx\n")
    (tmp_path / "team").mkdir()
    (tmp_path / "team" / "push.py").write_text("def f():\n    import psycopg\n")
    assert violations(tmp_path) == [
        "chat/session.py:1 uses AppContext",
        "team/push.py:2 imports psycopg (allowed in team/store.py)",
        "usage/money.py:2 imports httpx (allowed in core/)",
        "usage/money.py:3 imports rich (allowed in output/, chat/render.py, chat/markdown_stream.py, bench/report.py)",
    ]


def test_only_the_base_lives_loose_at_the_top() -> None:
    loose = {path.name for path in PACKAGE.glob("*.py")}
    assert loose <= LOOSE_ALLOWED, sorted(loose - LOOSE_ALLOWED)


def test_every_folder_is_a_package() -> None:
    for folder in PACKAGE.rglob("*"):
        if folder.is_dir() and folder.name != "__pycache__" and any(folder.glob("*.py")):
            assert (folder / "__init__.py").exists(), folder
