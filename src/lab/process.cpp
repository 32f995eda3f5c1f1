#include "lab/process.hpp"

#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <spawn.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <climits>
#include <cstring>
#include <stdexcept>
#include <utility>

#include "base/failure.hpp"

extern char** environ;

namespace tlslab::lab {
namespace {

using Clock = std::chrono::steady_clock;

struct Pipe {
  int read = -1, write = -1;
  Pipe() {
    int fds[2];
    if (::pipe2(fds, O_CLOEXEC) != 0) throw Failure(Kind::Generic, std::string("pipe: ") + std::strerror(errno));
    read = fds[0];
    write = fds[1];
  }
};

pid_t spawn(const std::vector<std::string>& argv, int out_fd, int err_fd) {
  posix_spawn_file_actions_t actions;
  posix_spawn_file_actions_init(&actions);
  posix_spawn_file_actions_addopen(&actions, 0, "/dev/null", O_RDONLY, 0);
  posix_spawn_file_actions_adddup2(&actions, out_fd, 1);
  posix_spawn_file_actions_adddup2(&actions, err_fd, 2);
  std::vector<char*> args;
  for (const auto& a : argv) args.push_back(const_cast<char*>(a.c_str()));
  args.push_back(nullptr);
  pid_t pid = -1;
  int rc = posix_spawn(&pid, argv[0].c_str(), &actions, nullptr, args.data(), environ);
  posix_spawn_file_actions_destroy(&actions);
  if (rc != 0) throw Failure(Kind::Generic, "cannot start " + argv[0] + ": " + std::strerror(rc));
  return pid;
}

bool read_some(int fd, std::string& into) {
  char buf[65536];
  auto n = ::read(fd, buf, sizeof buf);
  if (n > 0) {
    into.append(buf, static_cast<size_t>(n));
    return true;
  }
  return false;
}

}  // namespace

std::string self_path() {
  char buf[PATH_MAX];
  auto n = ::readlink("/proc/self/exe", buf, sizeof buf - 1);
  if (n <= 0) return "tlslab";
  return std::string(buf, static_cast<size_t>(n));
}

std::string shell_quote(const std::vector<std::string>& argv) {
  std::string out;
  for (size_t i = 0; i < argv.size(); ++i) {
    const auto& a = argv[i];
    std::string word = i == 0 ? std::string("tlslab") : a;
    bool plain = !word.empty() &&
                 word.find_first_not_of("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789-_./:=,@+%") ==
                     std::string::npos;
    if (!out.empty()) out += ' ';
    if (plain) {
      out += word;
    } else {
      out += '\'';
      for (char c : word) out += c == '\'' ? std::string("'\\''") : std::string(1, c);
      out += '\'';
    }
  }
  return out;
}

Outcome run(const std::vector<std::string>& argv, std::chrono::milliseconds timeout) {
  Pipe out, err;
  pid_t pid = spawn(argv, out.write, err.write);
  ::close(out.write);
  ::close(err.write);
  Outcome o;
  auto deadline = Clock::now() + timeout;
  bool out_open = true, err_open = true;
  while (out_open || err_open) {
    auto left = std::chrono::duration_cast<std::chrono::milliseconds>(deadline - Clock::now()).count();
    if (left <= 0) {
      o.timed_out = true;
      ::kill(pid, SIGKILL);
      break;
    }
    pollfd fds[2] = {{out.read, POLLIN, 0}, {err.read, POLLIN, 0}};
    if (::poll(fds, 2, static_cast<int>(left)) < 0 && errno != EINTR) break;
    if (out_open && fds[0].revents) out_open = read_some(out.read, o.out);
    if (err_open && fds[1].revents) err_open = read_some(err.read, o.err);
  }
  ::close(out.read);
  ::close(err.read);
  int status = 0;
  ::waitpid(pid, &status, 0);
  o.exit_code = WIFEXITED(status) ? WEXITSTATUS(status) : -1;
  return o;
}

Background::Background(Background&& other) noexcept
    : pid_(std::exchange(other.pid_, -1)), log_(std::move(other.log_)) {}

Background& Background::operator=(Background&& other) noexcept {
  if (this != &other) {
    stop();
    pid_ = std::exchange(other.pid_, -1);
    log_ = std::move(other.log_);
  }
  return *this;
}

Background::~Background() { stop(); }

std::optional<std::string> Background::start(const std::vector<std::string>& argv, const std::string& log_file,
                                             const std::string& ready_marker, std::chrono::milliseconds timeout) {
  log_ = log_file;
  int fd = ::open(log_file.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
  if (fd < 0) throw Failure(Kind::Write, "cannot write " + log_file + ": " + std::strerror(errno));
  pid_ = spawn(argv, fd, fd);
  ::close(fd);
  auto deadline = Clock::now() + timeout;
  while (Clock::now() < deadline) {
    auto text = output();
    size_t start_of_line = 0;
    for (;;) {
      auto nl = text.find('\n', start_of_line);
      if (nl == std::string::npos) break;
      auto line = text.substr(start_of_line, nl - start_of_line);
      if (line.find(ready_marker) != std::string::npos) return line;
      start_of_line = nl + 1;
    }
    int status = 0;
    if (::waitpid(pid_, &status, WNOHANG) == pid_) {
      pid_ = -1;
      return std::nullopt;
    }
    ::usleep(20'000);
  }
  stop();
  return std::nullopt;
}

std::string Background::output() {
  if (log_.empty()) return {};
  std::string text;
  int fd = ::open(log_.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) return text;
  while (read_some(fd, text)) {
  }
  ::close(fd);
  return text;
}

std::string Background::stop() {
  if (pid_ > 0) {
    ::kill(pid_, SIGTERM);
    int status = 0;
    for (int i = 0; i < 150 && pid_ > 0; ++i) {
      if (::waitpid(pid_, &status, WNOHANG) == pid_)
        pid_ = -1;
      else
        ::usleep(20'000);
    }
    if (pid_ > 0) {
      ::kill(pid_, SIGKILL);
      ::waitpid(pid_, &status, 0);
      pid_ = -1;
    }
  }
  return output();
}

pid_t Background::release() { return std::exchange(pid_, -1); }

}  // namespace tlslab::lab
