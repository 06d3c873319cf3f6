// Scalar types, spans and matrix views shared by the whole core, and check() for argument errors.
#pragma once

#include <cstddef>
#include <cstdint>
#include <stdexcept>
#include <string>
#include <type_traits>

namespace treeforge {

/// Bin code of one feature value; the missing bin of feature f is n_bins[f] (at most 255, but for
/// a categorical feature of more categories: see wide_code_t).
using bin_t = std::uint8_t;
/// Code of a wide feature: a categorical one with more categories than a byte holds beside its
/// missing code (BinnedMatrix keeps its column apart).
using wide_code_t = std::uint16_t;
/// Categories a categorical feature holds, at most: beyond, the rarest share a code (Python's
/// encoding). Bounds the histogram slots and set-split scans of one feature.
constexpr int kMaxCategories = 4096;
/// Row index; datasets are limited to 2^32 - 1 rows.
using row_t = std::uint32_t;

/// Per-row first- and second-order gradient, stored as float (halves memory traffic).
struct GradPair {
  float grad;
  float hess;
};

/// Non-owning view of a contiguous array; the owner outlives the view.
template <class T>
struct Span {
  T* data = nullptr;
  std::size_t size = 0;

  Span() = default;
  Span(T* d, std::size_t n) : data(d), size(n) {}
  template <class U>
  Span(const Span<U>& other) : data(other.data), size(other.size) {}
  T& operator[](std::size_t i) const { return data[i]; }
  T* begin() const { return data; }
  T* end() const { return data + size; }
  bool empty() const { return size == 0; }
  Span subspan(std::size_t offset, std::size_t count) const { return Span(data + offset, count); }
};

/// Non-owning row-major matrix view: element (i, j) is data[i * n_cols + j].
template <class T>
struct MatrixView {
  T* data = nullptr;
  std::size_t n_rows = 0;
  std::size_t n_cols = 0;

  T* row(std::size_t i) const { return data + i * n_cols; }
  T& operator()(std::size_t i, std::size_t j) const { return data[i * n_cols + j]; }
};

/// Hints the processor to fetch the cache line at p (no effect where the compiler offers no hint).
inline void prefetch(const void* p) {
#if defined(__GNUC__) || defined(__clang__)
  __builtin_prefetch(p);
#else
  (void)p;
#endif
}

/// Marks a function whose loops vectorise: it is compiled for AVX-512 (x86-64-v4) besides the
/// baseline, and the loader picks the version the processor runs (function multi-versioning,
/// through glibc's ifunc). Both give bit-identical results: the core is built without
/// floating-point contraction, and every vector operation is the IEEE one of its scalar form.
#if defined(__x86_64__) && defined(__linux__) && defined(__GLIBC__) && !defined(TREEFORGE_NO_CLONES) && \
    ((defined(__clang__) && __clang_major__ >= 14) || (!defined(__clang__) && defined(__GNUC__) && __GNUC__ >= 11))
#define TREEFORGE_VECTOR_CLONES __attribute__((target_clones("arch=x86-64-v4", "default")))
#else
#define TREEFORGE_VECTOR_CLONES
#endif

namespace detail {
inline void append(std::string& out, const std::string& part) { out += part; }
inline void append(std::string& out, const char* part) { out += part; }
template <class T, class = std::enable_if_t<std::is_arithmetic_v<T>>>
void append(std::string& out, T part) {
  out += std::to_string(part);
}
}  // namespace detail

/// Throws std::invalid_argument (a Python ValueError) when a caller broke a precondition: the
/// user's own input. The message is the concatenation of `parts` (strings, or numbers in
/// std::to_string's form), built only when the check fails, so that a check costs nothing more
/// inside a per-row loop: pass the parts, never a string joined up front.
template <class... Parts>
void check(bool condition, const Parts&... parts) {
  if (condition) return;
  std::string message;
  (detail::append(message, parts), ...);
  throw std::invalid_argument(message);
}

/// Throws std::logic_error (a Python RuntimeError) whose message starts with "internal error: "
/// when an invariant of the core itself is broken: a bug of treeforge, never the caller's input.
template <class... Parts>
void check_internal(bool condition, const Parts&... parts) {
  if (condition) return;
  std::string message = "internal error: ";
  (detail::append(message, parts), ...);
  throw std::logic_error(message);
}

}  // namespace treeforge
