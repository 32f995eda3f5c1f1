#include "pki/trust.hpp"

#include <fcntl.h>
#include <fmt/format.h>
#include <spawn.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <cstdlib>
#include <cstring>

#include "base/files.hpp"
#include "base/text.hpp"
#include "ossl/pem.hpp"
#include "pki/cert_info.hpp"

extern char** environ;

namespace tlslab::pki {
namespace fs = std::filesystem;
namespace {

std::string slug(std::string_view text) {
  std::string out;
  for (unsigned char c : ascii_lower(text)) {
    if (std::isalnum(c))
      out += static_cast<char>(c);
    else if (!out.empty() && out.back() != '-')
      out += '-';
  }
  while (!out.empty() && out.back() == '-') out.pop_back();
  return out.empty() ? "ca" : out.substr(0, 48);
}

bool on_path(const std::string& program) {
  if (program.find('/') != std::string::npos) return ::access(program.c_str(), X_OK) == 0;
  const char* path = std::getenv("PATH");
  std::string_view dirs = path ? path : "/usr/bin:/bin";
  while (!dirs.empty()) {
    auto colon = dirs.find(':');
    auto dir = dirs.substr(0, colon);
    if (::access((fs::path(dir) / program).c_str(), X_OK) == 0) return true;
    if (colon == std::string_view::npos) break;
    dirs.remove_prefix(colon + 1);
  }
  return false;
}

std::string package_of(const std::string& program) {
  if (program == "certutil") return "libnss3-tools";
  if (program == "update-ca-certificates") return "ca-certificates";
  return "coreutils";
}

// run returns the exit status of argv and what it printed.
int run(const std::vector<std::string>& argv, std::string& output) {
  int fds[2];
  if (::pipe2(fds, O_CLOEXEC) != 0) throw Failure(Kind::Generic, fmt::format("pipe: {}", std::strerror(errno)));
  posix_spawn_file_actions_t actions;
  posix_spawn_file_actions_init(&actions);
  posix_spawn_file_actions_adddup2(&actions, fds[1], 1);
  posix_spawn_file_actions_adddup2(&actions, fds[1], 2);
  posix_spawn_file_actions_addopen(&actions, 0, "/dev/null", O_RDONLY, 0);
  std::vector<char*> args;
  for (const auto& a : argv) args.push_back(const_cast<char*>(a.c_str()));
  args.push_back(nullptr);
  pid_t pid = 0;
  int rc = ::posix_spawnp(&pid, args[0], &actions, nullptr, args.data(), environ);
  posix_spawn_file_actions_destroy(&actions);
  ::close(fds[1]);
  if (rc != 0) {
    ::close(fds[0]);
    throw Failure(Kind::Generic, fmt::format("cannot run {}: {}", argv[0], std::strerror(rc)));
  }
  char buf[4096];
  for (;;) {
    auto n = ::read(fds[0], buf, sizeof buf);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) break;
    output.append(buf, static_cast<size_t>(n));
  }
  ::close(fds[0]);
  int status = 0;
  while (::waitpid(pid, &status, 0) < 0 && errno == EINTR) {
  }
  return WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
}

void plan_system(const TrustPlan& plan, const std::string& stem, const TrustOptions& options,
                 std::vector<TrustStep>& steps) {
  const std::string store = "Debian system store";
  auto dest = (options.local_ca_dir / (stem + ".crt")).string();
  if (options.remove) {
    steps.push_back({store, "remove the root from the local certificates", {"rm", "-f", dest}, true});
    steps.push_back({store, "rebuild /etc/ssl/certs without it", {"update-ca-certificates", "--fresh"}, true});
  } else {
    steps.push_back({store,
                     "copy the root where update-ca-certificates looks (PEM, .crt)",
                     {"install", "-m", "0644", plan.root_file, dest},
                     true});
    steps.push_back({store, "add it to /etc/ssl/certs and ca-certificates.crt", {"update-ca-certificates"}, true});
  }
}

void plan_nss(const TrustPlan& plan, const fs::path& db, const std::string& stem, const TrustOptions& options,
              std::vector<TrustStep>& steps) {
  std::error_code ec;
  auto where = "sql:" + db.string();
  auto store = "NSS database " + where;
  bool exists = fs::exists(db / "cert9.db", ec);
  if (options.remove) {
    if (exists) steps.push_back({store, "delete the root", {"certutil", "-D", "-d", where, "-n", stem}});
    return;
  }
  if (!exists) {
    steps.push_back({store, "create the folder", {"mkdir", "-p", db.string()}});
    steps.push_back({store, "create an empty database", {"certutil", "-N", "-d", where, "--empty-password"}});
  }
  // Trust flags "C,,": a CA trusted to issue server certificates (TLS), not email or code signing.
  steps.push_back({store,
                   "add the root as a CA trusted for TLS servers",
                   {"certutil", "-A", "-d", where, "-n", stem, "-t", "C,,", "-i", plan.root_file}});
}

}  // namespace

