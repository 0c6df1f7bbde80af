"""OSINT Desktop: scheduled open-source-intelligence collection on the desktop."""

__version__ = "0.1.0"
APP_NAME = "OSINT Desktop"
APP_ID = "osint-desktop"
