"""The estimators behind ``--model``, their parameters (``--param``, ``--config``) and model files read back.

The estimators' modules are imported on first use: ``--help`` and ``info`` never import them.
"""

import ast
import importlib
import importlib.util
import json
import threading

from ._console import CLIError
from ._csv import check_input_file, did_you_mean

# --model -> (module of treeforge, classifier, regressor); a module is imported on first use.
MODELS = {
    "gbdt": ("ensemble._gradient_boosting", "HistGradientBoostingClassifier", "HistGradientBoostingRegressor"),
    "rf": ("ensemble._forest", "RandomForestClassifier", "RandomForestRegressor"),
    "adaboost": ("ensemble._weight_boosting", "AdaBoostClassifier", "AdaBoostRegressor"),
}
# --task ranking: gradient boosting over query groups (--group), the one ranker treeforge has.
RANKER = ("ensemble._ranking", "HistGradientBoostingRanker")
# Estimator modules being imported in a thread (``import_in_background``): module name -> thread.
_IMPORTS = {}


def _estimator_location(model, task):
    """(module of treeforge, class name) of the estimator of ``--model`` for ``task``."""
    if task == "ranking":
        if model != "gbdt":
            raise CLIError(f"--task ranking needs --model gbdt (HistGradientBoostingRanker); --model {model} "
                           "does not rank")
        return RANKER
    module_name, classifier, regressor = MODELS[model]
    return module_name, regressor if task == "regression" else classifier


def check_ranking_options(args):
    """--group and --task ranking go together (--group alone means ranking); CLIError otherwise."""
    if args.group and args.task == "auto":
        args.task = "ranking"
    if args.task == "ranking" and not args.group:
        raise CLIError("--task ranking needs --group COL, the column of query ids (rows of one query share it)")
    if args.group and args.task != "ranking":
        raise CLIError(f"--group COL names the query ids of a ranking task, not of --task {args.task}")
    if args.task == "ranking":
        _estimator_location(args.model, args.task)


def import_in_background(model, task):
    """Start importing the estimators' module of ``--model`` (with scikit-learn: about 0.8 s of one core,
    all Python) in a thread, so that it overlaps the reading of the data, whose pyarrow calls release
    the GIL; ``estimator_class`` then waits for it. A failed import is left to ``estimator_class``
    to report: it imports the module again (Python keeps no half-imported module)."""
    module_name = _estimator_location(model, "ranking" if task == "ranking" else "binary")[0]
    if module_name not in _IMPORTS:
        _IMPORTS[module_name] = threading.Thread(target=_import_quietly, args=(module_name,), daemon=True,
                                                 name=f"treeforge: importing {module_name}")
        _IMPORTS[module_name].start()


def join_background_imports():
    """Wait for the imports ``import_in_background`` started. Every import of scikit-learn on the
    main thread comes after this: two threads importing its modules at once can meet one of them
    half-initialised ("cannot import name ... from partially initialized module")."""
    for thread in list(_IMPORTS.values()):
        if thread is not threading.current_thread():
            thread.join()


def _import_quietly(module_name):
    try:
        _import_estimator_module(module_name)
    except BaseException:  # noqa: BLE001 - reported by the main thread's own import
        pass


def _import_estimator_module(module_name):
    """The module ``treeforge.<module_name>``, or None if this installation does not have it."""
    thread = _IMPORTS.get(module_name)
    if thread is not None and thread is not threading.current_thread():
        thread.join()
    try:
        return importlib.import_module(f"treeforge.{module_name}")
    except ModuleNotFoundError as exc:
        if exc.name != f"treeforge.{module_name}":
            raise
        return None


def estimator_class(model, task):
    """The estimator class of ``--model`` for a task; CLIError if treeforge does not have it."""
    module_name, name = _estimator_location(model, task)
    cls = getattr(_import_estimator_module(module_name), name, None)
    if cls is None:
        raise CLIError(f"--model {model} needs treeforge.{name}, which this installation of treeforge does not have")
    return cls


def parse_value(text):
    """A ``--param`` value: bool, None, int, float, a JSON list or object, else the string itself."""
    lowered = text.strip().lower()
    if lowered in ("true", "false"):
        return lowered == "true"
    if lowered in ("none", "null"):
        return None
    for convert in (int, float):
        try:
            return convert(text)
        except ValueError:
            pass
    if text.strip()[:1] in ("[", "{"):
        try:
            return json.loads(text)
        except json.JSONDecodeError:
            pass
    return text


