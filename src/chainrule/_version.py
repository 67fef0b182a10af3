"""The version, read from the installed package's metadata (its one home is pyproject.toml)."""

from importlib.metadata import PackageNotFoundError, version

try:
    __version__ = version("chainrule")
except PackageNotFoundError:  # imported from a source tree that was never installed
    __version__ = "0+unknown"
