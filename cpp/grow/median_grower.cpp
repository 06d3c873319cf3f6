// MedianGrower: exact absolute-error splits from Fenwick trees over each node's target order.
#include "grow/median_grower.hpp"

#include <algorithm>
#include <cfloat>
#include <limits>
#include <numeric>
#include <queue>

namespace treeforge {

namespace {

constexpr double kTie = 1e-9;

/// Sums of weights and weighted targets over positions 0..n-1 of a node's target order, as a
/// Fenwick tree (entry i, 1-based, sums positions (i - lowbit(i), i]).
struct Fenwick {
  std::size_t n = 0, top = 0;  // top: the highest power of two <= n
  std::vector<double> w, s;

  explicit Fenwick(std::size_t size) : n(size), w(size + 1, 0.0), s(size + 1, 0.0) {
    for (top = 1; top * 2 <= n; top *= 2) {
    }
  }
  void add(std::size_t pos, double dw, double ds) {
    for (std::size_t i = pos + 1; i <= n; i += i & (~i + 1)) {
      w[i] += dw;
      s[i] += ds;
    }
  }
  /// Every position at once, in O(n).
  void fill(const std::vector<double>& dw, const std::vector<double>& ds) {
    for (std::size_t i = 1; i <= n; ++i) {
      w[i] += dw[i - 1];
      s[i] += ds[i - 1];
      const std::size_t parent = i + (i & (~i + 1));
      if (parent <= n) {
        w[parent] += w[i];
        s[parent] += s[i];
      }
    }
  }
};

/// sum w |y - m| over the rows held by `a` minus those held by `b` (null: none), whose weight and
/// weighted sum are W and S, m their weighted median; ys: the targets by position, ascending.
/// The median is the first position whose running weight reaches W / 2; every median gives the
/// same deviation.
double absolute_deviation(const Fenwick& a, const Fenwick* b, double W, double S, const std::vector<double>& ys) {
  std::size_t pos = 0;  // positions [0, pos) weigh less than W / 2 together
  double below_w = 0, below_s = 0;
  for (std::size_t step = a.top; step > 0; step /= 2) {
    const std::size_t next = pos + step;
    if (next > a.n) continue;
    const double w = a.w[next] - (b ? b->w[next] : 0.0);
    if (below_w + w < W / 2) {
      pos = next;
      below_w += w;
      below_s += a.s[next] - (b ? b->s[next] : 0.0);
    }
  }
  const double m = ys[std::min(pos, a.n - 1)];
  return (m * below_w - below_s) + ((S - below_s) - m * (W - below_w));
}

}  // namespace

struct MedianGrower::Candidate {
  int feature = -1;
  int bin = 0;
  bool default_left = false;
  double gain = -std::numeric_limits<double>::infinity();
  double left_risk = 0, right_risk = 0;
};

/// An open node: its rows indices_[begin, end) sorted by target, their targets and weights in
/// that order, and the Fenwick tree of all of them.
struct MedianGrower::Node {
  int node = 0;
  std::size_t begin = 0, end = 0;
  int depth = 0;
  double weight = 0, sum = 0, risk = 0;
  std::vector<double> ys, ws;
  Fenwick all{0};
  Candidate split;

