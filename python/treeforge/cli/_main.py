"""The ``treeforge`` argument parser and ``main``: parse, run a command, turn errors into one line and an exit code.

A command's module is imported when it runs: ``--help`` imports neither NumPy nor pyarrow, and
nothing but ``train``, ``cv``, ``predict``, ``eval``, ``explain``, ``convert`` and ``info --importance shap``
imports scikit-learn (``tests/test_layout.py``); only ``convert`` imports onnx or treelite.
"""

import argparse
import os
import sys

from .. import __version__
from ..datasets import DEMO_MODEL_PATH
from ._console import CLIError, Console
from ._csv import MISSING_MARKERS
from ._estimators import MODELS

TASKS = ("auto", "regression", "binary", "multiclass", "ranking")
EARLY_STOPPING_MODES = ("on", "off", "auto")


class _HelpFormatter(argparse.RawDescriptionHelpFormatter):
    """Appends each option's default to its help, unless the help already states it."""

    def _get_help_string(self, action):
        text = action.help or ""
        has_default = action.default not in (None, False, [], argparse.SUPPRESS)
        if "default" not in text and action.option_strings and has_default:
            text += " (default: %(default)s)"
        return text


def _delimiter(text):
    text = {"\\t": "\t", "tab": "\t"}.get(text, text)
    if len(text) != 1:
        raise argparse.ArgumentTypeError(f"a delimiter is one character (or 'tab'), got {text!r}")
    return text


def _column_names(text):
    names = [name.strip() for name in text.split(",")]
    if not all(names):
        raise argparse.ArgumentTypeError(f"--columns takes names separated by commas, none empty; got {text!r}")
    return names


def _precision(text):
    digits = int(text)
    if not 1 <= digits <= 15:
        raise argparse.ArgumentTypeError(f"--precision takes 1 to 15 significant digits, got {digits}")
    return digits


def _add_reading_options(parser):
    parser.add_argument("--format", choices=("csv", "parquet", "libsvm"),
                        help="the data files' format (default: by extension: .parquet/.pq Parquet, "
                             ".svm/.libsvm/.svmlight LibSVM with target 'label' and features f0, f1, ...; else CSV)")
    parser.add_argument("--delimiter", type=_delimiter, metavar="CHAR",
                        help="field delimiter; 'tab' for tabs (default: sniffed among , ; tab |)")
    parser.add_argument("--decimal", choices=(".", ","), metavar="{.|,}",
                        help="decimal mark of numbers (default: '.', or ',' when a ';'-separated file writes "
                             "its numbers with decimal commas, with a note)")
    parser.add_argument("--no-header", action="store_true",
                        help="the first line is data: columns are named column_0, column_1, ... (or by --columns)")
    parser.add_argument("--columns", type=_column_names, metavar="A,B,...",
                        help="names of the columns of a file without a header line (implies --no-header)")
    parser.add_argument("--na-values", nargs="+", action="extend", default=[], metavar="TOKEN",
                        help="extra missing-value markers, besides "
                             + ", ".join(repr(marker) for marker in MISSING_MARKERS))


def _add_model_command(commands, name, summary, description, data_help):
    """A sub-command taking MODEL.json and DATA.csv (predict, eval), with the reading options."""
    parser = commands.add_parser(name, help=summary, description=description, formatter_class=_HelpFormatter)
    parser.set_defaults(command=name)
    parser.add_argument("model", metavar="MODEL.json", help="model file written by treeforge train")
    parser.add_argument("data", metavar="DATA.csv", help=data_help)
    _add_reading_options(parser)
    parser.add_argument("--quiet", action="store_true", help="no notes")
    return parser


_TRAIN_EPILOG = """\
columns:
  A column of numbers is a numeric feature; a column of text is categorical (split on sets of its
  values, which the model stores; at predict time an unseen value is missing, with a warning), unless
  90% of its values are numbers: then the others are an error naming their line and column (add
  the token to --na-values or pass --categorical COL). A column with no name in the header, or
  one holding the row numbers, is an index and is left out with a note (--keep-index-column keeps
  it); predict skips it too. A text or boolean target holds class labels; rows with a missing
  target are dropped. --task auto infers regression, binary or multiclass from the target and
  says what it inferred.

examples:
  treeforge train --demo
  treeforge train data.csv --target price --ignore id --param max_iter=300 learning_rate=0.05
  treeforge train data.csv --target churned --valid-fraction 0.2 --checkpoint-every 50
  treeforge train --resume model.checkpoint.json
  treeforge train data.tsv --delimiter tab --no-header --target column_0 --early-stopping off
"""


def _folds(text):
    try:
        folds = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"--folds takes a whole number of folds, 2 or more; got {text!r}") from None
    if folds < 2:
        raise argparse.ArgumentTypeError(f"cross-validation needs 2 or more folds, got {folds}")
    return folds


