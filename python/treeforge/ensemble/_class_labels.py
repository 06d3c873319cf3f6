"""Class labels of the classifiers: their encoding as the core's class indices and class weights."""

import numpy as np
from sklearn.utils.class_weight import compute_class_weight, compute_sample_weight
from sklearn.utils.multiclass import check_classification_targets


def encode_classes(estimator, y, min_classes=2):
    """Sorted class labels and the targets as class indices.

    Parameters
    ----------
    y : ndarray of shape (n_samples,)
    min_classes : int
        Fewer distinct classes are a ValueError (AdaBoost accepts one, as scikit-learn's does).

    Returns
    -------
    classes : ndarray of shape (n_classes,)
    y_encoded : ndarray of shape (n_samples,), float64
        Class index of each sample (as float, the core's target dtype).
    """
    check_classification_targets(y)
    classes, y_encoded = np.unique(y, return_inverse=True)
    if classes.shape[0] < min_classes:
        raise ValueError(
            f"{type(estimator).__name__} needs samples of at least 2 classes in the data, but "
            f"the data contains only one class: {classes.tolist()[0]!r}."
        )
    return classes, y_encoded.reshape(-1).astype(np.float64)


def encode_known_classes(classes, y, what="y_val"):
    """Class indices (float64) of labels that must all be among ``classes``."""
    y = np.asarray(y)
    idx = np.clip(np.searchsorted(classes, y), 0, classes.shape[0] - 1)
    unknown = classes[idx] != y
    if np.any(unknown):
        raise ValueError(f"{what} contains labels not seen in y: {np.unique(y[unknown]).tolist()!r}.")
    return idx.astype(np.float64)


def apply_class_weight(class_weight, y, sample_weight):
    """Multiply sample weights by ``class_weight`` (dict keyed by label, or 'balanced').

    Parameters
    ----------
    y : ndarray of shape (n_samples,) with the original class labels.
    sample_weight : ndarray of shape (n_samples,), float64, or None

    Returns
    -------
    sample_weight : new ndarray of shape (n_samples,), float64, or None when class_weight is None
    """
    if class_weight is None:
        return sample_weight
    expanded = compute_sample_weight(class_weight, y)
    return expanded if sample_weight is None else sample_weight * expanded


def balanced_class_weight(classes, y, sample_weight):
    """Per-sample weights of ``class_weight='balanced'`` (scikit-learn >= 1.6: weighted class counts).

    Parameters
    ----------
    classes : ndarray of shape (n_classes,)
    y : ndarray of shape (n_samples,) with the original class labels.
    sample_weight : ndarray of shape (n_samples,), float64, or None

    Returns
    -------
    expanded : ndarray of shape (n_samples,), float64
        ``sum(w) / (n_classes * sum of w over the sample's class)`` for every sample.
    """
    weights = compute_class_weight("balanced", classes=classes, y=y, sample_weight=sample_weight)
    return compute_sample_weight(dict(zip(classes, weights)), y)
