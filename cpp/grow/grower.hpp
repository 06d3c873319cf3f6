// TreeGrower: the node expansion loop (leaf-wise or depth-wise) over histograms, partition and split finder.
#pragma once

#include <cstdint>
#include <memory>
#include <vector>

#include "data/binning.hpp"
#include "core/config.hpp"
#include "grow/criterion.hpp"
#include "grow/histogram.hpp"
#include "grow/partition.hpp"
#include "grow/splitter.hpp"
#include "model/tree.hpp"

namespace treeforge {

/// Rows of one leaf of the last grown tree: partition().indices()[begin, end).
struct LeafRange {
  int node;
  std::size_t begin;
  std::size_t end;
};

/// Grows one tree for a criterion: gradient statistics (boosting, regression forests) or class
/// statistics (classification forests, AdaBoost).
///
/// Loop: build the root histogram and find its best split; then repeatedly take the open leaf
/// that the grow policy ranks first, partition its rows, build the histogram of the smaller child
/// and derive the larger one by subtraction from the parent's buffer, and find the children's
/// splits. Leaf values come from the criterion (before any shrinkage). Small expansions run
/// side by side, one per thread: a depth-wise level's, and leaf-wise the leaf taken together
/// with the leaves ranked next, whose splits wait until the policy takes them.
/// Distributed training (later) reduces each built histogram across workers right after
/// HistogramBuilder::build, the one place where local sums become global ones.
/// One grower holds scratch memory for one tree at a time; it parallelises internally.
class TreeGrower {
 public:
  /// X and mapper must outlive the grower; mapper gives the raw thresholds of bins.
  TreeGrower(const BinnedMatrix& X, const BinMapper& mapper, const TreeConfig& config, int n_threads);

  /// Grows a tree on the rows `rows` (all rows if empty) using features `features` (ascending);
  /// `seed` drives the per-node feature draws when max_features < 1.
  template <class Criterion>
  Tree grow(const Criterion& criterion, Span<const row_t> rows, const std::vector<int>& features,
            std::uint64_t seed);

  /// Leaves of the last grown tree and their rows, for margin updates without tree traversal.
  const std::vector<LeafRange>& leaves() const { return leaves_; }
  const RowPartition& partition() const { return partition_; }
  const TreeConfig& config() const { return config_; }

 private:
  struct Expansion;
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

    std::size_t n_rows() const { return end - begin; }
  };

  /// A split in progress: the parent's children, which of them may split again, and the
  /// parent's histogram buffer (handed to the larger child when that one may split).
  struct Expansion {
    OpenLeaf left;
    OpenLeaf right;
    bool left_may;
    bool right_may;
    bool left_smaller;  ///< the left child is the one whose histogram is built
    SplitInfo split;
    std::int64_t* parent_hist;

    /// The child whose histogram is built, and the one derived from the parent's.
    OpenLeaf& small() { return left_smaller ? left : right; }
    OpenLeaf& large() { return left_smaller ? right : left; }
    bool small_may() const { return left_smaller ? left_may : right_may; }
    bool large_may() const { return left_smaller ? right_may : left_may; }
    std::size_t n_rows() const { return left.n_rows() + right.n_rows(); }
  };

  std::vector<int> node_features(const std::vector<int>& tree_features, int node, std::uint64_t seed) const;
  /// One fork per expansion (two for nodes of many rows). Thread t owns a block of feature
  /// groups (BinnedMatrix), and so their features: it builds `built`'s histogram slots for them
  /// from `rows`, built's rows, derives `derived`'s slots (when given; its buffer holds the
  /// parent's histogram) by subtraction, then scans those features for each of the two leaves
  /// whose `scan_*` flag is set. When built has no buffer, its rows are removed from derived's
  /// histogram instead. Nodes of many rows are summed by sum_row_shares first, and the group
  /// fork folds the threads' sums, derives and scans. The first fork also copies the `pending`
  /// split's blocks back into the partition (when given). Winners are reduced in feature order
  /// afterwards, so the result is the serial scan's whatever the thread count. `max_threads`
  /// caps the threads of this one expansion (1 when expansions run side by side).
  template <class Criterion>
  void build_and_find(const Criterion& criterion, const SplitFinder<Criterion>& finder, OpenLeaf& built,
                      bool scan_built, OpenLeaf* derived, bool scan_derived, RowRuns rows,
                      const RowPartition::BlockSplit* pending, const std::vector<int>& tree_features,
                      std::uint64_t seed, int max_threads);
  /// The part of an expansion that touches only its own rows and buffers: splits the parent's
  /// rows block by block, then builds the smaller child's histogram from the blocks while they
  /// are copied back, derives the larger child's and scans both. Expansions of different nodes
  /// may run concurrently with max_threads = 1.
  template <class Criterion>
  void carry_out(const Criterion& criterion, const SplitFinder<Criterion>& finder, Expansion& e,
                 const std::vector<int>& tree_features, std::uint64_t seed, int max_threads);
  /// For nodes of many rows, one fork: thread t runs before(t), then sums its share of the
  /// rows (an equal part of the runs laid end to end) over every feature, thread 0 straight
  /// into `target` and thread t > 0 into partial[t]. Each thread reads only its share of the
  /// rows' codes, and the integer sums stay exact in any order.
  /// remove = false: target = the share's sums; remove = true: target -= them.
  template <class Criterion, class Before>
  void sum_row_shares(const Criterion& criterion, RowRuns runs, int threads, std::int64_t* target, bool remove,
                      const std::vector<std::int64_t*>& partial, Before&& before);
  /// target += the partial sums of threads 1.. (or -= them, when remove) over one feature's slots.
  void fold_partials(std::int64_t* target, const std::vector<std::int64_t*>& partial, int stride, int feature,
                     bool remove) const;
  /// Whether a node of n_rows rows is summed by splitting its rows across threads.
  bool split_by_rows(std::size_t n_rows, int threads) const;
  double raw_threshold(int feature, int bin) const;

  const BinnedMatrix& X_;
  const BinMapper& mapper_;
  TreeConfig config_;
  int n_threads_;
  HistogramBuilder builder_;
  HistogramPool pool_;
  RowPartition partition_;
  std::vector<LeafRange> leaves_;
};

}  // namespace treeforge
