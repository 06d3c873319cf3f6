// Predictor: flattening of trees and the blocked traversal kernels.
#include "predictor.hpp"

#include <algorithm>
#include <cmath>

#include "parallel.hpp"

namespace treeforge {

namespace {
constexpr std::size_t kRowBlock = 64;
}

Predictor::Predictor(const std::vector<Tree>& trees, const std::vector<int>& tree_output, int n_outputs)
    : tree_output_(tree_output), n_outputs_(n_outputs) {
  for (const Tree& tree : trees) {
    const std::size_t base = nodes_.size();
    root_.push_back(base);
    for (int i = 0; i < tree.n_nodes(); ++i) {
      Node node{tree.threshold[i], tree.feature[i], 0, 0, tree.default_left[i]};
      if (tree.is_leaf(i)) {
        node.left = static_cast<std::int32_t>(values_.size());
        node.right = i;  // the leaf's index within its tree, for leaf_index()
        values_.insert(values_.end(), tree.value.begin() + static_cast<std::ptrdiff_t>(i) * tree.leaf_dim,
                       tree.value.begin() + static_cast<std::ptrdiff_t>(i + 1) * tree.leaf_dim);
      } else {
        node.left = static_cast<std::int32_t>(base + tree.left[i]);
        node.right = static_cast<std::int32_t>(base + tree.right[i]);
      }
      nodes_.push_back(node);
    }
  }
}

template <class T>
std::int32_t Predictor::walk(const T* x, std::size_t tree) const {
  const Node* node = &nodes_[root_[tree]];
  while (node->feature >= 0) {
    const double v = static_cast<double>(x[node->feature]);
    const bool go_left = std::isnan(v) ? node->default_left != 0 : v <= node->threshold;
    node = &nodes_[go_left ? node->left : node->right];
  }
  return static_cast<std::int32_t>(node - nodes_.data());
}

template <class T>
void Predictor::add_margin(MatrixView<const T> X, std::size_t tree_begin, std::size_t tree_end, Span<double> out,
                           int n_threads) const {
  const int k = n_outputs_;
  parallel_for(n_blocks(X.n_rows, kRowBlock), n_threads, [&](std::size_t b) {
    const std::size_t lo = b * kRowBlock, hi = std::min(X.n_rows, lo + kRowBlock);
    for (std::size_t t = tree_begin; t < tree_end; ++t) {
      const int output = tree_output_[t];
      for (std::size_t i = lo; i < hi; ++i) {
        const double* v = &values_[nodes_[walk(X.row(i), t)].left];
        double* o = out.data + i * k;
        if (output >= 0) {
          o[output] += v[0];
        } else {
          for (int c = 0; c < k; ++c) o[c] += v[c];
        }
      }
    }
  });
}

template <class T>
void Predictor::leaf_index(MatrixView<const T> X, std::size_t tree_begin, std::size_t tree_end,
                           Span<std::int32_t> out, int n_threads) const {
  const std::size_t n_trees = tree_end - tree_begin;
  parallel_for(n_blocks(X.n_rows, kRowBlock), n_threads, [&](std::size_t b) {
    const std::size_t lo = b * kRowBlock, hi = std::min(X.n_rows, lo + kRowBlock);
    for (std::size_t t = tree_begin; t < tree_end; ++t)
      for (std::size_t i = lo; i < hi; ++i) out[i * n_trees + (t - tree_begin)] = nodes_[walk(X.row(i), t)].right;
  });
}

template void Predictor::add_margin<float>(MatrixView<const float>, std::size_t, std::size_t, Span<double>, int) const;
template void Predictor::add_margin<double>(MatrixView<const double>, std::size_t, std::size_t, Span<double>,
                                            int) const;
template void Predictor::leaf_index<float>(MatrixView<const float>, std::size_t, std::size_t, Span<std::int32_t>,
                                           int) const;
template void Predictor::leaf_index<double>(MatrixView<const double>, std::size_t, std::size_t, Span<std::int32_t>,
                                            int) const;

}  // namespace treeforge
