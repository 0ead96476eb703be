"""Rumorsim: a simulator of viral spread and rumors on social networks."""

from importlib.metadata import PackageNotFoundError, version as _version

try:
    __version__ = _version("rumorsim")
except PackageNotFoundError:  # running from a source tree that is not installed
    __version__ = "0.1.0+source"
