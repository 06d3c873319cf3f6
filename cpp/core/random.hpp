// Seeded random streams (one per tree, iteration or node, never per thread) and the sampling built on them.
#pragma once

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <numeric>
#include <utility>
#include <vector>

#include "core/common.hpp"

namespace treeforge {

/// SplitMix64 finaliser: a bijective mix of 64 bits, used to derive independent seeds.
inline std::uint64_t mix64(std::uint64_t x) {
  x += 0x9E3779B97F4A7C15ULL;
  x = (x ^ (x >> 30)) * 0xBF58476D1CE4E5B9ULL;
  x = (x ^ (x >> 27)) * 0x94D049BB133111EBULL;
  return x ^ (x >> 31);
}

/// Seed of the stream identified by (seed, a, b): e.g. (random_state, iteration, class).
inline std::uint64_t derive_seed(std::uint64_t seed, std::uint64_t a, std::uint64_t b = 0) {
  return mix64(mix64(mix64(seed) ^ (a * 0xD1B54A32D192ED03ULL)) ^ (b * 0x8CB92BA72F3D8DD7ULL));
}

/// xoshiro256** generator: small state, fast, good statistical quality. Not thread-safe: one per stream.
class Rng {
 public:
  explicit Rng(std::uint64_t seed) {
    for (auto& s : state_) s = seed = mix64(seed);
  }

  std::uint64_t next() {
    const std::uint64_t result = rotl(state_[1] * 5, 7) * 9;
    const std::uint64_t t = state_[1] << 17;
    state_[2] ^= state_[0];
    state_[3] ^= state_[1];
    state_[1] ^= state_[2];
    state_[0] ^= state_[3];
    state_[2] ^= t;
    state_[3] = rotl(state_[3], 45);
    return result;
  }

  /// Uniform double in [0, 1) with 53 random bits.
  double uniform() { return static_cast<double>(next() >> 11) * 0x1.0p-53; }

  /// Uniform integer in [0, n) (Lemire's multiply-shift; the bias is below 2^-32 for n < 2^32).
  std::uint64_t below(std::uint64_t n) {
    return static_cast<std::uint64_t>((static_cast<unsigned __int128>(next()) * n) >> 64);
  }

 private:
  static std::uint64_t rotl(std::uint64_t x, int k) { return (x << k) | (x >> (64 - k)); }
  std::uint64_t state_[4];
};

/// k distinct indices from [0, n) in increasing order (Knuth's selection sampling, O(n) time, O(k) output).
inline std::vector<row_t> sample_without_replacement(std::size_t n, std::size_t k, Rng& rng) {
  std::vector<row_t> out;
  k = std::min(k, n);
  out.reserve(k);
  std::size_t needed = k;
  for (std::size_t i = 0; i < n && needed > 0; ++i) {
    if (rng.below(n - i) < needed) {
      out.push_back(static_cast<row_t>(i));
      --needed;
    }
  }
  return out;
}

/// Walker's alias table (Vose's construction) over non-negative weights: O(n) to build, O(1) per
/// draw, row i drawn with probability weights[i] / sum(weights); a zero weight is never drawn.
///
/// Built serially in index order, so the table (and every draw from a given Rng) is the same on
/// every machine and for every thread count. Immutable after construction; draws are thread-safe
/// as long as each thread has its own Rng.
class AliasTable {
 public:
  /// weights (n,) finite, >= 0, with a positive sum.
  explicit AliasTable(Span<const double> weights) : accept_(weights.size), alias_(weights.size) {
    const std::size_t n = weights.size;
    check(n > 0, "cannot sample from 0 weights");
    double total = 0;
    for (double w : weights) {
      check(std::isfinite(w) && w >= 0, "sampling weights must be finite and >= 0");
      total += w;
    }
    check(total > 0 && std::isfinite(total), "sampling weights must have a positive finite sum");
    // Scaled weights average 1: an entry below 1 keeps its own probability and borrows the rest
    // of its column from an entry above 1.
    std::vector<double> scaled(n);
    std::vector<row_t> small, large;
    row_t heaviest = 0;
    for (std::size_t i = 0; i < n; ++i) {
      if (weights[i] > weights[heaviest]) heaviest = static_cast<row_t>(i);
      scaled[i] = weights[i] * (static_cast<double>(n) / total);
      (scaled[i] < 1.0 ? small : large).push_back(static_cast<row_t>(i));
    }
    while (!small.empty() && !large.empty()) {
      const row_t s = small.back(), l = large.back();
      small.pop_back();
      accept_[s] = scaled[s];
      alias_[s] = l;
      scaled[l] -= 1.0 - scaled[s];
      if (scaled[l] < 1.0) {
        large.pop_back();
        small.push_back(l);
      }
    }
    // Leftovers are 1 up to rounding: they keep their own column; a zero weight left over by
    // rounding hands its column to the heaviest row, so it is still never drawn.
    for (row_t l : large) accept_[l] = 1.0, alias_[l] = l;
    for (row_t s : small) {
      accept_[s] = weights[s] > 0 ? 1.0 : 0.0;
      alias_[s] = weights[s] > 0 ? s : heaviest;
    }
  }

