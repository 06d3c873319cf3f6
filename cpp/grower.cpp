// TreeGrower: the expansion loop, the grow policies as heap orders, and per-node feature draws.
#include "grower.hpp"

#include <algorithm>
#include <cmath>
#include <limits>

#include "parallel.hpp"
#include "random.hpp"

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
}  // namespace

bool TreeGrower::split_by_rows(std::size_t n_rows, int threads) const {
  return threads > 1 && n_rows >= kMinRowsPerThreadForRowSplit * static_cast<std::size_t>(threads);
}

template <class Criterion>
void TreeGrower::sum_rows_split(const Criterion& criterion, Span<const row_t> rows, int threads, std::int64_t* target,
                                bool remove) {
  const int n_features = X_.n_features;
  const int stride = criterion.n_channels();
  std::vector<std::int64_t*> partial(threads, nullptr);
  for (int t = 1; t < threads; ++t) partial[t] = pool_.acquire();
  parallel_for(threads, threads, [&](std::size_t t) {
    const std::size_t lo = rows.size * t / threads, hi = rows.size * (t + 1) / threads;
    const Span<const row_t> run(rows.data + lo, hi - lo);
    if (t > 0)
      builder_.build_features(criterion, run, 0, n_features, partial[t]);
    else if (remove)
      builder_.remove_features(criterion, run, 0, n_features, target);
    else
      builder_.build_features(criterion, run, 0, n_features, target);
  });
  parallel_for(threads, threads, [&](std::size_t t) {
    const int first = static_cast<int>(n_features * t / threads), end = static_cast<int>(n_features * (t + 1) / threads);
    for (int p = 1; p < threads; ++p) {
      if (remove)
        builder_.subtract_features(target, partial[p], stride, first, end);
      else
        builder_.add_features(target, partial[p], stride, first, end);
    }
  });
  for (int t = 1; t < threads; ++t) pool_.release(partial[t]);
}

template <class Criterion>
void TreeGrower::build_and_find(const Criterion& criterion, const SplitFinder<Criterion>& finder, OpenLeaf& built,
                                bool scan_built, OpenLeaf* derived, bool scan_derived,
                                const std::vector<int>& tree_features, std::uint64_t seed) {
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
  const Span<const row_t> rows = partition_.rows(built.begin, built.end);
  const int threads = builder_.threads_for(rows.size);
  const bool by_rows = split_by_rows(rows.size, threads);
  if (by_rows) sum_rows_split(criterion, rows, threads, built.hist ? built.hist : derived->hist, !built.hist);
  parallel_for(threads, threads, [&](std::size_t t) {
    const int first = static_cast<int>(n_features * t / threads), end = static_cast<int>(n_features * (t + 1) / threads);
    if (built.hist) {
      if (!by_rows) builder_.build_features(criterion, rows, first, end, built.hist);
      if (derived) builder_.subtract_features(derived->hist, built.hist, stride, first, end);
    } else if (!by_rows) {
      builder_.remove_features(criterion, rows, first, end, derived->hist);
    }
    for (int l = 0; l < 2; ++l) {
      if (!scan[l]) continue;
      for (int f = first; f < end; ++f)
        if (allowed[l][f]) per_feature[l][f] = finder.find_on_feature(leaves[l]->hist, leaves[l]->sums.data(), f);
    }
  });
  for (int l = 0; l < 2; ++l) {
    if (!scan[l]) continue;
    SplitInfo& best = leaves[l]->split;
    for (const SplitInfo& s : per_feature[l])
      if (s.is_valid() && s.gain > best.gain) best = s;
  }
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
  if (split_by_rows(n_rows, root_threads))
    sum_rows_split(criterion, partition_.rows(0, n_rows), root_threads, root.hist, false);
  else
    builder_.build(criterion, partition_.rows(0, n_rows), root.hist);
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
  while (!open.empty() && (config_.max_leaf_nodes == 0 || n_leaves < config_.max_leaf_nodes)) {
    std::pop_heap(open.begin(), open.end(), after);
    OpenLeaf parent = std::move(open.back());
    open.pop_back();
    const SplitInfo s = parent.split;
    const std::size_t mid = partition_.split(parent.begin, parent.end, X_, s.feature, s.bin, s.default_left, n_threads_);
    Sums left_sums = finder.left_sums(parent.hist, s);
    Sums right_sums(stride);
    for (int c = 0; c < stride; ++c) right_sums[c] = parent.sums[c] - left_sums[c];
    criterion.leaf_value(left_sums.data(), value.data());
    criterion.leaf_value(right_sums.data(), right_value.data());
    const int l = tree.split_leaf(parent.node, s.feature, s.bin, raw_threshold(s.feature, s.bin), s.default_left, s.gain,
                                  value.data(), static_cast<double>(criterion.count(left_sums.data())),
                                  criterion.cover(left_sums.data()), right_value.data(),
                                  static_cast<double>(criterion.count(right_sums.data())),
                                  criterion.cover(right_sums.data()));
    ++n_leaves;
    record_node(l, parent.begin, mid);
    record_node(l + 1, mid, parent.end);
    OpenLeaf left{l, parent.depth + 1, parent.begin, mid, std::move(left_sums), nullptr, SplitInfo{}};
    OpenLeaf right{l + 1, parent.depth + 1, mid, parent.end, std::move(right_sums), nullptr, SplitInfo{}};
    const bool left_may = may_deepen(left.depth) && criterion.may_split(left.sums.data());
    const bool right_may = may_deepen(right.depth) && criterion.may_split(right.sums.data());
    if (left_may || right_may) {
      // Build the smaller child; the larger one is parent - smaller, in the parent's buffer.
      const bool left_smaller = criterion.count(left.sums.data()) <= criterion.count(right.sums.data());
      OpenLeaf& small = left_smaller ? left : right;
      OpenLeaf& large = left_smaller ? right : left;
      const bool small_may = left_smaller ? left_may : right_may;
      const bool large_may = left_smaller ? right_may : left_may;
      // A smaller child that will not split needs no histogram: its rows are removed from the
      // parent's directly.
      small.hist = small_may ? pool_.acquire() : nullptr;
      large.hist = large_may ? parent.hist : nullptr;
      build_and_find(criterion, finder, small, small_may, large_may ? &large : nullptr, large_may, features, seed);
      if (!large_may) pool_.release(parent.hist);
      open_or_close(left);
      open_or_close(right);
    } else {
      pool_.release(parent.hist);
    }
  }
  for (OpenLeaf& leaf : open) pool_.release(leaf.hist);

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
