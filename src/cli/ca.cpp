// tlslab ca — be a certificate authority: init, issue, sign, rehash, export, trust.
//
// Each subcommand parses its options into a plain struct, calls pki/, and renders what it got.
#include <fmt/format.h>
#include <unistd.h>

#include <chrono>
#include <cstdio>
#include <memory>

#include "base/files.hpp"
#include "cli/commands.hpp"
#include "pki/ca.hpp"
#include "pki/cert_info.hpp"
#include "pki/csr.hpp"
#include "pki/leaf_files.hpp"
#include "pki/rehash.hpp"
#include "pki/trust.hpp"
#include "report/text.hpp"

namespace tlslab::cli {
namespace {

namespace fs = std::filesystem;

using report::Text;
using report::Tone;

Text text() { return Text(report::use_color(1)); }

void print(const Text& t) { fmt::print("{}", t.str()); }

void warn(const std::vector<std::string>& warnings) {
  std::fflush(stdout);
  Text t(report::use_color(2));
  for (const auto& w : warnings) fmt::print(stderr, "{} {}\n", t.paint("warning:", Tone::Warn), w);
}

fs::path ca_dir(const std::string& dir) { return dir.empty() ? pki::default_ca_dir() : fs::path(dir); }

// dir_flag returns " --dir DIR" when the user named the folder, so printed next steps work as typed.
std::string dir_flag(const std::string& dir) { return dir.empty() ? std::string() : " --dir " + dir; }

void add_dir_option(CLI::App* cmd, std::string& dir) {
  cmd->add_option("--dir", dir, "CA folder (default: $TLSLAB_CA, else $XDG_DATA_HOME/tlslab/ca)");
}

// --key-type was --key, which elsewhere (serve, connect) names a key file; the old spelling stays,
// hidden, for scripts.
void add_key_option(CLI::App* cmd, std::string& key) {
  auto* type = cmd->add_option("--key-type", key, "the key: ec-p256, ec-p384, rsa-2048, rsa-3072, rsa-4096, ed25519")
                   ->option_text("KIND")
                   ->capture_default_str();
  cmd->add_option("--key", key, "old spelling of --key-type")->option_text("KIND")->group("")->excludes(type);
}

// The options issue and sign share: what the leaf allows and where it goes.
struct LeafCliOptions {
  bool client = false;
  bool force = false;
  int days = pki::kDefaultLeafDays;
  std::string out;
  std::string dir;
};

void add_leaf_options(CLI::App* cmd, LeafCliOptions& o) {
  cmd->add_flag("--client", o.client, "also allow client authentication (clientAuth)");
  cmd->add_flag("--force", o.force,
                "issue names outside the CA's --permit-dns constraints too (every client will reject them)");
  cmd->add_option("--days", o.days, "validity in days (browsers cap leaves at 398)")->capture_default_str();
  cmd->add_option("--out", o.out, "output prefix, or a folder (default: named after the names, as mkcert does)");
  add_dir_option(cmd, o.dir);
}

// subcommand adds a subcommand whose action runs run(*options) once parsing succeeded.
template <class Options>
CLI::App* subcommand(CLI::App& parent, const char* name, const char* help, std::shared_ptr<Options> options,
                     int (*run)(const Options&)) {
  auto* cmd = parent.add_subcommand(name, help);
  cmd->callback([options, run] { select([options, run] { return run(*options); }); });
  return cmd;
}

std::string shown(const fs::path& path) {
  return path.has_parent_path() || path.is_absolute() ? path.string() : "./" + path.string();
}

std::string until(std::int64_t not_after) {
  return fmt::format("{} (in {} days)", pki::format_time(not_after), pki::days_between(pki::now_epoch(), not_after));
}

void add_names(Text& t, const std::vector<pki::Name>& names, std::string_view from = {}) {
  bool first = true;
  for (const auto& name : names) {
    auto value = name.idna() ? fmt::format("{} ({})", name.unicode, name.value) : name.value;
    auto suffix = first && !from.empty() ? fmt::format("   (from {})", from) : std::string();
    t.row(first ? "Names" : "", fmt::format("{:<10}{}{}", pki::kind_label(name.kind), value, suffix));
    first = false;
  }
}

void add_files(Text& t, const pki::LeafPaths& paths) {
  t.row("Certificate", shown(paths.cert), Tone::Strong);
  if (!paths.key.empty()) t.row("Key", shown(paths.key) + " (mode 0600)", Tone::Strong);
  if (!paths.chain.empty())
    t.row("Chain", shown(paths.chain) + " (certificate + intermediate: what a server sends)", Tone::Strong);
}

// ---- ca init ----

struct InitOptions {
  std::string dir;
  std::string name;
  std::string key = "ec-p256";
  int days = pki::kDefaultCaDays;
  bool intermediate = false;
  std::string parent;
  std::vector<std::string> permit_dns;
};

int run_init(const InitOptions& o) {
  auto kind = pki::key_kind_from_name(o.key);
  std::vector<std::string> permitted;
  for (const auto& p : o.permit_dns) permitted.push_back(pki::normalize_dns_constraint(p));
  auto dir = ca_dir(o.dir);
  std::error_code ec;
  if (fs::exists(dir / pki::kCaCertFile, ec) || fs::exists(dir / pki::kCaKeyFile, ec))
    throw Failure(Kind::Exists, fmt::format("a CA already exists in {}; refusing to overwrite it (remove it, or "
                                            "choose another --dir)",
                                            dir.string()));
  std::optional<pki::Ca> parent;
  if (o.intermediate) parent = pki::Ca::load(o.parent);
  auto ca = pki::Ca::create(
      {.name = o.name, .key = kind, .days = o.days, .permit_dns = permitted, .parent = parent ? &*parent : nullptr});
  ca.save(dir);
  auto info = pki::describe(ca.cert());
  auto t = text();
  t.heading(fmt::format("Created {} in {}", o.intermediate ? "an intermediate CA" : "a root CA", dir.string()));
  t.row("Name", ca.name(), Tone::Strong);
  if (parent) t.row("Signed by", fmt::format("{} ({})", parent->name(), parent->dir().string()));
  t.row("Key", fmt::format("{}, {} (mode 0600)", pki::key_description(ca.key()), pki::kCaKeyFile));
  t.row("Certificate", pki::kCaCertFile);
  if (parent)
    t.row("Chain", fmt::format("{} (its issuers), {} (the root to trust)", pki::kCaChainFile, pki::kCaRootFile));
  t.row("Valid until", until(info.not_after));
  if (!permitted.empty())
    t.row("May issue for", fmt::format("{} and names under them; no IP addresses", fmt::join(permitted, ", ")));
  t.row("SHA-256", info.sha256_fingerprint, Tone::Dim);
  auto flag = dir_flag(o.dir);
  t.heading("Next");
  auto issue =
      fmt::format("tlslab ca issue{} {}", flag, permitted.empty() ? "www.example.test" : "www." + permitted[0]);
  auto trust = fmt::format("tlslab ca trust{}", flag);
  auto width = std::max(issue.size(), trust.size()) + 3;
  t.line(fmt::format("{:<{}}issue a server certificate", issue, width));
  t.line(fmt::format("{:<{}}see how to trust this CA (--apply does it)", trust, width));
  print(t);
  warn(ca.warnings());
  return 0;
}

void setup_init(CLI::App& ca) {
  auto o = std::make_shared<InitOptions>();
  auto* cmd =
      subcommand(ca, "init", "Create a CA: a self-signed root, or an intermediate signed by another", o, run_init);
  add_dir_option(cmd, o->dir);
  cmd->add_option("--name", o->name, "the CA's common name (default: \"tlslab development CA (user@host)\")");
  add_key_option(cmd, o->key);
  cmd->add_option("--days", o->days, "validity in days")->capture_default_str();
  auto* parent = cmd->add_option("--parent", o->parent, "folder of the CA that signs the intermediate");
  cmd->add_flag("--intermediate", o->intermediate, "make an intermediate CA (pathLen 0) signed by --parent")
      ->needs(parent);
  parent->needs("--intermediate");
  cmd->add_option("--permit-dns", o->permit_dns,
                  "only allow names under this DNS SUFFIX (nameConstraints; repeatable), e.g. .test")
      ->take_last()
      ->multi_option_policy(CLI::MultiOptionPolicy::TakeAll);
}

// ---- ca issue ----

struct IssueOptions {
  std::vector<std::string> names;
  std::string key = "ec-p256";
  LeafCliOptions leaf;
  int count = 0;  // hidden: issue this many in memory and report the time (bench/ca)
};

int run_count(const pki::Ca& ca, const pki::LeafRequest& request, int count) {
  auto start = std::chrono::steady_clock::now();
  size_t bytes = 0;
  for (int i = 0; i < count; ++i) {
    auto issued = ca.issue(request);
    bytes += issued.cert_pem().size() + issued.key_pem().size();  // what writing them would encode
  }
  auto us = std::chrono::duration<double, std::micro>(std::chrono::steady_clock::now() - start).count();
  fmt::print("issued {} {} certificates in memory in {:.1f} ms: {:.1f} µs each ({} bytes of PEM)\n", count,
             pki::key_kind_name(request.key), us / 1000, us / count, bytes);
  return 0;
}

int run_issue(const IssueOptions& o) {
  auto kind = pki::key_kind_from_name(o.key);
  auto names = pki::parse_names(o.names);
  auto ca = pki::Ca::load(ca_dir(o.leaf.dir));
  warn(ca.warnings());
  pki::LeafRequest request{.names = names, .client = o.leaf.client, .days = o.leaf.days, .key = kind};
  if (!o.leaf.force) ca.require_permitted(names);
  if (o.count > 0) return run_count(ca, request, o.count);
  auto paths = pki::leaf_paths(o.leaf.out, names, o.leaf.client, true, ca.is_intermediate());
  auto issued = ca.issue(request);
  pki::write_leaf(issued, paths);
  auto t = text();
  t.heading(fmt::format("Issued a {} certificate signed by \"{}\"", o.leaf.client ? "client" : "server", ca.name()));
  add_names(t, names);
  add_files(t, paths);
  t.row("Expires", until(pki::describe(issued.cert.get()).not_after));
  print(t);
  warn(issued.warnings);
  return 0;
}

void setup_issue(CLI::App& ca) {
  auto o = std::make_shared<IssueOptions>();
  auto* cmd = subcommand(ca, "issue", "Issue a certificate and key for one or more names (DNS, *.wildcard, IP, email)",
                         o, run_issue);
  cmd->add_option("names", o->names, "names to certify; the first becomes the common name and the file name")
      ->required();
  add_key_option(cmd, o->key);
  add_leaf_options(cmd, o->leaf);
  cmd->add_option("--count", o->count, "benchmark: issue N certificates in memory, write nothing")
      ->group("")
      ->check(CLI::PositiveNumber);
}

// ---- ca sign ----

struct SignCliOptions {
  std::string csr;
  std::vector<std::string> names;
  bool copy_sans = false;
  LeafCliOptions leaf;
};

int run_sign(const SignCliOptions& o) {
  auto data = o.csr == "-" ? read_file("/dev/stdin", "CSR", Kind::Input) : read_file(o.csr, "CSR", Kind::Input);
  auto source = o.csr == "-" ? std::string("standard input") : o.csr;
  auto req = pki::read_csr(data, source);
  auto ca = pki::Ca::load(ca_dir(o.leaf.dir));
  warn(ca.warnings());
  auto result = pki::sign_csr(ca, req.get(), source,
                              {.names = o.names,
                               .copy_sans = o.copy_sans,
                               .client = o.leaf.client,
                               .days = o.leaf.days,
                               .force = o.leaf.force});
  auto paths = pki::leaf_paths(o.leaf.out, result.names, o.leaf.client, false, ca.is_intermediate());
  pki::write_leaf(result.issued, paths);
  auto info = pki::describe(result.issued.cert.get());
  auto t = text();
  t.heading(fmt::format("Signed {} with \"{}\"", source, ca.name()));
  t.row("Subject", info.subject.empty() ? "(empty)" : info.subject);
  t.row("Public key", pki::key_description(X509_REQ_get0_pubkey(req.get())) + " (the request's own)");
  add_names(t, result.names, result.names_from);
  add_files(t, paths);
  t.row("Expires", until(info.not_after));
  print(t);
  warn(result.issued.warnings);
  return 0;
}

void setup_sign(CLI::App& ca) {
  auto o = std::make_shared<SignCliOptions>();
  auto* cmd = subcommand(ca, "sign",
                         "Sign a certificate signing request (from openssl req); its extensions are ignored unless "
                         "--copy-sans",
                         o, run_sign);
  cmd->add_option("csr", o->csr, "the request, PEM or DER; - reads standard input")->required();
  auto* names = cmd->add_option("names", o->names, "names to certify (default: the request's common name)");
  cmd->add_flag("--copy-sans", o->copy_sans, "certify the names in the request's subjectAltName instead")
      ->excludes(names);
  add_leaf_options(cmd, o->leaf);
}

// ---- ca rehash / export ----

void add_rehash(Text& t, const pki::RehashReport& r) {
  t.heading(fmt::format("Rehashed {}: {} link{}", r.dir.string(), r.links.size(), r.links.size() == 1 ? "" : "s"));
  size_t width = 0;
  for (const auto& l : r.links) width = std::max(width, l.target.size());
  for (const auto& l : r.links) {
    auto action = l.action == pki::LinkAction::Kept      ? "kept"
                  : l.action == pki::LinkAction::Created ? "linked"
                                                         : "relinked";
    t.line(fmt::format("{:<9}{} -> {:<{}}  {}", action, l.link, l.target, width, l.subject),
           l.action == pki::LinkAction::Kept ? Tone::Plain : Tone::Good);
  }
  for (const auto& rm : r.removed)
    t.line(fmt::format("{:<9}{} -> {}  ({})", "removed", rm.link, rm.target, rm.reason), Tone::Warn);
  for (const auto& s : r.skipped) t.line(fmt::format("{:<9}{}: {}", "skipped", s.file, s.reason), Tone::Dim);
}

int run_rehash(const std::string& dir) {
  auto t = text();
  add_rehash(t, pki::rehash(dir));
  print(t);
  return 0;
}

void setup_rehash(CLI::App& ca) {
  auto dir = std::make_shared<std::string>();
  auto* cmd = subcommand(ca, "rehash", "Make the HASH.N links OpenSSL's -CApath needs (as openssl rehash does)", dir,
                         run_rehash);
  cmd->add_option("dir", *dir, "the directory of PEM certificates and CRLs")->required();
}

struct ExportOptions {
  std::string capath;
  std::string dir;
};

int run_export(const ExportOptions& o) {
  auto ca = pki::Ca::load(ca_dir(o.dir));
  auto report = pki::export_capath(ca, o.capath);
  auto t = text();
  t.heading(fmt::format("Copied \"{}\"{} to {}", ca.name(), ca.is_intermediate() ? " and its issuers" : "", o.capath));
  for (const auto& file : report.copied) t.line(file.filename().string());
  add_rehash(t, report.rehash);
  t.heading("Use it with");
  t.line(fmt::format("openssl verify -CApath {} CERT", o.capath));
  t.line(fmt::format("curl --capath {} URL", o.capath));
  print(t);
  return 0;
}

void setup_export(CLI::App& ca) {
  auto o = std::make_shared<ExportOptions>();
  auto* cmd = subcommand(ca, "export", "Copy the CA into a -CApath directory and rehash it", o, run_export);
  cmd->add_option("--capath", o->capath, "DIR to copy the CA into (created if needed)")->required();
  add_dir_option(cmd, o->dir);
}

// ---- ca trust ----

struct TrustCliOptions {
  std::vector<std::string> nss;
  bool system = true;
  bool apply = false;
  bool remove = false;
  std::string dir;
};

int run_trust(const TrustCliOptions& o) {
  auto ca = pki::Ca::load(ca_dir(o.dir));
  pki::TrustOptions options{.system = o.system, .remove = o.remove};
  for (const auto& db : o.nss) options.nss.emplace_back(db);
  auto plan = pki::plan_trust(ca, options);
  auto t = text();
  t.heading(fmt::format("{} \"{}\"", o.remove ? "To stop trusting" : "To trust", plan.ca_name));
  t.row("SHA-256", plan.fingerprint, Tone::Dim);
  t.row("Root file", plan.root_file);
  std::vector<pki::StepOutcome> done;
  if (o.apply) {
    print(t);  // what is about to be done, before any of it runs
    fmt::print("\n");
    t = text();
    done = pki::run_plan(plan);
  }
  std::string store;
  for (size_t i = 0; i < plan.steps.size(); ++i) {
    const auto& step = plan.steps[i];
    if (step.store != store) {
      store = step.store;
      t.heading(store + (step.needs_root && !o.apply ? " (as root)" : ""));
    }
    t.line("# " + step.why, Tone::Dim);
    t.line((o.apply ? "done: " : "") + pki::shell_quote(step.argv), o.apply ? Tone::Good : Tone::Strong);
    if (i < done.size())
      for (std::string_view rest = done[i].output; !rest.empty();) {
        auto end = rest.find('\n');
        t.line(rest.substr(0, end), Tone::Dim, 3);
        rest = end == std::string_view::npos ? std::string_view() : rest.substr(end + 1);
      }
  }
  if (!plan.notes.empty()) t.heading("Notes");
  for (const auto& note : plan.notes) t.line(note, Tone::Dim);
  if (plan.steps.empty())
    t.heading("Nothing to do.");
  else if (o.apply)
    t.heading("Done. Restart browsers to pick up the change.");
  else
    t.heading("Nothing was changed: run again with --apply to do it.");
  print(t);
  return 0;
}

void setup_trust(CLI::App& ca) {
  auto o = std::make_shared<TrustCliOptions>();
  auto* cmd = subcommand(ca, "trust", "Show (and with --apply, run) what makes the system and browsers trust the CA", o,
                         run_trust);
  cmd->add_option("--nss", o->nss, "an NSS database folder (repeatable; default ~/.pki/nssdb, Chromium's, if present)")
      ->take_last()
      ->multi_option_policy(CLI::MultiOptionPolicy::TakeAll);
  cmd->add_flag("--system,!--no-system", o->system, "include the Debian system store (default: yes)");
  cmd->add_flag("--apply", o->apply, "run the commands (the system store needs root)");
  cmd->add_flag("--remove", o->remove, "undo: remove the CA from those stores");
  add_dir_option(cmd, o->dir);
}

}  // namespace

void setup_ca(CLI::App& app) {
  auto* ca = app.add_subcommand("ca", "Be a certificate authority: make a CA, issue and sign certificates, trust it");
  ca->require_subcommand(1);
  setup_init(*ca);
  setup_issue(*ca);
  setup_sign(*ca);
  setup_rehash(*ca);
  setup_export(*ca);
  setup_trust(*ca);
}

}  // namespace tlslab::cli
