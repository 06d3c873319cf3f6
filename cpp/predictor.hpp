// Batch prediction: trees flattened into one node array, traversed over blocks of rows x trees.
#pragma once

#include <cstdint>
#include <vector>

#include "common.hpp"
#include "dataset.hpp"
#include "tree.hpp"

namespace treeforge {

/// Trees of a model flattened for traversal: one contiguous array of 24-byte nodes.
///
/// Rows are processed in blocks: every tree is walked for all rows of a block before the next
/// tree, so a tree's nodes stay in cache while the block's rows are in cache too.
/// Immutable after construction; predict methods are thread-safe.
class Predictor {
 public:
  Predictor() = default;
  /// Trees and their output (column of the margin) or -1 for trees whose leaves hold all outputs.
  Predictor(const std::vector<Tree>& trees, const std::vector<int>& tree_output, int n_outputs);

  /// out (n_rows, n_outputs) row-major += sum over trees [tree_begin, tree_end) of their leaf values.
  template <class T>
  void add_margin(MatrixView<const T> X, std::size_t tree_begin, std::size_t tree_end, Span<double> out,
                  int n_threads) const;

  /// out (n_rows, tree_end - tree_begin): index (within its tree) of the leaf each row reaches.
  template <class T>
  void leaf_index(MatrixView<const T> X, std::size_t tree_begin, std::size_t tree_end, Span<std::int32_t> out,
                  int n_threads) const;

 private:
  struct Node {
    double threshold;
    std::int32_t feature;  // -1 at a leaf
    std::int32_t left;     // absolute index into nodes_; at a leaf: offset of its values in values_
    std::int32_t right;
    std::uint8_t default_left;
  };

  template <class T>
  std::int32_t walk(const T* x, std::size_t tree) const;

  std::vector<Node> nodes_;
  std::vector<std::size_t> root_;  // (n_trees,) index of each tree's root in nodes_
  std::vector<double> values_;
  std::vector<int> tree_output_;
  int n_outputs_ = 1;
};

}  // namespace treeforge
