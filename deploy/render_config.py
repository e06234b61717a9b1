"""Render a deploy/ template (``${NAME}`` placeholders) from the environment: render_config.py TEMPLATE OUTPUT.

A placeholder with no variable stops with an error naming it, rather than writing a config
with a hole in it. Standard library only: it runs before anything of Hangar's is installed.
"""

from __future__ import annotations

import os
import string
import sys
from pathlib import Path


def render(template: str, environment: dict[str, str]) -> str:
    return string.Template(template).substitute(environment)


def main(argv: list[str]) -> int:
    if len(argv) != 3:
        print(f"usage: {argv[0]} TEMPLATE OUTPUT", file=sys.stderr)
        return 2
    try:
        text = render(Path(argv[1]).read_text(), dict(os.environ))
    except KeyError as exc:
        print(f"{argv[1]}: set {exc.args[0]} in the environment", file=sys.stderr)
        return 1
    Path(argv[2]).write_text(text)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
