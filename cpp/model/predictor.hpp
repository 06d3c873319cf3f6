// Batch prediction: trees flattened into one node array, traversed over blocks of rows x trees.
#pragma once

#include <cstdint>
#include <vector>

#include "core/common.hpp"
#include "data/dataset.hpp"
#include "model/split.hpp"
#include "model/tree.hpp"

namespace treeforge {

/// Trees of a model flattened for traversal: one contiguous array of 16-byte nodes.
///
/// Rows are processed in blocks: every tree is walked for all rows of a block before the next
/// tree, so a tree's nodes stay in cache; and a group of rows walks each tree in lock-step, so
/// the processor overlaps their independent chains of dependent loads instead of waiting on one.
/// A block is first copied lane-major (per group, feature by feature, one value per lane, as
/// doubles): a node stores its feature as an offset into that layout, so a step reads its lane's
/// value at a constant displacement, with no per-lane row pointer to load.
/// Leaves loop to themselves, so every row takes exactly the tree's depth in steps with no
/// branch at all: the wasted steps of shallow rows cost less than the mispredictions they save
/// (an early exit once every row of a group reached its leaf was measured slower). A block with
/// no NaN, checked once, walks with one comparison per step and never reads default directions.
/// Trees holding a category-set split walk with a step that reads each node's kind (goes_left of
/// any kind); trees of numeric splits only never read it, so their walk is unchanged.
/// Immutable after construction; predict methods are thread-safe.
class Predictor {
 public:
  Predictor() = default;
  /// Trees and their output (column of the margin) or -1 for trees whose leaves hold all outputs;
  /// feature_bins: value bins of each feature, which at a categorical one are its categories
  /// (read at set splits only: a raw value that is none of them is missing).
  Predictor(const std::vector<Tree>& trees, const std::vector<int>& tree_output, int n_outputs,
            const std::vector<int>& feature_bins);

  /// out (n_rows, n_outputs) row-major += sum over trees [tree_begin, tree_end) of their leaf values.
  template <class T>
  void add_margin(MatrixView<const T> X, std::size_t tree_begin, std::size_t tree_end, Span<double> out,
                  int n_threads) const;

  /// out (n_rows, tree_end - tree_begin): index (within its tree) of the leaf each row reaches.
  template <class T>
  void leaf_index(MatrixView<const T> X, std::size_t tree_begin, std::size_t tree_end, Span<std::int32_t> out,
                  int n_threads) const;

 private:
  /// Rows (or trees, for a lone row) walked in lock-step.
  static constexpr int kLanes = 16;

  /// Children are adjacent (right = left + 1), so one index suffices. A leaf is a node that sends
  /// every value (NaN included) left to itself: threshold +inf, default left, child = itself.
  /// Walks address nodes by position, twice the index (the node's offset in 8-byte words), which
  /// x86 scales for free: a step needs no multiply to find its node.
  struct Node {
    double threshold;           ///< numeric splits; 0 at set splits
    std::uint32_t lane_offset;  ///< feature * kLanes: where a lane finds the feature's value
    std::uint32_t child;        ///< position of the left child; the right one is at child + 2
  };
  static_assert(sizeof(Node) == 16, "a node's position is twice its index");

  /// What a step may meet, fixed per walk of a tree.
  enum class Walk {
    kNumericNanFree,  ///< numeric splits, rows without NaN: one comparison decides
    kNumeric,         ///< numeric splits: NaN, failing `<=`, goes left iff the default is left
    kAnyKind,         ///< a tree holding a set split: each node's kind is read (goes_left)
  };

