// TreeGrower: one tree grown from batches of node expansions over histograms, partition and split finder.
#pragma once

#include <cstdint>
#include <vector>

#include "data/binning.hpp"
#include "core/config.hpp"
#include "grow/constraints.hpp"
#include "grow/criterion.hpp"
#include "grow/expansion.hpp"
#include "grow/histogram.hpp"
#include "grow/histogram_reduction.hpp"
#include "grow/partition.hpp"
#include "grow/row_scan.hpp"
#include "grow/row_shards.hpp"
#include "grow/splitter.hpp"
#include "model/tree.hpp"

namespace treeforge {

/// Rows of one leaf of the last grown tree: partition().indices()[begin, end).
struct LeafRange {
  int node;
  std::size_t begin;
  std::size_t end;
  ValueBounds bounds;  ///< where the leaf's value must lie (monotone constraints); unbounded without
};

/// The candidate features of node `node`: all of tree_features when max_features >= 1, else
/// max(1, int(max_features * n)) of them drawn from the seed and the node (any grower, any order).
std::vector<int> draw_node_features(const std::vector<int>& tree_features, double max_features, int node,
                                   std::uint64_t seed);

/// Grows one tree for a criterion: gradient statistics (boosting, regression forests) or class
/// statistics (classification forests, AdaBoost).
///
/// Loop: build the root histogram and find its best split; then, batch after batch of the
/// expansions the GrowSchedule hands out, partition each parent's rows, build the histogram of
/// the smaller child and derive the larger one by subtraction from the parent's buffer, and
/// find the children's splits. The children of a split whose rows are few against the
/// histogram's slots (scans_rows) get no histograms: they, and their subtrees, find their splits
/// from their rows (RowScanner), the same splits. Leaf values come from the criterion (before any
/// shrinkage).
///
/// Every histogram is built in three steps: the sums over the rows this process holds, the sync
/// step that makes them the sums over all rows of the fit, then subtraction and scan. On one
/// machine the sync adds nothing; a distributed fit reduces across workers there, and the row
/// shards test hook (RowShards) sums the histograms of shards built apart. Nothing before the
/// sync depends on other participants' rows: scales are global (GradScale::fit), children's
/// rows are placed by the partition, and a parent's histogram is only ever reduced by a synced one.
/// One grower holds scratch memory for one tree at a time; it parallelises internally.
class TreeGrower {
 public:
  /// X and mapper must outlive the grower; mapper gives the raw thresholds of bins. `reduction`
  /// (optional, outliving the grower) makes X's rows this participant's share of a distributed
  /// fit: every participant grows the same trees, calling it in the same order.
  TreeGrower(const BinnedMatrix& X, const BinMapper& mapper, const TreeConfig& config, int n_threads,
             HistogramReduction* reduction = nullptr);

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
  /// One tree in the making: its nodes, its schedule and the rows of its nodes (grower.cpp).
  template <class Criterion>
  class Growth;

