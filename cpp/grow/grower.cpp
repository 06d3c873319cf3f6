// TreeGrower: the grow loop over expansion batches, the build-sync-scan of each expansion, per-node feature draws.
// A tree in the making (TreeGrower::Growth) lives in grow/growth.hpp.
#include "grow/grower.hpp"

#include <algorithm>
#include <limits>
#include <memory>

#include "core/parallel.hpp"
#include "core/random.hpp"
#include "grow/grow_schedule.hpp"
#include "grow/growth.hpp"

namespace treeforge {

TreeGrower::TreeGrower(const BinnedMatrix& X, const BinMapper& mapper, const TreeConfig& config, int n_threads,
                       HistogramReduction* reduction)
    : X_(X),
      mapper_(mapper),
      config_(config),
      n_threads_(std::max(1, n_threads)),
      builder_(X, n_threads_),
      shards_(X.n_rows, row_shards_for_testing()),
      reduction_(reduction),
      interactions_(config.interaction_groups, X.n_features) {
  config_.validate();
  check(X.n_features >= 1, "cannot grow a tree on 0 features");
  check(config_.monotone.empty() || static_cast<int>(config_.monotone.size()) == X.n_features, "monotone has ",
        config_.monotone.size(), " entries for ", X.n_features, " features");
  for (int f = 0; f < X.n_features; ++f)
    check(config_.monotone_direction(f) == 0 || !X.categorical(f), "feature ", f,
          " is categorical: it cannot have a monotone constraint");
  // Positions in the groups by ascending feature: the order of scans from rows.
  for (int f = 0; f < X.n_features; ++f) {
    if (!X.active(f)) continue;
    const int g = X.group_of[f];
    for (int k = X.group_begin[g]; k < X.group_begin[g + 1]; ++k)
      if (X.group_features[k] == f) scan_order_.push_back(k);
  }
}

double TreeGrower::raw_threshold(int feature, int bin) const {
  const auto& edges = mapper_.edges(feature);
  return bin < static_cast<int>(edges.size()) ? edges[bin] : std::numeric_limits<double>::infinity();
}

std::vector<int> TreeGrower::node_features(const std::vector<int>& tree_features, int node, std::uint64_t seed) const {
  return draw_node_features(tree_features, config_.max_features, node, seed);
}

std::vector<int> draw_node_features(const std::vector<int>& tree_features, double max_features, int node,
                                   std::uint64_t seed) {
  if (max_features >= 1.0) return tree_features;
  const int n = static_cast<int>(tree_features.size());
  const int k = std::max(1, static_cast<int>(max_features * n));
  Rng rng(derive_seed(seed, static_cast<std::uint64_t>(node), 0x6e6f6465 /* "node" */));
  std::vector<int> picked = sample_features(n, k, rng);
  for (int& p : picked) p = tree_features[p];
  return picked;
}

namespace {
// Rows per thread from which a node's histogram is summed by rows rather than by features.
constexpr std::size_t kMinRowsPerThreadForRowSplit = 8192;
}  // namespace

bool TreeGrower::split_by_rows(std::size_t n_rows, int threads) const {
  return holds_all_rows() && threads > 1 && n_rows >= kMinRowsPerThreadForRowSplit * static_cast<std::size_t>(threads);
}

bool TreeGrower::scans_rows(std::int64_t n_rows, int n_candidates) const {
  const RowScanPolicy policy = row_scan_policy_for_testing();
  if (!holds_all_rows() || policy == RowScanPolicy::kNever) return false;
  if (policy == RowScanPolicy::kAlways) return true;
  return n_rows * n_candidates <= X_.n_hist_slots();
}

template <class Criterion>
void TreeGrower::build_synced(const Criterion& criterion, RowRuns rows, int first_group, int end_group,
                              std::int64_t* out) const {
  if (shards_.size() == 1) {
    builder_.build_groups(criterion, rows, first_group, end_group, out);  // the sync adds nothing
    return;
  }
  // Each shard's histogram built apart, as its worker would, over the same slots.
  std::vector<std::vector<std::int64_t>> local(shards_.size());
  for (int s = 0; s < shards_.size(); ++s) {
    const std::vector<row_t> mine = shards_.select(rows, s);
    const Span<const row_t> run(mine.data(), mine.size());
    local[s].assign(static_cast<std::size_t>(builder_.n_slots()) * criterion.n_channels(), 0);
    builder_.build_groups(criterion, RowRuns(&run, 1), first_group, end_group, local[s].data());
    count_shard_build_for_testing();
  }
  // The sync step: the shards' sums reduced into out.
  const int stride = criterion.n_channels();
  for (int k = X_.group_begin[first_group]; k < X_.group_begin[end_group]; ++k) {
    const int f = X_.group_features[k];
    std::fill(out + static_cast<std::size_t>(X_.hist_offset[f]) * stride,
              out + static_cast<std::size_t>(X_.hist_offset[f + 1]) * stride, 0);
    for (const std::vector<std::int64_t>& shard : local) builder_.add_features(out, shard.data(), stride, f, f + 1);
  }
}

template <class Criterion, class Before>
void TreeGrower::sum_row_shares(const Criterion& criterion, RowRuns runs, int threads, std::int64_t* target,
                                bool remove, const std::vector<std::int64_t*>& partial, Before&& before) {
  std::size_t n_rows = 0;
  for (const Span<const row_t>& run : runs) n_rows += run.size;
  const int n_groups = X_.n_groups;
  parallel_for(threads, threads, [&](std::size_t t) {
    before(t);
    // Thread t's share: rows [lo, hi) of the runs laid end to end.
    const std::size_t lo = n_rows * t / threads, hi = n_rows * (t + 1) / threads;
    std::vector<Span<const row_t>> share;
    std::size_t at = 0;
    for (const Span<const row_t>& run : runs) {
      const std::size_t a = std::max(lo, at), b = std::min(hi, at + run.size);
      if (a < b) share.push_back(run.subspan(a - at, b - a));
      at += run.size;
    }
    const RowRuns mine(share.data(), share.size());
    if (t > 0)
      builder_.build_groups(criterion, mine, 0, n_groups, partial[t]);
    else if (remove)
      builder_.remove_groups(criterion, mine, 0, n_groups, target);
    else
      builder_.build_groups(criterion, mine, 0, n_groups, target);
  });
}

void TreeGrower::fold_partials(std::int64_t* target, const std::vector<std::int64_t*>& partial, int stride,
                               int feature, bool remove) const {
  for (std::size_t p = 1; p < partial.size(); ++p) {
    if (remove)
      builder_.subtract_features(target, partial[p], stride, feature, feature + 1);
    else
      builder_.add_features(target, partial[p], stride, feature, feature + 1);
  }
}

namespace {

/// Whether split s beats `best` in the scans' order: the higher gain, on a tie the lower feature
/// (the first one met scanning features in ascending order, whatever the thread count).
bool beats(const SplitInfo& s, const SplitInfo& best) {
  return s.is_valid() && (s.gain > best.gain || (s.gain == best.gain && best.is_valid() && s.feature < best.feature));
}

}  // namespace

template <class Criterion>
void TreeGrower::build_and_find(Growth<Criterion>& g, OpenLeaf& built, bool scan_built, OpenLeaf* derived,
                                bool scan_derived, RowRuns rows, const RowPartition::BlockSplit* pending,
                                const std::vector<int>* parent_alive, int max_threads, bool prebuilt) {
  const int stride = g.criterion.n_channels();
  OpenLeaf* leaves[2] = {&built, derived};
  const bool scan[2] = {scan_built, derived != nullptr && scan_derived};
  // Which features each leaf may split on (all of the tree's, or this node's draw).
  std::vector<char> allowed[2];
  for (int l = 0; l < 2; ++l)
    if (scan[l]) allowed[l] = allowed_features(g, *leaves[l]);
  // The pending split's blocks are copied back into the partition by the first fork, a share
  // per thread, beside its other work.
  auto scatter_share = [&](std::size_t t, int threads) {
    if (!pending) return;
    const std::size_t n = pending->n_blocks();
    for (std::size_t b = n * t / threads; b < n * (t + 1) / threads; ++b) partition_.scatter(*pending, b);
  };
  const int threads = std::min(max_threads, builder_.threads_for(built.n_rows()));
  const bool by_rows = !prebuilt && split_by_rows(built.n_rows(), threads);
  std::int64_t* const target = built.hist ? built.hist : derived->hist;
  std::vector<std::int64_t*> partial;
  if (by_rows) {
    partial.assign(threads, nullptr);
    for (int t = 1; t < threads; ++t) partial[t] = pool_.acquire();
    sum_row_shares(g.criterion, rows, threads, target, !built.hist, partial,
                   [&](std::size_t t) { scatter_share(t, threads); });
  }
  const int n_groups = X_.n_groups;
  const int group_threads = std::max(1, std::min(threads, n_groups));
  // Each thread's winner and (sparse) the features that may still split each leaf.
  std::vector<SplitInfo> best[2] = {std::vector<SplitInfo>(group_threads), std::vector<SplitInfo>(group_threads)};
  std::vector<std::vector<int>> alive[2] = {std::vector<std::vector<int>>(group_threads),
                                            std::vector<std::vector<int>>(group_threads)};
  // A histogram built before (prebuilt: a distributed fit's, reduced) leaves only the scans.
  const std::vector<int> blocks = builder_.group_blocks(group_threads, by_rows || prebuilt ? 0 : built.n_rows());
  parallel_for(group_threads, group_threads, [&](std::size_t t) {
    // Thread t owns a block of feature groups, and so the features of those groups.
    const int first = blocks[t], end = blocks[t + 1];
    if (!by_rows && !prebuilt) {
      scatter_share(t, group_threads);
      if (built.hist)
        build_synced(g.criterion, rows, first, end, built.hist);
      else
        builder_.remove_groups(g.criterion, rows, first, end, derived->hist);
    }
    // One feature at a time from folding to both scans, so that its slots stay in L1.
    auto visit = [&](int position) {
      const int f = X_.group_features[position];
      if (by_rows) fold_partials(target, partial, stride, f, !built.hist);
      if (built.hist && derived) builder_.subtract_features(derived->hist, built.hist, stride, f, f + 1);
      for (int l = 0; l < 2; ++l) {
        if (!scan[l] || !may_split(g.criterion, *leaves[l], f)) continue;
        if (X_.is_sparse()) alive[l][t].push_back(position);
        if (!allowed[l].empty() && !allowed[l][f]) continue;
        SplitInfo s = g.finder.find_on_feature(leaves[l]->hist, leaves[l]->sums.data(), f, leaves[l]->bounds);
        if (beats(s, best[l][t])) best[l][t] = std::move(s);
      }
    };
    for_owned_positions(X_.group_begin[first], X_.group_begin[end], parent_alive, visit);
  });
  for (int t = 1; t < static_cast<int>(partial.size()); ++t) pool_.release(partial[t]);
  for (int l = 0; l < 2; ++l) {
    if (!scan[l]) continue;
    for (int t = 0; t < group_threads; ++t) {
      if (beats(best[l][t], leaves[l]->split)) leaves[l]->split = std::move(best[l][t]);
      leaves[l]->alive.insert(leaves[l]->alive.end(), alive[l][t].begin(), alive[l][t].end());
    }
  }
}

template <class Visit>
void TreeGrower::for_owned_positions(int from, int to, const std::vector<int>* parent_alive, Visit&& visit) const {
  if (!X_.is_sparse() || parent_alive == nullptr) {
    for (int position = from; position < to; ++position) visit(position);
    return;
  }
  // Sparse: only the features that may still split the parent; the others' slots are never
  // read again in its subtree, so they are neither derived nor scanned.
  const auto lo = std::lower_bound(parent_alive->begin(), parent_alive->end(), from);
  for (auto it = lo; it != parent_alive->end() && *it < to; ++it) visit(*it);
}

template <class Criterion>
bool TreeGrower::may_split(const Criterion& criterion, const OpenLeaf& leaf, int f) const {
  if (!X_.is_sparse()) return true;
  const std::size_t zero_slot = static_cast<std::size_t>(X_.hist_offset[f] + X_.zero_code[f]);
  const std::int64_t zero_rows = criterion.count(leaf.hist + zero_slot * criterion.n_channels());
  const std::int64_t other_codes = criterion.count(leaf.sums.data()) - zero_rows;
  return other_codes >= std::max(1, config_.min_samples_leaf);
}

template <class Criterion>
std::vector<char> TreeGrower::allowed_features(const Growth<Criterion>& g, const OpenLeaf& leaf) const {
  // Every feature: no list (a sparse matrix may have very many features and very many nodes).
  if (config_.max_features >= 1.0 && !interactions_.active() && g.features.size() == static_cast<std::size_t>(X_.n_features))
    return {};
  std::vector<char> allowed(X_.n_features, 0);
  for (int f : node_features(g.features, leaf.node, g.seed)) allowed[f] = 1;
  if (interactions_.active()) {
    const std::vector<char> grouped = interactions_.allowed(leaf.path);
    for (int f = 0; f < X_.n_features; ++f) allowed[f] &= grouped[f];
  }
  return allowed;
}

template <class Criterion>
void TreeGrower::find_by_rows(const Growth<Criterion>& g, OpenLeaf& leaf) const {
  const std::vector<char> allowed = allowed_features(g, leaf);
  RowScanner<Criterion> scanner(X_, g.criterion, g.finder);
  scanner.set_node(partition_.rows(leaf.begin, leaf.end));
  // Every feature that separates a node's two rows makes the same partition; where its gain
  // follows from the partition alone, they tie, and ties go to the lower feature.
  const bool first_separating = leaf.n_rows() == 2 && g.gains_follow_partitions && !leaf.bounds.bounded();
  for (const int position : scan_order_) {
    const int f = X_.group_features[position];
    if ((!allowed.empty() && !allowed[f]) || (first_separating && scanner.same_codes(f))) continue;
    const SplitInfo s = scanner.find_on_feature(leaf.sums.data(), f, leaf.bounds);
    if (s.is_valid() && s.gain > leaf.split.gain) leaf.split = s;
    if (first_separating) break;
  }
  count_row_scan_for_testing();
}

template <class Criterion>
void TreeGrower::carry_out(Growth<Criterion>& g, Expansion& e, int max_threads) {
  const SplitInfo& s = e.split;
  const RowPartition::BlockSplit split =
      partition_.split_blocks(e.left.begin, e.right.end, X_, s.feature, s.test(), max_threads);
  // The children's rows as the partition placed them. While this process holds every row of the
  // fit, the count of the left child's sums says the same.
  e.left.end = e.right.begin = split.mid;
  e.carried_out = true;
  check_internal(!holds_all_rows() ||
                     split.mid - e.left.begin == static_cast<std::size_t>(g.criterion.count(e.left.sums.data())),
                 "the row partition disagrees with the histogram counts");
  if (!e.left_may && !e.right_may) {
    partition_.scatter_all(split, max_threads);
    return;
  }
  if (e.scan_rows) {
    partition_.scatter_all(split, max_threads);
    if (e.left_may) find_by_rows(g, e.left);
    if (e.right_may) find_by_rows(g, e.right);
    return;
  }
  // Build the smaller child straight from the blocks' runs while they are copied back; the
  // larger one is parent - smaller, in the parent's buffer.
  const std::vector<Span<const row_t>> runs = e.left_smaller ? partition_.left_runs(split) : partition_.right_runs(split);
  build_and_find(g, e.small(), e.small_may(), e.large_may() ? &e.large() : nullptr, e.large_may(),
                 RowRuns(runs.data(), runs.size()), &split, &e.parent_alive, max_threads);
}

template <class Criterion>
void TreeGrower::carry_out_batch(Growth<Criterion>& g, std::vector<Expansion*> expansions,
                                 std::size_t alone_above_rows) {
  if (reduction_) {
    carry_out_synced(g, expansions);
    return;
  }
  std::vector<Expansion*> side_by_side;
  for (Expansion* e : expansions) {
    if (e->n_rows() > alone_above_rows)
      carry_out(g, *e, n_threads_);
    else
      side_by_side.push_back(e);
  }
  // One per thread, largest first, so that the last ones handed out are short.
  std::stable_sort(side_by_side.begin(), side_by_side.end(),
                   [](const Expansion* a, const Expansion* b) { return a->n_rows() > b->n_rows(); });
  parallel_for_dynamic(side_by_side.size(), n_threads_, [&](std::size_t i) { carry_out(g, *side_by_side[i], 1); });
}

void TreeGrower::reduce(const std::vector<std::int64_t*>& hists, int n_channels) {
  std::vector<Span<std::int64_t>> parts;
  const std::size_t n = static_cast<std::size_t>(builder_.n_slots()) * n_channels;
  for (std::int64_t* hist : hists)
    if (hist) parts.emplace_back(hist, n);
  if (!parts.empty()) reduction_->sum(parts);
}

template <class Criterion>
void TreeGrower::carry_out_synced(Growth<Criterion>& g, const std::vector<Expansion*>& expansions) {
  // Every participant carries out the same expansions in the same order: the batch's smaller
  // children are built from the own rows, then reduced together (one round of messages).
  std::vector<Expansion*> open;
  std::vector<std::int64_t*> built;
  for (Expansion* e : expansions) {
    const RowPartition::BlockSplit split =
        partition_.split_blocks(e->left.begin, e->right.end, X_, e->split.feature, e->split.test(), n_threads_);
    partition_.scatter_all(split, n_threads_);
    e->left.end = e->right.begin = split.mid;
    e->carried_out = true;
    if (!e->left_may && !e->right_may) continue;
    builder_.build(g.criterion, partition_.rows(e->small().begin, e->small().end), e->small().hist);
    open.push_back(e);
    built.push_back(e->small().hist);
  }
  reduce(built, g.criterion.n_channels());
  for (Expansion* e : open)
    build_and_find(g, e->small(), e->small_may(), e->large_may() ? &e->large() : nullptr, e->large_may(), RowRuns(),
                   nullptr, &e->parent_alive, n_threads_, true);
}

template <class Criterion>
OpenLeaf TreeGrower::grow_root(Growth<Criterion>& g) {
  const std::size_t n_rows = partition_.indices().size();
  const int stride = g.criterion.n_channels();
  OpenLeaf root{0, 0, 0, n_rows, Sums(stride, 0), pool_.acquire(), SplitInfo{}};
  const int threads = builder_.threads_for(n_rows);
  const Span<const row_t> all_rows = partition_.rows(0, n_rows);
  const RowRuns runs(&all_rows, 1);
  if (split_by_rows(n_rows, threads)) {
    std::vector<std::int64_t*> partial(threads, nullptr);
    for (int t = 1; t < threads; ++t) partial[t] = pool_.acquire();
    sum_row_shares(g.criterion, runs, threads, root.hist, false, partial, [](std::size_t) {});
    parallel_for(X_.n_features, threads,
                 [&](std::size_t f) { fold_partials(root.hist, partial, stride, static_cast<int>(f), false); });
    for (int t = 1; t < threads; ++t) pool_.release(partial[t]);
  } else {
    // Thread t fills the slots of its own block of groups from every row.
    const int n_groups = X_.n_groups, group_threads = std::min(threads, n_groups);
    parallel_for(group_threads, group_threads, [&](std::size_t t) {
      build_synced(g.criterion, runs, static_cast<int>(n_groups * t / group_threads),
                   static_cast<int>(n_groups * (t + 1) / group_threads), root.hist);
    });
  }
  if (reduction_) reduce({root.hist}, stride);  // the root's sync step across participants
  // Any one feature's bins (its missing bin included) hold every row once: they sum to the node
  // total. A sparse matrix may have no active feature: then the rows are summed.
  if (X_.n_groups > 0) {
    const int f = X_.group_features[0];
    for (int s = X_.hist_offset[f]; s < X_.hist_offset[f + 1]; ++s)
      for (int c = 0; c < stride; ++c) root.sums[c] += root.hist[static_cast<std::size_t>(s) * stride + c];
  } else {
    for (const row_t r : all_rows) g.criterion.add(root.sums.data(), r);
  }
  g.add_root(root.sums, n_rows);
  if (X_.is_sparse())
    for (const int position : scan_order_)
      if (may_split(g.criterion, root, X_.group_features[position])) root.alive.push_back(position);
  if (g.may_deepen(0) && g.criterion.may_split(root.sums.data())) {
    // The root's histogram is built above (its sums are needed first); scan it in one fork.
    std::vector<int> allowed = node_features(g.features, 0, g.seed);
    if (X_.is_sparse())
      allowed.erase(std::remove_if(allowed.begin(), allowed.end(), [&](int f) { return !X_.active(f); }), allowed.end());
    std::vector<SplitInfo> per_feature(allowed.size());
    parallel_for(allowed.size(), threads, [&](std::size_t i) {
      if (may_split(g.criterion, root, allowed[i]))
        per_feature[i] = g.finder.find_on_feature(root.hist, root.sums.data(), allowed[i]);
    });
    for (const SplitInfo& s : per_feature)
      if (s.is_valid() && s.gain > root.split.gain) root.split = s;
  }
  return root;
}

template <class Criterion>
Tree TreeGrower::grow(const Criterion& criterion, Span<const row_t> rows, const std::vector<int>& features,
                      std::uint64_t seed) {
  check(X_.n_rows > 0, "cannot grow a tree on 0 rows");
  check(config_.monotone.empty() || criterion.leaf_dim() <= 2,
        "monotone constraints need one output or two classes, not ", criterion.leaf_dim());
  partition_.reset(X_.n_rows, rows);
  pool_.reset(static_cast<std::size_t>(builder_.n_slots()) * criterion.n_channels());
  Growth<Criterion> g(*this, criterion, features, seed);
  OpenLeaf root = grow_root(g);
  g.open_or_close(root);
  while (!g.schedule.empty() && g.room_for_split()) {
    ExpansionBatch batch = g.schedule.next(g.n_leaves);
    // Splits that enter the tree now, numbered in order; splits set aside for leaves taken later.
    std::vector<Expansion> taken;
    taken.reserve(batch.taken.size());
    std::vector<Expansion*> to_carry_out;
    for (OpenLeaf& leaf : batch.taken) {
      taken.push_back(leaf.done_early ? std::move(*leaf.done_early) : g.prepare(leaf));
      g.enter(leaf, taken.back());
      if (!taken.back().carried_out) to_carry_out.push_back(&taken.back());
    }
    for (OpenLeaf* leaf : batch.early) {
      leaf->done_early = std::make_unique<Expansion>(g.prepare(*leaf));
      to_carry_out.push_back(leaf->done_early.get());
    }
    carry_out_batch(g, std::move(to_carry_out), batch.alone_above_rows);
    for (Expansion& e : taken) g.finish(e);
  }
  g.close_remaining();
  leaves_ = g.leaf_ranges();
  return std::move(g.tree);
}

template Tree TreeGrower::grow<GradientCriterion>(const GradientCriterion&, Span<const row_t>, const std::vector<int>&,
                                                  std::uint64_t);
template Tree TreeGrower::grow<ClassCriterion>(const ClassCriterion&, Span<const row_t>, const std::vector<int>&,
                                               std::uint64_t);
template Tree TreeGrower::grow<TargetClassesCriterion>(const TargetClassesCriterion&, Span<const row_t>,
                                                       const std::vector<int>&, std::uint64_t);
template Tree TreeGrower::grow<TargetsCriterion>(const TargetsCriterion&, Span<const row_t>, const std::vector<int>&,
                                                 std::uint64_t);

}  // namespace treeforge