fs::path root_file(const Ca& ca) { return ca.dir() / (ca.is_intermediate() ? kCaRootFile : kCaCertFile); }

std::string ca_file_stem(X509* cert) {
  auto info = describe(cert);
  std::string hex;
  for (char c : ascii_lower(info.sha256_fingerprint))
    if (c != ':') hex += c;
  return fmt::format("{}-{}", slug(info.common_name.empty() ? info.subject : info.common_name), hex.substr(0, 8));
}

TrustPlan plan_trust(const Ca& ca, const TrustOptions& options) {
  TrustPlan plan;
  auto info = describe(ca.root());
  plan.ca_name = info.common_name.empty() ? info.subject : info.common_name;
  plan.fingerprint = info.sha256_fingerprint;
  plan.root_file = root_file(ca).string();
  auto stem = "tlslab-" + ca_file_stem(ca.root());
  if (ca.is_intermediate())
    plan.notes.push_back(fmt::format("this CA is an intermediate; its root \"{}\" is what gets trusted", plan.ca_name));
  if (options.system)
    plan_system(plan, stem, options, plan.steps);
  else
    plan.notes.push_back("the system store is left alone (--no-system)");
  auto dbs = options.nss;
  if (dbs.empty()) {
    std::error_code ec;
    const char* home = std::getenv("HOME");
    auto chromium = home ? fs::path(home) / ".pki" / "nssdb" : fs::path();
    if (!chromium.empty() && fs::exists(chromium / "cert9.db", ec))
      dbs.push_back(chromium);
    else
      plan.notes.push_back(
          "no NSS database given: Chromium reads ~/.pki/nssdb and Firefox its profile folder; "
          "name them with --nss DIR");
  }
  for (const auto& db : dbs) plan_nss(plan, db, stem, options, plan.steps);
  return plan;
}

std::vector<StepOutcome> run_plan(const TrustPlan& plan) {
  for (const auto& step : plan.steps) {
    if (!on_path(step.argv[0]))
      throw Failure(Kind::Generic, fmt::format("{} is not installed (apt-get install {}); nothing was changed",
                                               step.argv[0], package_of(step.argv[0])));
    if (step.needs_root && ::geteuid() != 0)
      throw Failure(Kind::Generic, fmt::format("changing the {} needs root: run with sudo, or leave it out with "
                                               "--no-system; nothing was changed",
                                               step.store));
  }
  std::vector<StepOutcome> done;
  for (const auto& step : plan.steps) {
    std::string output;
    int status = run(step.argv, output);
    while (!output.empty() && output.back() == '\n') output.pop_back();
    if (status != 0)
      throw Failure(
          Kind::Generic,
          fmt::format(
              "{} failed (exit {}){}{}{}", shell_quote(step.argv), status, output.empty() ? "" : ": ", output,
              done.empty() ? "; nothing was changed" : fmt::format("; {} earlier step(s) were done", done.size())));
    done.push_back({&step, std::move(output)});
  }
  return done;
}

std::string shell_quote(const std::vector<std::string>& argv) {
  std::string out;
  for (const auto& arg : argv) {
    if (!out.empty()) out += ' ';
    bool plain = !arg.empty() && arg.find_first_not_of(
                                     "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ"
                                     "0123456789-_./=:,+@%") == std::string::npos;
    if (plain) {
      out += arg;
      continue;
    }
    out += '\'';
    for (char c : arg) out += c == '\'' ? std::string("'\\''") : std::string(1, c);
    out += '\'';
  }
  return out;
}

ExportReport export_capath(const Ca& ca, const fs::path& dir) {
  std::error_code ec;
  if (!fs::is_directory(dir, ec)) {
    fs::create_directories(dir, ec);
    if (ec) throw Failure(Kind::Write, fmt::format("cannot create {}: {}", dir.string(), ec.message()));
  }
  ExportReport report;
  std::vector<X509*> certs{ca.cert()};
  for (const auto& issuer : ca.issuers()) certs.push_back(issuer.get());
  for (X509* cert : certs) {
    auto path = dir / (ca_file_stem(cert) + ".pem");
    write_file_atomic(path, ossl::to_pem(cert));
    report.copied.push_back(path);
  }
  report.rehash = rehash(dir);
  return report;
}

}  // namespace tlslab::pki