def read_config(path):
    """Estimator parameters from a TOML file of top-level ``key = value`` pairs."""
    try:
        import tomllib
    except ModuleNotFoundError:  # Python < 3.11
        try:
            import tomli as tomllib
        except ModuleNotFoundError:
            raise CLIError("reading --config needs Python 3.11 or the tomli package") from None
    check_input_file(path)
    try:
        with open(path, "rb") as handle:
            config = tomllib.load(handle)
    except FileNotFoundError:
        raise CLIError(f"{path}: no such file") from None
    except tomllib.TOMLDecodeError as exc:
        raise CLIError(f"{path} is not valid TOML: {exc}") from None
    tables = [key for key, value in config.items() if isinstance(value, dict)]
    if tables:
        raise CLIError(f"{path}: parameters are top-level keys, found the table [{tables[0]}]")
    return config


def collect_params(args):
    """Estimator parameters: the --config file, then --param KEY=VALUE, then --seed and --threads."""
    params = read_config(args.config) if args.config else {}
    for item in args.params or ():
        key, sep, value = item.partition("=")
        if not sep or not key.strip():
            raise CLIError(f"--param expects KEY=VALUE, got '{item}'")
        params[key.strip()] = parse_value(value)
    if args.seed is not None:
        params["random_state"] = args.seed
    params.setdefault("random_state", 0)
    if args.threads is not None:
        params["n_jobs"] = args.threads
    return params


# Parameters of one meaning under the names the estimators (and other libraries) give them: a name
# that --model does not take suggests its parameter of the same meaning ('max_iter' to a forest:
# 'n_estimators'), where the spelling alone would suggest an unrelated one ('max_bins').
_SAME_MEANING = (
    ("the number of trees", {"max_iter", "n_estimators", "num_iterations", "num_boost_round", "num_trees",
                             "n_trees", "iterations", "nrounds"}),
    ("the leaves per tree", {"max_leaf_nodes", "num_leaves", "max_leaves"}),
    ("the fewest rows in a leaf", {"min_samples_leaf", "min_child_samples", "min_data_in_leaf"}),
    ("the shrinkage of each tree", {"learning_rate", "eta", "shrinkage_rate"}),
    ("the rows drawn for each tree", {"subsample", "max_samples", "bagging_fraction"}),
)


def _suggestion(key, names):
    """``"; did you mean 'x' (what it means)?"`` for the parameter of ``names`` meaning what ``key`` means
    elsewhere, else the nearest spelling, else ''."""
    for meaning, same in _SAME_MEANING:
        if key.lower() in same:
            match = sorted(same & set(names))
            if match:
                return f"; did you mean '{match[0]}' ({meaning})?"
    return did_you_mean(key, sorted(names))


def _reject_unknown_params(params, names, owner):
    """CLIError for the first parameter not in ``names``, suggesting the nearest valid one."""
    for key in params:
        if key not in names:
            raise CLIError(f"unknown parameter '{key}' for {owner}" + _suggestion(key, names))


def _declared_parameters(model, task):
    """The names of the parameters of the estimator of ``--model`` for ``task``, read from its module's
    source (the ``__init__`` of its class) without importing it; None where that does not tell (no
    such module, class or ``__init__``, or one taking ``**kwargs``)."""
    module_name, class_name = _estimator_location(model, task)
    spec = importlib.util.find_spec(f"treeforge.{module_name}")
    if spec is None or not spec.origin or not spec.origin.endswith(".py"):
        return None
    with open(spec.origin, encoding="utf-8") as handle:
        tree = ast.parse(handle.read(), spec.origin)
    for node in tree.body:
        if isinstance(node, ast.ClassDef) and node.name == class_name:
            init = next((item for item in node.body if isinstance(item, ast.FunctionDef) and item.name == "__init__"),
                        None)
            if init is None or init.args.kwarg is not None:
                return None
            return {arg.arg for arg in init.args.posonlyargs + init.args.args[1:] + init.args.kwonlyargs}
    return None


def check_param_names(model, params, task="auto"):
    """Reject a parameter that neither estimator of ``--model`` (the ranker for --task ranking) has,
    before any data is read.

    The names are read from the estimators' source: the estimators (and scikit-learn, about a third of
    the peak memory of a large run) are imported once the data are read and the table freed.
    """
    names = set()
    for kind in ("ranking",) if task == "ranking" else ("binary", "regression"):
        declared = _declared_parameters(model, kind)
        names |= declared if declared is not None else set(estimator_class(model, kind)().get_params())
    _reject_unknown_params(params, names, f"--model {model}")


def make_estimator(cls, params):
    """An estimator of class ``cls`` with ``params``, checked by scikit-learn's constraints."""
    estimator = cls()
    _reject_unknown_params(params, estimator.get_params(deep=False), cls.__name__)
    estimator.set_params(**params)
    estimator._validate_params()  # scikit-learn's constraints: a bad value fails before training
    return estimator


