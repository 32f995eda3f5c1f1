#include "base/files.hpp"

#include <fcntl.h>
#include <fmt/format.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <random>

#include "base/failure.hpp"

namespace tlslab {
namespace {

std::string errno_text() { return std::strerror(errno); }

std::filesystem::path temp_beside(const std::filesystem::path& path) {
  std::random_device rd;
  auto name = fmt::format(".{}.tmp{:08x}", path.filename().string(), rd());
  return path.parent_path() / name;
}

void write_all(int fd, std::string_view data, const std::filesystem::path& path) {
  while (!data.empty()) {
    auto n = ::write(fd, data.data(), data.size());
    if (n < 0) {
      if (errno == EINTR) continue;
      throw Failure(Kind::Write, fmt::format("writing {}: {}", path.string(), errno_text()));
    }
    data.remove_prefix(static_cast<size_t>(n));
  }
}

}  // namespace

std::string read_file(const std::filesystem::path& path, std::string_view what, Kind kind) {
  int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) throw Failure(kind, fmt::format("cannot read {} {}: {}", what, path.string(), errno_text()));
  struct stat st {};
  if (::fstat(fd, &st) == 0 && S_ISDIR(st.st_mode)) {
    ::close(fd);
    throw Failure(kind, fmt::format("cannot read {} {}: it is a directory", what, path.string()));
  }
  std::string out;
  char buf[16384];
  for (;;) {
    auto n = ::read(fd, buf, sizeof buf);
    if (n < 0) {
      if (errno == EINTR) continue;
      auto err = errno_text();
      ::close(fd);
      throw Failure(kind, fmt::format("cannot read {} {}: {}", what, path.string(), err));
    }
    if (n == 0) break;
    out.append(buf, static_cast<size_t>(n));
  }
  ::close(fd);
  return out;
}

void write_file_atomic(const std::filesystem::path& path, std::string_view data, unsigned mode, bool exclusive,
                       bool durable) {
  if (exclusive && std::filesystem::exists(path))
    throw Failure(Kind::Exists, fmt::format("{} already exists; refusing to overwrite it", path.string()));
  AtomicFile file(path, mode);
  file.write(data);
  file.commit(exclusive, durable);
}

AtomicFile::AtomicFile(std::filesystem::path path, unsigned mode) : path_(std::move(path)), target_(path_) {
  struct stat st {};
  if (::stat(path_.c_str(), &st) == 0 && !S_ISREG(st.st_mode)) {
    // A device or a pipe (-o /dev/null, a FIFO): write to it as it is. Renaming a file over it
    // would replace the device node itself (as root, /dev/null became a regular file).
    fd_ = ::open(path_.c_str(), O_WRONLY | O_CLOEXEC);
    if (fd_ < 0) throw Failure(Kind::Write, fmt::format("cannot write {}: {}", path_.string(), errno_text()));
    return;
  }
  // Through a symbolic link, the file it points to is replaced, not the link.
  std::error_code ec;
  if (std::filesystem::is_symlink(path_, ec)) {
    auto resolved = std::filesystem::weakly_canonical(path_, ec);
    if (!ec) target_ = resolved;
  }
  temp_ = temp_beside(target_);
  fd_ = ::open(temp_.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, static_cast<mode_t>(mode));
  if (fd_ < 0) throw Failure(Kind::Write, fmt::format("cannot write {}: {}", path_.string(), errno_text()));
  ::fchmod(fd_, static_cast<mode_t>(mode));  // the umask must not loosen nor tighten what we asked for
}

AtomicFile::~AtomicFile() {
  if (fd_ >= 0) {
    ::close(fd_);
    if (!temp_.empty()) ::unlink(temp_.c_str());
  }
}

void AtomicFile::write(std::string_view data) { write_all(fd_, data, path_); }

void AtomicFile::commit(bool exclusive, bool durable) {
  if (temp_.empty()) {  // written in place (a device or a pipe): nothing to rename, nothing to sync
    int rc = ::close(fd_);
    fd_ = -1;
    if (rc != 0) throw Failure(Kind::Write, fmt::format("writing {}: {}", path_.string(), errno_text()));
    if (exclusive)
      throw Failure(Kind::Exists, fmt::format("{} already exists; refusing to overwrite it", path_.string()));
    return;
  }
  if ((durable && ::fsync(fd_) != 0) || ::close(fd_) != 0) {
    fd_ = -1;
    ::unlink(temp_.c_str());
    throw Failure(Kind::Write, fmt::format("writing {}: {}", path_.string(), errno_text()));
  }
  fd_ = -1;
  // link() refuses an existing target, where rename() would replace it.
  int rc = exclusive ? ::link(temp_.c_str(), target_.c_str()) : ::rename(temp_.c_str(), target_.c_str());
  if (rc != 0) {
    int err = errno;
    ::unlink(temp_.c_str());
    if (err == EEXIST)
      throw Failure(Kind::Exists, fmt::format("{} already exists; refusing to overwrite it", path_.string()));
    throw Failure(Kind::Write, fmt::format("cannot write {}: {}", path_.string(), std::strerror(err)));
  }
  if (exclusive) ::unlink(temp_.c_str());
}

}  // namespace tlslab
