// Criteria: fixed-point scales, leaf values, and the threshold scans of gradient and class statistics.
#include "grow/criterion.hpp"

#include <algorithm>
#include <cmath>

#include "core/parallel.hpp"
#include "grow/row_shards.hpp"
#include "grow/split_math.hpp"

namespace treeforge {

double power_of_two_scale(double max_abs, std::size_t n, int bits) {
  if (!(max_abs > 0) || !std::isfinite(max_abs)) return 1.0;
  const double limit = std::ldexp(1.0, bits) / (static_cast<double>(std::max<std::size_t>(n, 1)) * max_abs);
  return std::ldexp(1.0, static_cast<int>(std::floor(std::log2(limit))));
}

namespace {

/// Clamped to 2^62: a minimum above every possible sum must forbid splits, not overflow.
std::int64_t to_fixed_ceil(double value, double scale) {
  return static_cast<std::int64_t>(std::min(std::ceil(value * scale), 0x1p62));
}

}  // namespace

CountPacking CountPacking::for_rows(std::size_t n) {
  CountPacking packing;
  while ((std::size_t{1} << packing.bits) <= n) ++packing.bits;
  return packing;
}

GradRange GradRange::of(Span<const GradPair> gh, Span<const row_t> rows, int n_threads) {
  const std::size_t n = rows.empty() ? gh.size : rows.size;
  constexpr std::size_t kBlock = 1 << 16;
  const std::size_t blocks = n_blocks(n, kBlock);
  std::vector<GradRange> per_block(blocks);
  parallel_for(blocks, n_threads, [&](std::size_t b) {
    GradRange& r = per_block[b];
    for (std::size_t i = b * kBlock, end = std::min(n, (b + 1) * kBlock); i < end; ++i) {
      const GradPair p = gh[rows.empty() ? i : rows[i]];
      r.max_abs_grad = std::max(r.max_abs_grad, std::fabs(static_cast<double>(p.grad)));
      r.max_hess = std::max(r.max_hess, static_cast<double>(p.hess));
      r.min_hess = std::min(r.min_hess, static_cast<double>(p.hess));
      r.finite &= std::isfinite(p.grad) && std::isfinite(p.hess);
    }
  });
  // max and min are exact and order-free, so the range does not depend on the thread count.
  GradRange range;
  for (const GradRange& r : per_block) range.merge(r);
  range.n_rows = n;
  return range;
}

void GradRange::merge(const GradRange& other) {
  max_abs_grad = std::max(max_abs_grad, other.max_abs_grad);
  max_hess = std::max(max_hess, other.max_hess);
  min_hess = std::min(min_hess, other.min_hess);
  n_rows += other.n_rows;
  finite = finite && other.finite;
}

GradScale GradScale::of(const GradRange& range) {
  // Gradients are single precision: a loss of targets beyond about 1e38 overflows them, and an
  // infinite or NaN gradient has no fixed-point value.
  check(range.finite, "the loss's gradients or hessians are not finite in single precision: targets (times "
        "their sample weights) beyond about 1e38 overflow them; rescale y, for example by a power of ten");
  // The count packed below the hessian needs hessians >= 0 (every objective's, with weights >= 0).
  check(range.min_hess >= 0, "hessians must be non-negative (negative sample weights?)");
  // The hessian sums get the bits above the counts'.
  const CountPacking packing = CountPacking::for_rows(range.n_rows);
  return {power_of_two_scale(range.max_abs_grad, range.n_rows),
          power_of_two_scale(range.max_hess, range.n_rows, 62 - packing.bits), packing};
}

GradScale GradScale::fit(Span<const GradPair> gh, Span<const row_t> rows, int n_threads) {
  const int k = row_shards_for_testing();
  if (k == 1) return of(GradRange::of(gh, rows, n_threads));
  const RowShards shards(gh.size, k);
  GradRange range;
  for (int s = 0; s < k; ++s) {
    const std::vector<row_t> mine = shards.select_fit_rows(rows, s);
    if (!mine.empty()) range.merge(GradRange::of(gh, Span<const row_t>(mine.data(), mine.size()), n_threads));
  }
  return of(range);
}

GradientCriterion::GradientCriterion(Span<const GradPair> gh, const GradScale& scale, const TreeConfig& config)
    : gh_(gh),
      scale_(scale),
      config_(config),
      min_hess_q_(to_fixed_ceil(config.min_child_weight, scale.hess_scale)),
      lambda_q_(config.l2_regularization * scale.hess_scale),
      alpha_q_(config.l1_regularization * scale.grad_scale),
      gain_factor_(scale.hess_scale / (scale.grad_scale * scale.grad_scale)) {}

bool GradientCriterion::may_split(const std::int64_t* sums) const {
  const std::int64_t n = count(sums);
  return n >= config_.min_samples_split && n >= 2 * static_cast<std::int64_t>(config_.min_samples_leaf) &&
         scale_.hess(sums[1]) >= 2 * config_.min_child_weight;
}

void GradientCriterion::leaf_value(const std::int64_t* sums, double* out, double extra_l2) const {
  out[0] = leaf_weight(scale_.grad(sums[0]), scale_.hess(sums[1]), config_.l2_regularization + extra_l2,
                       config_.l1_regularization);
}

// With G = g_q / s_g and H = h_q / s_h, the score T(G)^2 / (H + lambda) equals
// (s_h / s_g^2) * T_q(g_q)^2 / (h_q + lambda s_h), where T_q thresholds at alpha s_g: the scan
// compares quantised gains and converts the winner once.
//
// Three passes, none with a data-dependent branch per bin: running sums at each non-empty bin,
// compacted (an empty bin splits the rows as the one before it, and in the sparse histograms of
// small nodes a branch per bin mispredicts); the run of thresholds that meet the constraints,
// found from both ends since every constraint is monotone along the bins; and the gains of that
// run, a loop of independent split_gain calls that the compiler vectorises. The result is the
// one-threshold-at-a-time scan's, bit for bit. About 90 lines: the passes share the stack arrays,
// and the AVX-512 clone must hold all three.
TREEFORGE_VECTOR_CLONES
ScanResult GradientCriterion::scan(const std::int64_t* slots, int n_bins, const std::int64_t* total) const {
  constexpr int kMaxValueBins = 256;
  std::int64_t cum_g[kMaxValueBins], cum_hc[kMaxValueBins];  // hc: packed hessian-and-count sums
  int bin_at[kMaxValueBins];
  int n_thresholds = 0;
  std::int64_t g = 0, hc = 0;
  for (int t = 0; t < n_bins; ++t) {
    const std::int64_t* s = slots + static_cast<std::size_t>(t) * kChannels;
    g += s[0];
    hc += s[1];
    cum_g[n_thresholds] = g;
    cum_hc[n_thresholds] = hc;
    bin_at[n_thresholds] = t;
    n_thresholds += s[1] != 0;
  }

  const std::int64_t* missing = slots + static_cast<std::size_t>(n_bins) * kChannels;
  const CountPacking& packing = scale_.packing;
  const std::int64_t min_count = config_.min_samples_leaf;
  const std::int64_t total_g = total[0], total_n = packing.count(total[1]), total_h = packing.value(total[1]);
  const double lambda = lambda_q_, alpha = alpha_q_;
  const double parent_score = leaf_score(static_cast<double>(total_g), static_cast<double>(total_h), lambda, alpha);
  // Every admissible threshold has both hessians >= min_hess_q_, so with lambda > 0 or a positive
  // minimum the denominators are positive and, without L1, split_gain_l2 applies.
  const bool l2_only = alpha == 0 && (lambda > 0 || min_hess_q_ > 0);
  double gains[kMaxValueBins];
  double side[4][kMaxValueBins];  // per threshold: left gradient, left hessian, right gradient, right hessian
  // The best threshold with the missing rows' sums (missing_g, missing_hc) on the left: its
  // compacted index (-1 if none is admissible) and gain.
  auto best_with_left_extra = [&](std::int64_t missing_g, std::int64_t missing_hc, double& best_gain) {
    auto left_ok = [&](int k) {
      const std::int64_t v = cum_hc[k] + missing_hc;
      return packing.count(v) >= min_count && packing.value(v) >= min_hess_q_;
    };
    auto right_ok = [&](int k) {
      const std::int64_t v = cum_hc[k] + missing_hc;
      return total_n - packing.count(v) >= min_count && total_h - packing.value(v) >= min_hess_q_;
    };
    int lo = 0, hi = n_thresholds;
    while (lo < hi && !left_ok(lo)) ++lo;
    while (hi > lo && !right_ok(hi - 1)) --hi;
    // Conversions first (no vector form for int64 before AVX-512), then the gains, which vectorise.
    for (int k = lo; k < hi; ++k) {
      const std::int64_t lg = cum_g[k] + missing_g, lh = packing.value(cum_hc[k] + missing_hc);
      side[0][k] = static_cast<double>(lg);
      side[1][k] = static_cast<double>(lh);
      side[2][k] = static_cast<double>(total_g - lg);
      side[3][k] = static_cast<double>(total_h - lh);
    }
    if (l2_only) {
      for (int k = lo; k < hi; ++k)
        gains[k] = split_gain_l2(side[0][k], side[1][k], side[2][k], side[3][k], parent_score, lambda);
    } else {
      for (int k = lo; k < hi; ++k)
        gains[k] = split_gain(side[0][k], side[1][k], side[2][k], side[3][k], parent_score, lambda, alpha);
    }
    // The first threshold of the largest gain, found as a maximum and then its first position:
    // a maximum is exact in any order, so its loop may run in vector lanes.
    double top = best_gain;
#pragma omp simd reduction(max : top)
    for (int k = lo; k < hi; ++k) top = gains[k] > top ? gains[k] : top;
    if (!(top > best_gain)) return -1;
    int at = lo;
    while (gains[at] != top) ++at;
    best_gain = top;
    return at;
  };

  ScanResult best;
  const double min_gain = std::max(config_.min_split_gain / gain_factor_, 0.0);
  double best_gain = min_gain;
  const int right = best_with_left_extra(0, 0, best_gain);
  if (right >= 0) {
    best.bin = bin_at[right];
    best.left_count = packing.count(cum_hc[right]);
  }
  // Missing rows sent left, when there are any; ties go to the lower bin, then to missing-right.
  if (missing[1] != 0) {
    double left_gain = min_gain;
    const int left = best_with_left_extra(missing[0], missing[1], left_gain);
    if (left >= 0 && (right < 0 || left_gain > best_gain || (left_gain == best_gain && left < right))) {
      best_gain = left_gain;
      best.bin = bin_at[left];
      best.default_left = true;
      best.left_count = packing.count(cum_hc[left] + missing[1]);
    }
  }
  if (best.bin >= 0) best.gain = best_gain * gain_factor_;
  return best;
}

// The same thresholds, admissibility rules, gain expressions and tie-breaks as scan(): its
// admissible run [lo, hi) is where both sides' rules hold, and its first position of the largest
// gain is what a strict > keeps in order.
ScanResult GradientCriterion::scan_few(const std::int64_t* slots, int n_bins, const std::int64_t* total) const {
  const std::int64_t* missing = slots + static_cast<std::size_t>(n_bins) * kChannels;
  const CountPacking& packing = scale_.packing;
  const std::int64_t min_count = config_.min_samples_leaf;
  const std::int64_t total_g = total[0], total_n = packing.count(total[1]), total_h = packing.value(total[1]);
  const double lambda = lambda_q_, alpha = alpha_q_;
  const double parent_score = leaf_score(static_cast<double>(total_g), static_cast<double>(total_h), lambda, alpha);
  const bool l2_only = alpha == 0 && (lambda > 0 || min_hess_q_ > 0);
  const double min_gain = std::max(config_.min_split_gain / gain_factor_, 0.0);
  // Per side of the missing rows: the best gain, its threshold (compacted index) and its bin and left count.
  struct Best {
    double gain;
    int at = -1, bin = -1;
    std::int64_t left_count = 0;
  } sides[2] = {{min_gain}, {min_gain}};
  const int n_sides = missing[1] != 0 ? 2 : 1;
  std::int64_t g = 0, hc = 0;
  for (int t = 0, k = 0; t < n_bins; ++t) {
    const std::int64_t* s = slots + static_cast<std::size_t>(t) * kChannels;
    if (s[1] == 0) continue;
    g += s[0];
    hc += s[1];
    for (int m = 0; m < n_sides; ++m) {
      const std::int64_t lg = g + (m ? missing[0] : 0), lhc = hc + (m ? missing[1] : 0);
      const std::int64_t ln = packing.count(lhc), lh = packing.value(lhc);
      if (ln < min_count || lh < min_hess_q_ || total_n - ln < min_count || total_h - lh < min_hess_q_) continue;
      const double a = static_cast<double>(lg), b = static_cast<double>(lh);
      const double c = static_cast<double>(total_g - lg), d = static_cast<double>(total_h - lh);
      const double gain = l2_only ? split_gain_l2(a, b, c, d, parent_score, lambda)
                                  : split_gain(a, b, c, d, parent_score, lambda, alpha);
      if (gain > sides[m].gain) sides[m] = {gain, k, t, ln};
    }
    ++k;
  }
  // Missing rows right, unless left gains more (ties: the lower threshold, then missing-right).
  const Best& right = sides[0];
  const Best& left = sides[1];
  const bool take_left = left.at >= 0 && (right.at < 0 || left.gain > right.gain ||
                                          (left.gain == right.gain && left.at < right.at));
  const Best& best = take_left ? left : right;
  ScanResult result;
  if (best.at < 0) return result;
  result.bin = best.bin;
  result.default_left = take_left;
  result.left_count = best.left_count;
  result.gain = best.gain * gain_factor_;
  return result;
}

ClassCriterion::ClassCriterion(Span<const std::int32_t> classes, Span<const double> weights, int n_classes,
                               Impurity impurity, const TreeConfig& config, int n_targets,
                               const WeightRange* all_rows)
    : classes_(classes),
      packed_(weights.size),
      k_(n_classes),
      n_targets_(n_targets),
      n_channels_(n_classes * n_targets),
      impurity_(impurity),
      config_(config) {
  check_internal(n_targets >= 1 && classes.size == weights.size * static_cast<std::size_t>(n_targets),
                 "classes must have one value per row and target");
  for (double w : weights) check(w >= 0, "weights must be non-negative");
  // The weight scale from the row shards' largest weights merged, the sync step of scales.
  double max_w = 0;
  const RowShards shards(weights.size, row_shards_for_testing());
  for (int s = 0; s < shards.size(); ++s)
    for (std::size_t r = shards.begin(s); r < shards.end(s); ++r) max_w = std::max(max_w, weights[r]);
  const std::size_t n_rows = all_rows ? all_rows->n_rows : weights.size;
  if (all_rows) max_w = all_rows->max_weight;
  packing_ = CountPacking::for_rows(n_rows);
  weight_scale_ = power_of_two_scale(max_w, n_rows, 62 - packing_.bits);
  for (std::size_t i = 0; i < weights.size; ++i)
    packed_[i] = packing_.pack(static_cast<std::int64_t>(weights[i] * weight_scale_));
}

std::int64_t ClassCriterion::count(const std::int64_t* sums) const {
  std::int64_t n = 0;
  for (int c = 0; c < k_; ++c) n += packing_.count(sums[c]);
  return n;
}

std::int64_t ClassCriterion::total_weight_q(const std::int64_t* sums) const {
  std::int64_t w = 0;
  for (int c = 0; c < k_; ++c) w += packing_.value(sums[c]);
  return w;
}

double ClassCriterion::cover(const std::int64_t* sums) const {
  return static_cast<double>(total_weight_q(sums)) / weight_scale_;
}

bool ClassCriterion::may_split(const std::int64_t* sums) const {
  const std::int64_t n = count(sums);
  // Some target with two classes present (one target: scikit-learn's "node is pure" rule).
  bool impure = false;
  for (int t = 0; t < n_targets_ && !impure; ++t) {
    int classes_present = 0;
    for (int c = 0; c < k_; ++c) classes_present += packing_.value(sums[t * k_ + c]) > 0;
    impure = classes_present >= 2;
  }
  return impure && n >= config_.min_samples_split &&
         n >= 2 * static_cast<std::int64_t>(config_.min_samples_leaf) && cover(sums) >= 2 * config_.min_child_weight;
}

void ClassCriterion::leaf_value(const std::int64_t* sums, double* out, double) const {
  const std::int64_t w = total_weight_q(sums);
  for (int c = 0; c < n_channels_; ++c)
    out[c] = w > 0 ? static_cast<double>(packing_.value(sums[c])) / static_cast<double>(w) : 1.0 / k_;
}

double ClassCriterion::weighted_impurity(const double* w) const {
  if (n_targets_ == 1) return target_impurity(w);
  double sum = 0;
  for (int t = 0; t < n_targets_; ++t) sum += target_impurity(w + t * k_);
  return sum / n_targets_;
}

double ClassCriterion::target_impurity(const double* w) const {
  double total = 0;
  for (int c = 0; c < k_; ++c) total += w[c];
  if (!(total > 0)) return 0.0;
  if (impurity_ == Impurity::kGini) {
    double sum_sq = 0;
    for (int c = 0; c < k_; ++c) sum_sq += w[c] * w[c];
    return total - sum_sq / total;  // W * (1 - sum p^2)
  }
  double h = total * std::log2(total);  // W * entropy = W log W - sum w log w
  for (int c = 0; c < k_; ++c)
    if (w[c] > 0) h -= w[c] * std::log2(w[c]);
  return h;
}

ScanResult ClassCriterion::scan(const std::int64_t* slots, int n_bins, const std::int64_t* total) const {
  ScanResult best;
  const std::int64_t* missing = slots + static_cast<std::size_t>(n_bins) * n_channels_;
  const std::int64_t missing_n = count(missing);
  const std::int64_t total_n = count(total);
  const std::int64_t min_count = config_.min_samples_leaf;
  // Per-class weights of the node, the left side and the right side, and the packed left sums:
  // on the stack for up to kStackClasses classes (a scan runs per feature and node).
  const int m = n_channels_;
  constexpr int kStackClasses = 16;
  double stack_w[3 * kStackClasses];
  std::int64_t stack_left[kStackClasses] = {};
  std::vector<double> heap_w;
  std::vector<std::int64_t> heap_left;
  if (m > kStackClasses) {
    heap_w.resize(3 * static_cast<std::size_t>(m));
    heap_left.assign(m, 0);
  }
  double* total_w = m > kStackClasses ? heap_w.data() : stack_w;
  double* left_w = total_w + m;
  double* right_w = left_w + m;
  std::int64_t* left = m > kStackClasses ? heap_left.data() : stack_left;
  // Two classes of one target under Gini, the common case: W (1 - p^2 - q^2) = 2 w0 w1 / W.
  const bool binary_gini = m == 2 && impurity_ == Impurity::kGini;
  auto impurity = [&](const double* w, double total_weight) {
    if (!binary_gini) return weighted_impurity(w);
    return total_weight > 0 ? 2 * w[0] * w[1] / total_weight : 0.0;
  };
  // Every target's channels hold the node's weight: target 0's are counted, the others' (none
  // with one target) follow in loops of their own, so one target runs the loops it always ran.
  double node_w = 0;
  for (int c = 0; c < k_; ++c) node_w += total_w[c] = weight(total[c]);
  for (int c = k_; c < m; ++c) total_w[c] = weight(total[c]);
  const double parent = impurity(total_w, node_w);
  double best_gain = std::max(config_.min_split_gain, 0.0);

  auto consider = [&](std::int64_t n, const std::int64_t* with_missing, int bin, bool default_left) {
    if (n < min_count || total_n - n < min_count) return;
    double wl = 0, wr = 0;
    for (int c = 0; c < k_; ++c) {
      left_w[c] = weight(left[c] + (with_missing ? with_missing[c] : 0));
      right_w[c] = total_w[c] - left_w[c];
      wl += left_w[c];
      wr += right_w[c];
    }
    for (int c = k_; c < m; ++c) {
      left_w[c] = weight(left[c] + (with_missing ? with_missing[c] : 0));
      right_w[c] = total_w[c] - left_w[c];
    }
    if (wl < config_.min_child_weight || wr < config_.min_child_weight) return;
    const double gain = parent - impurity(left_w, wl) - impurity(right_w, wr);
    if (gain > best_gain) {
      best_gain = gain;
      best.gain = gain;
      best.bin = bin;
      best.default_left = default_left;
      best.left_count = n;
    }
  };

  std::int64_t n = 0;  // rows in value bins 0..t
  for (int t = 0; t < n_bins; ++t) {
    const std::int64_t* s = slots + static_cast<std::size_t>(t) * m;
    std::int64_t slot_n = 0;
    for (int c = 0; c < k_; ++c) {
      left[c] += s[c];
      slot_n += packing_.count(s[c]);
    }
    for (int c = k_; c < m; ++c) left[c] += s[c];
    if (slot_n == 0) continue;  // no rows: same partition as the previous threshold
    n += slot_n;
    if (total_n - n < min_count) break;
    consider(n, nullptr, t, false);
    if (missing_n > 0) consider(n + missing_n, missing, t, true);
  }
  return best;
}

}  // namespace treeforge
