// TreeGrower: the expansion loop, the grow policies as heap orders, and per-node feature draws.
#include "grow/grower.hpp"

#include <algorithm>
#include <cmath>
#include <limits>
#include <memory>

#include "core/parallel.hpp"
#include "core/random.hpp"

namespace treeforge {

TreeGrower::TreeGrower(const BinnedMatrix& X, const BinMapper& mapper, const TreeConfig& config, int n_threads)
    : X_(X), mapper_(mapper), config_(config), n_threads_(std::max(1, n_threads)), builder_(X, n_threads_) {
  config_.validate();
  check(X.n_features >= 1, "cannot grow a tree on 0 features");
}

double TreeGrower::raw_threshold(int feature, int bin) const {
  const auto& edges = mapper_.edges(feature);
  return bin < static_cast<int>(edges.size()) ? edges[bin] : std::numeric_limits<double>::infinity();
}

std::vector<int> TreeGrower::node_features(const std::vector<int>& tree_features, int node, std::uint64_t seed) const {
  if (config_.max_features >= 1.0) return tree_features;
  const int n = static_cast<int>(tree_features.size());
  const int k = std::max(1, static_cast<int>(config_.max_features * n));
  Rng rng(derive_seed(seed, static_cast<std::uint64_t>(node), 0x6e6f6465 /* "node" */));
  std::vector<int> picked = sample_features(n, k, rng);
  for (int& p : picked) p = tree_features[p];
  return picked;
}

namespace {
// Rows per thread from which a node's histogram is summed by rows rather than by features.
constexpr std::size_t kMinRowsPerThreadForRowSplit = 8192;
// Leaf-wise splits of at most this many rows run side by side, one per thread; at most this
// many per thread are set aside at a time (each holds a histogram buffer).
constexpr std::size_t kMaxSideBySideRows = 32768;
constexpr std::size_t kSetAsidePerThread = 2;
}  // namespace

bool TreeGrower::split_by_rows(std::size_t n_rows, int threads) const {
  return threads > 1 && n_rows >= kMinRowsPerThreadForRowSplit * static_cast<std::size_t>(threads);
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

template <class Criterion>
void TreeGrower::build_and_find(const Criterion& criterion, const SplitFinder<Criterion>& finder, OpenLeaf& built,
                                bool scan_built, OpenLeaf* derived, bool scan_derived, RowRuns rows,
                                const RowPartition::BlockSplit* pending, const std::vector<int>& tree_features,
                                std::uint64_t seed, int max_threads) {
  const int n_features = X_.n_features;
  const int stride = criterion.n_channels();
  OpenLeaf* leaves[2] = {&built, derived};
  const bool scan[2] = {scan_built, derived != nullptr && scan_derived};
  // Which features each leaf may split on (all of the tree's, or this node's draw).
  std::vector<char> allowed[2];
  std::vector<SplitInfo> per_feature[2];
  for (int l = 0; l < 2; ++l) {
    if (!scan[l]) continue;
    allowed[l].assign(n_features, 0);
    for (int f : node_features(tree_features, leaves[l]->node, seed)) allowed[l][f] = 1;
    per_feature[l].assign(n_features, SplitInfo{});
  }
  // The pending split's blocks are copied back into the partition by the first fork, a share
  // per thread, beside its other work.
  auto scatter_share = [&](std::size_t t, int threads) {
    if (!pending) return;
    const std::size_t n = pending->n_blocks();
    for (std::size_t b = n * t / threads; b < n * (t + 1) / threads; ++b) partition_.scatter(*pending, b);
  };
  const int threads = std::min(max_threads, builder_.threads_for(built.n_rows()));
  const bool by_rows = split_by_rows(built.n_rows(), threads);
  std::int64_t* const target = built.hist ? built.hist : derived->hist;
  std::vector<std::int64_t*> partial;
  if (by_rows) {
    partial.assign(threads, nullptr);
    for (int t = 1; t < threads; ++t) partial[t] = pool_.acquire();
    sum_row_shares(criterion, rows, threads, target, !built.hist, partial,
                   [&](std::size_t t) { scatter_share(t, threads); });
  }
  const int n_groups = X_.n_groups;
  const int group_threads = std::min(threads, n_groups);
  parallel_for(group_threads, group_threads, [&](std::size_t t) {
    // Thread t owns a block of feature groups, and so the features of those groups.
    const int first = static_cast<int>(n_groups * t / group_threads);
    const int end = static_cast<int>(n_groups * (t + 1) / group_threads);
    const int* features = X_.group_features.data() + X_.group_begin[first];
    const int n_owned = X_.group_begin[end] - X_.group_begin[first];
    if (!by_rows) {
      scatter_share(t, group_threads);
      if (built.hist)
        builder_.build_groups(criterion, rows, first, end, built.hist);
      else
        builder_.remove_groups(criterion, rows, first, end, derived->hist);
    }
    // One feature at a time from folding to both scans, so that its slots stay in L1.
    for (int k = 0; k < n_owned; ++k) {
      const int f = features[k];
      if (by_rows) fold_partials(target, partial, stride, f, !built.hist);
      if (built.hist && derived) builder_.subtract_features(derived->hist, built.hist, stride, f, f + 1);
      for (int l = 0; l < 2; ++l)
        if (scan[l] && allowed[l][f]) per_feature[l][f] = finder.find_on_feature(leaves[l]->hist, leaves[l]->sums.data(), f);
    }
  });
  for (int t = 1; t < static_cast<int>(partial.size()); ++t) pool_.release(partial[t]);
  for (int l = 0; l < 2; ++l) {
    if (!scan[l]) continue;
    SplitInfo& best = leaves[l]->split;
    for (const SplitInfo& s : per_feature[l])
      if (s.is_valid() && s.gain > best.gain) best = s;
  }
}

template <class Criterion>
void TreeGrower::carry_out(const Criterion& criterion, const SplitFinder<Criterion>& finder, Expansion& e,
                           const std::vector<int>& tree_features, std::uint64_t seed, int max_threads) {
  const SplitInfo& s = e.split;
  const RowPartition::BlockSplit split =
      partition_.split_blocks(e.left.begin, e.right.end, X_, s.feature, s.bin, s.default_left, max_threads);
  check(split.mid == e.left.end, "internal error: the row partition disagrees with the histogram counts");
  if (!e.left_may && !e.right_may) {
    partition_.scatter_all(split, max_threads);
    return;
  }
  // Build the smaller child straight from the blocks' runs while they are copied back; the
  // larger one is parent - smaller, in the parent's buffer.
  const std::vector<Span<const row_t>> runs = e.left_smaller ? partition_.left_runs(split) : partition_.right_runs(split);
  build_and_find(criterion, finder, e.small(), e.small_may(), e.large_may() ? &e.large() : nullptr, e.large_may(),
                 RowRuns(runs.data(), runs.size()), &split, tree_features, seed, max_threads);
}

template <class Criterion>
Tree TreeGrower::grow(const Criterion& criterion, Span<const row_t> rows, const std::vector<int>& features,
                      std::uint64_t seed) {
  check(X_.n_rows > 0, "cannot grow a tree on 0 rows");
  partition_.reset(X_.n_rows, rows);
  const std::size_t n_rows = partition_.indices().size();
  const int stride = criterion.n_channels();
  pool_.reset(static_cast<std::size_t>(builder_.n_slots()) * stride);
  const SplitFinder<Criterion> finder(X_, criterion);

  Tree tree;
  tree.leaf_dim = criterion.leaf_dim();
  std::vector<double> value(tree.leaf_dim);
  std::vector<std::pair<std::size_t, std::size_t>> node_range;
  auto record_node = [&](int node, std::size_t begin, std::size_t end) {
    if (static_cast<int>(node_range.size()) <= node) node_range.resize(node + 1);
    node_range[node] = {begin, end};
  };
  auto may_deepen = [&](int depth) { return config_.max_depth == 0 || depth < config_.max_depth; };
  OpenLeaf root{0, 0, 0, n_rows, Sums(stride, 0), pool_.acquire(), SplitInfo{}};
  const int root_threads = builder_.threads_for(n_rows);
  const Span<const row_t> all_rows = partition_.rows(0, n_rows);
  if (split_by_rows(n_rows, root_threads)) {
    std::vector<std::int64_t*> partial(root_threads, nullptr);
    for (int t = 1; t < root_threads; ++t) partial[t] = pool_.acquire();
    sum_row_shares(criterion, RowRuns(&all_rows, 1), root_threads, root.hist, false, partial, [](std::size_t) {});
    parallel_for(X_.n_features, root_threads,
                 [&](std::size_t f) { fold_partials(root.hist, partial, stride, static_cast<int>(f), false); });
    for (int t = 1; t < root_threads; ++t) pool_.release(partial[t]);
  } else {
    builder_.build(criterion, all_rows, root.hist);
  }
  // Any one feature's bins (its missing bin included) hold every row once: they sum to the node total.
  for (int s = X_.hist_offset[0]; s < X_.hist_offset[1]; ++s)
    for (int c = 0; c < stride; ++c) root.sums[c] += root.hist[static_cast<std::size_t>(s) * stride + c];
  criterion.leaf_value(root.sums.data(), value.data());
  tree.add_leaf(value.data(), static_cast<double>(criterion.count(root.sums.data())), criterion.cover(root.sums.data()));
  record_node(0, 0, n_rows);

  // The heap's top is the leaf the policy expands next; ties go to the lower node index.
  const bool depth_wise = config_.grow_policy == GrowPolicy::kDepthWise;
  const bool depth_first = config_.grow_policy == GrowPolicy::kDepthFirst;
  auto after = [depth_wise, depth_first](const OpenLeaf& a, const OpenLeaf& b) {
    if (depth_first) return a.node < b.node;  // newest leaf first: O(depth) open histograms
    if (depth_wise && a.depth != b.depth) return a.depth > b.depth;
    if (!depth_wise && a.split.gain != b.split.gain) return a.split.gain < b.split.gain;
    return a.node > b.node;
  };
  std::vector<OpenLeaf> open;
  // Leaves arrive here with their best split found (or none).
  auto open_or_close = [&](OpenLeaf& leaf) {
    if (leaf.split.is_valid()) {
      open.push_back(std::move(leaf));
      std::push_heap(open.begin(), open.end(), after);
    } else {
      pool_.release(leaf.hist);
    }
  };
  if (may_deepen(0) && criterion.may_split(root.sums.data())) {
    // The root's histogram is built above (its sums are needed first); scan it in one fork.
    std::vector<int> allowed = node_features(features, 0, seed);
    std::vector<SplitInfo> per_feature(allowed.size());
    parallel_for(allowed.size(), root_threads,
                 [&](std::size_t i) { per_feature[i] = finder.find_on_feature(root.hist, root.sums.data(), allowed[i]); });
    for (const SplitInfo& s : per_feature)
      if (s.is_valid() && s.gain > root.split.gain) root.split = s;
  }
  open_or_close(root);

  int n_leaves = 1;
  std::vector<double> right_value(tree.leaf_dim);
  // Sets up the children of the parent's split: the sums of the left child come from the
  // parent's histogram, and so does its row count, which places the children's rows before the
  // partition has run. The buffers any expansion needs are taken here, outside any fork. The
  // children are numbered when the split enters the tree.
  auto prepare = [&](const OpenLeaf& parent) {
    const SplitInfo& s = parent.split;
    Sums left_sums = finder.left_sums(parent.hist, s);
    Sums right_sums(stride);
    for (int c = 0; c < stride; ++c) right_sums[c] = parent.sums[c] - left_sums[c];
    const std::size_t mid = parent.begin + static_cast<std::size_t>(criterion.count(left_sums.data()));
    Expansion e{OpenLeaf{-1, parent.depth + 1, parent.begin, mid, std::move(left_sums), nullptr, SplitInfo{}},
                OpenLeaf{-1, parent.depth + 1, mid, parent.end, std::move(right_sums), nullptr, SplitInfo{}},
                false, false, false, s, parent.hist};
    e.left_may = may_deepen(e.left.depth) && criterion.may_split(e.left.sums.data());
    e.right_may = may_deepen(e.right.depth) && criterion.may_split(e.right.sums.data());
    e.left_smaller = criterion.count(e.left.sums.data()) <= criterion.count(e.right.sums.data());
    // A smaller child that will not split needs no histogram: its rows are removed from the
    // parent's directly.
    if (e.small_may()) e.small().hist = pool_.acquire();
    if (e.large_may()) e.large().hist = parent.hist;
    return e;
  };
  // Splits the parent in the tree and numbers its children.
  auto enter = [&](const OpenLeaf& parent, Expansion& e) {
    const SplitInfo& s = e.split;
    const std::int64_t* left_sums = e.left.sums.data();
    const std::int64_t* right_sums = e.right.sums.data();
    criterion.leaf_value(left_sums, value.data());
    criterion.leaf_value(right_sums, right_value.data());
    const int l = tree.split_leaf(parent.node, s.feature, s.bin, raw_threshold(s.feature, s.bin), s.default_left, s.gain,
                                  value.data(), static_cast<double>(criterion.count(left_sums)),
                                  criterion.cover(left_sums), right_value.data(),
                                  static_cast<double>(criterion.count(right_sums)), criterion.cover(right_sums));
    ++n_leaves;
    e.left.node = l;
    e.right.node = l + 1;
    record_node(l, e.left.begin, e.left.end);
    record_node(l + 1, e.right.begin, e.right.end);
  };
  auto start = [&](OpenLeaf& parent) {
    Expansion e = prepare(parent);
    enter(parent, e);
    return e;
  };
  // Expansions independent of each other, one per thread, largest first so that the last ones
  // handed out are short.
  auto carry_out_side_by_side = [&](std::vector<Expansion*> expansions) {
    std::stable_sort(expansions.begin(), expansions.end(),
                     [](const Expansion* a, const Expansion* b) { return a->n_rows() > b->n_rows(); });
    parallel_for_dynamic(expansions.size(), n_threads_,
                         [&](std::size_t i) { carry_out(criterion, finder, *expansions[i], features, seed, 1); });
  };
  auto finish = [&](Expansion& e) {
    if (e.left.hist != e.parent_hist && e.right.hist != e.parent_hist) pool_.release(e.parent_hist);
    open_or_close(e.left);
    open_or_close(e.right);
  };

  // Leaf-wise, small splits run side by side, one per thread: the leaf the policy takes, and
  // with it the open leaves it ranks next, whose splits are set aside (done_early) and enter
  // the tree only when the policy takes those leaves. A split depends on its leaf's rows alone,
  // so the tree is the one grown a split at a time. A split set aside for a leaf never taken is
  // dropped; it has only reordered the rows inside that leaf. Per-node feature draws are
  // seeded by node numbers, which a split set aside does not have yet: not with those.
  const bool leaf_wise_side_by_side = !depth_wise && !depth_first && config_.max_features >= 1.0 && n_threads_ > 1;
  std::size_t n_set_aside = 0;
  // The open leaves to split beside `next`: the best ranked ones without a split set aside, of
  // at most kMaxSideBySideRows rows, until no thread would wait long for the largest split;
  // none when that would set aside too many.
  auto partners_for = [&](const OpenLeaf& next) {
    std::vector<std::size_t> picked;
    const std::size_t room = kSetAsidePerThread * static_cast<std::size_t>(n_threads_) - n_set_aside;
    std::size_t largest = next.n_rows(), total = largest;
    auto balanced = [&] { return 4 * largest * static_cast<std::size_t>(n_threads_) <= 5 * total; };
    while (!balanced() && picked.size() < room) {
      std::size_t best = open.size();
      for (std::size_t i = 0; i < open.size(); ++i) {
        if (open[i].done_early || open[i].n_rows() > kMaxSideBySideRows ||
            std::find(picked.begin(), picked.end(), i) != picked.end())
          continue;
        if (best == open.size() || after(open[best], open[i])) best = i;
      }
      if (best == open.size()) break;
      picked.push_back(best);
      largest = std::max(largest, open[best].n_rows());
      total += open[best].n_rows();
    }
    if (!balanced()) picked.clear();
    return picked;
  };

  std::vector<Expansion> level;
  while (!open.empty() && (config_.max_leaf_nodes == 0 || n_leaves < config_.max_leaf_nodes)) {
    // Depth-wise, every open leaf is on the same level, and when the whole level may be split its
    // expansions are independent: nodes with a large share of the level's rows get all threads
    // one after the other, then the rest run side by side, one per thread, in a single fork.
    // Each expansion computes exactly what it would alone, so the tree does not change.
    if (depth_wise && open.size() > 1 &&
        (config_.max_leaf_nodes == 0 || n_leaves + static_cast<int>(open.size()) <= config_.max_leaf_nodes) &&
        std::all_of(open.begin(), open.end(), [&](const OpenLeaf& o) { return o.depth == open[0].depth; })) {
      // In the order the heap would pop them, so nodes are numbered as they would be one by one.
      std::sort(open.begin(), open.end(), [&](const OpenLeaf& a, const OpenLeaf& b) { return after(b, a); });
      level.clear();
      std::size_t level_rows = 0;
      for (OpenLeaf& leaf : open) {
        level_rows += leaf.n_rows();
        level.push_back(start(leaf));
      }
      open.clear();
      std::vector<Expansion*> side_by_side;
      for (Expansion& e : level) {
        if (e.n_rows() * 2 * static_cast<std::size_t>(n_threads_) > level_rows)
          carry_out(criterion, finder, e, features, seed, n_threads_);
        else
          side_by_side.push_back(&e);
      }
      carry_out_side_by_side(std::move(side_by_side));
      for (Expansion& e : level) finish(e);
      continue;
    }
    std::pop_heap(open.begin(), open.end(), after);
    OpenLeaf parent = std::move(open.back());
    open.pop_back();
    if (parent.done_early) {
      --n_set_aside;
      Expansion e = std::move(*parent.done_early);
      enter(parent, e);
      finish(e);
      continue;
    }
    if (leaf_wise_side_by_side && parent.n_rows() <= kMaxSideBySideRows) {
      const std::vector<std::size_t> partners = partners_for(parent);
      if (!partners.empty()) {
        std::vector<Expansion> batch;
        batch.reserve(partners.size() + 1);
        batch.push_back(start(parent));
        for (std::size_t i : partners) batch.push_back(prepare(open[i]));
        std::vector<Expansion*> all;
        for (Expansion& e : batch) all.push_back(&e);
        carry_out_side_by_side(std::move(all));
        for (std::size_t k = 0; k < partners.size(); ++k)
          open[partners[k]].done_early = std::make_unique<Expansion>(std::move(batch[k + 1]));
        n_set_aside += partners.size();
        finish(batch[0]);
        continue;
      }
    }
    Expansion e = start(parent);
    carry_out(criterion, finder, e, features, seed, n_threads_);
    finish(e);
  }
  for (OpenLeaf& leaf : open) {
    // A split carried out early whose leaf was never taken: its smaller child's buffer (the
    // larger child's is the leaf's own).
    if (leaf.done_early && leaf.done_early->small().hist) pool_.release(leaf.done_early->small().hist);
    pool_.release(leaf.hist);
  }

  leaves_.clear();
  for (int node = 0; node < tree.n_nodes(); ++node)
    if (tree.is_leaf(node)) leaves_.push_back({node, node_range[node].first, node_range[node].second});
  return tree;
}

template Tree TreeGrower::grow<GradientCriterion>(const GradientCriterion&, Span<const row_t>, const std::vector<int>&,
                                                  std::uint64_t);
template Tree TreeGrower::grow<ClassCriterion>(const ClassCriterion&, Span<const row_t>, const std::vector<int>&,
                                               std::uint64_t);

}  // namespace treeforge
