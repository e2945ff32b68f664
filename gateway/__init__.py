"""Email gateway for enterprise communication."""

__version__ = "0.1.0"
