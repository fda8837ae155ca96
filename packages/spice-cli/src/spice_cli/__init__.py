"""The `spice` command: connect, screenshot, view, serve and demo."""

__version__ = "0.1.0"

__all__ = ["__version__"]
