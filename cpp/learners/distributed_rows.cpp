// DistributedRows' checks and RowOrderFold's runs and hand-over between participants.
#include "learners/distributed_rows.hpp"

#include <cstring>
#include <limits>

namespace treeforge {

namespace {

void check_global_ids(const std::vector<std::int64_t>& ids, std::size_t n_local, std::size_t n_global,
                      const char* what) {
  treeforge::check(ids.size() == n_local, what, " needs one id per local one (", n_local, "), got ", ids.size());
  for (std::size_t i = 0; i < ids.size(); ++i)
    treeforge::check(ids[i] >= 0 && static_cast<std::size_t>(ids[i]) < n_global && (i == 0 || ids[i] > ids[i - 1]),
                     what, " must ascend within [0, ", n_global, "), not at ", i);
  treeforge::check(n_global <= std::numeric_limits<row_t>::max(), "too many ", what, " for one fit");
}

}  // namespace

void DistributedRows::check(std::size_t n_rows, std::size_t n_queries) const {
  check_global_ids(global_rows, n_rows, n_global_rows, "global_rows");
  check_global_ids(global_queries, n_queries, n_global_queries, "global_queries");
}

RowOrderFold::RowOrderFold(const DistributedRows* distributed, std::size_t n_rows) : n_rows_(n_rows) {
  if (distributed == nullptr || distributed->reduction == nullptr) return;
  reduction_ = distributed->reduction.get();
  n_global_rows_ = static_cast<std::int64_t>(distributed->n_global_rows);
  const auto& ids = distributed->global_rows;
  for (std::size_t i = 0; i < ids.size(); ++i) {
    if (i > 0 && ids[i] == ids[i - 1] + 1) {
      runs_.back().end = i + 1;
    } else {
      runs_.push_back(Run{ids[i], i, i + 1});
    }
  }
}

std::int64_t RowOrderFold::pass_on(Span<double> sums, bool mine, std::int64_t at, std::int64_t end) const {
  // The holder's bits and everyone else's zeros: their integer sum is the holder's bits.
  std::vector<std::int64_t> bits(sums.size + 1, 0);
  if (mine) {
    std::memcpy(bits.data(), sums.data, sums.size * sizeof(double));
    bits[sums.size] = end;
  }
  reduction_->sum({Span<std::int64_t>(bits.data(), bits.size())});
  std::memcpy(sums.data, bits.data(), sums.size * sizeof(double));
  const std::int64_t next = bits[sums.size];
  check_internal(next > at && next <= n_global_rows_, "no participant of the distributed fit holds global row ", at);
  return next;
}

}  // namespace treeforge
