"""Slow, obviously correct NumPy oracles of the core's kernels: histograms, the regularised split
formulas, exhaustive split search, partition, objectives, links and the tree walk over
``Model.to_arrays()``.

Conventions shared with the core: gradients are stored as float32 and summed in float64; feature
``f`` has ``n_bins[f]`` value bins (codes ``0..n_bins[f]-1``) and the missing code ``n_bins[f]``; a
row goes left at a numeric split on (feature, bin) when its code is ``<= bin`` (raw value
``<= threshold``), at a category-set split when its category is in the node's set (a raw value is
category v when it is a non-negative integer v: negative, non-integral or too large values go
right), and a missing value (missing code, NaN) when ``default_left``.
"""

from collections import namedtuple

import numpy as np

# --------------------------------------------------------------------------------------------
# Histograms
# --------------------------------------------------------------------------------------------


def as_float32_values(values):
    """(n,) float64 array holding the float32 rounding of ``values`` (what the core stores)."""
    return np.asarray(values, dtype=np.float64).astype(np.float32).astype(np.float64)


def hist_offsets(n_bins):
    """(n_features + 1,) int64 first histogram slot of each feature; feature f owns n_bins[f] + 1 slots."""
    return np.concatenate([[0], np.cumsum(np.asarray(n_bins, dtype=np.int64) + 1)])


def build_histogram(codes, n_bins, grad, hess, rows=None):
    """(n_slots, 3) float64 [sum_grad, sum_hess, count] per histogram slot over ``rows`` (all if None).

    codes: (n_samples, n_features) uint8; grad, hess: (n_samples,) float, rounded to float32 first.
    """
    codes = np.asarray(codes)
    rows = np.arange(codes.shape[0]) if rows is None else np.asarray(rows, dtype=np.int64)
    g, h = as_float32_values(grad)[rows], as_float32_values(hess)[rows]
    offsets = hist_offsets(n_bins)
    out = np.zeros((offsets[-1], 3))
    for f in range(codes.shape[1]):
        slots = offsets[f] + codes[rows, f].astype(np.int64)
        np.add.at(out[:, 0], slots, g)
        np.add.at(out[:, 1], slots, h)
        np.add.at(out[:, 2], slots, 1.0)
    return out


# --------------------------------------------------------------------------------------------
# Split formulas (split_math.hpp) and the exhaustive split search
# --------------------------------------------------------------------------------------------


def threshold_l1(sum_grad, alpha):
    """Soft threshold sign(G) * max(|G| - alpha, 0)."""
    return float(np.sign(sum_grad) * max(abs(sum_grad) - alpha, 0.0))


def leaf_weight(sum_grad, sum_hess, l2, l1):
    """-T_alpha(G) / (H + lambda), 0 when H + lambda <= 0."""
    denom = sum_hess + l2
    return -threshold_l1(sum_grad, l1) / denom if denom > 0 else 0.0


def leaf_score(sum_grad, sum_hess, l2, l1):
    """T_alpha(G)^2 / (H + lambda), 0 when H + lambda <= 0."""
    denom = sum_hess + l2
    return threshold_l1(sum_grad, l1) ** 2 / denom if denom > 0 else 0.0


def split_gain(grad_left, hess_left, grad_right, hess_right, l2, l1):
    """score(left) + score(right) - score(parent), the parent being left + right."""
    parent = leaf_score(grad_left + grad_right, hess_left + hess_right, l2, l1)
    return leaf_score(grad_left, hess_left, l2, l1) + leaf_score(grad_right, hess_right, l2, l1) - parent


Split = namedtuple("Split", "gain feature bin default_left left_count right_count left_rows")


def split_candidates(codes, n_bins, grad, hess, *, l2=0.0, l1=0.0, min_samples_leaf=1, min_child_weight=0.0,
                     min_split_gain=0.0):
    """Every admissible split of the node holding all rows, in the core's tie order.

    Order: feature, then threshold bin, then missing-right before missing-left. A threshold whose
    bin holds no row is skipped (it separates the rows exactly as the threshold before it). When the
    node has no missing value of a feature, missing-left and missing-right are the same split: only
    one is listed, and its default_left says which child holds more rows (the core's rule for
    unseen missing values). ``left_rows`` is a bytes key of the left row set.
    """
    codes = np.asarray(codes)
    g, h = as_float32_values(grad), as_float32_values(hess)
    out = []
    for f in range(codes.shape[1]):
        column = codes[:, f].astype(np.int64)
        missing = column == n_bins[f]
        has_missing = bool(missing.any())
        for t in range(n_bins[f]):
            if not (column == t).any():
                continue
            for default_left in (False, True) if has_missing else (False,):
                left = ((column <= t) & ~missing) | (missing & default_left)
                n_left, n_right = int(left.sum()), int((~left).sum())
                gl, hl, gr, hr = g[left].sum(), h[left].sum(), g[~left].sum(), h[~left].sum()
                if min(n_left, n_right) < min_samples_leaf or min(hl, hr) < min_child_weight:
                    continue
                gain = split_gain(gl, hl, gr, hr, l2, l1)
                if not (gain > min_split_gain and gain > 0):
                    continue
                reported_left = default_left if has_missing else n_left >= n_right
                out.append(Split(gain, f, t, reported_left, n_left, n_right, np.packbits(left).tobytes()))
    return out


