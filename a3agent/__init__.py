"""a3agent: grammar-constrained tool calling and an image-grounded agent loop for A3-Instruct."""

from a3agent.errors import *  # noqa: F403
from a3agent.errors import __all__ as _error_names

__all__ = [*_error_names]
__version__ = "0.1.0"
