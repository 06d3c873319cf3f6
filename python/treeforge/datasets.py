"""The small dataset shipped with treeforge for the quick start: a synthetic customer-churn table.

``data/demo.csv.gz`` holds 3,000 customers of an imaginary telecom operator, one row each:

============== ====================================================================
age            years, 18 to 80; 6% missing
tenure_months  months as a customer, 0 to 72
contract       text: 'month-to-month', 'one-year' or 'two-year'
payment_method text: 'electronic check', 'mailed check', 'bank transfer' or
               'credit card'; 3% missing (empty)
monthly_charges
total_charges  about monthly_charges x tenure_months; 'NA' for most new customers
support_calls  count of calls to support
data_usage_gb  monthly data volume; 4% missing
churned        target: 'yes' (26%) or 'no'
============== ====================================================================

The rows were drawn once from a fixed NumPy seed: ``churned`` is 'yes' when a logistic score
plus noise is positive; the score rises with a month-to-month contract, monthly charges,
support calls and paying by electronic check, and falls with tenure, a two-year contract,
age and data usage. It is synthetic, so it may be copied and changed freely.
"""

import importlib.resources

DEMO_TARGET = "churned"
DEMO_MODEL_PATH = "treeforge-demo-model.json"  # where ``treeforge train --demo`` saves its model


def demo_path():
    """Path of the demo CSV file (gzip-compressed) inside the installed package.

    Returns
    -------
    path : str
    """
    return str(importlib.resources.files("treeforge").joinpath("data", "demo.csv.gz"))


def load_demo(as_frame=False):
    """Load the demo customer-churn dataset (3,000 rows, 8 features, binary target).

    Parameters
    ----------
    as_frame : bool, default=False
        Return X as a pandas DataFrame with the text columns as they are in the file (pandas
        needed). Otherwise X is a float array whose two text columns hold codes in the
        sorted order of their values (``contract``: 0 = 'month-to-month', 1 = 'one-year',
        2 = 'two-year'), as ``treeforge train`` encodes them.

    Returns
    -------
    X : ndarray of shape (3000, 8), float64, or pandas.DataFrame
        NaN marks a missing value.
    y : ndarray of shape (3000,), object
        'yes' or 'no'.
    feature_names : list of str

    Examples
    --------
    >>> from treeforge import HistGradientBoostingClassifier
    >>> from treeforge.datasets import load_demo
    >>> X, y, feature_names = load_demo()
    >>> X.shape, feature_names[:3]
    ((3000, 8), ['age', 'tenure_months', 'contract'])
    >>> clf = HistGradientBoostingClassifier(max_iter=20, random_state=0).fit(X, y)
    >>> bool(clf.score(X, y) > 0.8)
    True
    """
    from .cli._tabular import features_matrix, infer_schema, read_csv, target_values

    table, source = read_csv(demo_path())
    schema = infer_schema(table, source, DEMO_TARGET, [], None, [])
    y, _ = target_values(table, source, DEMO_TARGET, "text")
    if as_frame:
        return table.drop_columns([DEMO_TARGET]).to_pandas(), y, schema["features"]
    return features_matrix(table, source, schema), y, schema["features"]
