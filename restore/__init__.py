"""restore: turn machine-spun articles back into clean text."""

__version__ = "0.1.0"
