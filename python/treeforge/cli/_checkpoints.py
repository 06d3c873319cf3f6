"""Resumable training: checkpoints written during ``train``, the fingerprint of their data, ``--resume``
and the message after Ctrl-C."""

import hashlib
import os

import numpy as np

from ._console import CLIError
from ._estimators import MODELS, load_model_file, parse_value

# Options a checkpoint stores; `train --resume` restores them (DATA and --valid may be given anew).
_RESUMED_OPTIONS = ("data", "target", "model", "task", "valid", "valid_fraction", "ignore", "weight",
                    "categorical", "params", "seed", "delimiter", "na_values")
# Options added since (issue #28), with the value a checkpoint written before them stands for.
_LATER_RESUMED_OPTIONS = {"keep_index_column": False, "decimal": None, "no_header": False, "columns": None}


class Checkpointer:
    """Saves ``progress.snapshot()`` with ``metadata`` to ``path`` every ``every`` iterations, atomically.

    No checkpoint is written after the last iteration: the model file is written instead.
    """

    def __init__(self, path, every, metadata):
        self.path, self.every, self.metadata = path, every, metadata
        self.last_iter = None
        self._file_before = self._file_identity()

    def _file_identity(self):
        try:
            status = os.stat(self.path)
        except OSError:
            return None
        return status.st_ino, status.st_mtime_ns

    def has_written(self):
        """Whether this run wrote the checkpoint file (Ctrl-C may land between the rename and ``last_iter``)."""
        return self.last_iter is not None or self._file_identity() not in (None, self._file_before)

    def __call__(self, progress):
        if self.every and progress.n_iter % self.every == 0 and not progress.is_last:
            from ..ensemble._model_io import save_model

            save_model(progress.snapshot(), self.path, metadata=self.metadata)
            self.last_iter = progress.n_iter


def _fingerprint(*arrays):
    """SHA-256 of the arrays' contents: a checkpoint continues only on the data it was trained on."""
    digest = hashlib.sha256()
    for array in arrays:
        if array is None:
            digest.update(b"none")
        elif array.dtype == object:
            digest.update("\x1f".join(map(str, array)).encode())
        else:
            digest.update(np.ascontiguousarray(array).tobytes())
    return digest.hexdigest()


def apply_checkpoint(args):
    """Load ``--resume`` and put the training options it stores into ``args``; returns (estimator, meta)."""
    estimator, meta = load_model_file(args.resume)
    if "checkpoint" not in meta:
        raise CLIError(f"{args.resume} is a model file, not a checkpoint written by --checkpoint-every")
    for option in ("target", "valid_fraction", "ignore", "weight", "categorical", "seed", "delimiter",
                   "na_values", "config", "demo", "early_stopping", *_LATER_RESUMED_OPTIONS):
        if getattr(args, option) not in (None, False, []):
            raise CLIError(f"--{option.replace('_', '-')} cannot be changed when resuming: the checkpoint keeps it")
    changed = [item.partition("=")[0] for item in args.params or () if item.partition("=")[0] != "max_iter"]
    if changed:
        raise CLIError(f"--param {changed[0]} cannot be changed when resuming (max_iter can)")
    checkpoint = meta["checkpoint"]
    stored = checkpoint.get("options") if isinstance(checkpoint, dict) else None
    needed = (*_RESUMED_OPTIONS, "out")
    if not isinstance(stored, dict) or any(option not in stored for option in needed) \
            or "fingerprint" not in checkpoint:
        raise CLIError(f"{args.resume}: the checkpoint's metadata is incomplete (the file was edited?)")
    if stored["model"] not in MODELS or not isinstance(stored["params"], dict):
        raise CLIError(f"{args.resume}: the checkpoint's metadata names an unknown model or bad parameters")
    max_iter = [parse_value(item.partition("=")[2]) for item in args.params or ()]
    for option in _RESUMED_OPTIONS:
        if not (option in ("data", "valid") and getattr(args, option)):
            setattr(args, option, stored[option])
    for option, default in _LATER_RESUMED_OPTIONS.items():
        setattr(args, option, stored.get(option, default))
    if max_iter:
        args.params = {**args.params, "max_iter": max_iter[-1]}
    if args.threads is not None:
        args.params = {**args.params, "n_jobs": args.threads}
    args.out = args.out or stored["out"]
    args.checkpoint = args.checkpoint or args.resume
    return estimator, meta


def make_checkpointer(args, meta, train, valid, held_out, stored):
    """The run's Checkpointer, its metadata holding all that a resumed run needs; a resumed run's
    data must be the checkpoint's (same fingerprint)."""
    fingerprint = _fingerprint(*train, *(valid or (None,) * len(train)))
    if stored and fingerprint != stored["fingerprint"]:
        raise CLIError(f"the data differ from the data the checkpoint {args.resume} was trained on")
    options = {option: getattr(args, option) for option in (*_RESUMED_OPTIONS, *_LATER_RESUMED_OPTIONS)}
    options.update(task=meta["task"], out=os.path.abspath(args.out), data=os.path.abspath(args.data),
                   valid=args.valid and os.path.abspath(args.valid))
    checkpoint = {"options": options, "fingerprint": fingerprint, "valid_rows": held_out}
    return Checkpointer(args.checkpoint, args.checkpoint_every, {"cli": {**meta, "checkpoint": checkpoint}})


def interruption_error(args, progress, checkpointer):
    """The CLIError (exit code 130) after Ctrl-C: nothing written, and how to resume."""
    done = f" after {progress.last_iter} iterations" if progress.last_iter else ""
    if checkpointer is not None and (checkpointer.has_written() or args.resume):
        return CLIError(f"interrupted{done}: no model written; the checkpoint {checkpointer.path} is valid, "
                        f"continue with: treeforge train --resume {checkpointer.path}", exit_code=130)
    hint = " (--checkpoint-every N makes training resumable)" if args.model == "gbdt" else ""
    return CLIError(f"interrupted{done}: no model written{hint}", exit_code=130)
