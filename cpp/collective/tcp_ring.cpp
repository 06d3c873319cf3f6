// TcpRing: listening, joining the ring, and the ring's reduce-scatter and all-gather over non-blocking sockets.
#include "collective/tcp_ring.hpp"

#include <arpa/inet.h>
#include <fcntl.h>
#include <netdb.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <chrono>
#include <cstring>
#include <thread>

namespace treeforge {

namespace {

using Clock = std::chrono::steady_clock;

/// What a connecting peer says first: the fit it belongs to and its rank.
struct Hello {
  std::uint64_t token;
  std::int32_t rank;
  std::int32_t n;
};

template <class... Parts>
PeerError peer_error(const Parts&... parts) {
  std::string message;
  (detail::append(message, parts), ...);
  return PeerError(message);
}

sockaddr_in resolve(const std::string& host, int port) {
  addrinfo hints{};
  hints.ai_family = AF_INET;
  hints.ai_socktype = SOCK_STREAM;
  addrinfo* found = nullptr;
  const int rc = getaddrinfo(host.c_str(), nullptr, &hints, &found);
  check(rc == 0 && found != nullptr, "cannot resolve the host ", host, " to an IPv4 address: ",
        rc == 0 ? "none found" : gai_strerror(rc));
  sockaddr_in addr = *reinterpret_cast<const sockaddr_in*>(found->ai_addr);
  freeaddrinfo(found);
  addr.sin_port = htons(static_cast<std::uint16_t>(port));
  return addr;
}

void configure(int fd) {
  fcntl(fd, F_SETFL, fcntl(fd, F_GETFL, 0) | O_NONBLOCK);
  int one = 1;
  setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
}

int ms_until(Clock::time_point deadline) {
  const auto left = std::chrono::duration_cast<std::chrono::milliseconds>(deadline - Clock::now()).count();
  return static_cast<int>(std::max<long long>(0, left));
}

void close_fd(int& fd) {
  if (fd >= 0) ::close(fd);
  fd = -1;
}

/// Reads exactly n bytes from a blocking-free socket before the deadline; false on timeout or
/// end of stream.
bool read_all(int fd, char* out, std::size_t n, Clock::time_point deadline) {
  std::size_t got = 0;
  while (got < n) {
    pollfd p{fd, POLLIN, 0};
    if (::poll(&p, 1, ms_until(deadline)) <= 0) return false;
    const ssize_t r = ::recv(fd, out + got, n - got, 0);
    if (r == 0 || (r < 0 && errno != EAGAIN && errno != EWOULDBLOCK && errno != EINTR)) return false;
    if (r > 0) got += static_cast<std::size_t>(r);
  }
  return true;
}

}  // namespace

TcpRing::TcpRing(const std::string& host, double timeout_s) : timeout_ms_(static_cast<int>(timeout_s * 1000)) {
  check(timeout_s >= 0.001 && timeout_s <= 86400, "timeout must be in [0.001, 86400] seconds, got ", timeout_s);
  sockaddr_in addr = resolve(host, 0);
  listen_fd_ = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (listen_fd_ < 0) throw peer_error("cannot open a socket: ", std::strerror(errno));
  if (::bind(listen_fd_, reinterpret_cast<sockaddr*>(&addr), sizeof addr) != 0 || ::listen(listen_fd_, 16) != 0) {
    const int err = errno;
    close_fd(listen_fd_);
    throw peer_error("cannot listen on ", host, ": ", std::strerror(err));
  }
  socklen_t len = sizeof addr;
  ::getsockname(listen_fd_, reinterpret_cast<sockaddr*>(&addr), &len);
  port_ = ntohs(addr.sin_port);
  configure(listen_fd_);
}

TcpRing::~TcpRing() { close(); }

void TcpRing::close() {
  close_fd(listen_fd_);
  close_fd(next_fd_);
  close_fd(prev_fd_);
}

void TcpRing::fail(int peer, const std::string& what) const {
  throw peer_error("treeforge distributed fit: worker ", rank_, " of ", n_, " lost worker ", peer, ": ", what);
}

void TcpRing::connect(const std::vector<std::string>& hosts, const std::vector<int>& ports, int rank,
                      std::uint64_t token) {
  const int n = static_cast<int>(hosts.size());
  check(n >= 1 && ports.size() == hosts.size(), "give one port per host");
  check(rank >= 0 && rank < n, "rank must be in [0, ", n, "), got ", rank);
  check(listen_fd_ >= 0 && next_fd_ < 0, "a ring connects once");
  rank_ = rank;
  n_ = n;
  if (n == 1) {
    close_fd(listen_fd_);
    return;
  }
  const int next = (rank + 1) % n, prev = (rank + n - 1) % n;
  const auto deadline = Clock::now() + std::chrono::milliseconds(timeout_ms_);
  // Connect to the next peer (it listens already; retried while it is not yet accepting).
  const sockaddr_in to = resolve(hosts[next], ports[next]);
  while (true) {
    next_fd_ = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (next_fd_ >= 0 && ::connect(next_fd_, reinterpret_cast<const sockaddr*>(&to), sizeof to) == 0) break;
    const int err = errno;
    close_fd(next_fd_);
    if (ms_until(deadline) == 0) fail(next, std::string("cannot connect: ").append(std::strerror(err)));
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
  }
  configure(next_fd_);
  const Hello hello{token, rank, n};
  exchange(reinterpret_cast<const char*>(&hello), sizeof hello, nullptr, 0);
  // Accept the previous peer: a connection with another fit's token or rank is turned away.
  while (prev_fd_ < 0) {
    pollfd p{listen_fd_, POLLIN, 0};
    if (::poll(&p, 1, ms_until(deadline)) <= 0) fail(prev, "it did not connect within the timeout");
    int fd = ::accept4(listen_fd_, nullptr, nullptr, SOCK_CLOEXEC);
    if (fd < 0) continue;
    configure(fd);
    Hello theirs{};
    if (read_all(fd, reinterpret_cast<char*>(&theirs), sizeof theirs, deadline) && theirs.token == token &&
        theirs.rank == prev && theirs.n == n)
      prev_fd_ = fd;
    else
      close_fd(fd);
  }
  close_fd(listen_fd_);
}

void TcpRing::exchange(const char* send, std::size_t n_send, char* recv, std::size_t n_recv) {
  std::size_t sent = 0, got = 0;
  while (sent < n_send || got < n_recv) {
    pollfd p[2] = {{next_fd_, static_cast<short>(sent < n_send ? POLLOUT : 0), 0},
                   {prev_fd_, static_cast<short>(got < n_recv ? POLLIN : 0), 0}};
    const int ready = ::poll(p, 2, timeout_ms_);  // the timeout restarts whenever bytes move
    if (ready == 0) {
      const bool sending = sent < n_send;
      fail(sending ? (rank_ + 1) % n_ : (rank_ + n_ - 1) % n_,
           sending ? "it took no data for the timeout" : "it sent no data for the timeout");
    }
    if (ready < 0) {
      if (errno == EINTR) continue;
      fail(rank_, std::string("poll failed: ").append(std::strerror(errno)));
    }
    if (sent < n_send && (p[0].revents & (POLLOUT | POLLERR | POLLHUP))) {
      const ssize_t r = ::send(next_fd_, send + sent, n_send - sent, MSG_NOSIGNAL);
      if (r < 0 && errno != EAGAIN && errno != EWOULDBLOCK && errno != EINTR)
        fail((rank_ + 1) % n_, std::string("its connection broke: ").append(std::strerror(errno)));
      if (r > 0) sent += static_cast<std::size_t>(r);
    }
    if (got < n_recv && (p[1].revents & (POLLIN | POLLERR | POLLHUP))) {
      const ssize_t r = ::recv(prev_fd_, recv + got, n_recv - got, 0);
      if (r == 0) fail((rank_ + n_ - 1) % n_, "it closed its connection (its process died or its fit failed)");
      if (r < 0 && errno != EAGAIN && errno != EWOULDBLOCK && errno != EINTR)
        fail((rank_ + n_ - 1) % n_, std::string("its connection broke: ").append(std::strerror(errno)));
      if (r > 0) got += static_cast<std::size_t>(r);
    }
  }
  stats_.bytes_sent += n_send;
}

template <class T, class Combine>
void TcpRing::allreduce(T* values, std::size_t n, Combine combine) {
  if (n_ == 1 || n == 0) return;
  check(next_fd_ >= 0 && prev_fd_ >= 0, "the ring is not connected (or was closed)");
  const auto start = Clock::now();
  const int k = n_;
  // Chunk c: values [n c / k, n (c + 1) / k).
  auto lo = [&](int c) { return n * static_cast<std::size_t>(c) / k; };
  auto chunk_size = [&](int c) { return lo(c + 1) - lo(c); };
  scratch_.resize((n / k + 1) * sizeof(T));
  T* incoming = reinterpret_cast<T*>(scratch_.data());
  // Reduce-scatter: after step s, chunk (rank - s - 1) holds the sums of s + 2 participants;
  // after k - 1 steps this participant holds chunk (rank + 1) summed over all.
  for (int s = 0; s < k - 1; ++s) {
    const int out = ((rank_ - s) % k + k) % k, in = ((rank_ - s - 1) % k + k) % k;
    exchange(reinterpret_cast<const char*>(values + lo(out)), chunk_size(out) * sizeof(T),
             reinterpret_cast<char*>(incoming), chunk_size(in) * sizeof(T));
    T* own = values + lo(in);
    for (std::size_t i = 0; i < chunk_size(in); ++i) own[i] = combine(own[i], incoming[i]);
  }
  // All-gather: the complete chunks travel once around the ring.
  for (int s = 0; s < k - 1; ++s) {
    const int out = ((rank_ + 1 - s) % k + k) % k, in = ((rank_ - s) % k + k) % k;
    exchange(reinterpret_cast<const char*>(values + lo(out)), chunk_size(out) * sizeof(T),
             reinterpret_cast<char*>(values + lo(in)), chunk_size(in) * sizeof(T));
  }
  ++stats_.reductions;
  stats_.seconds += std::chrono::duration<double>(Clock::now() - start).count();
}

void TcpRing::sum(const std::vector<Span<std::int64_t>>& parts) {
  if (n_ == 1) return;
  // The parts laid end to end, so that a batch of histograms is one reduction.
  std::size_t total = 0;
  for (const Span<std::int64_t>& part : parts) total += part.size;
  if (parts.size() == 1) {
    allreduce(parts[0].data, total, [](std::int64_t a, std::int64_t b) { return a + b; });
    return;
  }
  std::vector<std::int64_t> joined;
  joined.reserve(total);
  for (const Span<std::int64_t>& part : parts) joined.insert(joined.end(), part.begin(), part.end());
  allreduce(joined.data(), total, [](std::int64_t a, std::int64_t b) { return a + b; });
  std::size_t at = 0;
  for (const Span<std::int64_t>& part : parts) {
    std::copy(joined.begin() + at, joined.begin() + at + part.size, part.data);
    at += part.size;
  }
}

void TcpRing::max(Span<double> values) {
  allreduce(values.data, values.size, [](double a, double b) { return std::max(a, b); });
}

}  // namespace treeforge
