// proxy::HarWriter — the --har file, kept complete on disk while the proxy runs.
//
// The constructor checks the path before the proxy listens, and writes an empty HAR there, so a
// path that cannot be written stops the proxy at once (Failure{Write}, exit 23, naming the file
// and why), not at exit with every flow lost. An existing file is replaced only if it is a HAR
// (log.version and log.entries), or with force (otherwise Failure{Exists}, exit 73).
//
// add() takes entries from any thread. flush_if_due(now) — called about once a second, with the
// time passed in — writes the whole document when entries came since the last write and a second
// has passed: to a temporary file beside the path, renamed over it (mode 0600), so the file is
// always a complete, valid HAR 1.2 of the flows finished up to about a second ago, and a kill -9
// loses at most that second. flush() writes at once (at exit, synced to the disk).
//
// Each entry is serialised once, when added; a write joins them into the envelope, one entry per
// line.
#pragma once

#include <chrono>
#include <cstddef>
#include <filesystem>
#include <mutex>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

namespace tlslab::proxy {

class HarWriter {
 public:
  using Clock = std::chrono::steady_clock;

  // path: the --har FILE; version: the creator's version; force: replace a file that is not a HAR.
  HarWriter(std::filesystem::path path, std::string version, bool force, Clock::time_point now,
            Clock::duration interval = std::chrono::seconds(1));
  HarWriter(const HarWriter&) = delete;
  HarWriter& operator=(const HarWriter&) = delete;

  // check throws the Failure the constructor would, without writing anything.
  static void check(const std::filesystem::path& path, bool force);

  void add(const nlohmann::json& entry);
  // flush_if_due writes when entries are waiting and interval has passed since the last write;
  // returns whether it wrote. Failure{Write} if the write fails (the file keeps its last content).
  bool flush_if_due(Clock::time_point now);
  // flush writes now if anything is waiting (durable: synced to the disk before the rename).
  void flush(bool durable = true);

  [[nodiscard]] std::size_t entries() const;
  [[nodiscard]] const std::filesystem::path& path() const { return path_; }

 private:
  void write(bool durable);

  std::filesystem::path path_;
  std::string version_;
  Clock::duration interval_;
  mutable std::mutex mutex_;  // entries_, dirty_
  std::vector<std::string> entries_;
  bool dirty_ = false;
  std::mutex write_mutex_;  // one write at a time; last_write_
  Clock::time_point last_write_;
};

}  // namespace tlslab::proxy