def best_split(candidates):
    """The first candidate of largest gain (None if there is none)."""
    best = None
    for c in candidates:
        if best is None or c.gain > best.gain:
            best = c
    return best


def runner_up_gap(candidates, best):
    """best.gain minus the largest gain of a candidate with a different left row set (inf if none)."""
    others = [c.gain for c in candidates if c.left_rows != best.left_rows]
    return best.gain - max(others) if others else np.inf


# --------------------------------------------------------------------------------------------
# Partition
# --------------------------------------------------------------------------------------------


def partition(codes, rows, feature, bin, default_left, n_bins_of_feature):
    """(left_rows, right_rows) of ``rows``, each in input order."""
    rows = np.asarray(rows, dtype=np.int64)
    column = np.asarray(codes)[rows, feature].astype(np.int64)
    go_left = np.where(column == n_bins_of_feature, default_left, column <= bin)
    return rows[go_left], rows[~go_left]


# --------------------------------------------------------------------------------------------
# Objectives and links
# --------------------------------------------------------------------------------------------


def sigmoid(margin):
    """1 / (1 + e^-m), without overflow."""
    return np.exp(-np.logaddexp(0.0, -np.asarray(margin, dtype=np.float64)))


def softmax(margin_rows):
    """Row-wise softmax of a (n, K) array."""
    z = np.asarray(margin_rows, dtype=np.float64)
    z = np.exp(z - z.max(axis=1, keepdims=True))
    return z / z.sum(axis=1, keepdims=True)


def inverse_link(objective, margin_rows):
    """(n, K) predictions from (n, K) margins: identity, sigmoid, softmax or exp."""
    m = np.asarray(margin_rows, dtype=np.float64)
    if objective == "squared_error":
        return m.copy()
    if objective == "binary_logloss":
        return sigmoid(m)
    if objective == "multiclass_softmax":
        return softmax(m)
    if objective in ("poisson", "gamma"):
        return np.exp(m)
    raise ValueError(objective)


def _onehot(y, n_outputs):
    return (np.asarray(y)[:, None] == np.arange(n_outputs)[None, :]).astype(np.float64)


def unweighted_gradients(objective, y, margin_rows):
    """(grad, hess), each (n, K) float64, of the per-row loss at (n, K) margins (multiclass: the
    hessian scaled by K/(K-1))."""
    y = np.asarray(y, dtype=np.float64)
    m = np.asarray(margin_rows, dtype=np.float64)
    yk = y[:, None]
    if objective == "squared_error":
        return m - yk, np.ones_like(m)
    if objective == "binary_logloss":
        p = sigmoid(m)
        return p - yk, p * (1 - p)
    if objective == "multiclass_softmax":
        # The diagonal hessian times K/(K-1): Friedman's Newton step for K over-parameterised outputs.
        p, k = softmax(m), m.shape[1]
        return p - _onehot(y, k), k / (k - 1) * p * (1 - p)
    if objective == "poisson":
        return np.exp(m) - yk, np.exp(m)
    if objective == "gamma":
        return 1 - yk * np.exp(-m), yk * np.exp(-m)
    raise ValueError(objective)


def row_losses(objective, y, margin_rows):
    """(n,) per-row loss: half squared error, log loss, e^m - y m, m + y e^-m, softmax cross-entropy."""
    y = np.asarray(y, dtype=np.float64)
    m = np.asarray(margin_rows, dtype=np.float64)
    if objective == "squared_error":
        return 0.5 * (m[:, 0] - y) ** 2
    if objective == "binary_logloss":
        return np.logaddexp(0.0, m[:, 0]) - y * m[:, 0]
    if objective == "multiclass_softmax":
        top = m.max(axis=1)
        lse = top + np.log(np.exp(m - top[:, None]).sum(axis=1))
        return lse - m[np.arange(len(y)), y.astype(np.int64)]
    if objective == "poisson":
        return np.exp(m[:, 0]) - y * m[:, 0]
    if objective == "gamma":
        return m[:, 0] + y * np.exp(-m[:, 0])
    raise ValueError(objective)


def mean_loss(objective, y, margin_rows, sample_weight=None):
    """Weighted mean of the per-row losses."""
    losses = row_losses(objective, y, margin_rows)
    w = np.ones_like(losses) if sample_weight is None else np.asarray(sample_weight, dtype=np.float64)
    return float((w * losses).sum() / w.sum())


