// scan::Plan — which probes a scan makes and what their answers mean (sans-I/O).
//
// A scan is a few groups of probe chains. Each chain is a Task: asked for its next probe, it says
// what to send — a hand-built hello whose first answer is all it reads (HelloProbe), or one full
// OpenSSL handshake (FullSpec) — and takes the answer before it says the next. Nothing here opens
// a socket or waits: net::run_scan makes the probes over the network, many at once under
// --concurrency; a unit test makes them against an OpenSSL server in memory. What the answers
// teach is kept in the plan and written into the ScanReport by finish().
//
//   group      stages (one after the other; the tasks of a stage at once)
//   versions   1: enumerate TLS 1.2, TLS 1.3, TLS 1.1, TLS 1.0, SSLv3   2: fallback (needs them all)
//   groups13   groups12   sigalgs12   sigalgs13   main handshake (+ TLS 1.3 resumption)
//   alpn       session-ID resumption   ticket resumption   sslv2   compression
//
// The groups are listed longest chain first: the driver starts them all at once, in this order,
// so the scan takes about as long as its longest chain; progress counts finished groups.
#pragma once

#include <algorithm>
#include <coroutine>
#include <cstdint>
#include <exception>
#include <map>
#include <optional>
#include <set>
#include <string>
#include <utility>
#include <variant>
#include <vector>

#include "ossl/ptr.hpp"
#include "scan/hello.hpp"
#include "scan/model.hpp"
#include "scan/server_hello.hpp"
#include "tls/handshake_report.hpp"
#include "tls/verify.hpp"

namespace tlslab::scan {

// HelloProbe: send hello on a new connection and read the server's first answer; with
// through_key_exchange, a TLS <= 1.2 answer is read on to its ServerKeyExchange.
struct HelloProbe {
  std::string hello;
  bool through_key_exchange = false;
};

// FullSpec is one full OpenSSL handshake (and GET / when asked), set on the SSL by prepare_handshake.
struct FullSpec {
  int min_version = 0, max_version = 0;  // 0: the context's
  bool no_ticket = false;
  SSL_SESSION* resume = nullptr;  // owned by the task that asks, until it has the answer
  std::vector<std::string> alpn;
  std::string sigalgs;     // OpenSSL's list syntax; empty: the default
  std::string servername;  // SNI; empty: none
  bool http_get = false;   // send GET / and keep the response's head
};

// FullResult is what one OpenSSL handshake (plus an optional GET /) tells.
struct FullResult {
  bool ok = false;
  std::string error;
  tls::HandshakeReport report;
  tls::VerifyVerdict verdict;
  ossl::Ptr<SSL_SESSION> session;
  bool reused = false;
  std::string response;  // the first bytes of the HTTP response
};

using Probe = std::variant<HelloProbe, FullSpec>;
using Answer = std::variant<ServerAnswer, FullResult>;

// prepare_handshake sets spec on a client SSL before its handshake (versions, tickets, SNI, OCSP
// request, session to resume, ALPN, signature schemes). Returns why it cannot ("" when it can).
[[nodiscard]] std::string prepare_handshake(SSL* ssl, const FullSpec& spec);

// prepare_client_context makes a client context offer every suite OpenSSL has, at security level
// 0, and leave the sessions to the caller (no internal store): a scan wants to see all.
void prepare_client_context(SSL_CTX* ctx);

// Task is one chain of dependent probes, a C++20 coroutine that yields each probe and is resumed
// with its answer (`ServerAnswer a = co_yield HelloProbe{...};`). The driver pulls:
//
//   while (auto probe = task.next()) task.take(make(*probe));
//
// It owns its coroutine; nothing in it waits, so any driver (sockets, memory) can run it.
class Task {
 public:
  struct promise_type;
  using Handle = std::coroutine_handle<promise_type>;

  Task(Task&& other) noexcept : h_(std::exchange(other.h_, {})) {}
  Task& operator=(Task&&) = delete;
  Task(const Task&) = delete;
  ~Task();

  // next runs the task to its next probe and returns it; nothing once the task has ended. What
  // the task threw is thrown here.
  [[nodiscard]] std::optional<Probe> next();
  // take hands over the answer to the probe next() returned; the task reads it when next() is
  // called again (an answer of the other kind throws std::bad_variant_access there).
  void take(Answer answer);

