"""Entry point: `osint-desktop` and `python -m osint_desktop`."""

from __future__ import annotations

import sys


def main() -> None:
    """Run the command line (or the window) and exit with its code."""
    from osint_desktop.cli import main as cli_main

    sys.exit(cli_main())


if __name__ == "__main__":
    main()