def base_margin(objective, y, n_outputs=1, sample_weight=None):
    """(K,) best constant margin: mean, logit of the mean, log class priors, log of the mean."""
    y = np.asarray(y, dtype=np.float64)
    w = np.ones_like(y) if sample_weight is None else np.asarray(sample_weight, dtype=np.float64)
    if objective == "multiclass_softmax":
        return np.log(np.average(_onehot(y, n_outputs), axis=0, weights=w))
    mean = np.average(y, weights=w)
    if objective == "binary_logloss":
        return np.array([np.log(mean / (1 - mean))])
    if objective in ("poisson", "gamma"):
        return np.array([np.log(mean)])
    return np.array([mean])


def to_output_major(rows_by_output):
    """(n, K) row-major array -> (K * n,) flat output-major (element k * n + i)."""
    return np.ascontiguousarray(np.asarray(rows_by_output).T).ravel()


def from_output_major(flat, n_outputs):
    """(K * n,) output-major -> (n, K)."""
    return np.asarray(flat).reshape(n_outputs, -1).T


# --------------------------------------------------------------------------------------------
# Tree walk over Model.to_arrays()
# --------------------------------------------------------------------------------------------


def tree_slice(arrays, tree):
    """(lo, hi) node range of tree ``tree`` in the concatenated node arrays."""
    offsets = arrays["tree_offsets"]
    return int(offsets[tree]), int(offsets[tree + 1])


def category_set(arrays, k):
    """The set of categories of absolute node k (a Python set; empty unless a set split).

    The j-th set split in node order owns the words ``cat_words[cat_offsets[j]:cat_offsets[j + 1]]``;
    category c is bit c % 32 of word c // 32. Arrays without ``split_kind`` (version 1) have none.
    """
    kinds = np.asarray(arrays.get("split_kind", np.zeros(0, np.uint8)))
    if kinds.size == 0 or kinds[k] != 1:
        return set()
    j = int(np.count_nonzero(kinds[:k] == 1))
    words = arrays["cat_words"][arrays["cat_offsets"][j]:arrays["cat_offsets"][j + 1]]
    return {32 * w + b for w, word in enumerate(words.tolist()) for b in range(32) if word >> b & 1}


def is_set_split(arrays, k):
    kinds = arrays.get("split_kind")
    return kinds is not None and len(kinds) > 0 and kinds[k] == 1


def goes_left(arrays, k, values):
    """Whether raw ``values`` go left at absolute node k (NaN follows default_left).

    At a set split, the feature's categories are 0 .. n_bins - 1 (its value bins); any other value
    (NaN, negative, non-integral, too large: unseen in training) is missing and follows default_left.
    """
    values = np.asarray(values, dtype=np.float64)
    if is_set_split(arrays, k):
        categories = category_set(arrays, k)
        f = int(arrays["feature"][k])
        n_bins = int(arrays["edge_offsets"][f + 1] - arrays["edge_offsets"][f]) + 1
        flat = np.atleast_1d(values)
        known = np.array([float(v).is_integer() and 0 <= v < n_bins for v in flat]).reshape(values.shape)
        in_set = np.array([bool(ok) and int(v) in categories for v, ok in zip(flat, np.atleast_1d(known))])
        return np.where(known, in_set.reshape(values.shape), bool(arrays["default_left"][k]))
    return np.where(np.isnan(values), bool(arrays["default_left"][k]), values <= arrays["threshold"][k])


def leaf_of(arrays, tree, x):
    """Index (within its tree) of the leaf the raw row ``x`` reaches, by a plain loop."""
    lo, _ = tree_slice(arrays, tree)
    node = 0
    while arrays["feature"][lo + node] >= 0:
        k = lo + node
        node = int(arrays["left"][k] if goes_left(arrays, k, x[arrays["feature"][k]]) else arrays["right"][k])
    return node


def leaf_of_codes(arrays, tree, codes_row, n_bins):
    """Like leaf_of, on bin codes: code <= bin goes left (set splits: code in the set, the code of a
    categorical feature being its category), the missing code n_bins[f] follows default_left."""
    lo, _ = tree_slice(arrays, tree)
    node = 0
    while arrays["feature"][lo + node] >= 0:
        k = lo + node
        f = arrays["feature"][k]
        code = int(codes_row[f])
        if code == n_bins[f]:
            left = bool(arrays["default_left"][k])
        elif is_set_split(arrays, k):
            left = code in category_set(arrays, k)
        else:
            left = code <= arrays["bin"][k]
        node = int(arrays["left"][k] if left else arrays["right"][k])
    return node


