"""The package layout: public import paths, an acyclic import graph, and a light ``import treeforge``.

The import graph is read from the source (every ``import`` statement, function-level ones included,
as those are dependencies too): an edge ``a -> b`` means module ``a`` imports treeforge module ``b``.
"""

import ast
import importlib
import json
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

import treeforge

PACKAGE_DIR = Path(treeforge.__file__).parent
# Heavy or optional modules that ``import treeforge`` must not add to what scikit-learn imports.
HEAVY = ("matplotlib", "numba", "pandas", "pyarrow", "dask", "distributed")

PUBLIC = {
    "treeforge": [
        "AdaBoostClassifier", "AdaBoostRegressor", "HistGradientBoostingClassifier", "HistGradientBoostingRanker",
        "HistGradientBoostingRegressor", "RandomForestClassifier", "RandomForestRegressor", "load_model",
        "__version__",
    ],
    "treeforge.ngram": ["HashingNGramVectorizer", "NGramCounts", "NGramLanguageModel", "Vocabulary", "count_ngrams"],
    "treeforge.montecarlo": [
        "Blackjack", "ControlResult", "GridWorld", "PredictionResult", "ReturnEstimate", "TabularMDP",
        "estimate_return", "fit_value_function", "greedy_policy", "mc_control", "mc_off_policy_prediction",
        "mc_prediction",
    ],
    "treeforge.cli": ["main", "run"],
    "treeforge.callback": ["BoostingProgress", "Checkpoint", "EarlyStopping", "LearningRateScheduler", "PrintProgress",
                           "TrainingCallback", "TrainingProgress"],
    "treeforge.datasets": ["DEMO_TARGET", "demo_path", "load_demo"],
    "treeforge.plotting": ["plot_importance", "plot_learning_curve", "plot_shap_summary", "plot_training", "plot_tree",
                           "to_graphviz", "tree_nodes"],
    "treeforge.export": ["dump_model", "to_onnx", "to_treelite", "trees_to_dataframe"],
    "treeforge.inspection": ["shap_values", "to_shap"],
    "treeforge.dask": ["DaskHistGradientBoostingClassifier", "DaskHistGradientBoostingRanker",
                       "DaskHistGradientBoostingRegressor", "DaskRandomForestClassifier", "DaskRandomForestRegressor"],
}


def module_files():
    """{dotted module name: path} of every Python module of the package (``__init__`` names its package)."""
    modules = {}
    for path in sorted(PACKAGE_DIR.rglob("*.py")):
        parts = path.relative_to(PACKAGE_DIR.parent).with_suffix("").parts
        modules[".".join(parts[:-1] if parts[-1] == "__init__" else parts)] = path
    return modules


def _known(name, modules):
    """``name`` if it is a module of the package (or the compiled ``treeforge._core``), else None."""
    return name if name in modules or name == "treeforge._core" else None


def imported_modules(name, path, modules):
    """The treeforge modules that module ``name`` imports, anywhere in its source.

    ``from P import x`` imports the module ``P.x`` when there is one, else the module ``P`` (x is a
    name defined there). A treeforge import that names no module of the package fails the test.
    """
    is_package = path.name == "__init__.py"
    package = name if is_package else name.rpartition(".")[0]
    found = set()
    for node in ast.walk(ast.parse(path.read_text(), str(path))):
        if isinstance(node, ast.Import):
            targets = [alias.name for alias in node.names if alias.name.split(".")[0] == "treeforge"]
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                base = package.split(".")[: len(package.split(".")) - node.level + 1]
                source = ".".join(base + ([node.module] if node.module else []))
            else:
                source = node.module
            if source.split(".")[0] != "treeforge":
                continue
            targets = [_known(f"{source}.{alias.name}", modules) or source for alias in node.names]
        else:
            continue
        for target in targets:
            assert _known(target, modules), f"{path}:{node.lineno} imports {target}, which is not a module of treeforge"
            if target != name:
                found.add(target)
    return found


def import_graph():
    modules = module_files()
    return {name: imported_modules(name, path, modules) for name, path in modules.items()}


def find_cycle(graph):
    """A list of modules forming an import cycle, or None (depth-first search)."""
    state, stack = {}, []

    def visit(node):
        state[node] = "open"
        stack.append(node)
        for nxt in sorted(graph.get(node, ())):
            if state.get(nxt) == "open":
                return stack[stack.index(nxt):] + [nxt]
            if nxt not in state:
                cycle = visit(nxt)
                if cycle:
                    return cycle
        state[node] = "done"
        stack.pop()
        return None

    for node in sorted(graph):
        if node not in state:
            cycle = visit(node)
            if cycle:
                return cycle
    return None


def _modules_after(statement):
    """Names of the modules loaded in a fresh interpreter after running ``statement``."""
    code = f"import json, sys\n{statement}\nprint(json.dumps(sorted(sys.modules)))"
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(PACKAGE_DIR.parent), os.environ.get("PYTHONPATH", "")])}
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, env=env, timeout=120)
    assert result.returncode == 0, result.stderr
    return set(json.loads(result.stdout.splitlines()[-1]))  # the last line: the statement may print


@pytest.mark.parametrize("module_name", sorted(PUBLIC))
def test_public_import_paths(module_name):
    module = importlib.import_module(module_name)
    for name in PUBLIC[module_name]:
        assert getattr(module, name) is not None, f"{module_name}.{name}"
    if hasattr(module, "__all__"):
        assert sorted(module.__all__) == sorted(PUBLIC[module_name])


def test_public_subpackages_are_attributes_of_treeforge():
    import treeforge.cli
    import treeforge.montecarlo
    import treeforge.ngram

    assert treeforge.ngram.count_ngrams and treeforge.montecarlo.mc_prediction and callable(treeforge.cli.main)


