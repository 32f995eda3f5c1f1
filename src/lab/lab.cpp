#include "lab/lab.hpp"

#include <fmt/format.h>
#include <unistd.h>

#include <array>
#include <filesystem>
#include <iostream>
#include <nlohmann/json.hpp>
#include <optional>
#include <regex>

#include "base/failure.hpp"
#include "base/files.hpp"
#include "lab/process.hpp"
#include "report/text.hpp"

namespace tlslab::lab {
namespace fs = std::filesystem;
using namespace std::chrono_literals;
using report::Tone;

namespace {

constexpr const char* kSecret = "correct-horse-battery-staple";

std::uint32_t crc32(std::string_view data, std::uint32_t crc = 0) {
  crc = ~crc;
  for (unsigned char c : data) {
    crc ^= c;
    for (int k = 0; k < 8; ++k) crc = crc & 1 ? (crc >> 1) ^ 0xEDB88320u : crc >> 1;
  }
  return ~crc;
}

void put32(std::string& out, std::uint32_t v) {
  for (int shift = 24; shift >= 0; shift -= 8) out += static_cast<char>(v >> shift & 0xff);
}

// lab_png draws a 64x64 gradient as a PNG (stored deflate blocks: no compression library needed).
// Full of zero bytes, it shows whether a download is binary-safe.
std::string lab_png() {
  constexpr int size = 64;
  std::string raw;
  for (int y = 0; y < size; ++y) {
    raw += '\0';  // filter: none
    for (int x = 0; x < size; ++x) {
      raw += static_cast<char>(x * 4);
      raw += static_cast<char>(y * 4);
      raw += static_cast<char>(x == y ? 255 : 0);
    }
  }
  std::string z = "\x78\x01";
  z += '\x01';  // final stored block
  auto len = static_cast<std::uint16_t>(raw.size());
  z += static_cast<char>(len & 0xff);
  z += static_cast<char>(len >> 8);
  z += static_cast<char>(~len & 0xff);
  z += static_cast<char>((~len >> 8) & 0xff);
  z += raw;
  std::uint32_t a = 1, b = 0;
  for (unsigned char c : raw) a = (a + c) % 65521, b = (b + a) % 65521;
  put32(z, b << 16 | a);
  auto chunk = [](const std::string& type, const std::string& data) {
    std::string c;
    put32(c, static_cast<std::uint32_t>(data.size()));
    c += type + data;
    put32(c, crc32(type + data));
    return c;
  };
  std::string ihdr;
  put32(ihdr, size);
  put32(ihdr, size);
  ihdr += std::string("\x08\x02\x00\x00\x00", 5);  // 8-bit RGB
  return std::string("\x89PNG\r\n\x1a\n", 8) + chunk("IHDR", ihdr) + chunk("IDAT", z) + chunk("IEND", "");
}

class Lab {
 public:
  Lab(const LabOptions& o, const std::function<void(std::string_view)>& print)
      : o_(o), print_(print), paint_(o.color), self_(self_path()) {}

  LabReport run() {
    bool temporary = o_.dir.empty();
    dir_ = temporary ? make_temp_dir() : prepare_dir(o_.dir);
    // A temporary folder holds the lab CA's key: it goes when the lab ends, however it ends.
    std::optional<Janitor> janitor;
    if (temporary && !o_.keep) janitor.emplace(dir_.string());
    Interruption interruption(fmt::format("tlslab lab: interrupted; its servers are stopped{}",
                                          janitor ? " and " + p(dir_) + " removed" : "; " + p(dir_) + " is kept"));
    report_.dir = dir_.string();
    if (setup()) {
      if (want(Task::T1a)) task_1a();
      if (want(Task::T1b)) task_1b();
      if (want(Task::T1c)) task_1c();
      if (want(Task::T1d)) task_1d();
      if (want(Task::T2a) || want(Task::T2b) || want(Task::T2c)) task_2();
      if (want(Task::T3)) task_3();
    }
    summary();
    if (o_.keep)
      keep();
    else
      stop_all();
    if (janitor) janitor->finish();
    return report_;
  }

 private:
  bool want(Task task) const { return !o_.only || *o_.only == task; }

  static fs::path make_temp_dir() {
    std::string tmpl = (fs::temp_directory_path() / "tlslab-lab-XXXXXX").string();
    if (!::mkdtemp(tmpl.data())) throw Failure(Kind::Write, "cannot make a temporary folder for the lab");
    return tmpl;
  }

