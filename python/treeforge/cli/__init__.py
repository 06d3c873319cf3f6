"""The ``treeforge`` command (``treeforge.cli:main``, also run by ``python -m treeforge``)."""

from ._commands import main

__all__ = ["main"]