 private:
  explicit Task(Handle h) : h_(h) {}
  Handle h_;
};

struct Task::promise_type {
  std::optional<Probe> probe;
  std::optional<Answer> answer;
  std::exception_ptr error;

  // Reply resumes the task with the answer of the kind its probe asked for.
  template <class A>
  struct Reply {
    promise_type& promise;
    bool await_ready() const noexcept { return false; }
    void await_suspend(std::coroutine_handle<>) const noexcept {}
    A await_resume() const { return std::get<A>(std::move(promise.answer.value())); }
  };

  Task get_return_object() { return Task(Handle::from_promise(*this)); }
  std::suspend_always initial_suspend() const noexcept { return {}; }
  std::suspend_always final_suspend() const noexcept { return {}; }
  void return_void() const noexcept {}
  void unhandled_exception() noexcept { error = std::current_exception(); }
  // yield_value takes a named probe (`co_yield std::move(probe)`): GCC 12 destroys a temporary
  // made in the operand of co_yield twice.
  Reply<ServerAnswer> yield_value(HelloProbe&& p) {
    probe = std::move(p);
    return {*this};
  }
  Reply<FullResult> yield_value(FullSpec&& spec) {
    probe = std::move(spec);
    return {*this};
  }
};

// Group is probes whose progress counts as one: its stages run one after the other, the tasks of
// a stage at once (a later stage reads what an earlier one found).
struct Group {
  std::string name;
  std::vector<std::vector<Task>> stages;
};

// Narrowing finds every choice a server makes from candidates, in the order it makes them: offer
// offered(), tell choose() what the server chose (nothing: it refused); the choice is taken out
// and the rest offered again, until the server refuses or chooses something that was not offered.
template <class T>
class Narrowing {
 public:
  explicit Narrowing(std::vector<T> candidates) : offered_(std::move(candidates)) {}
  [[nodiscard]] bool done() const { return stopped_ || offered_.empty(); }
  [[nodiscard]] const std::vector<T>& offered() const { return offered_; }
  [[nodiscard]] const std::vector<T>& chosen() const { return chosen_; }
  void choose(const std::optional<T>& choice) {
    auto it = choice ? std::find(offered_.begin(), offered_.end(), *choice) : offered_.end();
    if (it == offered_.end()) {
      stopped_ = true;
      return;
    }
    chosen_.push_back(*it);
    offered_.erase(it);
  }

 private:
  std::vector<T> offered_, chosen_;
  bool stopped_ = false;
};

class Plan {
 public:
  // Plan is every probe of a scan whose findings go into report. servername is sent as SNI
  // (empty: none); share is the TLS 1.3 key share offered where a ServerHello is wanted.
  Plan(ScanReport& report, std::string servername, KeyShare share = x25519_share());
  Plan(const Plan&) = delete;
  Plan& operator=(const Plan&) = delete;

  // groups are the scan's groups of tasks, the longest chain first (see above).
  [[nodiscard]] std::vector<Group>& groups() { return groups_; }

  // finish writes what was found into the report, once every task has ended: the versions in
  // order, groups and schemes in candidate order, the facts of the highest ServerHello up to
  // TLS 1.2, resumption. The grade is not given here.
  void finish();

  // base_spec is a broad hello of version: SNI, the default groups and signature schemes
  // (no groups for SSLv3); the suites are left to the caller.
  [[nodiscard]] HelloSpec base_spec(std::uint16_t version) const;

 private:
  [[nodiscard]] HelloSpec spec13() const;
  [[nodiscard]] FullSpec full_spec() const;

  Task enumerate(std::uint16_t version);
  Task fallback();
  Task sslv2();
  Task groups13();
  Task key_exchange12(std::vector<std::uint16_t> suites, std::vector<std::uint16_t> candidates,
                      std::vector<std::uint16_t> HelloSpec::*offer, std::uint16_t ServerAnswer::*read,
                      std::set<std::uint16_t>& found);
  Task sigalgs13();
  Task compression();
  Task main_handshake();
  Task alpn();
  Task legacy_resumption(bool tickets);

  ScanReport& r_;
  std::string sni_;
  KeyShare share_;
  std::vector<Group> groups_;
  std::map<std::uint16_t, VersionSupport> support_;
  std::map<std::uint16_t, ServerAnswer> first_answer_;
  std::set<std::uint16_t> groups_found_, sigalgs_;
  bool legacy_session_id_ = false, legacy_ticket_ = false;
};

}  // namespace tlslab::scan
