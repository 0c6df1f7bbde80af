"""Exit codes of the command line: success, the command ran and failed, invalid arguments."""

EXIT_OK, EXIT_FAILED, EXIT_USAGE = 0, 1, 2
