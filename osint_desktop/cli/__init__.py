"""The command line: ``main(argv) -> exit code``, one function per subcommand."""

from osint_desktop.cli.main import main

__all__ = ["main"]
