"""gridhub: links a county's department systems into one unified grid model."""

__version__ = "0.1.0"
