"""The console script and `python -m milsetctl`: `milsetctl --version` answered before the CLI is imported.

The command line (milsetctl/cli.py) is a typer app: importing typer, rich and the app's 40 commands takes ~0.1 s
before any command runs. `--version` alone needs none of it (issue 18: the quick commands answer at once); every
other command line goes to cli.main unchanged.
"""

from __future__ import annotations

import sys


def main() -> None:
    if sys.argv[1:] == ["--version"]:  # what the CLI's own --version prints, to the same stream
        from milsetctl import __version__

        try:
            sys.stdout.write(f"milsetctl {__version__}\n")
            sys.stdout.flush()
        except BrokenPipeError:  # `milsetctl --version | true`: the reader has gone, as cli.main treats it
            import os

            os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return
    from milsetctl.cli import main as cli_main

    cli_main()


if __name__ == "__main__":
    main()
