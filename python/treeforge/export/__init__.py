"""Readable and portable treeforge models: tables and dumps of the trees, ONNX and treelite.

- :func:`trees_to_dataframe` and :func:`dump_model` (also methods of every estimator): every node
  of every tree, as a pandas DataFrame or a JSON-ready dict;
- :func:`to_onnx`: an ONNX model (ONNX-ML tree-ensemble operators), for onnxruntime and other
  ONNX runtimes; needs the ``onnx`` extra (``pip install treeforge[onnx]``);
- :func:`to_treelite`: a treelite model, for treelite's and TL2cgen's runtimes; needs the
  ``treelite`` extra.

Importing this package imports neither onnx nor treelite (nor pandas): each is imported by the
function that needs it, and a missing one is an ImportError naming the extra to install.
"""

__all__ = ["dump_model", "to_onnx", "to_treelite", "trees_to_dataframe"]


def trees_to_dataframe(estimator):
    """One row per node of every tree of a fitted treeforge estimator, as a pandas DataFrame.

    Columns: ``tree`` (tree index, in training order), ``node`` (node index within the tree; the
    root is 0), ``parent`` (-1 at the root), ``depth``, ``output`` (the margin column the tree adds
    to: the class of a multiclass booster's tree; -1 where each leaf holds a value per output),
    ``is_leaf``, ``feature`` (the feature's name, or its index without names; None at leaves),
    ``feature_index`` (-1 at leaves), ``decision`` ('<=' for a numeric split, 'in' for a
    categorical one, None at leaves), ``threshold`` (a numeric split sends ``x <= threshold``
    left; NaN elsewhere), ``categories`` (at a categorical split, the tuple of category values, as
    fitted, that go left; None elsewhere), ``left``/``right`` (child node indices; -1 at leaves),
    ``missing`` ('left' or 'right': where NaN goes, and at a categorical split every value that is
    no category of the feature; None at leaves), ``gain``, ``cover`` (training weight or hessian
    sum reaching the node), ``count`` (training rows reaching it) and ``value`` (a float, or an
    ndarray where each leaf holds a value per output: a forest classifier's class distribution).

    A row's prediction walks each tree from its root; the leaves' values summed over trees, plus
    the base score (``dump_model()['base_score']``), are the raw margin (forests: their mean).
    Requires pandas.
    """
    from ._tables import trees_to_dataframe as table

    return table(estimator)


def dump_model(estimator):
    """The fitted model as a dict of plain Python values (``json.dumps`` writes it), with nested trees.

    Keys: ``format`` ('treeforge-dump'), ``dump_version``, ``estimator``, ``objective``, ``aggregation``
    ('sum': the margin is ``base_score`` plus the trees' sum; 'mean': the trees' mean), ``link``
    (what the prediction makes of the margin: 'identity', 'exp', 'sigmoid' or 'softmax'; None where
    no export can express it), ``n_features``, ``feature_names`` (None without names), ``categories``
    (per feature None or its category values in code order; None without categorical features),
    ``n_outputs``, ``leaf_dim``, ``base_score``, ``classes`` (classifiers), ``n_trees`` and ``trees``:
    per tree ``tree_index``, ``output`` (as in :func:`trees_to_dataframe`), ``weight`` (AdaBoost's
    estimator weight, where the model stores one), ``n_nodes``, ``n_leaves`` and ``tree_structure``,
    the root node: a split holds ``feature``, ``feature_index``, ``decision`` ('<=' with
    ``threshold``, or 'in' with ``categories``), ``missing``, ``gain``, ``value``, ``cover``,
    ``count``, ``left`` and ``right`` (nodes); a leaf holds ``node``, ``value``, ``cover`` and ``count``.
    """
    from ._tables import dump_model as dump

    return dump(estimator)


def to_onnx(estimator, *, ml_opset=None, dtype="float32"):
    """An ONNX model (``onnx.ModelProto``) that predicts as the fitted estimator.

    Input ``X``: a (n_samples, n_features) tensor of ``dtype``, NaN for missing values, categorical
    features as their numeric category values. Outputs: regressors ``variable`` (n_samples,
    n_outputs): the predictions; classifiers ``label`` (n_samples,): the predicted classes, and
    ``probabilities`` (n_samples, n_classes): ``predict_proba``. Within float rounding of ``dtype``
    (opset 3's operator computes and outputs float32 whatever the input), they equal treeforge's
    predictions on the same input values.

    Parameters
    ----------
    estimator : fitted treeforge estimator (AdaBoost with its default trees)
    ml_opset : {3, 5} or None
        The ``ai.onnx.ml`` opset: 3 (``TreeEnsembleRegressor``, numeric splits only) or 5
        (``TreeEnsemble``, onnxruntime >= 1.21 and ONNX >= 1.16, also categorical splits). None: 3,
        or 5 for a model with categorical splits.
    dtype : {'float32', 'float64'}
        The input's element type. float32 input routes exactly as treeforge routes the same float32
        values (thresholds are rounded down to float32); float64 keeps every threshold exact.

    Raises
    ------
    ImportError
        Without the ``onnx`` package (``pip install 'treeforge[onnx]'``).
    NotImplementedError
        For what the operators cannot express: AdaBoostRegressor (a weighted median of trees), a
        forest classifier of several targets, categorical splits with ``ml_opset=3``.
    ValueError
        For a categorical feature with text categories (the operators read numbers), an unknown
        ``ml_opset`` or ``dtype``, AdaBoost around a user's estimator, or an unfitted estimator
        (scikit-learn's ``NotFittedError``).

    Examples
    --------
    ::

        import onnxruntime
        session = onnxruntime.InferenceSession(to_onnx(classifier).SerializeToString())
        label, probabilities = session.run(None, {"X": X.astype("float32")})
    """
    from ._onnx import to_onnx as convert

    return convert(estimator, ml_opset=ml_opset, dtype=dtype)


def to_treelite(estimator):
    """A ``treelite.Model`` that predicts as the fitted estimator.

    ``treelite.gtil.predict(model, X)`` gives an array of shape (n_samples, n_targets, n_classes):
    regressors' predictions in ``[:, :, 0]``, a binary classifier's positive-class probability in
    ``[:, 0, 0]``, other classifiers' probabilities in ``[:, 0, :]``; ``pred_margin=True`` gives the
    margins (AdaBoost's: the votes over the sum of estimator weights times (classes - 1), the
    softmax's input). Within float rounding they equal treeforge's predictions (treelite computes
    in float64 here, from float64 input). Categorical features hold their category values, which
    must be non-negative integers: treelite reads a category as an unsigned integer and truncates
    a fractional value, which treeforge treats as no category (missing). ``model.serialize(path)``
    writes treelite's checkpoint format; TL2cgen compiles the model to C.

    Parameters
    ----------
    estimator : fitted treeforge estimator (AdaBoost with its default trees)

    Raises
    ------
    ImportError
        Without treelite 4 or later (``pip install 'treeforge[treelite]'``).
    NotImplementedError
        For what treelite cannot express: AdaBoostRegressor (a weighted median of trees), a forest
        classifier of several targets.
    ValueError
        For a categorical feature whose categories are not non-negative integers, AdaBoost around a
        user's estimator, or an unfitted estimator (scikit-learn's ``NotFittedError``).
    """
    from ._treelite import to_treelite as convert

    return convert(estimator)
