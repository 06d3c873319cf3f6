// GrowSchedule: heap orders of the grow policies, depth-wise levels, leaf-wise splits set aside.
#include "grow/grow_schedule.hpp"

#include <algorithm>
#include <limits>

namespace treeforge {

namespace {
// Leaf-wise splits of at most this many rows run side by side, one per thread; at most this
// many per thread are set aside at a time (each holds a histogram buffer).
constexpr std::size_t kMaxSideBySideRows = 32768;
constexpr std::size_t kSetAsidePerThread = 2;
// A distributed fit's leaf-wise batch: at most this many splits reduced at once, and at most
// kRankedSetAside set aside at a time (each holds a histogram buffer): new children often rank
// first, so the set-aside splits wait a while, and a full pool would shrink the batches.
constexpr std::size_t kRankedBatch = 8;
constexpr std::size_t kRankedSetAside = 24;
}  // namespace

GrowSchedule::GrowSchedule(const TreeConfig& config, int n_threads, bool by_rank)
    : config_(config),
      n_threads_(n_threads),
      // Per-node feature draws are seeded by node numbers, which a split set aside does not have yet.
      // A distributed fit sets splits aside depth-first too (forests' trees), to reduce them together.
      leaf_wise_side_by_side_((config.grow_policy == GrowPolicy::kLossGuide ||
                               (by_rank && config.grow_policy == GrowPolicy::kDepthFirst)) &&
                              config.max_features >= 1.0 && (n_threads > 1 || by_rank)),
      by_rank_(by_rank) {}

bool GrowSchedule::after(const OpenLeaf& a, const OpenLeaf& b) const {
  if (config_.grow_policy == GrowPolicy::kDepthFirst) return a.node < b.node;  // newest first: O(depth) histograms
  const bool depth_wise = config_.grow_policy == GrowPolicy::kDepthWise;
  if (depth_wise && a.depth != b.depth) return a.depth > b.depth;
  if (!depth_wise && a.split.gain != b.split.gain) return a.split.gain < b.split.gain;
  return a.node > b.node;
}

void GrowSchedule::push(OpenLeaf leaf) {
  open_.push_back(std::move(leaf));
  std::push_heap(open_.begin(), open_.end(), [this](const OpenLeaf& a, const OpenLeaf& b) { return after(a, b); });
}

OpenLeaf GrowSchedule::pop() {
  std::pop_heap(open_.begin(), open_.end(), [this](const OpenLeaf& a, const OpenLeaf& b) { return after(a, b); });
  OpenLeaf leaf = std::move(open_.back());
  open_.pop_back();
  return leaf;
}

bool GrowSchedule::whole_level_fits(int n_leaves) const {
  // Depth-wise, every open leaf is on the same level; its expansions are independent when the
  // whole level may be split.
  return config_.grow_policy == GrowPolicy::kDepthWise && open_.size() > 1 &&
         (config_.max_leaf_nodes == 0 || n_leaves + static_cast<int>(open_.size()) <= config_.max_leaf_nodes) &&
         std::all_of(open_.begin(), open_.end(), [&](const OpenLeaf& o) { return o.depth == open_[0].depth; });
}

ExpansionBatch GrowSchedule::take_level() {
  // In the order the heap would pop them, so nodes are numbered as they would be one by one.
  std::sort(open_.begin(), open_.end(), [this](const OpenLeaf& a, const OpenLeaf& b) { return after(b, a); });
  ExpansionBatch batch;
  std::size_t level_rows = 0;
  for (const OpenLeaf& leaf : open_) level_rows += leaf.n_rows();
  batch.taken = std::move(open_);
  open_.clear();
  // Nodes with a large share of the level's rows get all threads one after the other.
  batch.alone_above_rows = level_rows / (2 * static_cast<std::size_t>(n_threads_));
  return batch;
}

ExpansionBatch GrowSchedule::next(int n_leaves) {
  if (whole_level_fits(n_leaves)) return take_level();
  ExpansionBatch batch;
  batch.taken.push_back(pop());
  const OpenLeaf& leaf = batch.taken.back();
  if (leaf.done_early) {
    --n_set_aside_;
    return batch;
  }
  if (leaf_wise_side_by_side_ && by_rank_) {
    for (std::size_t i : ranked_partners(n_leaves)) batch.early.push_back(&open_[i]);
    n_set_aside_ += batch.early.size();
  } else if (leaf_wise_side_by_side_ && leaf.n_rows() <= kMaxSideBySideRows) {
    for (std::size_t i : partners_for(leaf)) batch.early.push_back(&open_[i]);
    n_set_aside_ += batch.early.size();
    if (!batch.early.empty()) batch.alone_above_rows = std::numeric_limits<std::size_t>::max();
  }
  return batch;
}

std::vector<std::size_t> GrowSchedule::ranked_partners(int n_leaves) const {
  // Splits beyond the leaves the tree may still add would surely be dropped.
  std::size_t room = std::min(kRankedBatch - 1, kRankedSetAside - std::min(kRankedSetAside, n_set_aside_));
  if (config_.max_leaf_nodes > 0) {
    const std::size_t more = static_cast<std::size_t>(std::max(0, config_.max_leaf_nodes - n_leaves - 1));
    room = std::min(room, more > n_set_aside_ ? more - n_set_aside_ : 0);
  }
  std::vector<std::size_t> picked;
  while (picked.size() < room) {
    std::size_t best = open_.size();
    for (std::size_t i = 0; i < open_.size(); ++i) {
      if (open_[i].done_early || std::find(picked.begin(), picked.end(), i) != picked.end()) continue;
      if (best == open_.size() || after(open_[best], open_[i])) best = i;
    }
    if (best == open_.size()) break;
    picked.push_back(best);
  }
  return picked;
}

std::vector<std::size_t> GrowSchedule::partners_for(const OpenLeaf& next) const {
  // The best ranked open leaves without a split set aside, of at most kMaxSideBySideRows rows,
  // until no thread would wait long for the largest split; none when that would set aside too many.
  std::vector<std::size_t> picked;
  const std::size_t room = kSetAsidePerThread * static_cast<std::size_t>(n_threads_) - n_set_aside_;
  std::size_t largest = next.n_rows(), total = largest;
  auto balanced = [&] { return 4 * largest * static_cast<std::size_t>(n_threads_) <= 5 * total; };
  while (!balanced() && picked.size() < room) {
    std::size_t best = open_.size();
    for (std::size_t i = 0; i < open_.size(); ++i) {
      if (open_[i].done_early || open_[i].n_rows() > kMaxSideBySideRows ||
          std::find(picked.begin(), picked.end(), i) != picked.end())
        continue;
      if (best == open_.size() || after(open_[best], open_[i])) best = i;
    }
    if (best == open_.size()) break;
    picked.push_back(best);
    largest = std::max(largest, open_[best].n_rows());
    total += open_[best].n_rows();
  }
  if (!balanced()) picked.clear();
  return picked;
}

}  // namespace treeforge
