#include "proxy/har_writer.hpp"

#include <fmt/format.h>
#include <unistd.h>

#include <string_view>
#include <system_error>

#include "base/failure.hpp"
#include "base/files.hpp"
#include "proxy/har.hpp"

namespace tlslab::proxy {
namespace fs = std::filesystem;

namespace {

Failure cannot(const fs::path& path, const std::string& why, Kind kind = Kind::Write) {
  return Failure(kind, fmt::format("--har {}: cannot write the HAR file there: {}", path.string(), why));
}

bool is_har(const std::string& text) {
  auto doc = nlohmann::json::parse(text, nullptr, false);
  return !doc.is_discarded() && doc.is_object() && doc.contains("log") && doc["log"].is_object() &&
         doc["log"].contains("version") && doc["log"].contains("entries") && doc["log"]["entries"].is_array();
}

}  // namespace

void HarWriter::check(const fs::path& path, bool force) {
  std::error_code ec;
  auto folder = path.parent_path().empty() ? fs::path(".") : path.parent_path();
  auto status = fs::status(path, ec);  // through a symbolic link: its file is what gets replaced
  if (fs::is_directory(status)) throw cannot(path, "it is a directory");
  if (fs::exists(status)) {
    if (!fs::is_regular_file(status))
      throw cannot(path, "it is not a regular file (the HAR is written again every second: give a file)");
    std::string text;
    try {
      text = read_file(path, "HAR file", Kind::Write);
    } catch (const Failure& e) {
      throw cannot(path, e.what());
    }
    if (!force && !is_har(text))
      throw Failure(Kind::Exists, fmt::format("--har {}: the file exists and is not a HAR; refusing to replace it "
                                              "(--force to replace it anyway)",
                                              path.string()));
    return;
  }
  auto folder_status = fs::status(folder, ec);
  if (!fs::exists(folder_status)) throw cannot(path, fmt::format("the folder {} does not exist", folder.string()));
  if (!fs::is_directory(folder_status)) throw cannot(path, fmt::format("{} is not a folder", folder.string()));
  if (::access(folder.c_str(), W_OK | X_OK) != 0)
    throw cannot(path, fmt::format("the folder {} is not writable", folder.string()));
}

HarWriter::HarWriter(fs::path path, std::string version, bool force, Clock::time_point now, Clock::duration interval)
    : path_(std::move(path)), version_(std::move(version)), interval_(interval), last_write_(now) {
  check(path_, force);
  try {
    write(false);  // the file exists from the start, a valid HAR with no entries
  } catch (const Failure& e) {
    throw cannot(path_, e.what());
  }
}

void HarWriter::add(const nlohmann::json& entry) {
  auto text = entry.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
  std::lock_guard lock(mutex_);
  entries_.push_back(std::move(text));
  dirty_ = true;
}

bool HarWriter::flush_if_due(Clock::time_point now) {
  {
    std::lock_guard lock(mutex_);
    if (!dirty_) return false;
  }
  {
    std::lock_guard lock(write_mutex_);
    if (now - last_write_ < interval_) return false;
    last_write_ = now;
  }
  write(false);  // a kill -9 leaves the page cache alone: no need to wait for the disk every second
  return true;
}

void HarWriter::flush(bool durable) {
  {
    std::lock_guard lock(mutex_);
    if (!dirty_) return;
  }
  write(durable);
}

std::size_t HarWriter::entries() const {
  std::lock_guard lock(mutex_);
  return entries_.size();
}

void HarWriter::write(bool durable) {
  std::lock_guard writing(write_mutex_);
  auto envelope = har_document({}, version_);
  envelope["log"]["entries"] = "@entries@";
  auto text = envelope.dump(2);
  auto at = text.find("\"@entries@\"");
  std::string doc = text.substr(0, at) + "[\n";
  {
    std::lock_guard lock(mutex_);
    for (std::size_t i = 0; i < entries_.size(); ++i) {
      doc += "      ";
      doc += entries_[i];
      doc += i + 1 < entries_.size() ? ",\n" : "\n";
    }
    dirty_ = false;
  }
  doc += "    ]" + text.substr(at + std::string_view("\"@entries@\"").size()) + "\n";
  try {
    write_file_atomic(path_, doc, 0600, false, durable);
  } catch (...) {
    std::lock_guard lock(mutex_);
    dirty_ = true;  // try again next time
    throw;
  }
}

}  // namespace tlslab::proxy