  /// The position of the child of the node at position `at` that a row goes to (its own at a
  /// leaf). kLaneMajor: `values` points at the row's lane, feature 0, of a lane-major group;
  /// otherwise at a plain row of doubles.
  template <Walk kWalk, bool kLaneMajor = true>
  std::uint32_t step(std::uint32_t at, const double* values) const {
    const Node& node =
        *reinterpret_cast<const Node*>(reinterpret_cast<const char*>(nodes_.data()) + std::size_t{at} * 8);
    const double v = values[kLaneMajor ? node.lane_offset : node.lane_offset / kLanes];
    if constexpr (kWalk == Walk::kNumericNanFree) {
      return node.child + 2 * (v > node.threshold);  // goes_left<kNumeric> of a value that is not NaN
    } else if constexpr (kWalk == Walk::kNumeric) {
      const SplitTest numeric = SplitTest::numeric(0, node.threshold, default_left_[at / 2]);
      return node.child + (goes_left<SplitKind::kNumeric>(numeric, v) ? 0u : 2u);
    } else {
      return node.child + (goes_left(split_test(at / 2, node), v) ? 0u : 2u);
    }
  }

  /// The test of node `index` (the Node at its position), for the walk of any kind.
  SplitTest split_test(std::size_t index, const Node& node) const {
    SplitTest s = SplitTest::numeric(0, node.threshold, default_left_[index]);
    s.kind = static_cast<SplitKind>(split_kind_[index]);
    s.categories = {cat_words_.data() + cat_begin_[index], cat_size_[index]};
    s.n_categories = n_categories_[index];
    return s;
  }

  /// out_row += the values of leaf node `leaf`, in column `output` (or all columns if -1).
  void add_leaf(std::uint32_t leaf, int output, double* out_row) const {
    if (output >= 0) {
      out_row[output] += first_value_[leaf];
    } else {
      const double* v = &values_[value_offset_[leaf]];
      for (int c = 0; c < n_outputs_; ++c) out_row[c] += v[c];
    }
  }

  /// Appends node i of `tree` to the tables of the walk of any kind.
  void add_split_kind(const Tree& tree, int i, const std::vector<int>& feature_bins);

  /// Walks the kLanes rows of a lane-major group through tree `tree` together; leaves[i] = the
  /// leaf node lane i reaches.
  template <Walk kWalk>
  void walk_group(const double* group, std::size_t tree, std::uint32_t* leaves) const;

  /// Walks one row (doubles) through trees [first_tree, first_tree + n) (n <= kLanes) together.
  template <Walk kWalk>
  void walk_trees(const double* row, std::size_t first_tree, int n, std::uint32_t* leaves) const;

  /// Walks every row of X through trees [tree_begin, tree_end), block by block in parallel, and
  /// calls visit(tree, first_row, n, leaves) for each group of n rows and the leaves they reach.
  template <class T, class Visit>
  void walk_blocks(MatrixView<const T> X, std::size_t tree_begin, std::size_t tree_end, int n_threads,
                   Visit&& visit) const;

  std::vector<Node> nodes_;
  std::vector<std::uint8_t> default_left_;  // (n_nodes,) where missing values go; read only for NaN
  std::vector<std::int32_t> value_offset_;  // (n_nodes,) at leaves: offset of the values in values_
  std::vector<double> first_value_;         // (n_nodes,) at leaves: the first value, read without the offset
  std::vector<std::int32_t> tree_local_;    // (n_nodes,) index of the node within its own tree
  std::vector<std::uint32_t> root_;         // (n_trees,) position of each tree's root in nodes_
  std::vector<int> depth_;                  // (n_trees,) depth of the deepest leaf
  std::vector<std::uint8_t> has_sets_;      // (n_trees,) whether the tree holds a set split
  // Read only by the walk of any kind; empty when no tree holds a set split (so a test of
  // split_kind_.empty() spares models without any the per-tree look-up).
  std::vector<std::uint8_t> split_kind_;    // (n_nodes,) SplitKind
  std::vector<std::uint32_t> cat_begin_;    // (n_nodes,) where the node's set starts in cat_words_
  std::vector<std::uint32_t> cat_size_;     // (n_nodes,) its number of words
  std::vector<std::int32_t> n_categories_;  // (n_nodes,) at set splits: the feature's categories
  std::vector<std::uint32_t> cat_words_;
  std::vector<double> values_;
  std::vector<int> tree_output_;
  int n_outputs_ = 1;
};

}  // namespace treeforge