  // prepare_dir makes the --dir folder if needed; Failure when it is a file or cannot be made.
  static fs::path prepare_dir(const std::string& dir) {
    std::error_code ec;
    auto path = fs::absolute(dir, ec);
    if (ec) throw Failure(Kind::Usage, fmt::format("--dir {}: {}", dir, ec.message()));
    if (fs::exists(path, ec) && !fs::is_directory(path, ec))
      throw Failure(Kind::Usage, fmt::format("--dir {}: not a folder (a file of that name exists)", dir));
    fs::create_directories(path, ec);
    if (ec) throw Failure(Kind::Write, fmt::format("--dir {}: cannot make the folder: {}", dir, ec.message()));
    return path;
  }

  static std::string p(const fs::path& path) { return path.string(); }

  void say(std::string_view text) {
    if (o_.narrate) print_(text);
  }

  void task_heading(Task task, const std::string& title, const std::string& why) {
    if (o_.interactive && task != Task::Setup) {
      say(paint_.paint(fmt::format("\nPress Enter for task {}...", to_string(task)), Tone::Dim));
      std::string line;
      std::getline(std::cin, line);
    }
    say(fmt::format(
        "\n{}\n",
        paint_.paint(fmt::format("== {} — {}",
                                 task == Task::Setup ? "Setting up" : fmt::format("Task {}", to_string(task)), title),
                     Tone::Strong)));
    say(fmt::format("{}\n", why));
  }

  // step records and prints one checked command.
  bool step(Task task, const std::string& title, const std::vector<std::string>& argv, bool pass,
            const std::string& observed) {
    StepResult r{task, title, argv.empty() ? "" : shell_quote(argv), pass, observed};
    if (!r.command.empty()) say(fmt::format("\n  $ {}\n", paint_.paint(r.command, Tone::Dim)));
    std::string lines;
    for (size_t start = 0; start < observed.size();) {
      auto nl = observed.find('\n', start);
      lines += "    " + observed.substr(start, nl == std::string::npos ? std::string::npos : nl - start) + "\n";
      if (nl == std::string::npos) break;
      start = nl + 1;
    }
    say(lines);
    say(fmt::format("  {} {}\n", pass ? paint_.paint("PASS", Tone::Good) : paint_.paint("FAIL", Tone::Bad), title));
    report_.steps.push_back(std::move(r));
    return pass;
  }

  Outcome tlslab(std::vector<std::string> args, std::chrono::milliseconds timeout = 20s) {
    args.insert(args.begin(), self_);
    last_argv_ = args;
    return lab::run(args, timeout);
  }

  static std::optional<nlohmann::json> json_of(const Outcome& o) {
    try {
      return nlohmann::json::parse(o.out);
    } catch (const nlohmann::json::exception&) {
      return std::nullopt;
    }
  }

  static std::string first_error(const Outcome& o) {
    auto pos = o.err.rfind("tlslab: ");
    if (pos == std::string::npos) return o.err.substr(0, 300);
    auto end = o.err.find('\n', pos);
    return o.err.substr(pos, end == std::string::npos ? std::string::npos : end - pos);
  }

  std::string resolve(const std::string& name, int port) const { return fmt::format("{}:{}:127.0.0.1", name, port); }

  std::optional<int> start_server(Background& server, std::vector<std::string> args, const std::string& log,
                                  const std::string& marker) {
    args.insert(args.begin(), self_);
    // With --keep the servers outlive the lab; otherwise they end with it.
    auto line = server.start(args, p(dir_ / log), marker, 15s, o_.keep);
    if (!line) return std::nullopt;
    std::smatch m;
    static const std::regex port_re("127\\.0\\.0\\.1:([0-9]+)");
    if (!std::regex_search(*line, m, port_re)) return std::nullopt;
    return std::stoi(m[1]);
  }

