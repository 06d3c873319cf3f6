// OpenLeaf and Expansion: a leaf waiting to split, and a split in progress with its two children.
#pragma once

#include <cstdint>
#include <memory>
#include <vector>

#include "grow/constraints.hpp"
#include "grow/criterion.hpp"
#include "grow/splitter.hpp"

namespace treeforge {

struct Expansion;

/// A leaf of the tree being grown, with the rows it holds in the partition, its sums, its
/// histogram (null when it needs none) and its best split (invalid when it may not split).
struct OpenLeaf {
  int node;
  int depth;
  std::size_t begin;
  std::size_t end;
  Sums sums;
  std::int64_t* hist;
  SplitInfo split;
  /// The leaf's split, already carried out beside an earlier one (leaf-wise growth), waiting
  /// to enter the tree when the policy takes this leaf.
  std::unique_ptr<Expansion> done_early = nullptr;
  /// Where the values of this leaf and its subtree must lie (monotone constraints above it).
  ValueBounds bounds = {};
  /// The features split on along the path from the root, sorted (kept under interaction constraints).
  std::vector<int> path = {};
  /// Sparse matrices: the positions in the groups (ascending) of the features that may still
  /// split this leaf (TreeGrower::may_split): the only ones whose histogram slots its subtree
  /// keeps and reads.
  std::vector<int> alive = {};

  std::size_t n_rows() const { return end - begin; }
};

/// A split in progress: the parent's children, which of them may split again, and the
/// parent's histogram buffer (handed to the larger child when that one may split). The
/// children's rows are placed by the partition when the split is carried out.
struct Expansion {
  OpenLeaf left;
  OpenLeaf right;
  bool left_may;
  bool right_may;
  bool left_smaller;  ///< the left child is the one whose histogram is built
  SplitInfo split;
  std::int64_t* parent_hist;
  bool carried_out = false;
  /// The children are small: their splits come from their rows (RowScanner), with no histograms.
  bool scan_rows = false;
  /// The parent's alive features (sparse matrices): the children's histograms keep only theirs.
  std::vector<int> parent_alive = {};

  /// The child whose histogram is built, and the one derived from the parent's.
  OpenLeaf& small() { return left_smaller ? left : right; }
  OpenLeaf& large() { return left_smaller ? right : left; }
  bool small_may() const { return left_smaller ? left_may : right_may; }
  bool large_may() const { return left_smaller ? right_may : left_may; }
  /// The parent's rows: known before the split is carried out.
  std::size_t n_rows() const { return right.end - left.begin; }
};

}  // namespace treeforge
