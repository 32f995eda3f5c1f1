// write_files_atomic — several files that belong together (a certificate and its key, a CA's
// files) written all or none.
#pragma once

#include <filesystem>
#include <string>
#include <vector>

namespace tlslab {

struct OutputFile {
  std::filesystem::path path;
  std::string data;
  unsigned mode = 0644;  // applied when the temporary file is created: 0600 keys are never readable by others
};

// write_files_atomic writes every file to a temporary file beside its path and syncs it; only when
// all are written does it rename them into place, in order. A failure before that (unwritable
// directory, full disk) leaves nothing behind; a failed rename removes the files already put in
// place by this call. Errors are Failure{Kind::Write} naming the path; with exclusive, an existing
// path is Failure{Kind::Exists} and nothing is written.
void write_files_atomic(const std::vector<OutputFile>& files, bool exclusive = false);

}  // namespace tlslab
