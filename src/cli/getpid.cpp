// getpid, remembered. OpenSSL 3.0 asks for the process id before each random number it draws, to
// notice that it runs in a forked child (five times in a TLS 1.2 handshake, eight in an intercepted
// connection), and since glibc 2.25 every call is a system call. Defined in the executable, this
// getpid takes the place of libc's for every library. A child made by fork() forgets the remembered
// id (pthread_atfork), so OpenSSL still sees it as a new process; posix_spawn's child runs none of
// our code before exec.
#include <pthread.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <atomic>

namespace {

std::atomic<pid_t> remembered{0};

void forget() { remembered.store(0, std::memory_order_relaxed); }

[[maybe_unused]] const int registered = pthread_atfork(nullptr, nullptr, forget);

}  // namespace

extern "C" pid_t getpid() noexcept {
  pid_t pid = remembered.load(std::memory_order_relaxed);
  if (pid == 0) {
    pid = static_cast<pid_t>(::syscall(SYS_getpid));
    remembered.store(pid, std::memory_order_relaxed);
  }
  return pid;
}