def _add_training_options(parser, early_stopping_help):
    """The options that say what to train on what (train, cv): target, model, task, columns, parameters."""
    parser.add_argument("--target", metavar="COL", help="the column to predict (required)")
    parser.add_argument("--model", choices=sorted(MODELS), default="gbdt",
                        help="gradient boosting, random forest or AdaBoost")
    parser.add_argument("--task", choices=TASKS, default="auto",
                        help="what the target is; auto infers it (ranking with --group)")
    parser.add_argument("--group", metavar="COL",
                        help="ranking: the column of query ids (rows of one query share it, in any order); the "
                             "target holds relevance labels 0..31")
    parser.add_argument("--early-stopping", choices=EARLY_STOPPING_MODES, help=early_stopping_help)
    parser.add_argument("--ignore", nargs="+", action="extend", default=[], metavar="COL",
                        help="columns that are not features (ids, leaks); also ignored by predict")
    parser.add_argument("--keep-index-column", action="store_true",
                        help="keep index columns as features: a column with no name in the header (the row index "
                             "DataFrame.to_csv writes) or one holding the row numbers 0..n-1 or 1..n, which are "
                             "otherwise left out with a note")
    parser.add_argument("--weight", metavar="COL", help="column of sample weights (default: none)")
    parser.add_argument("--categorical", nargs="+", action="extend", default=[], metavar="COL",
                        help="columns encoded as categories even if they hold numbers")
    parser.add_argument("--param", nargs="+", action="extend", dest="params", metavar="KEY=VALUE",
                        help="estimator parameters, named as in the estimator (max_iter, learning_rate, ...)")
    parser.add_argument("--config", metavar="FILE.toml", help="TOML file of parameters; --param overrides it")
    parser.add_argument("--threads", type=int, metavar="N", help="threads (default: all cores); no effect on the model")
    _add_reading_options(parser)


def _add_train_command(commands):
    train = commands.add_parser("train", help="train a model on a CSV file", formatter_class=_HelpFormatter,
                                description="Train a model on a CSV file and save it.", epilog=_TRAIN_EPILOG)
    train.set_defaults(command="train")
    train.add_argument("data", nargs="?", metavar="DATA.csv", help="training data (CSV, optionally gzip-compressed)")
    _add_training_options(train, "gbdt: stop when the validation score has not improved for n_iter_no_change "
                                 "iterations; auto: on with a validation set or above 10000 rows, where "
                                 "validation_fraction of the rows is held out (default: auto; --model rf and "
                                 "adaboost never stop early and refuse on)")
    train.add_argument("--valid", metavar="VALID.csv", help="validation data: scores each iteration, held-out metrics")
    train.add_argument("--valid-fraction", type=float, metavar="F",
                       help="hold out this fraction of DATA as validation data (default: none; 0.2 with --demo)")
    train.add_argument("--out", metavar="MODEL.json",
                       help=f"model file (default: model.json; {DEMO_MODEL_PATH} with --demo)")
    train.add_argument("--seed", type=int, metavar="N", help="random seed: same seed, same model (default: 0)")
    train.add_argument("--checkpoint-every", type=int, default=0, metavar="N",
                       help="write a resumable checkpoint every N iterations (gbdt; default: 0, never)")
    train.add_argument("--checkpoint", metavar="PATH",
                       help="checkpoint file (default: MODEL.checkpoint.json beside --out)")
    train.add_argument("--resume", metavar="CHECKPOINT",
                       help="continue from a checkpoint to the requested iterations (--param max_iter=N to change)")
    train.add_argument("--plot", metavar="FILE.png", help="draw the learning curve and importances (needs matplotlib)")
    train.add_argument("--demo", action="store_true", help="train on the dataset shipped with treeforge")
    train.add_argument("--quiet", action="store_true", help="no progress bar and no notes")


_CV_EPILOG = """\
The data are read as train reads them (the same column rules and options). Each fold's model is
fitted on the other folds' rows and scored on its own; no model is written. Folds are stratified
by class for classification (every class needs at least K rows) and plain for regression, both
shuffled with --seed. The table gives each fold's metrics, their mean and their standard deviation
over the folds (NumPy's std, ddof=0).

examples:
  treeforge cv data.csv --target churned --folds 5
  treeforge cv data.csv --target price --model rf --param n_estimators=200 --folds 10 --seed 1
"""


