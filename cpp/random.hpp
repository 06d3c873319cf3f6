// Seeded random streams (one per tree, iteration or node, never per thread) and the sampling built on them.
#pragma once

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <numeric>
#include <vector>

#include "common.hpp"

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
