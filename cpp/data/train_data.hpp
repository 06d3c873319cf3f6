// TrainData: the labels of the training rows and what comes with them (weights, base margins, query groups), validated in one place.
#pragma once

#include <cstdint>
#include <vector>

#include "core/common.hpp"

namespace treeforge {

/// What a learner knows of its training rows besides their features, owned (copied once from
/// the caller, who may free theirs). Every learner takes this one struct; each reads the parts
/// its task needs and validate() checks them all in one place.
struct TrainData {
  std::vector<double> y;                  ///< (n_rows * n_targets,) row-major targets; for classes the class index
  std::vector<double> weight;             ///< (n_rows,) sample weights; empty = all ones
  std::vector<double> base_margin;        ///< (n_outputs * n_rows,) output-major starting margins; empty = none
  std::vector<std::int64_t> group_begin;  ///< query group q: rows [group_begin[q], group_begin[q + 1]); empty = none
  int n_targets = 1;                      ///< columns of y (forests fit several)

  std::size_t n_rows() const { return y.size() / static_cast<std::size_t>(n_targets); }
  double weight_of(std::size_t row) const { return weight.empty() ? 1.0 : weight[row]; }

  /// Throws std::invalid_argument naming the first problem (prefixed by `what`): lengths that do
  /// not fit n_rows rows of n_outputs outputs, weights negative or non-finite (or all 0),
  /// non-finite base margins, group boundaries not rising from 0 to n_rows. The labels' domain
  /// is the task's to check (an objective's check_labels, class_indices).
  void validate(std::size_t n_rows, int n_outputs, const char* what) const;

  /// y as class indices, after checking each is an integer in [0, n_classes).
  std::vector<std::int32_t> class_indices(int n_classes) const;
};

}  // namespace treeforge
