"""Entry point: `osint-desktop` and `python -m osint_desktop`."""

from __future__ import annotations

import sys


def main() -> None:
    """Run the command line (or the window) and exit with its code."""
    if getattr(sys, "frozen", False):
        import multiprocessing

        # In the bundle a worker process (feed parsing, "spawn") is this same executable:
        # let it become the worker instead of reading its arguments as a command line.
        multiprocessing.freeze_support()
    from osint_desktop.cli import main as cli_main

    sys.exit(cli_main())


if __name__ == "__main__":
    main()