def test_console_script_resolves():
    tomllib = pytest.importorskip("tomllib")
    pyproject = Path(__file__).resolve().parents[1] / "pyproject.toml"
    if not pyproject.exists():
        pytest.skip("no pyproject.toml beside the tests")
    scripts = tomllib.loads(pyproject.read_text())["project"]["scripts"]
    assert scripts["treeforge"] == "treeforge.cli:run"
    for target in scripts.values():
        module, _, attribute = target.partition(":")
        assert callable(getattr(importlib.import_module(module), attribute))


def test_estimators_register_for_model_files():
    from treeforge.ensemble._model_io import _ESTIMATORS

    assert set(_ESTIMATORS) == {name for name in PUBLIC["treeforge"] if name[0].isupper()}


def test_import_graph_is_acyclic():
    graph = import_graph()
    assert "treeforge.ngram._language_model" in graph and graph["treeforge"]  # the walk saw the package
    cycle = find_cycle(graph)
    assert cycle is None, "import cycle: " + " -> ".join(cycle)


def test_the_cycle_finder_finds_cycles():
    assert find_cycle({"a": {"b"}, "b": {"c"}, "c": {"a"}}) == ["a", "b", "c", "a"]
    assert find_cycle({"a": {"b", "c"}, "b": {"c"}, "c": set()}) is None


def _top_level(modules):
    return {name.split(".")[0] for name in modules}


def test_import_treeforge_is_light():
    # scikit-learn may itself import pandas (and pyarrow through it): only what treeforge adds counts.
    baseline = _top_level(_modules_after("import numpy, scipy, sklearn"))
    loaded = _modules_after("import treeforge")
    added = (_top_level(loaded) - baseline) & set(HEAVY)
    assert not added, f"import treeforge loads {sorted(added)}"
    for subpackage in ("treeforge.cli", "treeforge.plotting", "treeforge.ngram", "treeforge.montecarlo",
                       "treeforge._numba", "treeforge.inspection", "treeforge.dask"):
        assert subpackage not in loaded


@pytest.mark.parametrize("module_name", ["treeforge.ngram", "treeforge.montecarlo", "treeforge.cli"])
def test_products_import_numba_and_matplotlib_on_first_use(module_name):
    loaded = _modules_after(f"import {module_name}")
    assert "numba" not in loaded and "matplotlib" not in loaded


# Imported by scikit-learn alone: the command line's --help and info must start without them (issue #28).
SCIENTIFIC_STACK = ("sklearn", "scipy", "pandas")


@pytest.mark.parametrize("statement", [
    "import treeforge",
    "import treeforge.cli",
    "import treeforge.cli._info",
    "from treeforge.cli import main\ntry:\n    main(['--help'])\nexcept SystemExit:\n    pass",
    "from treeforge.cli import main\ntry:\n    main(['train', '--help'])\nexcept SystemExit:\n    pass",
    "from treeforge.cli import main\ntry:\n    main(['convert', '--help'])\nexcept SystemExit:\n    pass",
    "from treeforge.cli import main\ntry:\n    main(['explain', '--help'])\nexcept SystemExit:\n    pass",
])
def test_command_line_starts_without_scikit_learn(statement):
    added = _top_level(_modules_after(statement)) & set(SCIENTIFIC_STACK + ("pyarrow", "numba", "matplotlib"))
    assert not added, f"{statement!r} imports {sorted(added)}"


def test_info_reads_a_model_file_without_scikit_learn(tmp_path):
    from treeforge import HistGradientBoostingRegressor

    path = tmp_path / "model.json"
    model = HistGradientBoostingRegressor(max_iter=3).fit(np.arange(40.0).reshape(20, 2), np.arange(20.0))
    model.feature_names_in_ = np.array(["a", "b"], dtype=object)
    model.save_model(path)
    loaded = _modules_after(f"from treeforge.cli import main\nassert main(['info', {str(path)!r}]) == 0")
    assert not _top_level(loaded) & set(SCIENTIFIC_STACK + ("pyarrow",))
    assert "treeforge.ensemble._model_io" in loaded and "treeforge.ensemble._gradient_boosting" not in loaded


def test_estimators_are_imported_on_first_use():
    names = sorted(name for name in PUBLIC["treeforge"] if name != "__version__")
    assert set(names) <= set(dir(treeforge))
    loaded = _modules_after("import treeforge\nassert 'sklearn' not in sys.modules\n"
                            "from treeforge import load_model\n"
                            "from treeforge.ensemble._model_io import _ESTIMATORS\n"
                            f"assert sorted(_ESTIMATORS) == {[name for name in names if name[0].isupper()]!r}\n"
                            "from treeforge import RandomForestRegressor\n"
                            "assert treeforge.RandomForestRegressor is RandomForestRegressor\n"
                            "assert treeforge.load_model is load_model")
    assert "sklearn" in loaded
    with pytest.raises(AttributeError, match="no attribute 'NotAnEstimator'"):
        treeforge.NotAnEstimator  # noqa: B018


# The exporters' packages are optional extras: nothing but the export that needs one imports it.
EXPORTERS = ("onnx", "onnxruntime", "treelite")


def test_exporters_are_imported_only_by_the_export_that_needs_them():
    loaded = _modules_after("import treeforge.export\nimport numpy as np\nimport treeforge as tf\n"
                            "m = tf.HistGradientBoostingRegressor(max_iter=2).fit(np.arange(40.0).reshape(20, 2), "
                            "np.arange(20.0))\nm.dump_model()\nm.predict(np.zeros((1, 2)))")
    assert not _top_level(loaded) & set(EXPORTERS), sorted(_top_level(loaded) & set(EXPORTERS))
    assert "treeforge.export._onnx" not in loaded and "treeforge.export._treelite" not in loaded
