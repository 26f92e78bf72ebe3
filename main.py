"""DiPS Studio entry point.

``python main.py``             the GUI on the built-in demo project
``python main.py PROJECT``     the GUI on a project
``python main.py COMMAND ...`` a headless stage (``python main.py --help`` lists them)
"""
from __future__ import annotations

import sys


def main(argv: list[str] | None = None) -> int:
    argv = list(sys.argv[1:] if argv is None else argv)
    from core.cli import COMMANDS, unknown_command

    if argv and (argv[0] in COMMANDS or argv[0] in ("-h", "--help")):
        from core.cli import run_cli
        return run_cli(argv)
    if argv and argv[0] == "screenshot":
        from app.screenshot import main as screenshot_main
        return screenshot_main(argv[1:])
    if argv and (error := unknown_command(argv[0])):
        print(error, file=sys.stderr)
        return 2
    from app.launch import run_gui
    return run_gui(argv)


if __name__ == "__main__":
    sys.exit(main())