  bool setup() {
    task_heading(Task::Setup, "a CA, a certificate with three names, and a server",
                 "The lab's server needs a certificate for www.bank32.com, www.example.com and *.bank32.com, "
                 "signed by a CA of our own.\nEverything runs on 127.0.0.1: names are mapped with --resolve, so "
                 "/etc/hosts is never edited.");
    auto ca = dir_ / "ca";
    if (!fs::exists(ca / "ca.pem")) {
      auto o = tlslab({"ca", "init", "--dir", p(ca), "--name", "tlslab lab CA"});
      if (!step(Task::Setup, "the lab CA is created", last_argv_, o.exit_code == 0 && fs::exists(ca / "ca.pem"),
                o.exit_code == 0
                    ? fmt::format("CA certificate {}, key {} (mode 0600)", p(ca / "ca.pem"), p(ca / "ca-key.pem"))
                    : first_error(o)))
        return false;
    }
    for (const char* f : {"server.pem", "server-key.pem"}) fs::remove(dir_ / f);
    auto o = tlslab({"ca", "issue", "--dir", p(ca), "--out", p(dir_ / "server"), "www.bank32.com", "www.example.com",
                     "*.bank32.com"});
    if (!step(Task::Setup, "the server certificate is issued for three names", last_argv_,
              o.exit_code == 0 && fs::exists(dir_ / "server.pem"),
              o.exit_code == 0 ? "DNS:www.bank32.com, DNS:www.example.com, DNS:*.bank32.com" : first_error(o)))
      return false;
    fs::create_directories(dir_ / "site");
    png_ = lab_png();
    write_file_atomic(dir_ / "site" / "lab.png", png_);
    write_file_atomic(dir_ / "site" / "index.html",
                      "<!doctype html><title>bank32</title><h1>Hello from www.bank32.com</h1><img src=\"lab.png\">\n");
    auto port = start_server(server_,
                             {"serve", "--listen", "127.0.0.1:0", "--cert", p(dir_ / "server.pem"), "--key",
                              p(dir_ / "server-key.pem"), "--threads", "1"},
                             "serve.log", "https://127.0.0.1:");
    std::vector<std::string> shown = {self_,      "serve",
                                      "--listen", "127.0.0.1:0",
                                      "--cert",   p(dir_ / "server.pem"),
                                      "--key",    p(dir_ / "server-key.pem")};
    if (!step(Task::Setup, "the server is listening (built-in pages)", shown, port.has_value(),
              port ? fmt::format("https://127.0.0.1:{}/ — it shows each visitor their own connection", *port)
                   : "the server did not start:\n" + server_.output()))
      return false;
    port_ = *port;
    auto files = start_server(files_,
                              {"serve", "--listen", "127.0.0.1:0", "--cert", p(dir_ / "server.pem"), "--key",
                               p(dir_ / "server-key.pem"), "--threads", "1", "--root", p(dir_ / "site")},
                              "serve-files.log", "https://127.0.0.1:");
    shown.insert(shown.end(), {"--root", p(dir_ / "site")});
    if (!step(Task::Setup, "a second server serves files (a page and an image)", shown, files.has_value(),
              files ? fmt::format("https://127.0.0.1:{}/ serves {}", *files, p(dir_ / "site")) : files_.output()))
      return false;
    files_port_ = *files;
    return true;
  }

  void task_1a() {
    task_heading(
        Task::T1a, "the TLS handshake",
        "The client connects, the handshake agrees on a protocol version and a cipher suite, and the server "
        "proves who it is with its certificate.\nWatch it in Wireshark with --pause (and --keylog to decrypt).");
    auto o = tlslab({"connect", fmt::format("www.bank32.com:{}", port_), "--resolve", resolve("www.bank32.com", port_),
                     "--cacert", p(dir_ / "ca" / "ca.pem"), "--json"});
    auto j = json_of(o);
    bool ok = o.exit_code == 0 && j && (*j)["verification"]["ok"] == true;
    std::string seen =
        ok ? fmt::format(
                 "cipher():        ('{}', '{}', {})\nserver_hostname: '{}'\ngetpeercert():   subject {}, issuer {}\n"
                 "group {}, signature {}, handshake {:.1f} ms",
                 (*j)["tls"]["cipher_suite"]["openssl"].get<std::string>(), (*j)["tls"]["version"].get<std::string>(),
                 (*j)["tls"]["cipher_suite"]["bits"].get<int>(),
                 (*j)["verification"]["hostname"]["name"].get<std::string>(),
                 (*j)["peer_chain"][0]["subject"].get<std::string>(),
                 (*j)["peer_chain"][0]["issuer"].get<std::string>(),
                 (*j)["tls"]["group"].is_string() ? (*j)["tls"]["group"].get<std::string>() : "-",
                 (*j)["tls"]["signature_scheme"].is_string() ? (*j)["tls"]["signature_scheme"].get<std::string>() : "-",
                 (*j)["timings_ms"]["tls_handshake"].get<double>())
           : first_error(o);
    step(Task::T1a, "the handshake completes and the certificate verifies", last_argv_, ok, seen);
  }