def predict_leaf(arrays, X):
    """(n_samples, n_trees) int32 leaf index of every row in every tree."""
    n_trees = len(arrays["tree_offsets"]) - 1
    out = np.empty((X.shape[0], n_trees), dtype=np.int32)
    for i in range(X.shape[0]):
        for t in range(n_trees):
            out[i, t] = leaf_of(arrays, t, X[i])
    return out


def predict_margin(arrays, X, iter_begin=0, iter_end=None):
    """(n_samples, n_outputs) margin of iterations [iter_begin, iter_end): base score (only when
    iter_begin == 0) plus leaf values, added tree after tree; 'mean' models divide by the tree count."""
    k_out, leaf_dim = int(arrays["n_outputs"]), int(arrays["leaf_dim"])
    per_iter = k_out if leaf_dim == 1 else 1
    n_iter = (len(arrays["tree_offsets"]) - 1) // per_iter
    iter_end = n_iter if iter_end is None or iter_end < 0 or iter_end > n_iter else iter_end
    X = np.asarray(X, dtype=np.float64)
    out = np.zeros((X.shape[0], k_out))
    if iter_begin == 0:
        out += np.asarray(arrays["base_score"])[None, :]
    for i in range(X.shape[0]):
        for t in range(iter_begin * per_iter, iter_end * per_iter):
            lo, _ = tree_slice(arrays, t)
            k = lo + leaf_of(arrays, t, X[i])
            if leaf_dim == 1:
                out[i, t % k_out] += arrays["value"][k]
            else:
                out[i] += arrays["value"][k * leaf_dim:(k + 1) * leaf_dim]
    if arrays["aggregation"] == "mean" and iter_end > iter_begin:
        out *= 1.0 / (iter_end - iter_begin)
    return out


def node_rows(arrays, tree, X):
    """List over the nodes of ``tree`` (tree-local index) of the row indices that pass through each."""
    lo, hi = tree_slice(arrays, tree)
    rows = [None] * (hi - lo)
    rows[0] = np.arange(X.shape[0])
    for node in range(hi - lo):  # children come after their parent, so rows[node] is known here
        k = lo + node
        if arrays["feature"][k] < 0:
            continue
        left = goes_left(arrays, k, X[rows[node], arrays["feature"][k]])
        rows[arrays["left"][k]] = rows[node][left]
        rows[arrays["right"][k]] = rows[node][~left]
    return rows


def node_depths(arrays, tree):
    """(n_nodes,) depth of every node of ``tree`` (root 0)."""
    lo, hi = tree_slice(arrays, tree)
    depth = np.zeros(hi - lo, dtype=np.int64)
    for node in range(hi - lo):
        k = lo + node
        if arrays["feature"][k] >= 0:
            depth[arrays["left"][k]] = depth[arrays["right"][k]] = depth[node] + 1
    return depth


def canonical_tree(arrays, tree, node=0, expanded=None):
    """Nested tuples describing the subtree at ``node``, independent of node numbering.

    A leaf is ("leaf", value, count); a split (feature, bin, default_left, left, right). With
    ``expanded`` (a set of tree-local node indices) every other node is described as a leaf, which
    gives the tree pruned to those splits (internal nodes keep their would-be leaf value).
    """
    lo, _ = tree_slice(arrays, tree)
    k = lo + node
    if arrays["feature"][k] < 0 or (expanded is not None and node not in expanded):
        return ("leaf", float(arrays["value"][k]), float(arrays["count"][k]))
    return (int(arrays["feature"][k]), int(arrays["bin"][k]), bool(arrays["default_left"][k]),
            canonical_tree(arrays, tree, int(arrays["left"][k]), expanded),
            canonical_tree(arrays, tree, int(arrays["right"][k]), expanded))


def expansion_order(arrays, tree, grow_policy, max_leaf_nodes):
    """Tree-local nodes of a fully grown ``tree`` that a grower limited to ``max_leaf_nodes`` leaves
    splits: lossguide takes the open node of largest gain first, depthwise the shallowest; ties go
    to the node created first (the grower's node numbering)."""
    lo, _ = tree_slice(arrays, tree)
    depth = node_depths(arrays, tree)
    open_nodes = [(0, 0)]  # (creation index, node)
    created, expanded = 1, []
    while open_nodes and (max_leaf_nodes == 0 or len(expanded) + 1 < max_leaf_nodes):
        if grow_policy == "lossguide":
            key = lambda item: (-arrays["gain"][lo + item[1]], item[0])  # noqa: E731
        else:
            key = lambda item: (depth[item[1]], item[0])  # noqa: E731
        item = min(open_nodes, key=key)
        open_nodes.remove(item)
        node = item[1]
        expanded.append(node)
        for child in (int(arrays["left"][lo + node]), int(arrays["right"][lo + node])):
            if arrays["feature"][lo + child] >= 0:
                open_nodes.append((created, child))
            created += 1
    return expanded