def _add_cv_command(commands):
    cv = commands.add_parser("cv", help="cross-validate a model on a CSV file", formatter_class=_HelpFormatter,
                             description="K-fold cross-validation: the task's metrics of K models, each scored "
                                         "on the rows it was not fitted on.", epilog=_CV_EPILOG)
    cv.set_defaults(command="cv")
    cv.add_argument("data", metavar="DATA.csv", help="labelled data (CSV, optionally gzip-compressed)")
    cv.add_argument("--folds", type=_folds, default=5, metavar="K", help="number of folds, 2 or more")
    _add_training_options(cv, "gbdt: stop when the validation score has not improved for n_iter_no_change "
                              "iterations, each fold's fit holding out validation_fraction of its training "
                              "rows; auto: on above 10000 training rows (default: auto; --model rf and "
                              "adaboost never stop early and refuse on)")
    cv.add_argument("--seed", type=int, metavar="N",
                    help="random seed of the folds and the models: same seed, same folds and scores (default: 0)")
    cv.add_argument("--quiet", action="store_true", help="no progress and no notes: the table only")


_CONVERT_EPILOG = """\
onnx: an ONNX model of the ONNX-ML tree-ensemble operators (input X: the model's features, numbers,
NaN for missing values, categorical features as their category values; outputs 'variable' for
regression, 'label' and 'probabilities' for classification); needs pip install 'treeforge[onnx]'.
treelite: treelite's checkpoint format (treelite.Model.deserialize reads it); needs pip install
'treeforge[treelite]'. A model neither can express (AdaBoost regression's weighted median, a forest
of several classification targets, text categories) is refused with the reason. --out is written
whole or not at all, and never over MODEL.json.

examples:
  treeforge convert model.json --to onnx --out model.onnx
  treeforge convert model.json --to treelite --out model.tl
"""


def _add_convert_command(commands):
    convert = commands.add_parser("convert", help="convert a model file to ONNX or treelite",
                                  formatter_class=_HelpFormatter, epilog=_CONVERT_EPILOG,
                                  description="Write a model file in another format, for other runtimes.")
    convert.set_defaults(command="convert")
    convert.add_argument("model", metavar="MODEL.json", help="model file written by treeforge train or save_model")
    convert.add_argument("--to", required=True, choices=("onnx", "treelite"), help="the format to write")
    convert.add_argument("--out", required=True, metavar="FILE", help="the file to write")
    convert.add_argument("--opset", type=int, choices=(3, 5),
                         help="onnx: the ai.onnx.ml opset (default: 3, or 5 for a model with categorical splits)")
    convert.add_argument("--dtype", choices=("float32", "float64"),
                         help="onnx: the element type of the input X (default: float32)")
    convert.add_argument("--quiet", action="store_true", help="no notes")


_EXPLAIN_EPILOG = """\
Each row's exact SHAP values (TreeSHAP) of the model's raw score: the margin before the link for
gradient boosting (log-odds for classifiers), the probabilities of forest classifiers, AdaBoost's
decision_function. Columns: one per feature, named as the feature, and expected_value; a row's values
plus expected_value add up to its raw score. Where the score has a column per class (multiclass
models, forest classifiers) every column is written per class as CLASS:FEATURE and CLASS:expected_value.
With --interactions: the interaction matrix of each row, flattened row by row into columns
'FEATURE_I x FEATURE_J' (every pair, both orders; the diagonal 'F x F' holds F's main effect, and
each 'FEATURE_I x ...' group adds up to FEATURE_I's SHAP value), then expected_value; per class as
CLASS:FEATURE_I x FEATURE_J. --out is written whole or not at all, and never over an input.

examples:
  treeforge explain model.json data.csv --out shap.csv
  treeforge explain model.json data.csv --out interactions.csv --interactions
"""


def _add_explain_command(commands):
    explain = _add_model_command(commands, "explain", "SHAP values of every row", "Write the SHAP values of every "
                                 "row of a CSV file; columns are matched by name.", "rows to explain")
    explain.epilog = _EXPLAIN_EPILOG
    explain.add_argument("--out", metavar="SHAP.csv", help="output CSV; - for standard output (default: standard "
                                                          "output)")
    explain.add_argument("--interactions", action="store_true",
                         help="write SHAP interaction values (every pair of features) instead of SHAP values")
    explain.add_argument("--precision", type=_precision, metavar="N",
                         help="significant digits of the values written (default: all)")