  std::size_t n_rows() const { return end - begin; }
};

MedianGrower::Node MedianGrower::open_node(int node, std::size_t begin, std::size_t end, int depth,
                                           const std::vector<int>& features) {
  Node n;
  n.node = node;
  n.begin = begin;
  n.end = end;
  n.depth = depth;
  std::vector<double> wy(end - begin);
  for (std::size_t j = begin; j < end; ++j) {
    const row_t r = indices_[j];
    n.ys.push_back(y_[r]);
    n.ws.push_back(w_[r]);
    wy[j - begin] = w_[r] * y_[r];
    n.weight += w_[r];
    n.sum += wy[j - begin];
  }
  n.all = Fenwick(end - begin);
  n.all.fill(n.ws, wy);
  n.risk = absolute_deviation(n.all, nullptr, n.weight, n.sum, n.ys);
  if (static_cast<int>(risk_.size()) <= node) risk_.resize(node + 1);
  risk_[node] = n.risk;
  n.split = best_split(n, features);
  // Only the split is needed from here on: an open node keeps no O(rows) memory.
  n.ys = {};
  n.ws = {};
  n.all = Fenwick(0);
  return n;
}

/// Thresholds of `feature` swept bin by bin, missing rows on the right, then (when the node has
/// any) on the left from the start; the rows are grouped by code once for both sweeps.
void MedianGrower::sweep(const Node& node, int feature, Candidate& best) const {
  const std::size_t m = node.n_rows();
  const int n_bins = X_.n_bins[feature], missing = X_.missing_bin(feature);
  // The node's positions grouped by code (ascending within a code), by counting.
  std::vector<std::size_t> start(n_bins + 2, 0), by_code(m);
  X_.for_column(feature, [&](const auto& codes) {
    for (std::size_t p = 0; p < m; ++p) ++start[codes[indices_[node.begin + p]] + 1];
    std::partial_sum(start.begin(), start.end(), start.begin());
    std::vector<std::size_t> at(start.begin(), start.end() - 1);
    for (std::size_t p = 0; p < m; ++p) by_code[at[codes[indices_[node.begin + p]]]++] = p;
  });
  const std::size_t min_rows = static_cast<std::size_t>(std::max(1, config_.min_samples_leaf));
  for (const bool missing_left : {false, true}) {
    if (missing_left && start[missing + 1] == start[missing]) break;  // no missing rows: one sweep
    Fenwick left(m);
    double lw = 0, ls = 0;
    std::size_t n_left = 0;
    auto enter = [&](int code) {
      for (std::size_t k = start[code]; k < start[code + 1]; ++k) {
        const std::size_t p = by_code[k];
        left.add(p, node.ws[p], node.ws[p] * node.ys[p]);
        lw += node.ws[p];
        ls += node.ws[p] * node.ys[p];
      }
      n_left += start[code + 1] - start[code];
    };
    if (missing_left) enter(missing);
    for (int t = 0; t + 1 < n_bins; ++t) {
      if (start[t + 1] == start[t]) continue;  // an empty bin splits as the threshold before it
      enter(t);
      if (n_left < min_rows || m - n_left < min_rows) continue;
      const double rw = node.weight - lw;
      if (lw < config_.min_child_weight || rw < config_.min_child_weight) continue;
      const double left_risk = absolute_deviation(left, nullptr, lw, ls, node.ys);
      const double right_risk = absolute_deviation(node.all, &left, rw, node.sum - ls, node.ys);
      const double gain = node.risk - left_risk - right_risk;
      // The deviation is piecewise linear, so exact ties are common; rounding must not pick among
      // them: a candidate wins only by more than kTie of the node's risk (ties: the earlier one).
      if (gain > best.gain + kTie * node.risk) best = {feature, t, missing_left, gain, left_risk, right_risk};
    }
  }
}

MedianGrower::Candidate MedianGrower::best_split(const Node& node, const std::vector<int>& features) const {
  Candidate best;
  const std::size_t m = node.n_rows();
  // scikit-learn's leaf conditions: depth, rows to split, rows for two leaves, weight for two
  // leaves, and an impurity of (about) zero.
  if ((config_.max_depth > 0 && node.depth >= config_.max_depth) ||
      m < static_cast<std::size_t>(std::max(2, config_.min_samples_split)) ||
      m < 2 * static_cast<std::size_t>(std::max(1, config_.min_samples_leaf)) ||
      node.weight < 2 * config_.min_child_weight || node.risk <= DBL_EPSILON * node.weight)
    return best;
  for (int f : draw_node_features(features, config_.max_features, node.node, seed_)) sweep(node, f, best);
  if (best.feature >= 0 && best.gain < config_.min_split_gain) best = Candidate{};
  return best;
}

std::size_t MedianGrower::partition(const Node& node) {
  const Candidate& c = node.split;
  const SplitTest test = SplitTest::numeric(c.bin, 0.0, c.default_left);
  const int missing = X_.missing_bin(c.feature);
  scratch_.clear();
  std::size_t mid = node.begin;
  X_.for_column(c.feature, [&](const auto& codes) {
    for (std::size_t j = node.begin; j < node.end; ++j) {
      const row_t r = indices_[j];
      if (goes_left<SplitKind::kNumeric>(test, codes[r], missing))
        indices_[mid++] = r;  // mid <= j: a row is moved back only over rows already read
      else
        scratch_.push_back(r);
    }
  });
  std::copy(scratch_.begin(), scratch_.end(), indices_.begin() + static_cast<std::ptrdiff_t>(mid));
  return mid;
}

Tree MedianGrower::grow(Span<const double> y, Span<const double> weights, Span<const row_t> rows,
                        const std::vector<int>& features, std::uint64_t seed) {
  w_ = weights;
  seed_ = seed;
  if (rows.empty()) {
    indices_.resize(X_.n_rows);
    std::iota(indices_.begin(), indices_.end(), row_t{0});
  } else {
    indices_.assign(rows.data, rows.data + rows.size);
  }
  std::sort(indices_.begin(), indices_.end(), [&](row_t a, row_t b) { return y[a] < y[b] || (y[a] == y[b] && a < b); });
  y_.assign(y.data, y.data + y.size);
  shift_ = 0;
  const double root_weight = weight_of(0, indices_.size());
  shift_ = weighted_median(0, indices_.size(), root_weight);
  for (double& v : y_) v -= shift_;
  leaves_.clear();
  risk_.clear();
  Tree tree;
  const double root_value = shift_;
  tree.add_leaf(&root_value, static_cast<double>(indices_.size()), root_weight);
  std::vector<Node> open;
  open.push_back(open_node(0, 0, indices_.size(), 0, features));
  int n_leaves = 1;
  const bool best_first = config_.max_leaf_nodes > 0;
  while (!open.empty()) {
    // Best-first under a leaf limit (ties: the lower node), else depth-first; leaves without a
    // split are closed at once.
    std::size_t at = open.size() - 1;
    if (best_first)
      for (std::size_t i = 0; i < open.size(); ++i)
        if (open[i].split.gain > open[at].split.gain ||
            (open[i].split.gain == open[at].split.gain && open[i].node < open[at].node))
          at = i;
    Node node = std::move(open[at]);
    open.erase(open.begin() + static_cast<std::ptrdiff_t>(at));
    if (node.split.feature < 0 || (best_first && n_leaves >= config_.max_leaf_nodes)) {
      leaves_.push_back({node.node, node.begin, node.end, {}});
      continue;
    }
    const std::size_t mid = partition(node);
    const Candidate& c = node.split;
    const auto& edges = mapper_.edges(c.feature);
    const double threshold = c.bin < static_cast<int>(edges.size()) ? edges[c.bin] : std::numeric_limits<double>::infinity();
    const double left_weight = weight_of(node.begin, mid), right_weight = weight_of(mid, node.end);
    const double left_value = weighted_median(node.begin, mid, left_weight) + shift_;
    const double right_value = weighted_median(mid, node.end, right_weight) + shift_;
    const int left = tree.split_leaf(node.node, c.feature, SplitTest::numeric(c.bin, threshold, c.default_left), c.gain,
                                     &left_value, static_cast<double>(mid - node.begin), left_weight,
                                     &right_value, static_cast<double>(node.end - mid), right_weight);
    ++n_leaves;
    open.push_back(open_node(left + 1, mid, node.end, node.depth + 1, features));  // depth-first: left child next
    open.push_back(open_node(left, node.begin, mid, node.depth + 1, features));
  }
  return tree;
}

double MedianGrower::weight_of(std::size_t begin, std::size_t end) const {
  double total = 0;
  for (std::size_t j = begin; j < end; ++j) total += w_[indices_[j]];
  return total;
}

/// scikit-learn's weighted median of rows indices_[begin, end) (sorted by target): the first
/// target whose running weight reaches half the total, or the midpoint with the next target when
/// the running weight there is exactly half.
double MedianGrower::weighted_median(std::size_t begin, std::size_t end, double total) const {
  double running = 0;
  for (std::size_t j = begin; j < end; ++j) {
    running += w_[indices_[j]];
    if (running == total / 2 && j + 1 < end) return (y_[indices_[j]] + y_[indices_[j + 1]]) / 2;
    if (running >= total / 2) return y_[indices_[j]];
  }
  return y_[indices_[end - 1]];
}

}  // namespace treeforge
