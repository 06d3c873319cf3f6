"""What a forest is fitted to: the rows each tree draws, the features each node draws, and the
targets, one or several columns of y (their labels, weights and outputs).

A forest fitted to y of shape (n_samples, n_outputs) grows trees whose leaves hold every target
(scikit-learn's multi-output trees: one split search scores all targets together). The core's
model keeps them side by side: a regressor's ``n_outputs`` means per leaf; a classifier's
``n_outputs * K`` class shares, K being the most classes of any target, a target with fewer padded
with zero shares (scikit-learn's ``tree_.value`` has the same layout). This module maps between
that layout and scikit-learn's: ``classes_`` and ``n_classes_`` as lists, ``predict_proba`` as a
list of arrays, ``predict`` and ``oob_prediction_`` of shape (n_samples, n_outputs),
``oob_decision_function_`` of shape (n_samples, K, n_outputs).
"""

import warnings
from numbers import Integral

import numpy as np
from sklearn.exceptions import DataConversionWarning
from sklearn.metrics import accuracy_score
from sklearn.utils.class_weight import compute_sample_weight
from sklearn.utils.multiclass import check_classification_targets


def as_targets(y):
    """y of one target as 1-D, of several as 2-D; a column vector is one target, with
    scikit-learn's DataConversionWarning."""
    y = np.asarray(y)
    if y.ndim == 2 and y.shape[1] == 1:
        warnings.warn("A column-vector y was passed when a 1d array was expected. Please change the shape of y to "
                      "(n_samples,), for example using ravel().", DataConversionWarning, stacklevel=3)
        return y[:, 0]
    return y


def n_targets_of(y):
    return 1 if y.ndim == 1 else y.shape[1]


def encode_target_classes(estimator, y):
    """Each target's sorted labels and the targets as class indices, int32 of shape (n_samples, n_outputs)."""
    classes, codes = [], np.empty(y.shape, dtype=np.int32)
    for t in range(y.shape[1]):  # target by target: each may have labels of its own type
        column = np.asarray(y[:, t].tolist()) if y.dtype == object else y[:, t]  # (an object y mixes types)
        check_classification_targets(column)
        labels, codes[:, t] = np.unique(column, return_inverse=True)
        classes.append(labels)
    if max(len(labels) for labels in classes) < 2:
        raise ValueError(f"{type(estimator).__name__} needs samples of at least 2 classes in some target, but "
                         "every target holds only one class.")
    return classes, codes


def target_sample_weight(class_weight, y, sample_weight):
    """``sample_weight`` times the class weights of every target (a list of dicts, or 'balanced')."""
    if class_weight is not None and not isinstance(class_weight, str) and not isinstance(class_weight, list):
        raise ValueError("class_weight for several outputs must be 'balanced', 'balanced_subsample' or a list of "
                         "dicts, one per output.")
    if isinstance(class_weight, list) and len(class_weight) != y.shape[1]:
        raise ValueError(f"class_weight has {len(class_weight)} dicts for {y.shape[1]} outputs.")
    expanded = compute_sample_weight(class_weight, y)
    return expanded if sample_weight is None else sample_weight * expanded


def target_probas(values, n_classes):
    """(n_samples, n_outputs * K) shares as a list of (n_samples, n_classes[t]) arrays."""
    k = values.shape[1] // len(n_classes)
    return [values[:, t * k:t * k + n] for t, n in enumerate(n_classes)]


def labels_of(classes, probas):
    """Each target's most probable label, in an array of shape (n_samples, n_outputs)."""
    kinds = {labels.dtype.kind in "biuf" for labels in classes}  # numbers and text: no common type but object
    dtype = np.result_type(*(labels.dtype for labels in classes)) if len(kinds) == 1 else object
    labels = np.empty((probas[0].shape[0], len(classes)), dtype=dtype)
    for t, (target_classes, proba) in enumerate(zip(classes, probas)):
        labels[:, t] = target_classes[np.argmax(proba, axis=1)]
    return labels


def oob_decision_function(values, n_outputs):
    """OOB shares (n_samples, n_outputs * K) as scikit-learn's (n_samples, K, n_outputs)."""
    return values.reshape(values.shape[0], n_outputs, -1).transpose(0, 2, 1).copy()


def oob_accuracy(codes, decision, score=accuracy_score):
    """Mean over the targets of the score of the OOB classes (scikit-learn's multi-output rule)."""
    return float(np.mean([score(codes[:, t], np.argmax(decision[:, :, t], axis=1)) for t in range(codes.shape[1])]))


def n_samples_bootstrap(n_samples, max_samples, sample_weight):
    """Rows drawn per tree (scikit-learn's ``_get_n_samples_bootstrap``).

    None: ``n_samples``; an int: itself; a float: ``max(int(max_samples * W), 1)`` where ``W`` is
    ``n_samples`` or, with sample weights, their sum.
    """
    if max_samples is None:
        return n_samples
    if isinstance(max_samples, Integral):
        return int(max_samples)
    total = n_samples if sample_weight is None else float(np.sum(sample_weight))
    n_draws = max(int(max_samples * total), 1)
    if n_draws < max(10, n_samples ** (1 / 3)):
        warnings.warn(
            f"Using the fractional value max_samples={max_samples} results in a low number "
            f"({n_draws}) of bootstrap samples. We recommend passing `max_samples` as an integer instead."
        )
    return n_draws


def count_of(value, n_samples, minimum):
    """An int parameter as is, a float fraction as ``ceil(value * n_samples)`` (at least ``minimum``)."""
    if isinstance(value, Integral):
        return int(value)
    return max(minimum, int(np.ceil(value * n_samples)))


def max_features_count(value, n_features):
    """Candidate features drawn at every node (scikit-learn's rule for ``max_features``)."""
    if value == "sqrt":
        count = max(1, int(np.sqrt(n_features)))
    elif value == "log2":
        count = max(1, int(np.log2(n_features)))
    elif value is None:
        count = n_features
    elif isinstance(value, Integral):
        count = int(value)
    else:
        count = max(1, int(value * n_features))
    if not 0 < count <= n_features:
        raise ValueError(f"max_features must be in (0, n_features={n_features}], got {value!r}.")
    return count
