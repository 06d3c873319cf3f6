"""The ``treeforge`` command: train, cv, predict, eval and info on CSV files (arguments, progress, checkpoints,
saving).

CSV reading lives in ``_csv`` and the column rules in ``_tabular``; the estimators do all the training. Model
files keep the feature names, target, task, categories and ignored columns in their metadata, so
``predict`` and ``eval`` match columns by name. Errors are one line on stderr with exit code 1
(2 for a misused option, 130 after Ctrl-C); ``TREEFORGE_TRACEBACK=1`` shows the traceback instead.

The modules here are private: ``_main`` (arguments, dispatch, exit codes), ``_train`` (train, its
early stopping said and summarised), ``_cv`` (cross-validation), ``_commands`` (predict, eval, the
checks the commands share), ``_info`` (info), ``_metrics`` (the metrics printed), ``_estimators``
(``--model``, parameters, model files read back), ``_checkpoints`` (checkpoints and ``--resume``),
``_console`` (messages, progress bar, ``CLIError``), ``_csv`` (CSV files: delimiter and decimal mark,
reading, reading errors) and ``_tabular`` (the column rules: columns to features, target and
weights). Plots come from ``treeforge.plotting``.
"""

from ._main import main, run

__all__ = ["main", "run"]
