"""The web console for data stewards and township grid offices (zh-CN), mounted at ``/console``."""

from hub.console.app import PREFIX, create_console

__all__ = ["PREFIX", "create_console"]
