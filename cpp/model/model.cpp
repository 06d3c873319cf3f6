// Model: construction and prediction entry points (conversion to and from arrays: model_arrays.cpp).
#include "model/model.hpp"

#include <algorithm>
#include <cmath>
#include <utility>

#include "core/parallel.hpp"

namespace treeforge {

namespace {

std::vector<int> tree_outputs(std::size_t n_trees, int n_outputs, int leaf_dim) {
  std::vector<int> out(n_trees);
  for (std::size_t t = 0; t < n_trees; ++t) out[t] = leaf_dim == 1 ? static_cast<int>(t % n_outputs) : -1;
  return out;
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

std::string forest_objective(bool classification, int n_targets) {
  const std::string base = classification ? "forest_classification" : "forest_regression";
  return n_targets == 1 ? base : base + ":" + std::to_string(n_targets);
}

int forest_targets(const std::string& objective) {
  const std::size_t colon = objective.find(':');
  const std::string base = objective.substr(0, colon);
  if (base != "forest_regression" && base != "forest_classification") return 0;
  if (colon == std::string::npos) return 1;
  const std::string digits = objective.substr(colon + 1);
  // Canonical only: 2 to 9 digits, no sign or leading zero, so each T has one name.
  if (digits.size() > 9 || digits.empty() || digits[0] == '0' ||
      !std::all_of(digits.begin(), digits.end(), [](char c) { return c >= '0' && c <= '9'; }))
    return 0;
  const int n_targets = std::stoi(digits);
  return n_targets >= 2 ? n_targets : 0;
}

bool is_forest_classification(const std::string& objective) {
  return forest_targets(objective) > 0 && objective.rfind("forest_classification", 0) == 0;
}

bool is_ensemble_objective(const std::string& objective) {
  return forest_targets(objective) > 0 || objective == "adaboost_samme" || objective == "adaboost_r2";
}

namespace {

/// Value bins of each feature of the mapper.
std::vector<int> feature_bins(const BinMapper& mapper) {
  std::vector<int> bins(mapper.n_features());
  for (int f = 0; f < mapper.n_features(); ++f) bins[f] = mapper.n_bins(f);
  return bins;
}

}  // namespace

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
      predictor_(trees_, tree_outputs(trees_.size(), n_outputs, leaf_dim), n_outputs, feature_bins(*mapper_)) {
  check(tree_weights_.empty() || tree_weights_.size() == trees_.size(), "tree_weights must have one value per tree");
  check(aggregation_ != Aggregation::kWeightedMedian || n_outputs_ == 1, "a weighted median model has one output");
}

template <class T>
void Model::predict_margin(MatrixView<const T> X, int iter_begin, int iter_end, Span<double> out,
                           int n_threads) const {
  check(static_cast<int>(X.n_cols) == n_features(), "X has ", X.n_cols, " features, the model was trained on ",
        n_features());
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
  check(static_cast<int>(X.n_cols) == n_features(), "X has ", X.n_cols, " features, the model was trained on ",
        n_features());
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

std::vector<int> Model::split_features() const {
  std::vector<char> used(n_features(), 0);
  for (const Tree& t : trees_)
    for (int i = 0; i < t.n_nodes(); ++i)
      if (!t.is_leaf(i)) used[t.feature[i]] = 1;
  std::vector<int> features;
  for (int f = 0; f < n_features(); ++f)
    if (used[f]) features.push_back(f);
  if (features.empty()) features.push_back(0);
  return features;
}

Model Model::on_features(const std::vector<int>& features) const {
  std::vector<int> renumbered(n_features(), -1);
  std::vector<std::vector<double>> edges;
  std::vector<int> n_categories;
  for (std::size_t j = 0; j < features.size(); ++j) {
    renumbered[features[j]] = static_cast<int>(j);
    edges.push_back(mapper_->edges(features[j]));
    n_categories.push_back(mapper_->n_categories(features[j]));
  }
  std::vector<Tree> trees = trees_;
  for (Tree& t : trees)
    for (std::int32_t& f : t.feature)
      if (f >= 0) {
        check_internal(renumbered[f] >= 0, "on_features misses feature ", f);
        f = renumbered[f];
      }
  auto mapper = std::make_shared<const BinMapper>(BinMapper::from_edges(mapper_->max_bins(), std::move(edges),
                                                                       std::move(n_categories)));
  return Model(objective_, n_outputs_, leaf_dim_, aggregation_, base_score_, std::move(mapper), std::move(trees),
               tree_weights_);
}

namespace {

/// Calls fn(block, lo) for consecutive blocks of X's rows [lo, lo + block.n_rows), each made dense
/// over `features` only: block(i, j) = X(lo + i, features[j]).
template <class T, class Fn>
void for_dense_blocks(CsrView<const T> X, const std::vector<int>& features, int n_features, Fn&& fn) {
  std::vector<int> column_of(n_features, -1);
  for (std::size_t j = 0; j < features.size(); ++j) column_of[features[j]] = static_cast<int>(j);
  const std::size_t width = features.size();
  // About 8 MiB of doubles a block, and rows enough to keep the predictor's lanes and threads busy.
  const std::size_t rows = std::clamp<std::size_t>((std::size_t{1} << 20) / width, 256, 65536);
  std::vector<double> dense;
  for (std::size_t lo = 0; lo < X.n_rows; lo += rows) {
    const std::size_t hi = std::min(X.n_rows, lo + rows);
    dense.assign((hi - lo) * width, 0.0);
    for (std::size_t i = lo; i < hi; ++i)
      for (std::int64_t k = X.indptr[i]; k < X.indptr[i + 1]; ++k) {
        const int column = column_of[X.indices[k]];
        if (column >= 0) dense[(i - lo) * width + column] = static_cast<double>(X.values[k]);
      }
    fn(MatrixView<const double>{dense.data(), hi - lo, width}, lo);
  }
}

}  // namespace

template <class T, class Fn>
void Model::for_compact_blocks(CsrView<const T> X, Fn&& fn) const {
  check(static_cast<int>(X.n_cols) == n_features(), "X has ", X.n_cols, " features, the model was trained on ",
        n_features());
  const std::vector<int> features = split_features();
  const Model compact = on_features(features);
  for_dense_blocks(X, features, n_features(),
                   [&](MatrixView<const double> block, std::size_t lo) { fn(compact, block, lo); });
}

template <class T>
void Model::predict_margin(CsrView<const T> X, int iter_begin, int iter_end, Span<double> out, int n_threads) const {
  check(out.size == X.n_rows * n_outputs_, "output buffer has a wrong size");
  for_compact_blocks(X, [&](const Model& compact, MatrixView<const double> block, std::size_t lo) {
    compact.predict_margin(block, iter_begin, iter_end, out.subspan(lo * n_outputs_, block.n_rows * n_outputs_),
                           n_threads);
  });
}

template <class T>
void Model::predict_leaf(CsrView<const T> X, Span<std::int32_t> out, int n_threads) const {
  check(out.size == X.n_rows * trees_.size(), "output buffer has a wrong size");
  for_compact_blocks(X, [&](const Model& compact, MatrixView<const double> block, std::size_t lo) {
    compact.predict_leaf(block, out.subspan(lo * trees_.size(), block.n_rows * trees_.size()), n_threads);
  });
}

template void Model::predict_margin<float>(MatrixView<const float>, int, int, Span<double>, int) const;
template void Model::predict_margin<double>(MatrixView<const double>, int, int, Span<double>, int) const;
template void Model::predict_leaf<float>(MatrixView<const float>, Span<std::int32_t>, int) const;
template void Model::predict_leaf<double>(MatrixView<const double>, Span<std::int32_t>, int) const;
template void Model::predict_margin<float>(CsrView<const float>, int, int, Span<double>, int) const;
template void Model::predict_margin<double>(CsrView<const double>, int, int, Span<double>, int) const;
template void Model::predict_leaf<float>(CsrView<const float>, Span<std::int32_t>, int) const;
template void Model::predict_leaf<double>(CsrView<const double>, Span<std::int32_t>, int) const;

}  // namespace treeforge
