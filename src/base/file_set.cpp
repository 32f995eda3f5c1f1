#include "base/file_set.hpp"

#include <fmt/format.h>
#include <unistd.h>

#include <memory>

#include "base/failure.hpp"
#include "base/files.hpp"

namespace tlslab {

void write_files_atomic(const std::vector<OutputFile>& files, bool exclusive) {
  std::error_code ec;
  if (exclusive)
    for (const auto& file : files)
      if (std::filesystem::exists(file.path, ec))
        throw Failure(Kind::Exists, fmt::format("{} already exists; refusing to overwrite it", file.path.string()));
  std::vector<std::unique_ptr<AtomicFile>> pending;
  for (const auto& file : files) {
    pending.push_back(std::make_unique<AtomicFile>(file.path, file.mode));
    pending.back()->write(file.data);
  }
  size_t committed = 0;
  try {
    for (; committed < pending.size(); ++committed) pending[committed]->commit(exclusive);
  } catch (...) {
    for (size_t i = 0; i < committed; ++i) ::unlink(files[i].path.c_str());
    throw;
  }
}

}  // namespace tlslab