  void task_1b() {
    task_heading(Task::T1b, "whose CAs does the client trust?",
                 "By default the client trusts the system store (/etc/ssl/certs), which does not know our lab CA: the "
                 "server must be refused.\nThen we give the client its own CA directory, hashed as OpenSSL's capath "
                 "needs (HASH.0 links), and it is accepted.");
    auto o =
        tlslab({"connect", fmt::format("www.bank32.com:{}", port_), "--resolve", resolve("www.bank32.com", port_)});
    step(Task::T1b, "the system store refuses the lab's server (exit 60)", last_argv_, o.exit_code == 60,
         first_error(o));
    auto capath = dir_ / "client-certs";
    auto e = tlslab({"ca", "export", "--dir", p(dir_ / "ca"), "--capath", p(capath)});
    std::string links;
    std::error_code ec;
    for (const auto& entry : fs::directory_iterator(capath, ec))
      if (entry.is_symlink())
        links += fmt::format("{} -> {}\n", entry.path().filename().string(), fs::read_symlink(entry).string());
    step(Task::T1b, "the CA is copied into a client directory and rehashed", last_argv_,
         e.exit_code == 0 && !links.empty(),
         e.exit_code == 0 ? links.substr(0, links.empty() ? 0 : links.size() - 1) : first_error(e));
    auto c = tlslab({"connect", fmt::format("www.bank32.com:{}", port_), "--resolve", resolve("www.bank32.com", port_),
                     "--capath", p(capath), "--json"});
    auto j = json_of(c);
    bool ok = c.exit_code == 0 && j && (*j)["verification"]["ok"] == true;
    step(Task::T1b, "the hashed directory makes the server trusted", last_argv_, ok,
         ok ? fmt::format("trust anchor found in {}/{}\n(get_ca_certs() would be empty before this handshake: a hashed "
                          "directory is read lazily)",
                          p(capath),
                          (*j)["trust_anchor_file"].is_string() ? (*j)["trust_anchor_file"].get<std::string>() : "?")
            : first_error(c));
  }

  void task_1c() {
    task_heading(Task::T1c, "the hostname check",
                 "A chain that verifies is not enough: the certificate must name the server we meant. We map "
                 "www.bank99.com to the same server (the lab's /etc/hosts trick, done with --resolve).");
    auto capath = p(dir_ / "client-certs");
    if (!fs::exists(capath)) (void)tlslab({"ca", "export", "--dir", p(dir_ / "ca"), "--capath", capath});
    auto o = tlslab({"connect", fmt::format("www.bank99.com:{}", port_), "--resolve", resolve("www.bank99.com", port_),
                     "--capath", capath});
    step(Task::T1c, "with the check on, the wrong name is refused (exit 60)", last_argv_,
         o.exit_code == 60 && o.err.find("hostname") != std::string::npos, first_error(o));
    auto n = tlslab({"connect", fmt::format("www.bank99.com:{}", port_), "--resolve", resolve("www.bank99.com", port_),
                     "--capath", capath, "--no-check-hostname"});
    step(Task::T1c, "with --no-check-hostname the same connection is accepted (never do this for real)", last_argv_,
         n.exit_code == 0, n.exit_code == 0 ? "exit 0: the chain was verified, the name was not" : first_error(n));
  }

  void task_1d() {
    task_heading(Task::T1d, "sending and getting data",
                 "Over the verified connection we send HTTP requests: a page, then an image, which must arrive "
                 "byte for byte.");
    auto page = tlslab({"connect", fmt::format("https://www.bank32.com:{}/", files_port_), "--resolve",
                        resolve("www.bank32.com", files_port_), "--cacert", p(dir_ / "ca" / "ca.pem"), "-q"});
    step(Task::T1d, "GET / returns the page", last_argv_,
         page.exit_code == 0 && page.out.find("Hello from") != std::string::npos,
         page.exit_code == 0 ? page.out.substr(0, page.out.find('\n')) : first_error(page));
    auto out = dir_ / "downloaded.png";
    fs::remove(out);
    auto img =
        tlslab({"connect", fmt::format("https://www.bank32.com:{}/lab.png", files_port_), "--resolve",
                resolve("www.bank32.com", files_port_), "--cacert", p(dir_ / "ca" / "ca.pem"), "-o", p(out), "-q"});
    std::string got = fs::exists(out) ? read_file(out, "download", Kind::Input) : std::string();
    step(Task::T1d, "the image is saved byte-exact", last_argv_, img.exit_code == 0 && got == png_,
         img.exit_code == 0 ? fmt::format("{} bytes written to {}, identical to the served file", got.size(), p(out))
                            : first_error(img));
  }

