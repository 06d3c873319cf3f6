// TcpRing: the HistogramReduction of a distributed fit, a ring of TCP connections between its worker processes.
#pragma once

#include <cstdint>
#include <stdexcept>
#include <string>
#include <vector>

#include "grow/histogram_reduction.hpp"

namespace treeforge {

/// A peer of the ring failed: it closed its connection (its process died or its fit failed),
/// sent something that is not this fit's, or said nothing for the timeout. Python sees a
/// ConnectionError with this message.
class PeerError : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

/// What a ring has sent so far: reductions, bytes written to the next peer, and seconds spent
/// inside the reductions (transfers and waiting for the slowest participant).
struct RingStats {
  std::uint64_t reductions = 0;
  std::uint64_t bytes_sent = 0;
  double seconds = 0.0;
};

/// Participant `rank` of n: connected to rank + 1 (it sends there) and from rank - 1 (it
/// receives from there), modulo n. A reduction of m values is a ring reduce-scatter then a ring
/// all-gather: 2 (n - 1) steps, each sending about m / n values to the next peer while
/// receiving as many from the previous one (Patarasuk & Yuan 2009), so each participant sends
/// about 2 m values whatever n.
///
/// Set up in two steps, because the peers' addresses are known only once every one listens:
/// the constructor listens on an ephemeral port of `host` (given to the others through Dask),
/// then connect() joins the ring. Every wait (connecting, accepting, each transfer) ends after
/// `timeout_s` seconds without progress with a PeerError naming the peer; a peer whose process
/// dies closes its sockets, which ends the wait at once. The sockets close with the object.
/// Not thread-safe: one caller at a time.
class TcpRing : public HistogramReduction {
 public:
  TcpRing(const std::string& host, double timeout_s);
  ~TcpRing() override;
  TcpRing(const TcpRing&) = delete;
  TcpRing& operator=(const TcpRing&) = delete;

  /// The port this participant listens on (until connect()).
  int port() const { return port_; }
  /// Joins the ring: hosts[r], ports[r] are participant r's; `token` names the fit (a peer
  /// presenting another one is turned away). Closes the listening socket.
  void connect(const std::vector<std::string>& hosts, const std::vector<int>& ports, int rank, std::uint64_t token);
  /// Closes every socket (also done by the destructor); the ring cannot reduce afterwards.
  void close();

  int n_participants() const override { return n_; }
  void sum(const std::vector<Span<std::int64_t>>& parts) override;
  void max(Span<double> values) override;
  const RingStats& stats() const { return stats_; }

 private:
  /// The ring's two steps over `values`, combining a received chunk into the own with combine.
  template <class T, class Combine>
  void allreduce(T* values, std::size_t n, Combine combine);
  /// Sends n_send bytes to the next peer while receiving n_recv from the previous one.
  void exchange(const char* send, std::size_t n_send, char* recv, std::size_t n_recv);
  [[noreturn]] void fail(int peer, const std::string& what) const;

  int listen_fd_ = -1;
  int next_fd_ = -1;  ///< to rank + 1
  int prev_fd_ = -1;  ///< from rank - 1
  int port_ = 0;
  int rank_ = 0;
  int n_ = 1;
  int timeout_ms_;
  RingStats stats_;
  std::vector<char> scratch_;
};

}  // namespace treeforge
