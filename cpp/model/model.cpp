// Model: construction, conversion to and from flat arrays with full validation, prediction entry points.
#include "model/model.hpp"

#include <algorithm>
#include <cmath>
#include <limits>
#include <utility>

#include "core/parallel.hpp"

namespace treeforge {

namespace {

std::vector<int> tree_outputs(std::size_t n_trees, int n_outputs, int leaf_dim) {
  std::vector<int> out(n_trees);
  for (std::size_t t = 0; t < n_trees; ++t) out[t] = leaf_dim == 1 ? static_cast<int>(t % n_outputs) : -1;
  return out;
}

Aggregation parse_aggregation(const std::string& name) {
  if (name == "sum") return Aggregation::kSum;
  if (name == "mean") return Aggregation::kMean;
  if (name == "weighted_median") return Aggregation::kWeightedMedian;
  throw std::invalid_argument("model aggregation must be 'sum', 'mean' or 'weighted_median', got '" + name + "'");
}

const char* aggregation_name(Aggregation aggregation) {
  switch (aggregation) {
    case Aggregation::kSum: return "sum";
    case Aggregation::kMean: return "mean";
    case Aggregation::kWeightedMedian: return "weighted_median";
  }
  return "";
}

/// Checks the objective name against the output layout and aggregation it implies.
void check_objective(const ModelArrays& a, Aggregation aggregation) {
  if (!is_ensemble_objective(a.objective)) {
    make_objective(a.objective, a.n_outputs);  // validates the name and output count
    check(aggregation != Aggregation::kWeightedMedian, "model objective '" + a.objective +
                                                           "' cannot use the weighted_median aggregation");
    return;
  }
  const bool regression = a.objective == "forest_regression" || a.objective == "adaboost_r2";
  const Aggregation expected = a.objective == "adaboost_r2"      ? Aggregation::kWeightedMedian
                               : a.objective == "adaboost_samme" ? Aggregation::kSum
                                                                 : Aggregation::kMean;
  check(aggregation == expected, "model objective '" + a.objective + "' needs the '" + aggregation_name(expected) +
                                     "' aggregation");
  check(regression ? a.n_outputs == 1 : (a.n_outputs >= 2 && a.leaf_dim == a.n_outputs),
        "model objective '" + a.objective + "' does not match n_outputs and leaf_dim");
  for (double b : a.base_score) check(b == 0.0, "model objective '" + a.objective + "' needs a zero base_score");
}

/// Index of the weighted median of `outputs` (value, tree) sorted in place: the first position
/// where the cumulative weight reaches half the total (scikit-learn's AdaBoostRegressor rule).
template <class Weight>
std::size_t weighted_median_index(std::vector<std::pair<double, std::size_t>>& outputs, Weight weight) {
  std::sort(outputs.begin(), outputs.end());
  double total = 0;
  for (const auto& o : outputs) total += weight(o.second);
  const double half = 0.5 * total;
  double cumulative = 0;
  for (std::size_t j = 0; j < outputs.size(); ++j) {
    cumulative += weight(outputs[j].second);
    if (cumulative >= half) return j;
  }
  return outputs.size() - 1;
}

}  // namespace

bool is_ensemble_objective(const std::string& objective) {
  return objective == "forest_regression" || objective == "forest_classification" || objective == "adaboost_samme" ||
         objective == "adaboost_r2";
}

Model::Model(std::string objective, int n_outputs, int leaf_dim, Aggregation aggregation, std::vector<double> base_score,
             std::shared_ptr<const BinMapper> mapper, std::vector<Tree> trees, std::vector<double> tree_weights)
    : objective_(std::move(objective)),
      n_outputs_(n_outputs),
      leaf_dim_(leaf_dim),
      aggregation_(aggregation),
      base_score_(std::move(base_score)),
      mapper_(std::move(mapper)),
      trees_(std::move(trees)),
      tree_weights_(std::move(tree_weights)),
      predictor_(trees_, tree_outputs(trees_.size(), n_outputs, leaf_dim), n_outputs) {
  check(tree_weights_.empty() || tree_weights_.size() == trees_.size(), "tree_weights must have one value per tree");
  check(aggregation_ != Aggregation::kWeightedMedian || n_outputs_ == 1, "a weighted median model has one output");
}

Model Model::from_arrays(const ModelArrays& a) {
  check(a.format_version == 1, "unsupported model format version " + std::to_string(a.format_version));
  const Aggregation aggregation = parse_aggregation(a.aggregation);
  check(a.n_features >= 1, "model n_features must be >= 1");
  check(a.n_outputs >= 1, "model n_outputs must be >= 1");
  check(a.leaf_dim == 1 || a.leaf_dim == a.n_outputs, "model leaf_dim must be 1 or n_outputs");
  check(a.max_bins >= 2 && a.max_bins <= 255, "model max_bins must be in [2, 255]");
  check(a.base_score.size() == static_cast<std::size_t>(a.n_outputs), "model base_score must have n_outputs values");
  for (double b : a.base_score) check(std::isfinite(b), "model base_score is not finite");
  check_objective(a, aggregation);

  // Bin edges.
  check(a.edge_offsets.size() == static_cast<std::size_t>(a.n_features) + 1, "model edge_offsets has a wrong length");
  check(a.edge_offsets.front() == 0 && a.edge_offsets.back() == static_cast<std::int64_t>(a.edges.size()),
        "model edge_offsets do not cover the edges");
  std::vector<std::vector<double>> edges(a.n_features);
  for (int f = 0; f < a.n_features; ++f) {
    const std::int64_t lo = a.edge_offsets[f], hi = a.edge_offsets[f + 1];
    check(lo <= hi, "model edge_offsets are not increasing");
    edges[f].assign(a.edges.begin() + lo, a.edges.begin() + hi);
  }
  auto mapper = std::make_shared<const BinMapper>(BinMapper::from_edges(a.max_bins, std::move(edges)));

  // Node arrays.
  const std::size_t n_nodes = a.feature.size();
  for (std::size_t size : {a.bin.size(), a.left.size(), a.right.size(), a.default_left.size(), a.threshold.size(),
                           a.count.size(), a.cover.size(), a.gain.size()})
    check(size == n_nodes, "model node arrays have different lengths");
  check(a.value.size() == n_nodes * static_cast<std::size_t>(a.leaf_dim), "model value array has a wrong length");
  check(!a.tree_offsets.empty() && a.tree_offsets.front() == 0 &&
            a.tree_offsets.back() == static_cast<std::int64_t>(n_nodes),
        "model tree_offsets do not cover the nodes");
  const std::size_t n_trees = a.tree_offsets.size() - 1;
  check(a.leaf_dim != 1 || aggregation == Aggregation::kMean || n_trees % a.n_outputs == 0,
        "model tree count is not a multiple of n_outputs");
  check(a.tree_weight.empty() || a.tree_weight.size() == n_trees, "model tree_weight must have one value per tree");
  for (double w : a.tree_weight) check(std::isfinite(w) && w >= 0, "model tree_weight must be finite and >= 0");

  std::vector<Tree> trees(n_trees);
  for (std::size_t t = 0; t < n_trees; ++t) {
    const std::int64_t lo = a.tree_offsets[t], hi = a.tree_offsets[t + 1];
    check(lo < hi, "model tree " + std::to_string(t) + " has no nodes");
    const int size = static_cast<int>(hi - lo);
    std::vector<int> parents(size, 0);
    Tree& tree = trees[t];
    tree.leaf_dim = a.leaf_dim;
    for (int i = 0; i < size; ++i) {
      const std::size_t k = static_cast<std::size_t>(lo) + i;
      const int f = a.feature[k];
      for (int d = 0; d < a.leaf_dim; ++d)
        check(std::isfinite(a.value[k * a.leaf_dim + d]), "model value is not finite at tree ", t, " node ", i);
      check(a.default_left[k] <= 1, "model default_left must be 0 or 1 at tree ", t, " node ", i);
      if (f < 0) {
        check(f == -1 && a.left[k] == -1 && a.right[k] == -1, "model leaf is malformed at tree ", t, " node ", i);
      } else {
        check(f < a.n_features, "model feature index out of range at tree ", t, " node ", i);
        const int l = a.left[k], r = a.right[k];
        // Children after their parent: every walk moves forward and ends at a leaf.
        check(l > i && l < size && r > i && r < size && l != r, "model child index out of range at tree ", t, " node ", i);
        ++parents[l];
        ++parents[r];
        check(a.bin[k] >= 0 && a.bin[k] < mapper->n_bins(f), "model bin out of range at tree ", t, " node ", i);
        const auto& e = mapper->edges(f);
        const double expected =
            a.bin[k] < static_cast<int>(e.size()) ? e[a.bin[k]] : std::numeric_limits<double>::infinity();
        check(a.threshold[k] == expected, "model threshold does not match its bin at tree ", t, " node ", i);
      }
      tree.feature.push_back(f);
      tree.bin.push_back(a.bin[k]);
      tree.threshold.push_back(a.threshold[k]);
      tree.default_left.push_back(a.default_left[k]);
      tree.left.push_back(a.left[k]);
      tree.right.push_back(a.right[k]);
      tree.count.push_back(a.count[k]);
      tree.cover.push_back(a.cover[k]);
      tree.gain.push_back(a.gain[k]);
      tree.value.insert(tree.value.end(), a.value.begin() + k * a.leaf_dim, a.value.begin() + (k + 1) * a.leaf_dim);
    }
    for (int i = 1; i < size; ++i) check(parents[i] == 1, "model node has no single parent at tree ", t, " node ", i);
  }
  return Model(a.objective, a.n_outputs, a.leaf_dim, aggregation, a.base_score, std::move(mapper), std::move(trees),
               a.tree_weight);
}

ModelArrays Model::to_arrays() const {
  ModelArrays a;
  a.objective = objective_;
  a.aggregation = aggregation_name(aggregation_);
  a.tree_weight = tree_weights_;
  a.n_features = n_features();
  a.n_outputs = n_outputs_;
  a.leaf_dim = leaf_dim_;
  a.max_bins = mapper_->max_bins();
  a.base_score = base_score_;
  a.edge_offsets.push_back(0);
  for (int f = 0; f < n_features(); ++f) {
    const auto& e = mapper_->edges(f);
    a.edges.insert(a.edges.end(), e.begin(), e.end());
    a.edge_offsets.push_back(static_cast<std::int64_t>(a.edges.size()));
  }
  a.tree_offsets.push_back(0);
  for (const Tree& t : trees_) {
    a.feature.insert(a.feature.end(), t.feature.begin(), t.feature.end());
    a.bin.insert(a.bin.end(), t.bin.begin(), t.bin.end());
    a.left.insert(a.left.end(), t.left.begin(), t.left.end());
    a.right.insert(a.right.end(), t.right.begin(), t.right.end());
    a.default_left.insert(a.default_left.end(), t.default_left.begin(), t.default_left.end());
    a.threshold.insert(a.threshold.end(), t.threshold.begin(), t.threshold.end());
    a.count.insert(a.count.end(), t.count.begin(), t.count.end());
    a.cover.insert(a.cover.end(), t.cover.begin(), t.cover.end());
    a.gain.insert(a.gain.end(), t.gain.begin(), t.gain.end());
    a.value.insert(a.value.end(), t.value.begin(), t.value.end());
    a.tree_offsets.push_back(static_cast<std::int64_t>(a.feature.size()));
  }
  return a;
}

template <class T>
void Model::predict_margin(MatrixView<const T> X, int iter_begin, int iter_end, Span<double> out,
                           int n_threads) const {
  check(static_cast<int>(X.n_cols) == n_features(), "X has " + std::to_string(X.n_cols) +
                                                        " features, the model was trained on " +
                                                        std::to_string(n_features()));
  if (iter_end < 0 || iter_end > n_iter()) iter_end = n_iter();
  check(iter_begin >= 0 && iter_begin <= iter_end, "iteration range is invalid");
  check(out.size == X.n_rows * n_outputs_, "output buffer has a wrong size");
  for (std::size_t i = 0; i < X.n_rows; ++i)
    for (int k = 0; k < n_outputs_; ++k) out[i * n_outputs_ + k] = iter_begin == 0 ? base_score_[k] : 0.0;
  const std::size_t tpi = trees_per_iteration();
  if (aggregation_ == Aggregation::kWeightedMedian) {
    add_weighted_median(X, iter_begin * tpi, iter_end * tpi, out, n_threads);
    return;
  }
  predictor_.add_margin(X, iter_begin * tpi, iter_end * tpi, out, n_threads);
  if (aggregation_ == Aggregation::kMean && iter_end > iter_begin) {
    const double inv = 1.0 / (iter_end - iter_begin);
    for (double& v : out) v *= inv;
  }
}

template <class T>
void Model::add_weighted_median(MatrixView<const T> X, std::size_t tree_begin, std::size_t tree_end, Span<double> out,
                                int n_threads) const {
  const std::size_t n_trees = tree_end - tree_begin;
  if (n_trees == 0) return;
  constexpr std::size_t kRowBlock = 256;  // bounds the leaf-index buffer of a task
  auto weight = [&](std::size_t t) { return tree_weights_.empty() ? 1.0 : tree_weights_[tree_begin + t]; };
  parallel_for(n_blocks(X.n_rows, kRowBlock), n_threads, [&](std::size_t b) {
    const std::size_t lo = b * kRowBlock, hi = std::min(X.n_rows, lo + kRowBlock);
    const MatrixView<const T> block{X.row(lo), hi - lo, X.n_cols};
    std::vector<std::int32_t> leaves((hi - lo) * n_trees);
    predictor_.leaf_index(block, tree_begin, tree_end, Span<std::int32_t>(leaves.data(), leaves.size()), 1);
    std::vector<std::pair<double, std::size_t>> outputs(n_trees);
    for (std::size_t i = lo; i < hi; ++i) {
      for (std::size_t t = 0; t < n_trees; ++t)
        outputs[t] = {trees_[tree_begin + t].value[leaves[(i - lo) * n_trees + t]], t};
      out[i] += outputs[weighted_median_index(outputs, weight)].first;
    }
  });
}

template <class T>
void Model::predict_leaf(MatrixView<const T> X, Span<std::int32_t> out, int n_threads) const {
  check(static_cast<int>(X.n_cols) == n_features(), "X has " + std::to_string(X.n_cols) +
                                                        " features, the model was trained on " +
                                                        std::to_string(n_features()));
  check(out.size == X.n_rows * trees_.size(), "output buffer has a wrong size");
  predictor_.leaf_index(X, 0, trees_.size(), out, n_threads);
}

std::vector<double> Model::feature_importances() const {
  std::vector<double> importance(n_features(), 0.0);
  for (const Tree& t : trees_)
    for (int i = 0; i < t.n_nodes(); ++i)
      if (!t.is_leaf(i)) importance[t.feature[i]] += t.gain[i];
  return importance;
}

std::vector<double> Model::tree_feature_importances() const {
  const std::size_t n_features = static_cast<std::size_t>(this->n_features());
  std::vector<double> importance(trees_.size() * n_features, 0.0);
  for (std::size_t t = 0; t < trees_.size(); ++t) {
    const Tree& tree = trees_[t];
    double* row = importance.data() + t * n_features;
    double total = 0;
    for (int i = 0; i < tree.n_nodes(); ++i)
      if (!tree.is_leaf(i)) {
        row[tree.feature[i]] += tree.gain[i];
        total += tree.gain[i];
      }
    if (total > 0)
      for (std::size_t f = 0; f < n_features; ++f) row[f] /= total;
  }
  return importance;
}

template void Model::predict_margin<float>(MatrixView<const float>, int, int, Span<double>, int) const;
template void Model::predict_margin<double>(MatrixView<const double>, int, int, Span<double>, int) const;
template void Model::predict_leaf<float>(MatrixView<const float>, Span<std::int32_t>, int) const;
template void Model::predict_leaf<double>(MatrixView<const double>, Span<std::int32_t>, int) const;

}  // namespace treeforge