  void task_2() {
    task_heading(Task::T2, "one server, several names (2a–2c)",
                 "The certificate carries www.bank32.com, www.example.com and *.bank32.com. The server is reached "
                 "under each; its page reports the name (SNI) the client asked for. A name it lacks is refused.");
    auto ca = p(dir_ / "ca" / "ca.pem");
    const std::array<std::pair<Task, const char*>, 3> names = {
        {{Task::T2a, "www.bank32.com"}, {Task::T2b, "www.example.com"}, {Task::T2c, "shop.bank32.com"}}};
    for (auto [task, name] : names) {
      if (!want(task)) continue;
      auto o = tlslab({"connect", fmt::format("https://{}:{}/.well-known/tlslab", name, port_), "--resolve",
                       resolve(name, port_), "--cacert", ca, "-q"});
      std::string sni;
      try {
        sni = nlohmann::json::parse(o.out).value("sni", "");
      } catch (const nlohmann::json::exception&) {
      }
      step(
          task,
          fmt::format("reached as {}{}", name, std::string(name) == "shop.bank32.com" ? " (through *.bank32.com)" : ""),
          last_argv_, o.exit_code == 0 && sni == name,
          o.exit_code == 0 ? fmt::format("the server's page says SNI = {}", sni) : first_error(o));
    }
    if (want(Task::T2c)) {
      auto o = tlslab(
          {"connect", fmt::format("bank32.com:{}", port_), "--resolve", resolve("bank32.com", port_), "--cacert", ca});
      step(Task::T2c, "refused as bank32.com: *.bank32.com does not cover the bare domain", last_argv_,
           o.exit_code == 60, first_error(o));
    }
  }

