// TreeSHAP (Lundberg, Erion & Lee 2018, Algorithm 2): the EXTEND / UNWIND walk of each tree per row.
#include "model/shap.hpp"

#include <algorithm>
#include <vector>

#include "core/parallel.hpp"

namespace treeforge {

namespace {

/// One feature on the path from the root to the current node. zero_fraction: the share of the
/// coalitions without the feature that flows down the path (the product of cover fractions at
/// its splits); one_fraction: the share of those with it (1 while the row's own branches were
/// taken, else 0); weight: the path's proportion of subsets of each size (indexed by position).
struct PathElement {
  int feature;
  double zero_fraction;
  double one_fraction;
  double weight;
};

/// EXTEND: appends a feature to the path of `length` elements and updates the subset weights.
void extend_path(PathElement* path, int length, double zero_fraction, double one_fraction, int feature) {
  path[length] = {feature, zero_fraction, one_fraction, length == 0 ? 1.0 : 0.0};
  const double n = length + 1;
  for (int i = length - 1; i >= 0; --i) {
    path[i + 1].weight += one_fraction * path[i].weight * (i + 1) / n;
    path[i].weight = zero_fraction * path[i].weight * (length - i) / n;
  }
}

/// UNWIND: removes element `index` from the path of `length` elements, undoing its EXTEND.
/// Elements with both fractions zero never enter a path (their subtrees are skipped), so the
/// divisions below are by non-zero numbers.
void unwind_path(PathElement* path, int length, int index) {
  const int last = length - 1;
  const double one = path[index].one_fraction, zero = path[index].zero_fraction;
  double next = path[last].weight;
  for (int j = last - 1; j >= 0; --j) {
    if (one != 0) {
      const double kept = path[j].weight;
      path[j].weight = next * length / ((j + 1) * one);
      next = kept - path[j].weight * zero * (last - j) / length;
    } else {
      path[j].weight = path[j].weight * length / (zero * (last - j));
    }
  }
  for (int j = index; j < last; ++j) {
    path[j].feature = path[j + 1].feature;
    path[j].zero_fraction = path[j + 1].zero_fraction;
    path[j].one_fraction = path[j + 1].one_fraction;
  }
}

/// The total weight the path would have after unwinding element `index`, path unchanged.
double unwound_sum(const PathElement* path, int length, int index) {
  const int last = length - 1;
  const double one = path[index].one_fraction, zero = path[index].zero_fraction;
  double next = path[last].weight, total = 0;
  for (int j = last - 1; j >= 0; --j) {
    if (one != 0) {
      const double weight = next * length / ((j + 1) * one);
      total += weight;
      next = path[j].weight - weight * zero * (last - j) / length;
    } else {
      total += path[j].weight * length / (zero * (last - j));
    }
  }
  return total;
}

/// A child's share of its parent's cover: how the coalitions without the split's feature divide.
/// A parent without cover (weights of zero) divides them evenly.
double cover_fraction(const Tree& tree, int parent, int child) {
  return tree.cover[parent] > 0 ? tree.cover[child] / tree.cover[parent] : 0.5;
}

/// Deepest leaf of the tree (children have larger indices than their parent).
int tree_depth(const Tree& tree) {
  std::vector<int> depth(tree.n_nodes(), 0);
  int deepest = 0;
  for (int i = 0; i < tree.n_nodes(); ++i) {
    if (tree.is_leaf(i)) continue;
    depth[tree.left[i]] = depth[tree.right[i]] = depth[i] + 1;
    deepest = std::max(deepest, depth[i] + 1);
  }
  return deepest;
}

/// (leaf_dim,) the tree's cover-weighted mean leaf value, by the same fractions as the walk, so
/// the contributions of a row sum exactly to its value minus this expectation.
std::vector<double> tree_expectation(const Tree& tree) {
  const int dim = tree.leaf_dim;
  std::vector<double> expected(tree.value);  // leaves keep theirs; splits are overwritten below
  for (int i = tree.n_nodes() - 1; i >= 0; --i) {
    if (tree.is_leaf(i)) continue;
    const double left = cover_fraction(tree, i, tree.left[i]), right = cover_fraction(tree, i, tree.right[i]);
    for (int k = 0; k < dim; ++k)
      expected[i * dim + k] = left * expected[tree.left[i] * dim + k] + right * expected[tree.right[i] * dim + k];
  }
  expected.resize(dim);
  return expected;
}

/// The walk of one tree for one row: phi (leaf_dim rows of n_features + 1) += the row's
/// contributions through this tree.
class PathWalk {
 public:
  PathWalk(const Tree& tree, const std::vector<int>& feature_bins, PathElement* workspace)
      : tree_(tree), feature_bins_(feature_bins), workspace_(workspace) {}

  void run(const double* row, double* phi, std::size_t phi_stride) {
    row_ = row;
    phi_ = phi;
    phi_stride_ = phi_stride;
    recurse(0, workspace_, 0, 1.0, 1.0, -1);
  }

 private:
  /// The child the row goes to at split `node`, decided as prediction decides it.
  int hot_child(int node) const {
    SplitTest split = tree_.split(node);
    const int feature = tree_.feature[node];
    if (split.kind == SplitKind::kCategorySet) split.n_categories = feature_bins_[feature];
    return goes_left(split, row_[feature]) ? tree_.left[node] : tree_.right[node];
  }

