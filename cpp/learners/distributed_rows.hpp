// DistributedRows: a participant's share of a distributed fit; RowOrderFold: floating-point sums in global row order.
#pragma once

#include <cstdint>
#include <memory>
#include <vector>

#include "core/common.hpp"
#include "grow/histogram_reduction.hpp"

namespace treeforge {

/// A participant's share of a distributed fit: the reduction every participant calls at the
/// sync steps, and the ids of this participant's rows among the fit's n_global_rows rows
/// (ascending, one per row of its training matrix). Row draws (boosting's subsamples, forests'
/// bags) are made over the global ids, so each participant grows on its rows of the
/// single-machine draw. Empty: one machine.
struct DistributedRows {
  std::shared_ptr<HistogramReduction> reduction;
  std::vector<std::int64_t> global_rows;
  std::size_t n_global_rows = 0;
  /// A ranking fit's: the ids of this participant's queries (whole ones) among n_global_queries,
  /// ascending, one per query group; queries are drawn by them.
  std::vector<std::int64_t> global_queries;
  std::size_t n_global_queries = 0;

  /// Throws std::invalid_argument unless global_rows has one ascending id in [0, n_global_rows)
  /// per one of the n_rows training rows, and global_queries one ascending id in
  /// [0, n_global_queries) per one of the n_queries query groups (none without groups).
  void check(std::size_t n_rows, std::size_t n_queries) const;
};

/// Floating-point sums over a fit's rows in global row order, to the bit the single-machine
/// loop's: a double sum depends on its order, so the running sums travel along the rows. Each
/// run of consecutive global rows one participant holds adds its rows to the sums, which then
/// reach every participant (one reduction: the holder's bits, the others' zeros); the holder of
/// the next row goes on from there. One reduction per run, called in the same order by every
/// participant. On one machine, one run of every row and no reduction.
class RowOrderFold {
 public:
  /// `distributed` (null or without a reduction: one machine of n_rows rows) must outlive the fold.
  RowOrderFold(const DistributedRows* distributed, std::size_t n_rows);

  /// sums (the same length and starting values on every participant) += add(begin, end) for
  /// each run [begin, end) of this participant's rows (its row numbers), in global row order;
  /// `add` adds rows begin, begin + 1, ..., end - 1 in that order. Afterwards every
  /// participant holds the sums of all rows.
  template <class Add>
  void fold(Span<double> sums, Add&& add) const {
    if (reduction_ == nullptr) {
      add(std::size_t{0}, n_rows_);
      return;
    }
    std::size_t next_run = 0;  // this participant's next run (runs_ ascend)
    for (std::int64_t at = 0; at < n_global_rows_;) {
      const bool mine = next_run < runs_.size() && runs_[next_run].global_begin == at;
      std::int64_t end = 0;
      if (mine) {
        add(runs_[next_run].begin, runs_[next_run].end);
        end = at + static_cast<std::int64_t>(runs_[next_run].end - runs_[next_run].begin);
        ++next_run;
      }
      at = pass_on(sums, mine, at, end);
    }
  }

 private:
  struct Run {
    std::int64_t global_begin;
    std::size_t begin;
    std::size_t end;
  };
  /// The holder's sums and its run's end reach every participant; returns the run's end.
  std::int64_t pass_on(Span<double> sums, bool mine, std::int64_t at, std::int64_t end) const;

  HistogramReduction* reduction_ = nullptr;
  std::size_t n_rows_ = 0;
  std::int64_t n_global_rows_ = 0;
  std::vector<Run> runs_;
};

}  // namespace treeforge
