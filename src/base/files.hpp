// File helpers that never leave a half-written file behind.
#pragma once

#include <filesystem>
#include <string>
#include <string_view>

#include "base/failure.hpp"

namespace tlslab {

// read_file returns the whole content of path. `what` names the file's role for the error
// message ("CA file", "certificate"); failures throw Failure{kind}.
[[nodiscard]] std::string read_file(const std::filesystem::path& path, std::string_view what, Kind kind);

// write_file_atomic writes data to a temporary file beside path, created with `mode` from the
// start (0600 for keys), then renames it over path. On failure nothing is left behind and a
// Failure{Kind::Write} naming path is thrown. With exclusive, an existing path is an error
// (Kind::Exists) instead of being replaced. With durable, the data reaches the disk (fsync) before
// the rename, so even after a crash path holds the old content or the new, never an empty file; a
// cache that checks its files when reading them can do without that wait (milliseconds).
void write_file_atomic(const std::filesystem::path& path, std::string_view data, unsigned mode = 0644,
                       bool exclusive = false, bool durable = true);

// AtomicFile streams data to a temporary file and only makes it visible as path on commit();
// destroyed without commit(), it removes the temporary file, so a failed download leaves nothing
// pretending to be complete. A path that is a symbolic link has the file it points to replaced;
// a path that exists and is not a regular file (/dev/null, a FIFO) is written directly.
class AtomicFile {
 public:
  AtomicFile(std::filesystem::path path, unsigned mode = 0644);
  AtomicFile(const AtomicFile&) = delete;
  AtomicFile& operator=(const AtomicFile&) = delete;
  ~AtomicFile();

  void write(std::string_view data);
  // commit makes the file visible as path, replacing what was there; with exclusive, an existing
  // path is an error (Kind::Exists) and is left untouched. durable as for write_file_atomic.
  void commit(bool exclusive = false, bool durable = true);
  [[nodiscard]] const std::filesystem::path& path() const noexcept { return path_; }

 private:
  std::filesystem::path path_;
  std::filesystem::path target_;  // path_, or the file a symbolic link path_ points to
  std::filesystem::path temp_;    // empty when writing directly to a device or pipe
  int fd_ = -1;
};

}  // namespace tlslab
