"""BIZRA Desktop: local LLM chat that routes every prompt to the right model tier."""

from importlib.metadata import PackageNotFoundError, version

try:
    __version__ = version("bizra-desktop")
except PackageNotFoundError:  # running from a source tree that was never installed
    __version__ = "0.0.0"
