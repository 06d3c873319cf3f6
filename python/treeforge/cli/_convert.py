"""``treeforge convert``: a model file written as an ONNX model or a treelite checkpoint (``treeforge.export``).

The output is checked before the model is read (writable, not the model file itself) and written
atomically: a failed conversion leaves no file and an existing one untouched. The exporter's package
(onnx, treelite) is imported only here, and its absence is one error line naming the extra to install.
"""

from .._files import atomic_write
from ._commands import check_input_files, check_outputs_writable, refuse_overwriting_inputs
from ._console import CLIError


def _check_exporter(target):
    """CLIError naming the extra to install when the package of ``target`` is missing (before any reading)."""
    if target == "onnx":
        from ..export._onnx import _import_onnx as require
    else:
        from ..export._treelite import _import_builder as require
    try:
        require()
    except ImportError as exc:
        raise CLIError(str(exc)) from None


def _converted(estimator, args):
    """The bytes of the converted model; CLIError for what the format cannot express."""
    from .. import export

    try:
        if args.to == "onnx":
            return export.to_onnx(estimator, ml_opset=args.opset, dtype=args.dtype or "float32").SerializeToString()
        return bytes(export.to_treelite(estimator).serialize_bytes())
    except (NotImplementedError, ValueError) as exc:
        raise CLIError(f"{args.model} cannot be converted to {args.to}: {exc}") from None


def cmd_convert(args, console):
    """``treeforge convert``: MODEL.json to ``--out`` in the format ``--to``."""
    if args.to != "onnx" and (args.opset is not None or args.dtype is not None):
        raise CLIError("--opset and --dtype apply to --to onnx only", exit_code=2)
    refuse_overwriting_inputs({"MODEL.json": args.model}, {"--out": args.out})
    check_input_files([args.model])
    check_outputs_writable([args.out])
    _check_exporter(args.to)
    from .. import load_model  # any model file: written by train or by an estimator's save_model

    estimator = load_model(args.model)
    data = _converted(estimator, args)
    atomic_write(args.out, lambda handle: handle.write(data))
    console.note(f"{args.to} model written to {args.out} ({len(data)} bytes)")
    return 0
