#include "lab/process.hpp"

#include <fcntl.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <unistd.h>

#include <array>
#include <atomic>
#include <cerrno>
#include <climits>
#include <cstring>
#include <filesystem>
#include <stdexcept>
#include <utility>

#include "base/failure.hpp"

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

// The children the signal handler stops: lock-free atomics, safe to read in a handler.
constexpr size_t kMaxChildren = 64;
std::array<std::atomic<pid_t>, kMaxChildren> children{};

void remember(pid_t pid) {
  for (auto& slot : children) {
    pid_t empty = 0;
    if (slot.compare_exchange_strong(empty, pid)) return;
  }
}

void forget(pid_t pid) {
  for (auto& slot : children) {
    pid_t p = pid;
    if (slot.compare_exchange_strong(p, 0)) return;
  }
}

// Blocked is the lab's stop signals blocked for a scope, so none comes between a fork and the
// child's being remembered.
class Blocked {
 public:
  Blocked() {
    sigset_t set;
    sigemptyset(&set);
    for (int s : {SIGINT, SIGTERM, SIGHUP}) sigaddset(&set, s);
    ::pthread_sigmask(SIG_BLOCK, &set, &old_);
  }
  ~Blocked() { ::pthread_sigmask(SIG_SETMASK, &old_, nullptr); }
  Blocked(const Blocked&) = delete;
  Blocked& operator=(const Blocked&) = delete;
  [[nodiscard]] const sigset_t& old() const { return old_; }

 private:
  sigset_t old_;
};

// spawn starts argv with standard input from /dev/null and the given output descriptors. Unless
// may_outlive, the child gets SIGTERM when the lab ends (PR_SET_PDEATHSIG). posix_spawn cannot
// ask for that, so this is fork and exec; between them the child makes only async-signal-safe
// calls.
pid_t spawn(const std::vector<std::string>& argv, int out_fd, int err_fd, bool may_outlive = false) {
  std::vector<char*> args;
  for (const auto& a : argv) args.push_back(const_cast<char*>(a.c_str()));
  args.push_back(nullptr);
  int null_fd = ::open("/dev/null", O_RDONLY | O_CLOEXEC);
  Pipe exec_status;  // the child writes errno here when exec fails; closed by a successful exec
  pid_t parent = ::getpid();
  Blocked blocked;
  pid_t pid = ::fork();
  if (pid < 0) {
    int error = errno;
    ::close(null_fd);
    ::close(exec_status.read);
    ::close(exec_status.write);
    throw Failure(Kind::Generic, "cannot start " + argv[0] + ": " + std::strerror(error));
  }
  if (pid == 0) {
    if (!may_outlive && (::prctl(PR_SET_PDEATHSIG, SIGTERM) != 0 || ::getppid() != parent)) ::_exit(127);
    ::dup2(null_fd, 0);
    ::dup2(out_fd, 1);
    ::dup2(err_fd, 2);
    ::pthread_sigmask(SIG_SETMASK, &blocked.old(), nullptr);
    ::execv(args[0], args.data());
    int error = errno;
    [[maybe_unused]] auto n = ::write(exec_status.write, &error, sizeof error);
    ::_exit(127);
  }
  remember(pid);
  ::close(null_fd);
  ::close(exec_status.write);
  int error = 0;
  ssize_t n;
  do n = ::read(exec_status.read, &error, sizeof error);
  while (n < 0 && errno == EINTR);
  ::close(exec_status.read);
  if (n == sizeof error) {
    ::waitpid(pid, nullptr, 0);
    forget(pid);
    throw Failure(Kind::Generic, "cannot start " + argv[0] + ": " + std::strerror(error));
  }
  return pid;
}

// reap waits for pid and lets the handler forget it.
void reap(pid_t pid, int* status) {
  while (::waitpid(pid, status, 0) < 0 && errno == EINTR) {
  }
  forget(pid);
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
  reap(pid, &status);
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
                                             const std::string& ready_marker, std::chrono::milliseconds timeout,
                                             bool may_outlive) {
  log_ = log_file;
  int fd = ::open(log_file.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
  if (fd < 0) throw Failure(Kind::Write, "cannot write " + log_file + ": " + std::strerror(errno));
  pid_ = spawn(argv, fd, fd, may_outlive);
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
      forget(std::exchange(pid_, -1));
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
        forget(std::exchange(pid_, -1));
      else
        ::usleep(20'000);
    }
    if (pid_ > 0) {
      ::kill(pid_, SIGKILL);
      reap(std::exchange(pid_, -1), &status);
    }
  }
  return output();
}

pid_t Background::release() {
  forget(pid_);
  return std::exchange(pid_, -1);
}

namespace {

std::string interruption_message;  // set before the handlers are installed, read only by them
struct sigaction previous[3];
constexpr std::array<int, 3> kStopSignals = {SIGINT, SIGTERM, SIGHUP};

void on_stop_signal(int signo) {
  for (auto& slot : children)
    if (pid_t pid = slot.load(); pid > 0) ::kill(pid, SIGTERM);
  [[maybe_unused]] auto n = ::write(2, interruption_message.data(), interruption_message.size());
  ::signal(signo, SIG_DFL);
  ::raise(signo);  // delivered when this handler returns: the lab ends by the signal
}

}  // namespace

Interruption::Interruption(std::string message) {
  interruption_message = "\n" + std::move(message) + "\n";
  struct sigaction action {};
  action.sa_handler = on_stop_signal;
  sigemptyset(&action.sa_mask);
  for (int s : kStopSignals) sigaddset(&action.sa_mask, s);
  for (size_t i = 0; i < kStopSignals.size(); ++i) ::sigaction(kStopSignals[i], &action, &previous[i]);
}

Interruption::~Interruption() {
  for (size_t i = 0; i < kStopSignals.size(); ++i) ::sigaction(kStopSignals[i], &previous[i], nullptr);
}

Janitor::Janitor(const std::string& folder) {
  Pipe p;
  int null_fd = ::open("/dev/null", O_RDWR | O_CLOEXEC);
  pid_t pid = ::fork();
  if (pid < 0) {
    int error = errno;
    ::close(p.read);
    ::close(p.write);
    ::close(null_fd);
    throw Failure(Kind::Generic, std::string("cannot start the lab's clean-up process: ") + std::strerror(error));
  }
  if (pid == 0) {
    // The child: deaf to the signals that stop the lab (Ctrl-C reaches the whole process group),
    // holding none of the lab's output, it waits for the lab to end.
    for (int s : kStopSignals) ::signal(s, SIG_IGN);
    ::dup2(null_fd, 0);
    ::dup2(null_fd, 1);
    ::dup2(null_fd, 2);
    ::close(p.write);
    char byte;
    while (::read(p.read, &byte, 1) < 0 && errno == EINTR) {
    }
    // The lab's children get SIGTERM as it ends; one might still be writing a file in the folder.
    for (int attempt = 0; attempt < 50; ++attempt) {
      std::error_code ec;
      std::filesystem::remove_all(folder, ec);
      if (!ec) break;
      ::usleep(20'000);
    }
    ::_exit(0);
  }
  ::close(null_fd);
  ::close(p.read);
  pid_ = pid;
  pipe_ = p.write;
}

void Janitor::finish() {
  if (pipe_ >= 0) ::close(std::exchange(pipe_, -1));
  if (pid_ > 0) {
    while (::waitpid(pid_, nullptr, 0) < 0 && errno == EINTR) {
    }
    pid_ = -1;
  }
}

Janitor::~Janitor() { finish(); }

}  // namespace tlslab::lab
