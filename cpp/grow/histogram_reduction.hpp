// HistogramReduction: the sync step's seam, where the sums of the rows one participant holds become the sums of all.
#pragma once

#include <cstdint>
#include <vector>

#include "core/common.hpp"
#include "grow/criterion.hpp"

namespace treeforge {

/// The reduction a fit's participants (processes holding disjoint rows of the same fit) agree
/// through at the grower's sync step (TreeGrower) and the trainer's gradient scales
/// (GbdtTrainer). Every participant calls the same reductions in the same order with buffers of
/// the same lengths; each call returns when every participant's values are combined into all of
/// them. Integer sums and maxima are exact in any order, so the result is the single-machine
/// one to the bit whatever the number of participants or the algorithm that combines them.
///
/// One process (no reduction) is the grower's default, a null pointer: its sync adds nothing.
/// The row shards test hook (RowShards) sums shards built apart inside one process; a
/// distributed fit passes a transport between processes (collective/tcp_ring.hpp).
/// Not thread-safe: the grower calls it from one thread, outside its forks.
class HistogramReduction {
 public:
  virtual ~HistogramReduction() = default;

  /// How many participants reduce (1: this process alone).
  virtual int n_participants() const = 0;
  /// Each part's values become the sums over all participants of their values at the same
  /// place. The parts travel together: one reduction (one round of messages) for all of them.
  virtual void sum(const std::vector<Span<std::int64_t>>& parts) = 0;
  /// Each value becomes the maximum over all participants (NaN never given).
  virtual void max(Span<double> values) = 0;

  /// The range of every participant's gradients (GradRange::merge over all of them): the one
  /// global fixed-point scale.
  GradRange merge(const GradRange& mine);
};

}  // namespace treeforge