def set_categorical_features(estimator, meta, params):
    """Make the table's categorical columns (text, and --categorical) the estimator's native
    categorical features: their codes are the positions in ``meta['categories']``."""
    if "categorical_features" in params:
        raise CLIError("the categorical features are the text columns and those given by --categorical COL; "
                       "--param categorical_features is not used by the command line")
    indices = [i for i, name in enumerate(meta["features"]) if name in meta["categories"]]
    estimator.set_params(categorical_features=indices or None)


def _categories_by_text(estimator):
    """{feature: category values as text} of a model saved from Python, whose categories the command
    line then passes as their positions: the estimator's categories become those positions (in memory)."""
    import numpy as np

    categories = getattr(estimator, "_categories", None)
    if categories is None:
        return {}
    names = estimator.feature_names_in_
    by_text = {str(names[j]): [str(value) for value in values.tolist()]
               for j, values in enumerate(categories) if values is not None}
    estimator._categories = [None if values is None else np.arange(len(values), dtype=np.float64)
                             for values in categories]
    return by_text


def _is_text_list(value):
    return isinstance(value, list) and all(isinstance(item, str) for item in value)


# The command line's metadata in a model file: key -> (what it must be, the check).
_METADATA_KEYS = {
    "features": ("a list of column names", lambda v: _is_text_list(v) and len(v) > 0),
    "categories": ("a mapping of column names to lists of values",
                   lambda v: isinstance(v, dict) and all(_is_text_list(values) for values in v.values())),
    "known": ("a list of column names", _is_text_list),
    "target": ("a column name or null", lambda v: v is None or isinstance(v, str)),
    "target_kind": ("one of text, bool, integer, number", lambda v: v in ("text", "bool", "integer", "number")),
    "task": ("one of regression, binary, multiclass, ranking",
             lambda v: v in ("regression", "binary", "multiclass", "ranking")),
    "weight": ("a column name or null", lambda v: v is None or isinstance(v, str)),
}
# Keys that files written before them lack: checked only when present.
_OPTIONAL_METADATA_KEYS = {"group": ("a column name or null", lambda v: v is None or isinstance(v, str))}


def _check_metadata(path, meta, estimator):
    """CLIError naming the file and the key if the command line's metadata of a model file lacks a key
    or holds a value of the wrong kind (a file edited by hand, or written by another tool).
    ``estimator``: the estimator, or an object holding its fitted attributes."""
    if not isinstance(meta, dict):
        raise CLIError(f"{path}: the command line's metadata is not a mapping")
    for key, (what, is_valid) in _METADATA_KEYS.items():
        if key not in meta:
            raise CLIError(f"{path}: the command line's metadata lacks the key '{key}'")
        if not is_valid(meta[key]):
            raise CLIError(f"{path}: the command line's metadata key '{key}' must be {what}")
    for key, (what, is_valid) in _OPTIONAL_METADATA_KEYS.items():
        if key in meta and not is_valid(meta[key]):
            raise CLIError(f"{path}: the command line's metadata key '{key}' must be {what}")
    rows = meta.get("rows")
    if rows is not None and not (isinstance(rows, dict)
                                 and all(isinstance(rows.get(key), int) for key in ("train", "valid"))):
        raise CLIError(f"{path}: the command line's metadata key 'rows' must map train and valid to counts")
    n_features = getattr(estimator, "n_features_in_", len(meta["features"]))
    if len(meta["features"]) != n_features:
        raise CLIError(f"{path}: the command line's metadata names {len(meta['features'])} features, "
                       f"the model has {n_features}")


def cli_metadata(path, metadata, estimator):
    """The command line's metadata of the model file ``path`` (its ``metadata``), checked; for a file
    saved from Python (every feature numeric), rebuilt from ``estimator``: the estimator, or an object
    holding its fitted attributes (``info``)."""
    meta = metadata.get("cli")
    if meta is not None:
        _check_metadata(path, meta, estimator)
    else:
        names = getattr(estimator, "feature_names_in_", None)
        if names is None:
            raise CLIError(f"{path} has no feature names: it was fitted on an array, not a table")
        classes = getattr(estimator, "classes_", None)
        task = "regression" if classes is None else "binary" if len(classes) == 2 else "multiclass"
        meta = {"features": [str(name) for name in names], "categories": _categories_by_text(estimator),
                "known": [], "target": None,
                "weight": None, "ignored": [], "model": None,
                "target_kind": "text" if classes is not None and classes.dtype == object else "number",
                "task": "ranking" if hasattr(estimator, "ndcg_at") else task, "group": None}
    return meta


def load_model_file(path):
    """(estimator, metadata of the command line) of a model file (see ``cli_metadata``)."""
    from ..ensemble._model_io import load_model_with_metadata

    for module_name in [module for module, _, _ in MODELS.values()] + [RANKER[0]]:
        _import_estimator_module(module_name)  # model files may name any estimator that exists
    check_input_file(path)
    estimator, metadata = load_model_with_metadata(path)
    return estimator, cli_metadata(path, metadata, estimator)
