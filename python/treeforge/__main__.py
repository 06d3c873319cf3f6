"""``python -m treeforge``: the ``treeforge`` command."""

from .cli import run

if __name__ == "__main__":
    run()