  /// RECURSE: the path so far is parent[0, parent_length); this node extends it by the split of
  /// its parent on `feature` with the given fractions. The node's own path is written after the
  /// parent's, so siblings reuse the same space.
  void recurse(int node, PathElement* parent, int parent_length, double zero, double one, int feature) {
    PathElement* path = parent + parent_length;
    std::copy(parent, parent + parent_length, path);
    extend_path(path, parent_length, zero, one, feature);
    int length = parent_length + 1;
    if (tree_.is_leaf(node)) {
      add_leaf(node, path, length);
      return;
    }
    const int split_feature = tree_.feature[node];
    const int hot = hot_child(node), cold = hot == tree_.left[node] ? tree_.right[node] : tree_.left[node];
    double incoming_zero = 1.0, incoming_one = 1.0;
    // A feature met again on the path is one player: its earlier fractions carry over, unwound first.
    for (int i = 1; i < length; ++i) {
      if (path[i].feature != split_feature) continue;
      incoming_zero = path[i].zero_fraction;
      incoming_one = path[i].one_fraction;
      unwind_path(path, length, i);
      --length;
      break;
    }
    const double hot_zero = incoming_zero * cover_fraction(tree_, node, hot);
    const double cold_zero = incoming_zero * cover_fraction(tree_, node, cold);
    // A branch no coalition reaches adds nothing (and its fractions would divide by zero).
    if (hot_zero != 0 || incoming_one != 0) recurse(hot, path, length, hot_zero, incoming_one, split_feature);
    if (cold_zero != 0) recurse(cold, path, length, cold_zero, 0.0, split_feature);
  }

  /// At a leaf, each feature on the path gets its Shapley weight times the leaf's value(s).
  void add_leaf(int node, const PathElement* path, int length) {
    const int dim = tree_.leaf_dim;
    const double* value = &tree_.value[static_cast<std::size_t>(node) * dim];
    for (int i = 1; i < length; ++i) {
      const double scale = unwound_sum(path, length, i) * (path[i].one_fraction - path[i].zero_fraction);
      for (int k = 0; k < dim; ++k) phi_[k * phi_stride_ + path[i].feature] += scale * value[k];
    }
  }

  const Tree& tree_;
  const std::vector<int>& feature_bins_;
  PathElement* workspace_;
  const double* row_ = nullptr;
  double* phi_ = nullptr;
  std::size_t phi_stride_ = 0;
};

}  // namespace

template <class T>
void shap_contributions(const Model& model, MatrixView<const T> X, Span<double> out, int n_threads) {
  check(model.aggregation() != Aggregation::kWeightedMedian,
        "SHAP values need a sum or mean of trees; AdaBoost.R2 predicts the weighted median of its trees, "
        "which no feature attribution adds up to");
  const int n_features = model.n_features(), n_outputs = model.n_outputs(), dim = model.leaf_dim();
  check(static_cast<int>(X.n_cols) == n_features, "X has ", X.n_cols, " features, the model was trained on ",
        n_features);
  const std::size_t width = static_cast<std::size_t>(n_features) + 1, row_size = n_outputs * width;
  check(out.size == X.n_rows * row_size, "output buffer has a wrong size");
  const std::vector<Tree>& trees = model.trees();
  check_internal(dim == 1 || dim == n_outputs, "a tree's leaves hold one value or one per output");
  // predict_margin's mean divides by the iterations, which for forests are the trees.
  const double scale = model.aggregation() == Aggregation::kMean && model.n_iter() > 0 ? 1.0 / model.n_iter() : 1.0;
  // The expected value: base score plus each tree's expectation in its column(s), in tree order.
  std::vector<double> expected(model.base_score());
  int depth = 0;
  for (std::size_t t = 0; t < trees.size(); ++t) {
    const std::vector<double> e = tree_expectation(trees[t]);
    for (int k = 0; k < dim; ++k) expected[dim == 1 ? t % n_outputs : k] += e[k];
    depth = std::max(depth, tree_depth(trees[t]));
  }
  std::vector<int> feature_bins(n_features);
  for (int f = 0; f < n_features; ++f) feature_bins[f] = model.bin_mapper()->n_bins(f);
  // A path at depth d holds at most d + 1 elements, and each level's path follows its parent's.
  const std::size_t workspace_size = static_cast<std::size_t>(depth + 2) * (depth + 3) / 2;
  constexpr std::size_t kRowBlock = 16;  // rows are independent: a block is a task of a thread
  parallel_for(n_blocks(X.n_rows, kRowBlock), n_threads, [&](std::size_t b) {
    std::vector<PathElement> workspace(workspace_size);
    std::vector<double> row(n_features);
    const std::size_t hi = std::min(X.n_rows, (b + 1) * kRowBlock);
    for (std::size_t i = b * kRowBlock; i < hi; ++i) {
      for (int f = 0; f < n_features; ++f) row[f] = static_cast<double>(X(i, f));
      double* phi = out.data + i * row_size;
      std::fill(phi, phi + row_size, 0.0);
      for (std::size_t t = 0; t < trees.size(); ++t) {
        check_interrupt();  // a row of deep trees can take seconds: the poll is asked per tree
        const std::size_t output = dim == 1 ? t % n_outputs : 0;
        PathWalk(trees[t], feature_bins, workspace.data()).run(row.data(), phi + output * width, width);
      }
      for (int k = 0; k < n_outputs; ++k) phi[k * width + n_features] = expected[k];
      if (scale != 1.0)
        for (std::size_t j = 0; j < row_size; ++j) phi[j] *= scale;
    }
  });
}

template void shap_contributions<float>(const Model&, MatrixView<const float>, Span<double>, int);
template void shap_contributions<double>(const Model&, MatrixView<const double>, Span<double>, int);

}  // namespace treeforge
