"""Copy text to the system clipboard with the platform's own tool, when there is one."""

from __future__ import annotations

import shutil
import subprocess
import sys
from collections.abc import Callable, Mapping

# (tool, arguments, what must be true of the environment for it to work)
TOOLS: tuple[tuple[str, tuple[str, ...], Callable[[Mapping[str, str]], bool]], ...] = (
    ("pbcopy", (), lambda env: sys.platform == "darwin"),
    ("wl-copy", (), lambda env: bool(env.get("WAYLAND_DISPLAY"))),
    ("xclip", ("-selection", "clipboard"), lambda env: bool(env.get("DISPLAY"))),
    ("xsel", ("--clipboard", "--input"), lambda env: bool(env.get("DISPLAY"))),
    ("clip.exe", (), lambda env: True),  # Windows and WSL
)

NO_CLIPBOARD = (
    "no clipboard found (relay uses pbcopy, wl-copy, xclip, xsel or clip.exe); "
    "/save FILE writes the conversation to a file instead"
)


def copy(
    text: str,
    env: Mapping[str, str],
    *,
    which: Callable[[str], str | None] = shutil.which,
    run: Callable[..., object] = subprocess.run,
) -> str | None:
    """Copy ``text``; the name of the tool that did it, or ``None`` when no tool is available or all failed."""
    for tool, args, usable in TOOLS:
        path = which(tool)
        if path is None or not usable(env):
            continue
        try:
            run(
                [path, *args],
                input=text.encode(),
                check=True,
                timeout=5,
                stdout=subprocess.DEVNULL,
                stderr=subprocess.DEVNULL,
            )
        except (OSError, subprocess.SubprocessError):
            continue
        return tool
    return None