  void task_3() {
    task_heading(Task::T3, "a man in the middle with a compromised CA",
                 "An attacker who controls a CA the victim trusts can forge a certificate for any name. The proxy "
                 "sits between the victim and www.bank32.com, forges its certificate on the fly, relays to the real "
                 "server, and reads everything — including the login password.");
    auto evil = dir_ / "evil-ca";
    if (!fs::exists(evil / "ca.pem")) {
      auto o = tlslab({"ca", "init", "--dir", p(evil), "--name", "Compromised CA"});
      step(Task::T3, "the attacker's CA exists", last_argv_, o.exit_code == 0,
           o.exit_code == 0 ? p(evil / "ca.pem") : first_error(o));
    }
    std::vector<std::string> args = {"proxy",
                                     "--mode",
                                     "sni",
                                     "--listen",
                                     "127.0.0.1:0",
                                     "--ca",
                                     p(evil),
                                     "--upstream-resolve",
                                     "www.bank32.com:127.0.0.1",
                                     "--upstream-port",
                                     std::to_string(port_),
                                     "--upstream-cacert",
                                     p(dir_ / "ca" / "ca.pem"),
                                     "--dump",
                                     "--threads",
                                     "1"};
    auto pport = start_server(proxy_, args, "proxy.log", "sni mode on");
    args.insert(args.begin(), self_);
    if (!step(Task::T3, "the proxy listens, verifying the real server", args, pport.has_value(),
              pport ? fmt::format("victims who reach 127.0.0.1:{} as www.bank32.com meet the proxy", *pport)
                    : proxy_.output()))
      return;
    proxy_port_ = *pport;
    auto victim_url = fmt::format("https://www.bank32.com:{}/login", proxy_port_);
    auto honest = tlslab({"connect", victim_url, "--resolve", resolve("www.bank32.com", proxy_port_), "--cacert",
                          p(dir_ / "ca" / "ca.pem"), "-d", std::string("username=alice&password=") + kSecret});
    step(Task::T3, "a victim who trusts only the real CA is safe: the forged certificate is refused", last_argv_,
         honest.exit_code == 60, first_error(honest));
    auto o = tlslab({"connect", victim_url, "--resolve", resolve("www.bank32.com", proxy_port_), "--cacert",
                     p(evil / "ca.pem"), "-d", std::string("username=alice&password=") + kSecret, "--json"});
    auto j = json_of(o);
    bool accepted = o.exit_code == 0 && j && (*j)["http"]["status"] == 200;
    step(Task::T3, "a victim who trusts the compromised CA accepts the forged certificate and logs in", last_argv_,
         accepted,
         accepted ? fmt::format("the victim saw issuer '{}' and HTTP {}",
                                (*j)["peer_chain"][0]["issuer"].get<std::string>(), (*j)["http"]["status"].get<int>())
                  : first_error(o));
    // The proxy logs asynchronously; give it a moment.
    std::string seen;
    for (int i = 0; i < 50 && seen.find(kSecret) == std::string::npos; ++i) {
      seen = proxy_.output();
      if (seen.find(kSecret) == std::string::npos) ::usleep(20'000);
    }
    std::string lines;
    for (const char* key : {"> POST", "!! form field password"}) {
      auto pos = seen.find(key);
      if (pos != std::string::npos) lines += seen.substr(pos, seen.find('\n', pos) - pos) + "\n";
    }
    step(Task::T3, "the proxy saw the password", {},
         seen.find(std::string("password = ") + kSecret) != std::string::npos,
         lines.empty() ? "no password in the proxy's output" : lines.substr(0, lines.size() - 1));
  }

  void summary() {
    int passed = 0;
    for (const auto& s : report_.steps) passed += s.pass;
    int failed = static_cast<int>(report_.steps.size()) - passed;
    say(fmt::format("\n{}\n", paint_.paint("== Summary", Tone::Strong)));
    for (const auto& s : report_.steps)
      say(fmt::format("  {}  {:<6} {}\n", s.pass ? paint_.paint("PASS", Tone::Good) : paint_.paint("FAIL", Tone::Bad),
                      to_string(s.task), s.title));
    say(fmt::format("\n{} passed, {} failed\n", passed, failed));
  }

  void keep() {
    auto ca = p(dir_ / "ca" / "ca.pem");
    report_.kept.push_back(
        fmt::format("server (built-in page): https://www.bank32.com:{}/  pid {}", port_, server_.release()));
    report_.kept.push_back(
        fmt::format("server (files):         https://www.bank32.com:{}/  pid {}", files_port_, files_.release()));
    if (proxy_port_)
      report_.kept.push_back(
          fmt::format("proxy:                  127.0.0.1:{}  pid {}", proxy_port_, proxy_.release()));
    say(fmt::format("\n{}\n", paint_.paint("== Still running (--keep)", Tone::Strong)));
    for (const auto& k : report_.kept) say("  " + k + "\n");
    say(
        fmt::format("\nOpen them in a browser that trusts the lab CA, without editing /etc/hosts:\n"
                    "  tlslab ca trust --dir {} --nss \"$HOME/.pki/nssdb\" --no-system --apply\n"
                    "  chromium --host-resolver-rules='MAP www.bank32.com 127.0.0.1, MAP www.example.com 127.0.0.1, "
                    "MAP *.bank32.com "
                    "127.0.0.1' https://www.bank32.com:{}/\n"
                    "Stop them with: kill <pid>   (files are in {})\n",
                    p(dir_ / "ca"), port_, p(dir_)));
    (void)ca;
  }

  void stop_all() {
    proxy_.stop();
    files_.stop();
    server_.stop();
  }

  const LabOptions& o_;
  const std::function<void(std::string_view)>& print_;
  report::Text paint_;
  std::string self_;
  fs::path dir_;
  std::string png_;
  int port_ = 0, files_port_ = 0, proxy_port_ = 0;
  Background server_, files_, proxy_;
  std::vector<std::string> last_argv_;
  LabReport report_;
};

}  // namespace

bool LabReport::ok() const {
  return !steps.empty() && std::all_of(steps.begin(), steps.end(), [](const StepResult& s) { return s.pass; });
}

std::string_view to_string(Task task) {
  switch (task) {
    case Task::Setup:
      return "setup";
    case Task::T1a:
      return "1a";
    case Task::T1b:
      return "1b";
    case Task::T1c:
      return "1c";
    case Task::T1d:
      return "1d";
    case Task::T2:
      return "2";
    case Task::T2a:
      return "2a";
    case Task::T2b:
      return "2b";
    case Task::T2c:
      return "2c";
    case Task::T3:
      return "3";
  }
  return "unknown";
}

std::optional<Task> parse_task(std::string_view name) {
  for (Task t : {Task::T1a, Task::T1b, Task::T1c, Task::T1d, Task::T2a, Task::T2b, Task::T2c, Task::T3})
    if (name == to_string(t)) return t;
  return std::nullopt;
}

LabReport run_lab(const LabOptions& options, const std::function<void(std::string_view)>& print) {
  try {
    return Lab(options, print).run();
  } catch (const fs::filesystem_error& e) {
    throw Failure(Kind::Write, fmt::format("the lab's folder: {}: {}", e.path1().string(), e.code().message()));
  }
}

}  // namespace tlslab::lab
