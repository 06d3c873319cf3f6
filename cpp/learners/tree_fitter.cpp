// TreeFitter: per-tree weights to criterion, growth, exact leaf values, and leaves of every row.
#include "learners/tree_fitter.hpp"

#include <algorithm>
#include <cmath>

namespace treeforge {

namespace {

// Squared-error trees refuse splits gaining less than this fraction of the root's weighted SSE.
// The fixed-point gradients are rounded (float storage, truncation), so a split of a node whose
// rows all share one target can score a gain of about 1e-15 of the root's SSE instead of 0;
// without a floor such pure nodes would be split down to single bins for nothing.
constexpr double kMinRelativeGain = 1e-11;

/// A loop over the rows of a tree: body(i) for each of `rows`, or for every row of n when empty.
auto rows_of_tree(Span<const row_t> rows, std::size_t n) {
  return [rows, n](auto&& body) {
    if (rows.empty()) {
      for (std::size_t i = 0; i < n; ++i) body(i);
    } else {
      for (row_t r : rows) body(r);
    }
  };
}

/// The features with two bins or more or missing values: in any participant's rows, on a
/// distributed fit (its bins are everyone's, its missing values its own).
std::vector<int> usable_features_of(const BinnedMatrix& X, const DistributedRows* distributed) {
  std::vector<double> has_nan(X.has_nan.begin(), X.has_nan.end());
  if (distributed && distributed->reduction)
    distributed->reduction->max(Span<double>(has_nan.data(), has_nan.size()));
  std::vector<int> features;
  for (int f = 0; f < X.n_features; ++f)
    if (X.n_bins[f] > 1 || has_nan[f] > 0) features.push_back(f);
  return features;
}

ClassCriterion::Impurity impurity_of(TreeCriterion criterion) {
  return criterion == TreeCriterion::kEntropy ? ClassCriterion::Impurity::kEntropy : ClassCriterion::Impurity::kGini;
}

/// A power of two that brings the largest |w (y - mean_y)| of the tree's rows below 2^100, or 1
/// when it already is: gradients are floats and fixed-point sums (|y| near 1e38 overflowed them),
/// and a power of two changes no quantised value, so ordinary targets grow the same trees.
template <class ForEachRow>
double largest_residual(const TrainData& data, Span<const double> weights, const std::vector<double>& mean_y,
                        ForEachRow&& for_each_row) {
  const int n_targets = static_cast<int>(mean_y.size());
  double largest = 0;
  for_each_row([&](std::size_t i) {
    for (int t = 0; t < n_targets; ++t)
      largest = std::max(largest, std::fabs(weights[i] * (data.y[i * n_targets + t] - mean_y[t])));
  });
  return largest;
}

double scale_below(double largest) {
  constexpr int kMaxExponent = 100;
  if (!(largest > std::ldexp(1.0, kMaxExponent)) || !std::isfinite(largest)) return 1.0;
  return std::ldexp(1.0, std::ilogb(largest) - kMaxExponent + 1);
}

template <class ForEachRow>
double target_scale(const TrainData& data, Span<const double> weights, const std::vector<double>& mean_y,
                    ForEachRow&& for_each_row) {
  return scale_below(largest_residual(data, weights, mean_y, for_each_row));
}

/// W * impurity of a regression node from (W, sum w y, sum w y^2 or sum w y log y): the weighted
/// SSE, or half the Poisson deviance sum w (y log(y / mu) - y + mu) with mu its mean.
double regression_risk(const double* s, TreeCriterion criterion) {
  if (!(s[0] > 0)) return 0.0;
  if (criterion == TreeCriterion::kPoisson)
    return s[1] > 0 ? std::max(s[2] - s[1] * std::log(s[1] / s[0]), 0.0) : 0.0;
  return std::max(s[2] - s[1] * s[1] / s[0], 0.0);
}

/// W * impurity of class weights w[0..k-1] summing to W (Gini, or entropy in bits as scikit-learn).
double class_risk(const double* w, int k, double total, TreeCriterion criterion) {
  if (!(total > 0)) return 0.0;
  double risk = 0;
  if (criterion == TreeCriterion::kEntropy) {
    risk = total * std::log2(total);
    for (int c = 0; c < k; ++c)
      if (w[c] > 0) risk -= w[c] * std::log2(w[c]);
  } else {
    risk = total;
    for (int c = 0; c < k; ++c) risk -= w[c] * w[c] / total;
  }
  return std::max(risk, 0.0);
}

}  // namespace

std::vector<std::int32_t> check_tree_data(const BinnedMatrix* X, const BinMapper& mapper, const TrainData& data,
                                          TreeCriterion criterion, int n_classes) {
  check(X != nullptr && X->n_rows > 0, "cannot train on 0 rows");
  check(X->n_features >= 1, "cannot train on 0 features");
  check(X->n_features == mapper.n_features(), "training data and bin mapper disagree on n_features");
  data.validate(X->n_rows, 1, "training data");
  if (!is_regression(criterion)) return data.class_indices(n_classes);
  for (double v : data.y) check(std::isfinite(v), "y must be finite");
  if (criterion == TreeCriterion::kPoisson) {
    double sum = 0;
    for (double v : data.y) {
      check(v >= 0, "y must be non-negative for criterion='poisson'");
      sum += v;
    }
    check(sum > 0, "y must have a positive sum for criterion='poisson'");
  }
  return {};
}

TreeConfig TreeFitter::grower_config(const TreeConfig& config, int n_usable, int max_features) {
  TreeConfig c = config;
  c.min_child_weight = 0.0;
  c.min_split_gain = 0.0;
  // The grower draws max(1, int(fraction * n)) of the n usable features at every node; halfway
  // between k and k + 1 the product is k + 0.5 up to rounding, so exactly k are drawn.
  c.max_features = max_features <= 0 || max_features >= n_usable ? 1.0 : (max_features + 0.5) / n_usable;
  return c;
}

TreeFitter::TreeFitter(const BinnedMatrix& X, const BinMapper& mapper, const TreeConfig& config,
                       TreeCriterion criterion, int n_classes, int max_features, int n_threads, int n_targets,
                       const DistributedRows* distributed)
    : X_(X),
      distributed_(distributed && distributed->reduction ? distributed : nullptr),
      fold_(distributed_, X.n_rows),
      usable_features_(usable_features_of(X, distributed_)),
      config_(grower_config(config, static_cast<int>(usable_features_.size()), max_features)),
      criterion_(criterion),
      n_classes_(n_classes),
      n_targets_(n_targets),
      grower_(X, mapper, config_, n_threads, distributed_ ? distributed_->reduction.get() : nullptr),
      median_grower_(X, mapper, config_) {
  check(n_targets >= 1 && (n_targets == 1 || (criterion != TreeCriterion::kPoisson && config.monotone.empty())),
        "several targets need squared_error, gini or entropy trees without monotone constraints");
  if (criterion == TreeCriterion::kPoisson || criterion == TreeCriterion::kAbsoluteError) {
    const char* name = tree_criterion_name(criterion);
    check(n_targets == 1, "criterion='", name, "' fits one target, not ", n_targets);
    check(config.monotone.empty(), "monotone constraints do not apply to criterion='", name, "'");
    for (int f = 0; f < X.n_features; ++f)
      check(!X.categorical(f), "feature ", f, " is categorical: criterion='", name, "' splits numeric features only");
  }
  check(is_regression(criterion) ? n_classes == 0 : n_classes >= 2,
        "n_classes must be >= 2 for classification trees and 0 for regression trees");
  check(distributed_ == nullptr || (n_targets == 1 && (criterion == TreeCriterion::kSquaredError ||
                                                      !is_regression(criterion))),
        "a distributed fit grows trees of one target by squared error, gini or entropy only (#26), not criterion='",
        tree_criterion_name(criterion), "' of ", n_targets, " targets");
}

template <class Term>
double TreeFitter::ordered_sum(Span<const double> weights, Term&& term) const {
  double sum = 0;
  fold_.fold(Span<double>(&sum, 1), [&](std::size_t begin, std::size_t end) {
    for (std::size_t i = begin; i < end; ++i)
      if (weights[i] > 0) sum += term(i);
  });
  return sum;
}

Tree TreeFitter::fit(const TrainData& data, Span<const std::int32_t> classes, Span<const double> weights,
                     const TreeLimits& limits, std::uint64_t seed) {
  const std::size_t n = X_.n_rows;
  check_internal(weights.size == n, "tree weights must have one value per row");
  rows_.clear();
  double total = 0;
  for (std::size_t i = 0; i < n; ++i)
    if (weights[i] > 0) {
      rows_.push_back(static_cast<row_t>(i));
      total += weights[i];
    }
  check(!rows_.empty(), distributed_ ? "a tree of the distributed fit has no rows of this worker (of positive weight "
                                       "or in its bag): give each worker more rows (#26)"
                                     : "a tree needs at least one row with a positive weight");
  if (distributed_) total = ordered_sum(weights, [&](std::size_t i) { return weights[i]; });
  if (rows_.size() == n) rows_.clear();  // every row: the grower's fast path
  const Span<const row_t> rows(rows_.data(), rows_.size());
  const auto for_each_row = rows_of_tree(rows, n);

  TreeConfig tree_config = config_;
  tree_config.min_child_weight = limits.min_weight_fraction_leaf * total;
  tree_config.min_split_gain = limits.min_impurity_decrease * total;

  Tree tree;
  mean_y_.clear();
  if (criterion_ == TreeCriterion::kAbsoluteError) {  // exact medians from the rows: nothing to reset after
    tree = median_grower_.grow(Span<const double>(data.y.data(), data.y.size()), weights, rows, usable_features_, seed);
    // Every node already holds its exact median; its risk comes from the grower.
    pruned_ = limits.ccp_alpha > 0 &&
              prune_cost_complexity(tree, NodeRisks{median_grower_.node_risk(), tree.value}, limits.ccp_alpha * total);
    return tree;
  }
  if (distributed_) {
    tree = grow_distributed(data, classes, weights, total, rows, tree_config, seed);
  } else if (is_regression(criterion_) && n_targets_ > 1) {
    tree = grow_targets(data, weights, rows, tree_config, seed);
  } else if (is_regression(criterion_)) {
    double sum_wy = 0;
    for_each_row([&](std::size_t i) { sum_wy += weights[i] * data.y[i]; });
    // Squared error: targets centred on their mean, so that the fixed-point gradients keep their
    // precision. Poisson: the counts themselves, whose sums the deviance needs.
    const bool poisson = criterion_ == TreeCriterion::kPoisson;
    mean_y_.assign(1, poisson ? 0.0 : sum_wy / total);
    const double mean_y = mean_y_[0];
    y_scale_ = poisson ? 1.0 : target_scale(data, weights, mean_y_, for_each_row);
    double root_scale = 0;
    gh_.assign(n, GradPair{0.0f, 0.0f});
    for_each_row([&](std::size_t i) {
      const double residual = (data.y[i] - mean_y) / y_scale_;
      root_scale += poisson ? weights[i] * data.y[i] : weights[i] * residual * residual;
      gh_[i] = {static_cast<float>(-weights[i] * residual), static_cast<float>(weights[i])};
    });
    tree_config.poisson_gain = poisson;
    tree_config.min_split_gain = std::max(tree_config.min_split_gain / (y_scale_ * y_scale_), kMinRelativeGain * root_scale);
    const Span<const GradPair> gh(gh_.data(), gh_.size());
    const GradientCriterion criterion(gh, GradScale::fit(gh, rows, 1), tree_config);
    tree = grower_.grow(criterion, rows, usable_features_, seed);
  } else {
    y_scale_ = 1.0;
    check_internal(classes.size == n * static_cast<std::size_t>(n_targets_), "classes must have one value per row and target");
    if (n_targets_ == 1) {
      const ClassCriterion criterion(classes, weights, n_classes_, impurity_of(criterion_), tree_config);
      tree = grower_.grow(criterion, rows, usable_features_, seed);
    } else {
      const TargetClassesCriterion criterion(classes, weights, n_classes_, n_targets_, impurity_of(criterion_),
                                             tree_config);
      tree = grower_.grow(criterion, rows, usable_features_, seed);
    }
  }
  set_exact_leaf_values(data, classes, weights, tree);
  pruned_ = limits.ccp_alpha > 0 &&
            prune_cost_complexity(tree, node_risks(data, classes, weights, tree), limits.ccp_alpha * total);
  return tree;
}

Tree TreeFitter::grow_targets(const TrainData& data, Span<const double> weights, Span<const row_t> rows,
                              TreeConfig& config, std::uint64_t seed) {
  const std::size_t n = X_.n_rows;
  const int k = n_targets_;
  const auto for_each_row = rows_of_tree(rows, n);
  std::vector<double> sum_wy(k, 0.0);
  double total = 0;
  for_each_row([&](std::size_t i) {
    total += weights[i];
    for (int t = 0; t < k; ++t) sum_wy[t] += weights[i] * data.y[i * k + t];
  });
  mean_y_.resize(k);
  for (int t = 0; t < k; ++t) mean_y_[t] = sum_wy[t] / total;
  // One power of two for every target, so that the gain adds their squared errors in one unit.
  y_scale_ = target_scale(data, weights, mean_y_, for_each_row);
  double root_scale = 0;
  wr_.assign(n * k, 0.0);
  for_each_row([&](std::size_t i) {
    for (int t = 0; t < k; ++t) {
      const double residual = (data.y[i * k + t] - mean_y_[t]) / y_scale_;
      wr_[i * k + t] = weights[i] * residual;
      root_scale += weights[i] * residual * residual;
    }
  });
  config.min_split_gain = std::max(config.min_split_gain / (y_scale_ * y_scale_), kMinRelativeGain * root_scale / k);
  const TargetsCriterion criterion(Span<const double>(wr_.data(), wr_.size()), weights, k, config);
  return grower_.grow(criterion, rows, usable_features_, seed);
}

Tree TreeFitter::grow_distributed(const TrainData& data, Span<const std::int32_t> classes, Span<const double> weights,
                                  double total, Span<const row_t> rows, TreeConfig& config, std::uint64_t seed) {
  // The single-machine steps of fit() and its criteria, their sums over every participant's rows.
  HistogramReduction& reduction = *distributed_->reduction;
  const std::size_t n = X_.n_rows;
  const auto for_each_row = rows_of_tree(rows, n);
  if (!is_regression(criterion_)) {
    y_scale_ = 1.0;
    double max_w = 0;
    for (std::size_t i = 0; i < n; ++i) max_w = std::max(max_w, weights[i]);
    reduction.max(Span<double>(&max_w, 1));
    const ClassCriterion::WeightRange all_rows{distributed_->n_global_rows, max_w};
    const ClassCriterion criterion(classes, weights, n_classes_, impurity_of(criterion_), config, all_rows);
    return grower_.grow(criterion, rows, usable_features_, seed);
  }
  const double sum_wy = ordered_sum(weights, [&](std::size_t i) { return weights[i] * data.y[i]; });
  mean_y_.assign(1, sum_wy / total);
  const double mean_y = mean_y_[0];
  double largest = largest_residual(data, weights, mean_y_, for_each_row);
  reduction.max(Span<double>(&largest, 1));
  y_scale_ = scale_below(largest);
  const double root_scale = ordered_sum(weights, [&](std::size_t i) {
    const double residual = (data.y[i] - mean_y) / y_scale_;
    return weights[i] * residual * residual;
  });
  gh_.assign(n, GradPair{0.0f, 0.0f});
  for_each_row([&](std::size_t i) {
    const double residual = (data.y[i] - mean_y) / y_scale_;
    gh_[i] = {static_cast<float>(-weights[i] * residual), static_cast<float>(weights[i])};
  });
  config.poisson_gain = false;
  config.min_split_gain = std::max(config.min_split_gain / (y_scale_ * y_scale_), kMinRelativeGain * root_scale);
  const Span<const GradPair> gh(gh_.data(), gh_.size());
  const GradientCriterion criterion(gh, GradScale::of(reduction.merge(GradRange::of(gh, rows, 1))), config);
  return grower_.grow(criterion, rows, usable_features_, seed);
}

NodeRisks TreeFitter::node_risks(const TrainData& data, Span<const std::int32_t> classes, Span<const double> weights,
                                 const Tree& tree) const {
  const int n = tree.n_nodes(), k = n_leaf_values(), n_targets = n_targets_;
  const bool regression = is_regression(criterion_);
  // Per node: regression W, then per target (sum w y, sum w y^2 or, for Poisson, sum w y log y) of
  // targets centred on their mean (0 for Poisson); classes W per class of each target.
  const int width = regression ? 1 + 2 * n_targets : k;
  std::vector<double> stats(static_cast<std::size_t>(n) * width, 0.0);
  const auto& indices = grower_.partition().indices();
  for (const LeafRange& leaf : grower_.leaves()) {
    double* s = stats.data() + static_cast<std::size_t>(leaf.node) * width;
    for (std::size_t j = leaf.begin; j < leaf.end; ++j) {
      const row_t r = indices[j];
      const double w = weights[r];
      if (!regression) {
        for (int t = 0; t < n_targets; ++t) s[t * n_classes_ + classes[r * n_targets + t]] += w;
        continue;
      }
      s[0] += w;
      for (int t = 0; t < n_targets; ++t) {
        const double y = data.y[r * n_targets + t] - mean_y_[t];
        s[1 + 2 * t] += w * y;
        s[2 + 2 * t] += criterion_ == TreeCriterion::kPoisson ? (y > 0 ? w * y * std::log(y) : 0.0) : w * y * y;
      }
    }
  }
  for (int i = n - 1; i >= 0; --i)
    if (!tree.is_leaf(i))
      for (int c = 0; c < width; ++c)
        stats[static_cast<std::size_t>(i) * width + c] = stats[static_cast<std::size_t>(tree.left[i]) * width + c] +
                                                         stats[static_cast<std::size_t>(tree.right[i]) * width + c];
  NodeRisks out{std::vector<double>(n), std::vector<double>(static_cast<std::size_t>(n) * k)};
  for (int i = 0; i < n; ++i) {
    const double* s = stats.data() + static_cast<std::size_t>(i) * width;
    double* value = out.value.data() + static_cast<std::size_t>(i) * k;
    double risk = 0;
    if (regression) {
      for (int t = 0; t < n_targets; ++t) {
        const double target[3] = {s[0], s[1 + 2 * t], s[2 + 2 * t]};
        risk += regression_risk(target, criterion_);
        value[t] = (s[0] > 0 ? target[1] / s[0] : 0.0) + mean_y_[t];
      }
    } else {
      double w = 0;  // every target's classes hold the node's weight: target 0's counted
      for (int c = 0; c < n_classes_; ++c) w += s[c];
      for (int t = 0; t < n_targets; ++t) risk += class_risk(s + t * n_classes_, n_classes_, w, criterion_);
      for (int c = 0; c < k; ++c) value[c] = w > 0 ? s[c] / w : 1.0 / n_classes_;
    }
    out.risk[i] = risk / n_targets;  // scikit-learn's impurity of several outputs: their mean
  }
  return out;
}

void TreeFitter::set_exact_leaf_values(const TrainData& data, Span<const std::int32_t> classes,
                                       Span<const double> weights, Tree& tree) const {
  const int k = n_leaf_values();
  const bool regression = is_regression(criterion_);
  if (regression) {
    // Internal nodes keep the criterion's mean of the centred (and scaled) targets, shifted back.
    for (std::size_t j = 0; j < tree.value.size(); ++j) tree.value[j] = tree.value[j] * y_scale_ + mean_y_[j % k];
    for (double& g : tree.gain) g *= y_scale_ * y_scale_;
  }
  const std::vector<double> sums = leaf_sums(data, classes, weights, tree);
  for (const LeafRange& leaf : grower_.leaves()) {
    const double* s = sums.data() + static_cast<std::size_t>(leaf.node) * (k + 1);
    double* value = tree.value.data() + static_cast<std::size_t>(leaf.node) * k;
    for (int c = 0; c < k; ++c) value[c] = s[1 + c] / s[0];
    // Monotone constraints (one target) bound the criterion's values: centred on the mean, or
    // class 1's share.
    if (leaf.bounds.bounded() && regression)
      value[0] = leaf.bounds.clamp((value[0] - mean_y_[0]) / y_scale_) * y_scale_ + mean_y_[0];
    if (leaf.bounds.bounded() && k == 2) {
      value[1] = leaf.bounds.clamp(value[1]);
      value[0] = 1.0 - value[1];
    }
  }
}

std::vector<double> TreeFitter::leaf_sums(const TrainData& data, Span<const std::int32_t> classes,
                                          Span<const double> weights, const Tree& tree) const {
  const auto& indices = grower_.partition().indices();
  const int k = n_leaf_values(), n_targets = n_targets_, stride = k + 1;
  const bool regression = is_regression(criterion_);
  std::vector<double> sums(static_cast<std::size_t>(tree.n_nodes()) * stride, 0.0);
  auto add_row = [&](double* s, row_t r) {
    const double w = weights[r];
    s[0] += w;
    for (int t = 0; t < n_targets; ++t) {
      if (regression) {
        s[1 + t] += w * data.y[r * n_targets + t];
      } else {
        s[1 + t * n_classes_ + classes[r * n_targets + t]] += w;
      }
    }
  };
  if (distributed_ == nullptr) {  // a leaf's rows ascend in the partition (it is stable)
    for (const LeafRange& leaf : grower_.leaves())
      for (std::size_t j = leaf.begin; j < leaf.end; ++j)
        add_row(sums.data() + static_cast<std::size_t>(leaf.node) * stride, indices[j]);
    return sums;
  }
  std::vector<std::int32_t> leaf_of(X_.n_rows, -1);
  for (const LeafRange& leaf : grower_.leaves())
    for (std::size_t j = leaf.begin; j < leaf.end; ++j) leaf_of[indices[j]] = leaf.node;
  fold_.fold(Span<double>(sums.data(), sums.size()), [&](std::size_t begin, std::size_t end) {
    for (std::size_t i = begin; i < end; ++i)
      if (leaf_of[i] >= 0) add_row(sums.data() + static_cast<std::size_t>(leaf_of[i]) * stride, static_cast<row_t>(i));
  });
  return sums;
}

const std::vector<LeafRange>& TreeFitter::leaf_ranges() const {
  return criterion_ == TreeCriterion::kAbsoluteError ? median_grower_.leaves() : grower_.leaves();
}

const std::vector<row_t>& TreeFitter::row_order() const {
  return criterion_ == TreeCriterion::kAbsoluteError ? median_grower_.indices() : grower_.partition().indices();
}

void TreeFitter::leaf_of_rows(const Tree& tree, Span<std::int32_t> leaf) const {
  check_internal(leaf.size == X_.n_rows, "leaf buffer must have one entry per row");
  const auto& indices = row_order();
  if (rows_.empty() && !pruned_) {
    for (const LeafRange& range : leaf_ranges())
      for (std::size_t j = range.begin; j < range.end; ++j) leaf[indices[j]] = range.node;
    return;
  }
  for (std::size_t i = 0; i < X_.n_rows; ++i) leaf[i] = tree.leaf_of_row(X_, i);
}

}  // namespace treeforge
