// net::port owners — who else listens on an address, so a server refuses to share a port it did
// not mean to share, and names the process in its way.
//
// SO_REUSEPORT lets a second tlslab (same user) bind a port the first still listens on, and the
// kernel then splits connections between them. Workers use these to notice: the listening sockets
// of the system come from /proc/net/tcp and /proc/net/tcp6, the process holding one from the
// "socket:[INODE]" links under /proc/PID/fd (only the user's own processes can be read).
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

namespace tlslab::net {

struct ListenSocket {
  std::string address;  // "127.0.0.1", "0.0.0.0", "::1", "::"
  bool v6 = false;
  std::uint16_t port = 0;
  std::uint64_t inode = 0;
};

// parse_proc_net_tcp returns the LISTEN sockets in the text of /proc/net/tcp (v6 false) or
// /proc/net/tcp6 (v6 true); malformed lines are skipped.
[[nodiscard]] std::vector<ListenSocket> parse_proc_net_tcp(std::string_view text, bool v6);

// overlaps tells whether a connection to address:port could reach s: the same port and family,
// and the same address or a wildcard ("0.0.0.0", "::") on either side.
[[nodiscard]] bool overlaps(const ListenSocket& s, const std::string& address, bool v6, std::uint16_t port);

// listeners_on returns the system's LISTEN sockets that overlap address:port (empty when /proc
// cannot be read).
[[nodiscard]] std::vector<ListenSocket> listeners_on(const std::string& address, bool v6, std::uint16_t port);

// socket_owner names the process holding the socket with this inode: "pid 1234 (tlslab serve)";
// "" when none of the processes that can be inspected holds it.
[[nodiscard]] std::string socket_owner(std::uint64_t inode);

// owner_words returns, for a refusal message, who holds address:port: "pid 1234 (tlslab serve)",
// with the address that one listens on when it differs ("pid 1234 (nginx) on 0.0.0.0:443");
// "another process" when it cannot be told. ignore lists inodes of our own sockets.
[[nodiscard]] std::string owner_words(const std::string& address, bool v6, std::uint16_t port,
                                      const std::vector<std::uint64_t>& ignore = {});

}  // namespace tlslab::net