  std::size_t size() const { return accept_.size(); }

  /// One index drawn with probability proportional to its weight.
  row_t draw(Rng& rng) const {
    const std::uint64_t column = rng.below(accept_.size());
    return rng.uniform() < accept_[column] ? static_cast<row_t>(column) : alias_[column];
  }

 private:
  std::vector<double> accept_;  // probability of keeping the column's own index
  std::vector<row_t> alias_;    // index returned otherwise
};

/// counts[i] = times row i is drawn in n_draws uniform draws with replacement (a bootstrap sample);
/// counts (n,) is overwritten.
inline void draw_uniform_counts(std::size_t n_draws, Rng& rng, Span<std::uint32_t> counts) {
  std::fill(counts.begin(), counts.end(), 0u);
  for (std::size_t d = 0; d < n_draws; ++d) ++counts[rng.below(counts.size)];
}

/// counts[i] = times row i is drawn in n_draws weighted draws with replacement.
inline void draw_weighted_counts(const AliasTable& table, std::size_t n_draws, Rng& rng, Span<std::uint32_t> counts) {
  std::fill(counts.begin(), counts.end(), 0u);
  for (std::size_t d = 0; d < n_draws; ++d) ++counts[table.draw(rng)];
}

/// counts[i] = 1 for k rows drawn without replacement, 0 for the others. Uniform when `weights`
/// is empty (selection sampling); otherwise Efraimidis and Spirakis' weighted draw (keep the k
/// largest keys u^(1/w), compared as log(u) / w), where a zero weight is never drawn.
inline void draw_subsample_counts(std::size_t k, Span<const double> weights, Rng& rng, Span<std::uint32_t> counts) {
  const std::size_t n = counts.size;
  std::fill(counts.begin(), counts.end(), 0u);
  if (weights.empty()) {
    for (row_t r : sample_without_replacement(n, k, rng)) counts[r] = 1;
    return;
  }
  std::vector<std::pair<double, row_t>> keys;
  keys.reserve(n);
  for (std::size_t i = 0; i < n; ++i) {
    const double u = rng.uniform();  // drawn for every row: the stream does not depend on the weights
    if (weights[i] > 0) keys.emplace_back(std::log1p(-u) / weights[i], static_cast<row_t>(i));
  }
  k = std::min(k, keys.size());
  // Largest keys first; equal keys keep the lower row (a strict total order, so the result is unique).
  auto larger = [](const std::pair<double, row_t>& a, const std::pair<double, row_t>& b) {
    return a.first != b.first ? a.first > b.first : a.second < b.second;
  };
  std::nth_element(keys.begin(), keys.begin() + static_cast<std::ptrdiff_t>(k), keys.end(), larger);
  for (std::size_t j = 0; j < k; ++j) counts[keys[j].second] = 1;
}

/// counts[i] = how often row i is drawn in n_draws draws by weight from the stream `seed`: with
/// replacement through an alias table, or without (draw_subsample_counts).
inline void draw_counts_by_weight(Span<const double> weights, std::size_t n_draws, std::uint64_t seed, bool replace,
                                  Span<std::uint32_t> counts) {
  Rng rng(seed);
  if (replace)
    draw_weighted_counts(AliasTable(weights), n_draws, rng, counts);
  else
    draw_subsample_counts(n_draws, weights, rng, counts);
}

/// k of the n features, chosen uniformly without replacement, returned sorted.
inline std::vector<int> sample_features(int n, int k, Rng& rng) {
  std::vector<int> idx(n);
  std::iota(idx.begin(), idx.end(), 0);
  k = std::max(0, std::min(k, n));
  for (int i = 0; i < k; ++i) std::swap(idx[i], idx[i + static_cast<int>(rng.below(n - i))]);
  idx.resize(k);
  std::sort(idx.begin(), idx.end());
  return idx;
}

}  // namespace treeforge
