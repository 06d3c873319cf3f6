"""The package version, in a module of its own so that any module may import it without importing the
package's estimators (``treeforge/__init__.py`` imports them on first use)."""

__version__ = "0.1.0"
