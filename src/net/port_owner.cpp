#include "net/port_owner.hpp"

#include <arpa/inet.h>
#include <dirent.h>
#include <fmt/format.h>
#include <unistd.h>

#include <algorithm>
#include <array>
#include <cstring>
#include <fstream>
#include <sstream>

#include "base/address.hpp"

namespace tlslab::net {
namespace {

constexpr std::string_view kListenState = "0A";  // TCP_LISTEN in include/net/tcp_states.h

bool hex_u32(std::string_view text, std::uint32_t& out) {
  if (text.empty() || text.size() > 8) return false;
  out = 0;
  for (char c : text) {
    int d = c >= '0' && c <= '9'   ? c - '0'
            : c >= 'A' && c <= 'F' ? c - 'A' + 10
            : c >= 'a' && c <= 'f' ? c - 'a' + 10
                                   : -1;
    if (d < 0) return false;
    out = out << 4 | static_cast<std::uint32_t>(d);
  }
  return true;
}

// The kernel prints each 32-bit word of the address as it lies in memory, read as a host-order
// number (net/ipv4/tcp_ipv4.c, get_tcp4_sock: "%08X" of the __be32), so the word goes back into
// memory as a host-order number.
bool decode_address(std::string_view hex, bool v6, std::string& out) {
  std::array<unsigned char, 16> bytes{};
  size_t words = v6 ? 4 : 1;
  if (hex.size() != words * 8) return false;
  for (size_t i = 0; i < words; ++i) {
    std::uint32_t w = 0;
    if (!hex_u32(hex.substr(i * 8, 8), w)) return false;
    std::memcpy(bytes.data() + i * 4, &w, 4);
  }
  char text[INET6_ADDRSTRLEN] = {};
  if (!::inet_ntop(v6 ? AF_INET6 : AF_INET, bytes.data(), text, sizeof text)) return false;
  out = text;
  return true;
}

bool is_wildcard(const std::string& address) { return address == "0.0.0.0" || address == "::"; }

std::string read_all(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  std::ostringstream s;
  s << in.rdbuf();
  return s.str();
}

// process_name returns "tlslab serve" for tlslab (its subcommand tells which server), else the
// program's name.
std::string process_name(const std::string& pid) {
  auto cmdline = read_all("/proc/" + pid + "/cmdline");
  std::vector<std::string> argv;
  for (size_t start = 0; start < cmdline.size();) {
    auto end = cmdline.find('\0', start);
    if (end == std::string::npos) end = cmdline.size();
    argv.push_back(cmdline.substr(start, end - start));
    start = end + 1;
  }
  if (argv.empty()) {
    auto comm = read_all("/proc/" + pid + "/comm");
    while (!comm.empty() && comm.back() == '\n') comm.pop_back();
    return comm;
  }
  auto name = argv[0].substr(argv[0].rfind('/') == std::string::npos ? 0 : argv[0].rfind('/') + 1);
  if (name == "tlslab" && argv.size() > 1) name += " " + argv[1];
  return name;
}

}  // namespace

std::vector<ListenSocket> parse_proc_net_tcp(std::string_view text, bool v6) {
  std::vector<ListenSocket> out;
  std::istringstream in{std::string(text)};
  std::string line;
  std::getline(in, line);  // the header
  while (std::getline(in, line)) {
    // sl local_address rem_address st tx:rx tr:when retrnsmt uid timeout inode ...
    std::istringstream fields(line);
    std::string sl, local, remote, state, queues, timer, retransmits, uid, timeout, inode;
    if (!(fields >> sl >> local >> remote >> state >> queues >> timer >> retransmits >> uid >> timeout >> inode))
      continue;
    if (state != kListenState) continue;
    auto colon = local.find(':');
    if (colon == std::string::npos) continue;
    ListenSocket s;
    s.v6 = v6;
    std::uint32_t port = 0;
    if (!decode_address(std::string_view(local).substr(0, colon), v6, s.address) ||
        !hex_u32(std::string_view(local).substr(colon + 1), port) || port > 0xffff)
      continue;
    s.port = static_cast<std::uint16_t>(port);
    try {
      s.inode = std::stoull(inode);
    } catch (const std::exception&) {
      continue;
    }
    out.push_back(std::move(s));
  }
  return out;
}

bool overlaps(const ListenSocket& s, const std::string& address, bool v6, std::uint16_t port) {
  return s.port == port && s.v6 == v6 && (s.address == address || is_wildcard(s.address) || is_wildcard(address));
}

std::vector<ListenSocket> listeners_on(const std::string& address, bool v6, std::uint16_t port) {
  std::vector<ListenSocket> out;
  for (auto& s : parse_proc_net_tcp(read_all(v6 ? "/proc/net/tcp6" : "/proc/net/tcp"), v6))
    if (overlaps(s, address, v6, port)) out.push_back(std::move(s));
  return out;
}

std::string socket_owner(std::uint64_t inode) {
  auto wanted = fmt::format("socket:[{}]", inode);
  DIR* proc = ::opendir("/proc");
  if (!proc) return {};
  std::string found;
  while (dirent* entry = ::readdir(proc)) {
    std::string pid = entry->d_name;
    if (pid.empty() || pid.find_first_not_of("0123456789") != std::string::npos) continue;
    auto fd_dir = "/proc/" + pid + "/fd";
    DIR* fds = ::opendir(fd_dir.c_str());  // fails for other users' processes
    if (!fds) continue;
    while (dirent* fd = ::readdir(fds)) {
      if (fd->d_name[0] == '.') continue;
      char link[64];
      auto n = ::readlink((fd_dir + "/" + fd->d_name).c_str(), link, sizeof link - 1);
      if (n > 0 && std::string_view(link, static_cast<size_t>(n)) == wanted) {
        found = fmt::format("pid {} ({})", pid, process_name(pid));
        break;
      }
    }
    ::closedir(fds);
    if (!found.empty()) break;
  }
  ::closedir(proc);
  return found;
}

std::string owner_words(const std::string& address, bool v6, std::uint16_t port,
                        const std::vector<std::uint64_t>& ignore) {
  for (const auto& s : listeners_on(address, v6, port)) {
    if (std::find(ignore.begin(), ignore.end(), s.inode) != ignore.end()) continue;
    auto owner = socket_owner(s.inode);
    if (owner.empty()) continue;
    if (s.address != address) owner += " on " + format_endpoint(s.address, s.port);
    return owner;
  }
  return "another process";
}

}  // namespace tlslab::net
