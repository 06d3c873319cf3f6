// Tree: building by leaf splits, and whole-tree value scaling.
#include "model/tree.hpp"

namespace treeforge {

int Tree::n_leaves() const {
  int n = 0;
  for (int f : feature) n += f < 0;
  return n;
}

int Tree::add_leaf(const double* values, double node_count, double node_cover) {
  feature.push_back(-1);
  bin.push_back(0);
  threshold.push_back(0.0);
  default_left.push_back(0);
  left.push_back(-1);
  right.push_back(-1);
  value.insert(value.end(), values, values + leaf_dim);
  count.push_back(node_count);
  cover.push_back(node_cover);
  gain.push_back(0.0);
  split_kind.push_back(static_cast<std::uint8_t>(SplitKind::kNumeric));
  cat_begin.push_back(0);
  cat_size.push_back(0);
  return n_nodes() - 1;
}

int Tree::split_leaf(int node, int split_feature, const SplitTest& test, double split_gain, const double* left_values,
                     double left_count, double left_cover, const double* right_values, double right_count,
                     double right_cover) {
  const int l = add_leaf(left_values, left_count, left_cover);
  const int r = add_leaf(right_values, right_count, right_cover);
  feature[node] = split_feature;
  default_left[node] = test.default_left ? 1 : 0;
  left[node] = l;
  right[node] = r;
  gain[node] = split_gain;
  split_kind[node] = static_cast<std::uint8_t>(test.kind);
  if (test.kind == SplitKind::kNumeric) {
    bin[node] = test.bin;
    threshold[node] = test.threshold;
  } else {  // a set split has no bin or threshold (the model format requires 0)
    cat_begin[node] = static_cast<std::int32_t>(cat_words.size());
    cat_size[node] = static_cast<std::int32_t>(test.categories.n_words);
    cat_words.insert(cat_words.end(), test.categories.words, test.categories.words + test.categories.n_words);
  }
  return l;
}

void Tree::scale_values(double factor) {
  for (double& v : value) v *= factor;
}

}  // namespace treeforge
