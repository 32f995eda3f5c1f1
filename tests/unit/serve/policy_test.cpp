#include "serve/policy.hpp"

#include <fmt/format.h>
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <algorithm>
#include <deque>
#include <string>
#include <vector>

namespace tlslab::serve {
namespace {

using ::testing::HasSubstr;
using namespace std::chrono_literals;

const Time kT0 = Time{} + 1000h;

// Connection is a connection's deadline as net/server.cpp drives it, on a virtual clock: one timer,
// set only when a step of the ConnectionTimer says so, going off at the time it was set to.
struct Connection {
  explicit Connection(const Limits& l) : limits(l), timer(limits) {}
  Connection(const Connection&) = delete;  // timer refers to limits
  Connection& operator=(const Connection&) = delete;

  Limits limits;
  ConnectionTimer timer;
  Time fires_at = Time::max();  // the (virtual) timer
  int timer_sets = 0;           // how often the timer was set: each costs the kernel a call, in the worst case
  std::optional<Time> expired;  // when the step under way timed out

  void follow(bool set) {
    if (!set) return;
    fires_at = timer.deadline();
    ++timer_sets;
  }
  // run_until lets time pass until now: the timer goes off if it is due, as often as it is re-set.
  void run_until(Time now) {
    while (fires_at <= now) {
      auto at = fires_at;
      fires_at = Time::max();
      if (timer.fired(at) == ConnectionTimer::Fired::Rearm) {
        fires_at = timer.deadline();
        ++timer_sets;
      } else {
        expired = at;
        return;
      }
    }
  }
};

Limits small_limits() {
  Limits l;
  l.handshake_timeout = 1s;
  l.header_timeout = 1s;
  l.idle_timeout = 1s;
  l.request_timeout = 1s;
  l.max_header_bytes = 4096;
  l.max_body_bytes = 1000;
  return l;
}

// ---------------------------------------------------------------------------------------------
// Deadlines

TEST(Deadline, SlowlorisThatSendsNothingHitsTheHandshakeDeadlineAtExactlyT) {
  Connection c{Limits{}};
  c.follow(c.timer.handshake(kT0));
  c.run_until(kT0 + 10s - 1us);
  EXPECT_FALSE(c.expired);
  EXPECT_FALSE(c.timer.timed_out());
  c.run_until(kT0 + 10s);
  EXPECT_EQ(c.expired, kT0 + 10s);
  EXPECT_TRUE(c.timer.timed_out());
  EXPECT_EQ(first_read_failure(End::TimedOut, c.limits, ""), "sent nothing in 10 s; closed");
}

TEST(Deadline, StalledHandshakeIsTheSameDeadline) {
  Connection c{small_limits()};
  c.follow(c.timer.handshake(kT0));
  // 40 bytes of a ClientHello arrive at once; the rest never does.
  c.run_until(kT0 + 1s);
  EXPECT_EQ(c.expired, kT0 + 1s);
  EXPECT_EQ(handshake_failure(End::TimedOut, "\x16\x03\x01", c.limits, ""),
            "TLS handshake not complete in 1 s; closed");
}

TEST(Deadline, HeaderTrickledByteByByteHitsTheHeaderTimeout) {
  Connection c{Limits{}};
  c.follow(c.timer.handshake(kT0));
  c.follow(c.timer.wait_for_request(kT0 + 5ms));  // the handshake took 5 ms
  EXPECT_EQ(c.timer.phase(), Phase::FirstRequest);
  // "G" arrives after 1 s: the rest of the header must come within header_timeout from then.
  auto first_wait = kT0 + 5ms + 1s;
  c.run_until(first_wait);
  c.follow(c.timer.read(Phase::Header, first_wait));
  EXPECT_EQ(c.timer.deadline(), first_wait + 10s);
  // One byte a second: each read waits again, none moves the deadline.
  for (auto t = first_wait + 1s; t < first_wait + 10s; t += 1s) {
    c.run_until(t);
    ASSERT_FALSE(c.expired) << (t - first_wait).count();
    EXPECT_FALSE(c.timer.read(Phase::Header, t));
    EXPECT_EQ(c.timer.deadline(), first_wait + 10s);
  }
  c.run_until(first_wait + 10s);
  EXPECT_EQ(c.expired, first_wait + 10s);
  auto refusal = refuse(ReadFailure::TimedOut, true, c.limits, "");
  ASSERT_TRUE(refusal.reply);
  EXPECT_EQ(refusal.reply->status, 408u);
  EXPECT_EQ(refusal.note, "request header not complete in 10 s; answered 408");
}

TEST(Deadline, BodyGetsTheRequestTimeoutFromItsFirstWait) {
  Connection c{Limits{}};
  c.follow(c.timer.handshake(kT0));
  c.follow(c.timer.wait_for_request(kT0));
  c.follow(c.timer.read(Phase::Header, kT0 + 1s));
  c.follow(c.timer.read(Phase::Body, kT0 + 2s));  // a new part: a new deadline
  EXPECT_EQ(c.timer.phase(), Phase::Body);
  EXPECT_EQ(c.timer.deadline(), kT0 + 32s);
  EXPECT_FALSE(c.timer.read(Phase::Body, kT0 + 20s));
  c.run_until(kT0 + 32s - 1us);
  EXPECT_FALSE(c.expired);
  c.run_until(kT0 + 32s);
  EXPECT_EQ(c.expired, kT0 + 32s);
  EXPECT_EQ(refuse(ReadFailure::TimedOut, false, c.limits, "").note, "request body not complete in 30 s; answered 408");
}

TEST(Deadline, IdleKeepAliveConnectionClosesQuietlyAfterTheIdleTimeout) {
  Connection c{Limits{}};
  c.follow(c.timer.handshake(kT0));
  c.follow(c.timer.wait_for_request(kT0));
  c.timer.answered();
  c.follow(c.timer.write(kT0 + 1ms));
  auto answered = kT0 + 2ms;
  c.follow(c.timer.wait_for_request(answered));
  EXPECT_EQ(c.timer.phase(), Phase::Idle);
  c.run_until(answered + 60s - 1us);
  EXPECT_FALSE(c.expired);
  c.run_until(answered + 60s);
  EXPECT_EQ(c.expired, answered + 60s);
  EXPECT_EQ(wait_failure(End::TimedOut, c.timer.first(), c.limits, ""), std::nullopt);  // no line
  EXPECT_EQ(wait_failure(End::Closed, c.timer.first(), c.limits, ""), std::nullopt);
}

TEST(Deadline, FirstRequestThatNeverComesIsLogged) {
  Connection c{small_limits()};
  c.follow(c.timer.handshake(kT0));
  c.follow(c.timer.wait_for_request(kT0 + 3ms));
  c.run_until(kT0 + 3ms + 1s);
  EXPECT_EQ(c.expired, kT0 + 3ms + 1s);
  EXPECT_EQ(wait_failure(End::TimedOut, c.timer.first(), c.limits, ""), "sent no request in 1 s; closed");
}

TEST(Deadline, ALaterDeadlineCostsNoTimerSetUntilTheTimerGoesOff) {
  Connection c{Limits{}};
  c.follow(c.timer.handshake(kT0));  // fires at T0+10s
  EXPECT_EQ(c.timer_sets, 1);
  // A hundred keep-alive requests, each moving the deadline later: no timer set.
  auto t = kT0;
  for (int i = 0; i < 100; ++i) {
    t += 1ms;
    c.follow(c.timer.wait_for_request(t));
    c.timer.answered();
    c.follow(c.timer.write(t));
  }
  EXPECT_EQ(c.timer_sets, 1);
  c.follow(c.timer.wait_for_request(t));  // the last one: idle until t+60s
  c.run_until(kT0 + 10s);                 // the timer goes off early and is set to the deadline
  EXPECT_FALSE(c.expired);
  EXPECT_EQ(c.timer_sets, 2);
  EXPECT_EQ(c.fires_at, t + 60s);
  c.run_until(t + 60s);
  EXPECT_EQ(c.expired, t + 60s);
}

TEST(Deadline, AnEarlierDeadlineSetsTheTimerAtOnce) {
  Connection c{Limits{}};
  c.follow(c.timer.wait_for_request(kT0));  // the first request: header_timeout, 10 s
  c.follow(c.timer.linger(kT0 + 1s));       // 2 s from then: earlier
  EXPECT_EQ(c.fires_at, kT0 + 3s);
  c.run_until(kT0 + 3s);
  EXPECT_EQ(c.expired, kT0 + 3s);
}

TEST(Deadline, EachWriteGetsTheWriteTimeoutAndAStuckOneEnds) {
  Connection c{Limits{}};
  c.follow(c.timer.handshake(kT0));
  for (int piece = 0; piece < 5; ++piece) {  // a file in pieces, each taken in 30 s
    c.follow(c.timer.write(kT0 + piece * 30s));
    c.run_until(kT0 + piece * 30s + 30s);
    ASSERT_FALSE(c.expired);
  }
  c.run_until(kT0 + 4 * 30s + 60s);
  EXPECT_EQ(c.expired, kT0 + 4 * 30s + 60s);
  EXPECT_EQ(response_failure(End::TimedOut, 1024, 4096, c.limits), "response not taken in 60 s; closed");
  EXPECT_EQ(response_failure(End::Closed, 1024, 4096, c.limits),
            "closed the connection during the response (1024 of 4096 body bytes sent)");
}

TEST(Deadline, TimedOutLastsUntilTheNextStep) {
  Connection c{small_limits()};
  c.follow(c.timer.handshake(kT0));
  c.run_until(kT0 + 1s);
  EXPECT_TRUE(c.timer.timed_out());
  c.follow(c.timer.linger(kT0 + 1s));
  EXPECT_FALSE(c.timer.timed_out());
}

TEST(Deadline, Http2NamesItsOwnDeadline) {
  Connection c{Limits{}};
  c.follow(c.timer.handshake(kT0));
  c.follow(c.timer.until(kT0 + 7s));
  EXPECT_EQ(c.timer.phase(), Phase::Http2);
  c.run_until(kT0 + 7s);
  EXPECT_EQ(c.expired, kT0 + 7s);
}

// A storm: thousands of connections that say nothing, started a microsecond apart, each ends at
// exactly its own start plus the handshake timeout, with one timer set each.
TEST(Deadline, StormOfSilentConnectionsEachEndsOnTime) {
  std::deque<Connection> storm;
  for (int i = 0; i < 5000; ++i) {
    storm.emplace_back(small_limits());
    storm.back().follow(storm.back().timer.handshake(kT0 + i * 1us));
  }
  for (auto& c : storm) c.run_until(kT0 + 1s + 5000us);
  for (int i = 0; i < 5000; ++i) {
    ASSERT_EQ(storm[i].expired, kT0 + i * 1us + 1s) << i;
    ASSERT_EQ(storm[i].timer_sets, 1) << i;
  }
}

// ---------------------------------------------------------------------------------------------
// The first bytes

TEST(FirstBytes, PlainHttpIsToldInItsOwnLanguage) {
  for (std::string_view http : {"GET / HTTP/1.1\r\n", "POST /login HTTP/1.1", "OPTIONS * HTTP/1.1", "PRI * HTTP/2.0",
                                "HEAD ", "GET", "CONNECT"})
    EXPECT_TRUE(looks_like_plain_http(http)) << http;
  for (std::string_view other :
       {std::string_view("\x16\x03\x01\x02\x00", 5), std::string_view("\x80\x2e\x01", 3),
        std::string_view("get / HTTP/1.1"), std::string_view("GE / HTTP/1.1"), std::string_view("GET/ HTTP/1.1"),
        std::string_view("SSH-2.0-OpenSSH"), std::string_view("\x00GET ", 5)})
    EXPECT_FALSE(looks_like_plain_http(other)) << other;
  EXPECT_THAT(kPlainHttpReply, HasSubstr("HTTP/1.1 400 Bad Request\r\n"));
  auto body = kPlainHttpReply.substr(kPlainHttpReply.find("\r\n\r\n") + 4);
  EXPECT_THAT(kPlainHttpReply, HasSubstr(fmt::format("Content-Length: {}\r\n", body.size())));
}

TEST(FirstBytes, EachWayTheFirstReadEndsHasItsSentence) {
  Limits l;
  EXPECT_EQ(first_read_failure(End::TimedOut, l, ""), "sent nothing in 10 s; closed");
  EXPECT_EQ(first_read_failure(End::Closed, l, ""), "closed the connection without sending anything");
  EXPECT_EQ(first_read_failure(End::Failed, l, "Connection reset by peer"),
            "connection failed before the TLS handshake: Connection reset by peer");
}

TEST(FirstBytes, HandshakeFailuresAreToldByTheFirstBytes) {
  Limits l;
  l.handshake_timeout = 1500ms;
  std::string_view hello("\x16\x03\x01\x00\xf0\x01", 6);
  std::string_view sslv2("\x80\x2e\x01\x03\x01", 5);  // RFC 5246 appendix E.2
  std::string_view junk("\x17\x42\x02\x99", 4);
  EXPECT_EQ(handshake_failure(End::TimedOut, hello, l, ""), "TLS handshake not complete in 1.5 s; closed");
  EXPECT_EQ(handshake_failure(End::Closed, hello, l, ""), "closed the connection during the TLS handshake");
  EXPECT_EQ(handshake_failure(End::Failed, hello, l, "no shared cipher"), "TLS handshake failed: no shared cipher");
  EXPECT_EQ(handshake_failure(End::Failed, sslv2, l, "record length mismatch"),
            "SSLv2-format ClientHello refused: record length mismatch");
  EXPECT_EQ(handshake_failure(End::Failed, junk, l, "wrong version number"),
            "not TLS (the first bytes are no TLS record; OpenSSL said: wrong version number); closed");
  // A high bit without message type 1 in the third byte is no SSLv2 hello.
  EXPECT_THAT(handshake_failure(End::Failed, std::string_view("\x80\x2e\x02", 3), l, "x"), HasSubstr("not TLS"));
}

// ---------------------------------------------------------------------------------------------
// Errors -> status and sentence

TEST(Refuse, EachErrorMapsToItsStatusAndSentence) {
  auto l = small_limits();
  struct Case {
    ReadFailure why;
    bool header;
    std::string_view words;
    unsigned status;  // 0: no reply
    std::string note;
    std::string body;  // in the reply's page
  };
  const Case cases[] = {
      {ReadFailure::HeaderTooLarge, true, "", 431, "request header larger than 4096 bytes; answered 431",
       "the request header is larger than 4096 bytes"},
      {ReadFailure::BodyTooLarge, false, "", 413, "request body larger than 1000 bytes; answered 413",
       "the request body is larger than 1000 bytes"},
      {ReadFailure::TimedOut, true, "", 408, "request header not complete in 1 s; answered 408", "408"},
      {ReadFailure::TimedOut, false, "", 408, "request body not complete in 1 s; answered 408", "408"},
      {ReadFailure::Malformed, true, "bad field", 400, "malformed request (bad field); answered 400",
       "malformed request: bad field"},
      {ReadFailure::Closed, true, "", 0, "closed the connection in the middle of a request header", ""},
      {ReadFailure::Closed, false, "", 0, "closed the connection in the middle of a request body", ""},
      {ReadFailure::Failed, false, "decryption failed", 0, "reading a request: decryption failed", ""},
  };
  for (const auto& c : cases) {
    auto r = refuse(c.why, c.header, l, c.words);
    EXPECT_EQ(r.note, c.note);
    if (c.status == 0) {
      EXPECT_FALSE(r.reply) << c.note;
      continue;
    }
    ASSERT_TRUE(r.reply) << c.note;
    EXPECT_EQ(r.reply->status, c.status);
    EXPECT_THAT(r.reply->body, HasSubstr(c.body));
  }
}

TEST(Refuse, WaitAndHttp2Failures) {
  Limits l;
  EXPECT_EQ(wait_failure(End::Failed, true, l, "decryption failed"), "waiting for a request: decryption failed");
  EXPECT_EQ(wait_failure(End::Failed, false, l, "x"), "waiting for a request: x");
  EXPECT_EQ(wait_failure(End::Closed, true, l, ""), std::nullopt);
  EXPECT_EQ(http2_read_failure(End::Failed, "bad record mac"), "HTTP/2: bad record mac");
  EXPECT_EQ(http2_read_failure(End::Closed, ""), std::nullopt);
}

// The storm of bad clients of the end-to-end test, as the policy sees it: each kind of client
// gets exactly one sentence, and no two kinds the same.
TEST(Refuse, EveryKindOfBadClientGetsOneSentenceOfItsOwn) {
  auto l = small_limits();
  std::vector<std::string> notes = {
      first_read_failure(End::TimedOut, l, ""),  // slowloris
      first_read_failure(End::Closed, l, ""),    // connect, close
      std::string(kPlainHttpNote),
      handshake_failure(End::Failed, std::string_view("\x17\x42\x02", 3), l, "wrong version number"),  // random bytes
      handshake_failure(End::TimedOut, "\x16\x03\x01", l, ""),                                         // stalled hello
      handshake_failure(End::Closed, "\x16\x03\x01", l, ""),  // truncated hello
      refuse(ReadFailure::HeaderTooLarge, true, l, "").note,
      response_failure(End::Closed, 1000, 16 << 20, l),  // cut response
  };
  std::sort(notes.begin(), notes.end());
  EXPECT_EQ(std::adjacent_find(notes.begin(), notes.end()), notes.end());
  for (const auto& n : notes) EXPECT_EQ(n.find('\n'), std::string::npos) << n;
}

TEST(KeepAlive, FollowsTheRequestUnlessStopping) {
  EXPECT_TRUE(keep_alive(true, false));
  EXPECT_FALSE(keep_alive(false, false));
  EXPECT_FALSE(keep_alive(true, true));
}

TEST(SecondsText, AsTheOptionsAreGiven) {
  EXPECT_EQ(seconds_text(10s), "10 s");
  EXPECT_EQ(seconds_text(1500ms), "1.5 s");
  EXPECT_EQ(seconds_text(250ms), "0.25 s");
}

}  // namespace
}  // namespace tlslab::serve
