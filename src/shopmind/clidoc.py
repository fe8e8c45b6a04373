"""Write the command-line reference (docs/cli.md) from the Typer app itself.

``python -m shopmind.clidoc docs/cli.md`` regenerates it; a test fails when it drifts.
"""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Any

import typer

HEADER = """# Command-line reference

Generated from the code by `python -m shopmind.clidoc docs/cli.md`; do not edit by hand.
Every command takes the global `--workspace DIR` option (default: the current folder,
or `SHOPMIND_WORKSPACE`).
"""


def _param_line(param: Any) -> str:
    if param.param_type_name == "argument":
        text = f"- `{param.name.upper()}` (argument)"
        return f"{text}: {param.help}" if param.help else text
    names = " / ".join(f"`{o}`" for o in [*param.opts, *param.secondary_opts])
    text = f"- {names}"
    if param.help:
        text += f": {param.help}"
    default = param.default
    if default is not None and default is not False and default not in ((), []):
        text += f" (default: `{default}`)"
    return text


def _walk(cmd: Any, path: list[str]) -> list[str]:
    lines: list[str] = []
    if hasattr(cmd, "commands"):
        if path:
            lines += [f"## `{' '.join(path)}`", "", (cmd.help or "").strip(), ""]
        for name in sorted(cmd.commands):
            lines += _walk(cmd.commands[name], [*path, name])
        return lines
    lines += [f"### `shopmind {' '.join(path)}`", "", (cmd.help or "").strip(), ""]
    params = [p for p in cmd.params if p.name not in ("help",)]
    lines += [_param_line(p) for p in params]
    return [*lines, ""]


def render() -> str:
    from shopmind.cli import app

    root = typer.main.get_command(app)
    lines = [HEADER, "## Global options", ""]
    lines += [_param_line(p) for p in root.params if p.name != "help"]
    lines += ["", "## Commands", ""]
    lines += _walk(root, [])
    return "\n".join(lines).rstrip() + "\n"


def main(argv: list[str]) -> None:
    Path(argv[0] if argv else "docs/cli.md").write_text(render(), encoding="utf-8")


if __name__ == "__main__":  # pragma: no cover
    main(sys.argv[1:])
