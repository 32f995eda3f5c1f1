// pki trust — making a CA trusted by the system and by browsers, as a plan of commands.
//
// plan_trust() returns the commands (argv vectors) that add the CA's root to the Debian system
// store (update-ca-certificates) and to NSS databases (certutil; Chromium's ~/.pki/nssdb, Firefox
// profiles), or remove it. The CLI prints the plan; only with --apply does run_plan() carry it out.
// export_capath() copies the CA's certificates into a directory and rehashes it for -CApath.
#pragma once

#include <filesystem>
#include <string>
#include <vector>

#include "pki/ca.hpp"
#include "pki/rehash.hpp"

namespace tlslab::pki {

// Debian's update-ca-certificates picks up *.crt files (PEM) from here.
inline constexpr const char* kDebianLocalCaDir = "/usr/local/share/ca-certificates";

struct TrustStep {
  std::string store;              // "Debian system store", "NSS database sql:/home/u/.pki/nssdb"
  std::string why;                // "copy the root where update-ca-certificates looks"
  std::vector<std::string> argv;  // the command
  bool needs_root = false;
};

struct TrustPlan {
  std::string ca_name;      // the root's common name
  std::string fingerprint;  // its SHA-256, for people to compare with what a browser shows
  std::string root_file;    // the PEM file holding the root alone
  std::vector<TrustStep> steps;
  std::vector<std::string> notes;  // what was left out and why
};

struct TrustOptions {
  bool system = true;                      // the Debian system store
  std::vector<std::filesystem::path> nss;  // NSS database directories; empty: ~/.pki/nssdb if it exists
  bool remove = false;                     // undo instead
  std::filesystem::path local_ca_dir = kDebianLocalCaDir;
};

// root_file returns the file holding the CA's root alone: ca.pem for a root, root.pem beside the
// chain for an intermediate (written by Ca::save).
[[nodiscard]] std::filesystem::path root_file(const Ca& ca);

// ca_file_stem returns a name for cert in stores and folders: its common name made file-safe, then
// 8 hex digits of its SHA-256, so two CAs of the same name never collide
// ("tlslab-development-ca-root-lab-3f9a1b2c").
[[nodiscard]] std::string ca_file_stem(X509* cert);

// plan_trust returns the steps; nothing is run.
[[nodiscard]] TrustPlan plan_trust(const Ca& ca, const TrustOptions& options);

struct StepOutcome {
  const TrustStep* step;
  std::string output;  // what the command printed (stdout and stderr)
};

// run_plan runs each step in order and stops at the first failure, a Failure{Kind::Generic} naming
// the command, its exit status and its output. Before running anything it checks that the
// programs exist and, when a step needs it, that we are root.
std::vector<StepOutcome> run_plan(const TrustPlan& plan);

// shell_quote returns argv as one line a shell would split back into argv.
[[nodiscard]] std::string shell_quote(const std::vector<std::string>& argv);

struct ExportReport {
  std::vector<std::filesystem::path> copied;  // the CA's certificates, one per file
  RehashReport rehash;
};

// export_capath copies the CA's certificate and its issuers into dir (created if needed), one PEM
// file each, then rehashes dir.
[[nodiscard]] ExportReport export_capath(const Ca& ca, const std::filesystem::path& dir);

}  // namespace tlslab::pki
