#include "pki/leaf_files.hpp"

#include <fmt/format.h>

#include "base/file_set.hpp"

namespace tlslab::pki {
namespace fs = std::filesystem;

std::string leaf_file_stem(const std::vector<Name>& names, bool client) {
  std::string stem;
  for (char c : names.empty() ? std::string("cert") : names.front().value) {
    if (c == '*')
      stem += "_wildcard";
    else if (c == ':')
      stem += '_';
    else
      stem += c;
  }
  if (names.size() > 1) stem += fmt::format("+{}", names.size() - 1);
  if (client) stem += "-client";
  return stem;
}

LeafPaths leaf_paths(const std::string& out, const std::vector<Name>& names, bool client, bool with_key,
                     bool with_chain) {
  std::error_code ec;
  fs::path prefix;
  if (out.empty())
    prefix = leaf_file_stem(names, client);
  else if (out.back() == '/' || fs::is_directory(out, ec))
    prefix = fs::path(out) / leaf_file_stem(names, client);
  else
    prefix = out;
  auto with = [&](std::string_view suffix) { return fs::path(prefix.string() + std::string(suffix)); };
  return LeafPaths{.cert = with(".pem"),
                   .key = with_key ? with("-key.pem") : fs::path(),
                   .chain = with_chain ? with("-chain.pem") : fs::path()};
}

void write_leaf(const IssuedCert& issued, const LeafPaths& paths) {
  std::vector<OutputFile> files;
  // The key first: were it to fail, no certificate without its key is left.
  if (!paths.key.empty()) files.push_back({paths.key, issued.key_pem(), 0600});
  files.push_back({paths.cert, issued.cert_pem(), 0644});
  if (!paths.chain.empty()) files.push_back({paths.chain, issued.chain_pem(), 0644});
  write_files_atomic(files);
}

}  // namespace tlslab::pki