  std::vector<int> node_features(const std::vector<int>& tree_features, int node, std::uint64_t seed) const;
  /// Whether feature f may split a leaf, known from its histogram: always, but for a sparse
  /// matrix, whose features split only where the rows of codes other than 0's fill a leaf (most
  /// of a wide matrix's features in most nodes): an exact shortcut past the scan, which would
  /// find no valid split.
  template <class Criterion>
  bool may_split(const Criterion& criterion, const OpenLeaf& leaf, int f) const;
  /// Which features a leaf may split on: its draw, within its interaction groups; empty when it
  /// may split on every feature (no list of a sparse matrix's many features per node).
  template <class Criterion>
  std::vector<char> allowed_features(const Growth<Criterion>& g, const OpenLeaf& leaf) const;
  /// Whether the children of a split, the larger of n_rows rows, find their splits from their
  /// rows (RowScanner) rather than from histograms: when summing n_candidates features of each
  /// row costs less than clearing, subtracting and scanning a histogram of every feature's bins.
  /// Row shards keep histograms (a node's rows are spread over the shards, which sync only
  /// histograms).
  bool scans_rows(std::int64_t n_rows, int n_candidates) const;
  /// A leaf's best split from its rows, feature by feature in ascending order as build_and_find
  /// reduces.
  template <class Criterion>
  void find_by_rows(const Growth<Criterion>& g, OpenLeaf& leaf) const;
  /// The root leaf with its histogram, sums and best split.
  template <class Criterion>
  OpenLeaf grow_root(Growth<Criterion>& g);
  /// One fork per expansion (two for nodes of many rows). Thread t owns a block of feature
  /// groups (BinnedMatrix), and so their features: it builds `built`'s histogram slots for them
  /// from `rows`, built's rows, then syncs them, derives `derived`'s slots (when given; its
  /// buffer holds the parent's histogram) by subtraction, then scans those features for each of
  /// the two leaves whose `scan_*` flag is set. When built has no buffer, its rows are removed
  /// from derived's histogram instead (on one machine only). Nodes of many rows are summed by
  /// sum_row_shares first, and the group fork folds the threads' sums, derives and scans. The
  /// first fork also copies the `pending` split's blocks back into the partition (when given).
  /// Each thread keeps its winner, the higher gain or on a tie the lower feature, and so does the
  /// reduction of the threads' winners: the result is the serial scan's whatever the thread count. `max_threads` caps the threads of this one expansion (1 when
  /// expansions run side by side).
  /// For a sparse matrix only the features alive in the parent (parent_alive; all at the root)
  /// are derived and scanned, and each leaf's alive features are recorded (OpenLeaf::alive).
  template <class Criterion>
  void build_and_find(Growth<Criterion>& g, OpenLeaf& built, bool scan_built, OpenLeaf* derived, bool scan_derived,
                      RowRuns rows, const RowPartition::BlockSplit* pending, const std::vector<int>* parent_alive,
                      int max_threads, bool prebuilt = false);
  /// Calls visit(position) for the positions [from, to) of X's group features: all of them, or
  /// for a sparse matrix those in parent_alive (when given).
  template <class Visit>
  void for_owned_positions(int from, int to, const std::vector<int>* parent_alive, Visit&& visit) const;
  /// The part of an expansion that touches only its own rows and buffers: splits the parent's
  /// rows block by block (which places the children's rows), then builds the smaller child's
  /// histogram from the blocks while they are copied back, derives the larger child's and scans
  /// both. Expansions of different nodes may run concurrently with max_threads = 1.
  template <class Criterion>
  void carry_out(Growth<Criterion>& g, Expansion& e, int max_threads);
  /// Carries out the expansions of more than alone_above_rows rows on all threads one after
  /// the other, then the rest side by side, one per thread, largest first.
  template <class Criterion>
  void carry_out_batch(Growth<Criterion>& g, std::vector<Expansion*> expansions, std::size_t alone_above_rows);
  /// The same for a participant of a distributed fit: every parent's rows partitioned and the
  /// smaller children's histograms built from this participant's rows, then one reduction of
  /// them all (the batch's sync step), then the larger children derived and both scanned
  /// (build_and_find with `prebuilt`).
  template <class Criterion>
  void carry_out_synced(Growth<Criterion>& g, const std::vector<Expansion*>& expansions);
  /// The sync step of the given histograms (null pointers skipped), each of every slot.
  void reduce(const std::vector<std::int64_t*>& hists, int n_channels);
  /// out's slots of groups [first_group, end_group) = the sums over `rows`: built from the rows
  /// this process holds, then synced. With row shards, each shard's histogram is built apart
  /// and the sync step sums them.
  template <class Criterion>
  void build_synced(const Criterion& criterion, RowRuns rows, int first_group, int end_group, std::int64_t* out) const;
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
  /// Whether a node of n_rows rows is summed by splitting its rows across threads (on one
  /// machine: row shards build each shard apart instead).
  bool split_by_rows(std::size_t n_rows, int threads) const;
  /// Whether this process holds every row of the fit (no row shards, no other participants).
  bool holds_all_rows() const { return shards_.size() == 1 && reduction_ == nullptr; }
  /// Whether a smaller child that will not split is removed from the parent's histogram row by
  /// row instead of built and subtracted: only when this process holds every row of the fit,
  /// and not from sparse rows, whose zero slots only a built histogram's totals give.
  bool removes_rows() const { return holds_all_rows() && !X_.is_sparse(); }
  double raw_threshold(int feature, int bin) const;

  const BinnedMatrix& X_;
  const BinMapper& mapper_;
  TreeConfig config_;
  int n_threads_;
  HistogramBuilder builder_;
  HistogramPool pool_;
  RowPartition partition_;
  RowShards shards_;
  HistogramReduction* reduction_;  ///< null on one machine
  InteractionGroups interactions_;
  std::vector<LeafRange> leaves_;
  /// The positions in X's group features (BinnedMatrix::group_features) of its active features,
  /// by ascending feature: the order of the scans from rows, and a sparse root's alive features.
  std::vector<int> scan_order_;
};

}  // namespace treeforge
