// GrowSchedule: the grow policy as a heap of open leaves, and which expansions run side by side.
#pragma once

#include <cstddef>
#include <vector>

#include "core/config.hpp"
#include "grow/expansion.hpp"

namespace treeforge {

/// Expansions the grower carries out together: the splits of `taken` enter the tree now, in
/// that order; the splits of `early` (open leaves, still in the schedule) are carried out beside
/// them and enter only when the policy takes those leaves. Expansions of more than
/// `alone_above_rows` rows get every thread one after the other; the rest run side by side,
/// one per thread. Each computes exactly what it would alone, so the tree does not change.
struct ExpansionBatch {
  std::vector<OpenLeaf> taken;
  std::vector<OpenLeaf*> early;
  std::size_t alone_above_rows = 0;
};

/// The grow policy (leaf-wise by gain, depth-wise by level, depth-first) over the open leaves,
/// each with its best split found, and the choice of which expansions are independent enough
/// to run side by side:
/// - depth-wise, a whole level when it may be split entirely;
/// - leaf-wise, the leaf taken together with the small leaves ranked next, whose splits are set
///   aside until the policy takes them (a split depends on its leaf's rows alone, so the tree is
///   the one grown a split at a time; a split set aside for a leaf never taken is dropped, having
///   only reordered the rows inside that leaf).
/// A participant of a distributed fit (`by_rank`) picks leaf-wise partners by rank alone, never by
/// its own rows, so that every participant carries out the same batch and reduces it at once.
class GrowSchedule {
 public:
  GrowSchedule(const TreeConfig& config, int n_threads, bool by_rank = false);

  void push(OpenLeaf leaf);
  bool empty() const { return open_.empty(); }
  /// The next batch, for a tree of n_leaves leaves so far (call only when not empty()).
  ExpansionBatch next(int n_leaves);
  /// The leaves still open when the tree is done.
  std::vector<OpenLeaf>& remaining() { return open_; }

 private:
  /// Whether a is taken after b: the heap's order; ties go to the lower node index.
  bool after(const OpenLeaf& a, const OpenLeaf& b) const;
  OpenLeaf pop();
  bool whole_level_fits(int n_leaves) const;
  ExpansionBatch take_level();
  /// The open leaves to split beside `next` (indices into open_), or none.
  std::vector<std::size_t> partners_for(const OpenLeaf& next) const;
  /// The open leaves ranked next (without a split set aside), as many as a distributed batch takes
  /// and the tree may still use, for a tree of n_leaves leaves.
  std::vector<std::size_t> ranked_partners(int n_leaves) const;

  TreeConfig config_;
  int n_threads_;
  bool leaf_wise_side_by_side_;
  bool by_rank_;
  std::size_t n_set_aside_ = 0;
  std::vector<OpenLeaf> open_;  ///< a heap by after()
};

}  // namespace treeforge
