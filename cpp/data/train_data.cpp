// TrainData: validation of every part against the rows, and labels as class indices.
#include "data/train_data.hpp"

#include <cmath>

namespace treeforge {

void TrainData::validate(std::size_t n_rows, int n_outputs, const char* what) const {
  check(n_targets >= 1 && y.size() == n_rows * static_cast<std::size_t>(n_targets), what, ": y has ", y.size(),
        " values for ", n_rows, " rows of ", n_targets, " targets");
  check(weight.empty() || weight.size() == n_rows, what, ": sample_weight has ", weight.size(), " values for ",
        n_rows, " rows");
  double total = 0;
  for (double w : weight) {
    check(std::isfinite(w) && w >= 0, what, ": sample weights must be finite and >= 0");
    total += w;
  }
  check(weight.empty() || total > 0, what, ": sample weights must not all be 0");
  check(base_margin.empty() || base_margin.size() == n_rows * static_cast<std::size_t>(n_outputs), what,
        ": base_margin has ", base_margin.size(), " values for ", n_rows, " rows of ", n_outputs, " outputs");
  for (double m : base_margin) check(std::isfinite(m), what, ": base_margin is not finite");
  if (group_begin.empty()) return;
  check(group_begin.front() == 0 && group_begin.back() == static_cast<std::int64_t>(n_rows), what,
        ": query groups must cover the ", n_rows, " rows from the first to the last");
  for (std::size_t q = 1; q < group_begin.size(); ++q)
    check(group_begin[q] > group_begin[q - 1], what, ": query group ", q - 1, " is empty or out of order");
}

std::vector<std::int32_t> TrainData::class_indices(int n_classes) const {
  std::vector<std::int32_t> classes(y.size());
  for (std::size_t i = 0; i < y.size(); ++i) {
    check(y[i] >= 0 && y[i] < n_classes && y[i] == std::floor(y[i]), "class index out of range [0, n_classes) at row ",
          i);
    classes[i] = static_cast<std::int32_t>(y[i]);
  }
  return classes;
}

}  // namespace treeforge