def build_parser():
    """The ``treeforge`` argument parser, one sub-command per task."""
    parser = argparse.ArgumentParser(
        prog="treeforge", formatter_class=_HelpFormatter,
        description="Train tree ensembles on CSV files and use them: train, cv, predict, eval, explain, info, "
                    "convert.",
        epilog="Run 'treeforge COMMAND --help' for the options of a command.")
    parser.add_argument("--version", action="version", version=f"treeforge {__version__}")
    commands = parser.add_subparsers(dest="command_name", metavar="COMMAND", required=True)
    _add_train_command(commands)
    _add_cv_command(commands)

    predict = _add_model_command(commands, "predict", "predict with a model",
                                 "Predict every row of a CSV file; columns are matched by name.", "rows to predict")
    predict.add_argument("--out", metavar="PRED.csv", help="output CSV; - for standard output (default: standard output)")
    predict.add_argument("--proba", action="store_true", help="also write one probability column per class")
    outputs = predict.add_mutually_exclusive_group()
    outputs.add_argument("--contrib", action="store_true",
                         help="also write each feature's SHAP contribution to the raw score and the expected value "
                              "(contrib_FEATURE ... contrib_expected; per class for multiclass: contrib_CLASS_FEATURE)")
    outputs.add_argument("--raw", action="store_true",
                         help="write the raw score instead of predictions: the margin before the link of boosting "
                              "(decision_function of classifiers), forests' mean of trees (column raw; raw_CLASS per "
                              "class where it has several)")
    outputs.add_argument("--leaf", action="store_true",
                         help="write the leaf each row reaches in every tree instead of predictions (columns "
                              "leaf_0, leaf_1, ...: node indices as in trees_to_dataframe; gbdt and rf)")
    predict.add_argument("--precision", type=_precision, metavar="N",
                         help="significant digits of the numbers written (default: 6 for probabilities, all "
                              "for regression predictions)")
    _add_model_command(commands, "eval", "metrics of a model on labelled data",
                       "RMSE, MAE and R2 (regression); accuracy, log loss and AUC (classification).",
                       "rows with the target column")

    _add_explain_command(commands)
    _add_convert_command(commands)
    info = commands.add_parser("info", help="describe a model file", formatter_class=_HelpFormatter,
                               description="Model kind, task, number of trees and leaves, features by importance.")
    info.set_defaults(command="info", quiet=False)
    info.add_argument("model", metavar="MODEL.json", help="model file")
    info.add_argument("--importance", choices=("gain", "split", "cover", "shap"), default="gain",
                      help="how features are ranked: gain (feature_importances_, the default), split (splits on "
                           "each feature), cover (their summed cover) or shap (the mean |SHAP value| over the rows "
                           "of --data, summed over classes), as get_feature_importance gives them")
    info.add_argument("--data", metavar="DATA.csv",
                      help="rows to explain for --importance shap, read as predict reads them")
    _add_reading_options(info)
    return parser


def _run(args, console):
    """Run the command ``args.command``, importing its module now (only train, cv, predict and eval
    import the estimators, scikit-learn and pyarrow)."""
    if args.command == "train":
        from ._train import cmd_train as command
    elif args.command == "cv":
        from ._cv import cmd_cv as command
    elif args.command == "info":
        from ._info import cmd_info as command
    elif args.command == "convert":
        from ._convert import cmd_convert as command
    elif args.command == "explain":
        from ._explain import cmd_explain as command
    elif args.command == "predict":
        from ._commands import cmd_predict as command
    else:
        from ._commands import cmd_eval as command
    return command(args, console)


def main(argv=None):
    """Run the ``treeforge`` command; returns its exit code (0; 1 for an error; 2 for a misused option, as
    argparse's own errors, e.g. more folds than rows; 130 after Ctrl-C)."""
    args = build_parser().parse_args(argv)
    console = Console(args.quiet)
    try:
        return _run(args, console)
    except KeyboardInterrupt:
        print("error: interrupted", file=sys.stderr)
        return 130
    except BrokenPipeError:  # e.g. `treeforge predict ... | head`
        sys.stderr.close()
        return 1
    except (CLIError, ValueError, TypeError, OSError) as exc:  # a DataError is a ValueError
        if os.environ.get("TREEFORGE_TRACEBACK"):
            raise
        print(f"error: {' '.join(str(exc).split())}", file=sys.stderr)
        return getattr(exc, "exit_code", 1)


def run():
    """The console script and ``python -m treeforge``: ``main()``, then the process ends at once.

    Every file a command writes is complete and in place (written atomically) before ``main``
    returns, and the output streams are flushed here, so ``os._exit`` skips only the interpreter's
    teardown: freeing every module and object, 0.2-0.3 s once scikit-learn, SciPy and pandas are
    loaded (issue #28), and Python's exit handlers, of which only logging's matters to a command
    and is run here. An exception (``TREEFORGE_TRACEBACK=1``) or argparse's exit ends the process
    as usual. Tests call ``main``, which returns.
    """
    code = main()
    if "logging" in sys.modules:
        sys.modules["logging"].shutdown()
    for stream in (sys.stdout, sys.stderr):
        try:
            stream.flush()
        except (OSError, ValueError):  # a closed pipe or stream: nothing more can reach it
            pass
    os._exit(code)
