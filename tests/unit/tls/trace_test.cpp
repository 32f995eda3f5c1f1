#include "tls/trace.hpp"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "fuzz/trace_input.hpp"
#include "support/tls_pair.hpp"
#include "unit/tls/trace_samples.hpp"

namespace tlslab::tls {
namespace {

using ::testing::AllOf;
using ::testing::Contains;
using ::testing::ElementsAre;
using ::testing::HasSubstr;
using ::testing::IsEmpty;
using ::testing::Not;
using ::testing::StartsWith;
using tlslab::testing::CertSpec;
using tlslab::testing::issue;
using tlslab::testing::Issued;
using tlslab::testing::PeerSetup;
using tlslab::testing::RecordedMessage;
using tlslab::testing::TlsPair;
using namespace sample;

// ---- helpers --------------------------------------------------------------------------------

// trace decodes one side's log through a Tracer, dropping the callbacks that carry no message.
std::vector<TraceMessage> trace(const std::vector<RecordedMessage>& log) {
  Tracer tracer;
  std::vector<TraceMessage> out;
  for (const auto& m : log) {
    auto message = tracer.decode(direction(m), m.content_type, m.bytes);
    if (!message.type.empty()) out.push_back(std::move(message));
  }
  return out;
}

// handshake_types returns "> ClientHello", "< ServerHello"... for the handshake messages.
std::vector<std::string> handshake_types(const std::vector<TraceMessage>& messages) {
  std::vector<std::string> out;
  for (const auto& m : messages)
    if (m.content == "handshake") out.push_back((m.direction == Direction::Sent ? "> " : "< ") + m.type);
  return out;
}

// field returns the first value of name, "(absent)" when there is none.
std::string field(const TraceMessage& m, std::string_view name) {
  for (const auto& f : m.fields)
    if (f.name == name) return f.value;
  return "(absent)";
}

std::vector<std::string> values(const TraceMessage& m, std::string_view name) {
  std::vector<std::string> out;
  for (const auto& f : m.fields)
    if (f.name == name) out.push_back(f.value);
  return out;
}

std::vector<std::string> errors(const TraceMessage& m) { return values(m, "error"); }

// expect_fields checks the first value of each named field ("(absent)" for a field that must not be there).
void expect_fields(const TraceMessage& m,
                   std::initializer_list<std::pair<std::string_view, std::string_view>> expected) {
  for (const auto& [name, value] : expected) EXPECT_EQ(field(m, name), value) << m.type << " field " << name;
}

// find returns (a copy of, so it cannot dangle) the nth message of type; a failed test when absent.
TraceMessage find(const std::vector<TraceMessage>& messages, std::string_view type, int nth = 0) {
  for (const auto& m : messages)
    if (m.type == type && nth-- == 0) return m;
  ADD_FAILURE() << "no " << type << " in the trace";
  return {};
}

// The raw bytes of the first recorded handshake message of msg_type.
std::string raw(const std::vector<RecordedMessage>& log, int msg_type) {
  for (const auto& m : log)
    if (m.content_type == SSL3_RT_HANDSHAKE && !m.bytes.empty() && m.bytes[0] == msg_type) return m.bytes;
  ADD_FAILURE() << "no handshake message of type " << msg_type;
  return {};
}

TraceMessage decode(std::string_view bytes, int content_type = SSL3_RT_HANDSHAKE) {
  return decode_message(Direction::Received, content_type, bytes);
}

// ---- real handshakes ------------------------------------------------------------------------

TEST(TraceHandshake, Tls13MessagesInOrder) {
  auto messages = trace(tls13_log());
  EXPECT_THAT(handshake_types(messages), ElementsAre("> ClientHello", "< ServerHello", "< EncryptedExtensions",
                                                     "< Certificate", "< CertificateVerify", "< Finished", "> Finished",
                                                     "< NewSessionTicket", "< NewSessionTicket"));
  for (const auto& m : messages) EXPECT_THAT(errors(m), IsEmpty()) << m.type;
}

TEST(TraceHandshake, Tls13ClientHello) {
  auto hello = find(trace(tls13_log()), "ClientHello");
  EXPECT_EQ(hello.direction, Direction::Sent);
  EXPECT_EQ(hello.content, "handshake");
  EXPECT_GT(hello.length, 100u);
  EXPECT_EQ(field(hello, "legacy_version"), "TLS 1.2");
  EXPECT_EQ(field(hello, "random").size(), 64u);
  EXPECT_EQ(field(hello, "session_id_length"), "32");  // middlebox compatibility mode
  EXPECT_THAT(
      field(hello, "cipher_suites"),
      AllOf(StartsWith("TLS_AES_256_GCM_SHA384, TLS_CHACHA20_POLY1305_SHA256, TLS_AES_128_GCM_SHA256, "),
            HasSubstr("TLS_ECDHE_ECDSA_WITH_AES_128_GCM_SHA256"), HasSubstr("TLS_EMPTY_RENEGOTIATION_INFO_SCSV")));
  EXPECT_EQ(field(hello, "compression_methods"), "null");
  EXPECT_THAT(field(hello, "extensions"),
              AllOf(StartsWith("server_name, "), HasSubstr("application_layer_protocol_negotiation"),
                    HasSubstr("supported_versions"), HasSubstr("key_share")));
  expect_fields(hello, {{"server_name", "www.bank32.com"},
                        {"application_layer_protocol_negotiation", "h2, http/1.1"},
                        {"supported_versions", "TLS 1.3, TLS 1.2"},
                        {"key_share", "x25519"}});
  EXPECT_THAT(field(hello, "supported_groups"), StartsWith("x25519, secp256r1"));
  EXPECT_THAT(field(hello, "signature_algorithms"),
              AllOf(StartsWith("ecdsa_secp256r1_sha256"), HasSubstr("rsa_pss_rsae_sha256"), HasSubstr("ed25519")));
  expect_fields(hello, {{"psk_key_exchange_modes", "psk_dhe_ke"},
                        {"ec_point_formats", "uncompressed, ansiX962_compressed_prime, ansiX962_compressed_char2"},
                        {"session_ticket", "0 bytes"}});
}

TEST(TraceHandshake, Tls13ServerMessages) {
  auto messages = trace(tls13_log());
  const auto& hello = find(messages, "ServerHello");
  EXPECT_EQ(hello.direction, Direction::Received);
  expect_fields(hello, {{"legacy_version", "TLS 1.2"},
                        {"cipher_suite", "TLS_AES_256_GCM_SHA384"},
                        {"extensions", "supported_versions, key_share"},
                        {"supported_versions", "TLS 1.3"},
                        {"key_share", "x25519"},
                        {"negotiated_version", "TLS 1.3"},
                        {"downgrade_sentinel", "(absent)"}});

  const auto& extensions = find(messages, "EncryptedExtensions");
  EXPECT_THAT(field(extensions, "extensions"), AllOf(HasSubstr("server_name"), HasSubstr("application_layer")));
  EXPECT_EQ(field(extensions, "application_layer_protocol_negotiation"), "h2");
  EXPECT_EQ(field(extensions, "server_name"), "acknowledged");

  const auto& certificate = find(messages, "Certificate");
  EXPECT_EQ(field(certificate, "format"), "TLS 1.3");
  EXPECT_EQ(field(certificate, "certificates"), "1");
  EXPECT_THAT(values(certificate, "certificate"),
              ElementsAre(AllOf(StartsWith("www.bank32.com ("), HasSubstr(" bytes)"))));

  EXPECT_EQ(field(find(messages, "CertificateVerify"), "signature_scheme"), "ecdsa_secp256r1_sha256");
  EXPECT_EQ(field(find(messages, "Finished"), "verify_data_length"), "48");  // SHA-384 of the suite

  const auto& ticket = find(messages, "NewSessionTicket");
  EXPECT_EQ(field(ticket, "format"), "TLS 1.3");
  EXPECT_EQ(field(ticket, "ticket_lifetime"), "7200 seconds");
  EXPECT_NE(field(ticket, "ticket_length"), "0");
}

TEST(TraceHandshake, Tls12EcdheEcdsa) {
  auto messages = trace(tls12_log());
  EXPECT_THAT(handshake_types(messages),
              ElementsAre("> ClientHello", "< ServerHello", "< Certificate", "< ServerKeyExchange", "< ServerHelloDone",
                          "> ClientKeyExchange", "> Finished", "< NewSessionTicket", "< Finished"));
  for (const auto& m : messages) EXPECT_THAT(errors(m), IsEmpty()) << m.type;
  const auto& client_hello = find(messages, "ClientHello");
  expect_fields(client_hello,
                {{"cipher_suites", "TLS_ECDHE_ECDSA_WITH_AES_128_GCM_SHA256, TLS_EMPTY_RENEGOTIATION_INFO_SCSV"},
                 {"supported_versions", "(absent)"},
                 {"server_name", "www.bank32.com"},
                 {"application_layer_protocol_negotiation", "h2, http/1.1"}});
  const auto& server_hello = find(messages, "ServerHello");
  expect_fields(server_hello, {{"cipher_suite", "TLS_ECDHE_ECDSA_WITH_AES_128_GCM_SHA256"},
                               {"negotiated_version", "TLS 1.2"},
                               {"downgrade_sentinel", "TLS 1.2"},  // the server could have done 1.3
                               {"application_layer_protocol_negotiation", "h2"}});
  EXPECT_THAT(field(server_hello, "extensions"), HasSubstr("renegotiation_info"));
  EXPECT_EQ(field(find(messages, "Certificate"), "format"), "TLS 1.2");
  EXPECT_EQ(field(find(messages, "Certificate"), "certificates"), "1");
  const auto& key_exchange = find(messages, "ServerKeyExchange");
  expect_fields(key_exchange,
                {{"curve", "x25519"}, {"public_key_length", "32"}, {"signature_scheme", "ecdsa_secp256r1_sha256"}});
  EXPECT_EQ(field(find(messages, "ClientKeyExchange"), "public_key_length"), "32");
  EXPECT_EQ(field(find(messages, "Finished"), "verify_data_length"), "12");
  const auto& ticket = find(messages, "NewSessionTicket");
  EXPECT_EQ(field(ticket, "format"), "TLS 1.2");
  EXPECT_EQ(field(ticket, "ticket_lifetime_hint"), "7200 seconds");
  EXPECT_THAT(messages, Contains(::testing::Field(&TraceMessage::type, "change_cipher_spec")));
}

TEST(TraceHandshake, TracerLearnsTheNegotiation) {
  Tracer tracer;
  for (const auto& m : tls12_log()) (void)tracer.decode(direction(m), m.content_type, m.bytes);
  EXPECT_EQ(tracer.context().version, TLS1_2_VERSION);
  EXPECT_EQ(tracer.context().cipher_suite, 0xC02B);
}

TEST(TraceHandshake, ServerSideSeesTheSameHello) {
  TlsPair pair(client_setup(TLS1_3_VERSION), server_setup());
  ASSERT_TRUE(pair.handshake()) << pair.error();
  auto messages = trace(pair.server_messages());
  EXPECT_THAT(handshake_types(messages), ElementsAre("< ClientHello", "> ServerHello", "> EncryptedExtensions",
                                                     "> Certificate", "> CertificateVerify", "> Finished", "< Finished",
                                                     "> NewSessionTicket", "> NewSessionTicket"));
  EXPECT_EQ(field(find(messages, "ClientHello"), "server_name"), "www.bank32.com");
}

TEST(TraceHandshake, HelloRetryRequest) {
  // The client offers a share for x25519 only; the server insists on secp384r1.
  auto log =
      client_log(client_setup(TLS1_3_VERSION, [](SSL_CTX* ctx) { SSL_CTX_set1_groups_list(ctx, "x25519:secp384r1"); }),
                 server_setup([](SSL_CTX* ctx) { SSL_CTX_set1_groups_list(ctx, "secp384r1"); }));
  auto messages = trace(log);
  EXPECT_THAT(handshake_types(messages),
              ElementsAre("> ClientHello", "< HelloRetryRequest", "> ClientHello", "< ServerHello",
                          "< EncryptedExtensions", "< Certificate", "< CertificateVerify", "< Finished", "> Finished",
                          "< NewSessionTicket", "< NewSessionTicket"));
  const auto& retry = find(messages, "HelloRetryRequest");
  EXPECT_EQ(field(retry, "key_share"), "secp384r1");
  EXPECT_EQ(field(retry, "supported_versions"), "TLS 1.3");
  EXPECT_EQ(field(find(messages, "ClientHello", 0), "key_share"), "x25519");
  EXPECT_EQ(field(find(messages, "ClientHello", 1), "key_share"), "secp384r1");
  for (const auto& m : messages) EXPECT_THAT(errors(m), IsEmpty()) << m.type;
}

TEST(TraceHandshake, ClientCertificateTls13) {
  auto messages =
      trace(client_log(client_setup(TLS1_3_VERSION, use_client_certificate), server_setup(require_client_certificate)));
  EXPECT_THAT(handshake_types(messages),
              ElementsAre("> ClientHello", "< ServerHello", "< EncryptedExtensions", "< CertificateRequest",
                          "< Certificate", "< CertificateVerify", "< Finished", "> Certificate", "> CertificateVerify",
                          "> Finished", "< NewSessionTicket", "< NewSessionTicket"));
  const auto& request = find(messages, "CertificateRequest");
  EXPECT_EQ(field(request, "format"), "TLS 1.3");
  EXPECT_THAT(field(request, "signature_algorithms"), HasSubstr("ecdsa_secp256r1_sha256"));
  EXPECT_THAT(values(find(messages, "Certificate", 1), "certificate"), ElementsAre(StartsWith("alice (")));
  for (const auto& m : messages) EXPECT_THAT(errors(m), IsEmpty()) << m.type;
}

TEST(TraceHandshake, ClientCertificateTls12) {
  auto messages =
      trace(client_log(client_setup(TLS1_2_VERSION, use_client_certificate), server_setup(require_client_certificate)));
  const auto& request = find(messages, "CertificateRequest");
  EXPECT_EQ(field(request, "format"), "TLS 1.2");
  EXPECT_THAT(field(request, "certificate_types"), HasSubstr("ecdsa_sign"));
  EXPECT_THAT(field(request, "signature_algorithms"), HasSubstr("ecdsa_secp256r1_sha256"));
  EXPECT_EQ(field(request, "certificate_authorities"), "0");
  EXPECT_EQ(field(find(messages, "CertificateVerify"), "signature_scheme"), "ecdsa_secp256r1_sha256");
  for (const auto& m : messages) EXPECT_THAT(errors(m), IsEmpty()) << m.type;
}

TEST(TraceHandshake, FatalAlertWhenTheCertificateIsNotTrusted) {
  TlsPair pair(client_setup(TLS1_3_VERSION, [](SSL_CTX* ctx) { SSL_CTX_set_verify(ctx, SSL_VERIFY_PEER, nullptr); }),
               server_setup());
  ASSERT_FALSE(pair.handshake());
  auto sent = trace(pair.client_messages());
  const auto& alert = find(sent, "alert");
  EXPECT_EQ(alert.direction, Direction::Sent);
  EXPECT_EQ(alert.content, "alert");
  EXPECT_EQ(field(alert, "level"), "fatal");
  EXPECT_EQ(field(alert, "description"), "unknown_ca");
  const auto& received = find(trace(pair.server_messages()), "alert");
  EXPECT_EQ(received.direction, Direction::Received);
  EXPECT_EQ(field(received, "description"), "unknown_ca");
}

// Without a context the decoder must still pick the right format for every real message.
TEST(TraceHandshake, GuessedFormatsMatchTheTracer) {
  std::vector<std::vector<RecordedMessage>> logs = {
      tls13_log(), tls12_log(),
      client_log(client_setup(TLS1_3_VERSION, use_client_certificate), server_setup(require_client_certificate)),
      client_log(client_setup(TLS1_2_VERSION, use_client_certificate), server_setup(require_client_certificate))};
  for (const auto& log : logs) {
    auto traced = trace(log);
    std::vector<TraceMessage> alone;
    for (const auto& m : log) {
      auto message = decode_message(direction(m), m.content_type, m.bytes);
      if (!message.type.empty()) alone.push_back(std::move(message));
    }
    ASSERT_EQ(alone.size(), traced.size());
    for (std::size_t i = 0; i < alone.size(); ++i) {
      ASSERT_EQ(alone[i].fields.size(), traced[i].fields.size()) << traced[i].type;
      for (std::size_t j = 0; j < alone[i].fields.size(); ++j) {
        EXPECT_EQ(alone[i].fields[j].name, traced[i].fields[j].name) << traced[i].type;
        EXPECT_EQ(alone[i].fields[j].value, traced[i].fields[j].value) << traced[i].type;
      }
    }
  }
}

TEST(TraceHandshake, BrowserLikeClientHello) {
  auto hello = decode(browser_hello());
  EXPECT_THAT(errors(hello), IsEmpty());
  expect_fields(
      hello, {{"cipher_suites",
               "GREASE, TLS_AES_128_GCM_SHA256, TLS_AES_256_GCM_SHA384, TLS_CHACHA20_POLY1305_SHA256, "
               "TLS_ECDHE_ECDSA_WITH_AES_128_GCM_SHA256"},
              {"extensions",
               "GREASE, server_name, extended_master_secret, renegotiation_info, supported_groups, ec_point_formats, "
               "session_ticket, application_layer_protocol_negotiation, status_request, signature_algorithms, "
               "signed_certificate_timestamp, key_share, psk_key_exchange_modes, supported_versions, "
               "compress_certificate, application_settings, encrypted_client_hello, record_size_limit, early_data, "
               "GREASE, padding, pre_shared_key"},
              {"supported_groups", "GREASE, X25519MLKEM768, x25519, secp256r1"},
              {"key_share", "GREASE, X25519MLKEM768, x25519"},
              {"supported_versions", "GREASE, TLS 1.3, TLS 1.2"},
              {"signature_algorithms", "ecdsa_secp256r1_sha256, rsa_pss_rsae_sha256"},
              {"status_request", "ocsp"},
              {"compress_certificate", "brotli"},
              {"record_size_limit", "16385"},
              {"renegotiation_info", "0 bytes"},
              {"padding", "100 bytes"},
              {"pre_shared_key", "1 identity"},
              {"psk_key_exchange_modes", "psk_dhe_ke"}});
}

TEST(TraceHandshake, Tls13Resumption) {
  // Both servers encrypt tickets with the same keys, so the second accepts the first's ticket.
  auto same_ticket_keys = [](SSL_CTX* ctx) {
    unsigned char keys[80] = {1, 2, 3};
    SSL_CTX_set_tlsext_ticket_keys(ctx, keys, sizeof keys);
  };
  ossl::Ptr<SSL_SESSION> session;
  {
    TlsPair first(client_setup(TLS1_3_VERSION), server_setup(same_ticket_keys));
    ASSERT_TRUE(first.handshake()) << first.error();
    session.reset(SSL_get1_session(first.client()));
    EXPECT_TRUE(first.shutdown());
    EXPECT_EQ(field(trace(first.client_messages()).back(), "description"), "close_notify");
  }
  PeerSetup client = client_setup(TLS1_3_VERSION);
  client.ssl = [base = client.ssl, &session](SSL* ssl) {
    base(ssl);
    SSL_set_session(ssl, session.get());
  };
  auto messages = trace(client_log(client, server_setup(same_ticket_keys)));
  EXPECT_THAT(handshake_types(messages), ElementsAre("> ClientHello", "< ServerHello", "< EncryptedExtensions",
                                                     "< Finished", "> Finished", "< NewSessionTicket"));
  EXPECT_EQ(field(find(messages, "ClientHello"), "pre_shared_key"), "1 identity");
  EXPECT_EQ(field(find(messages, "ServerHello"), "pre_shared_key"), "selected identity 0");
  for (const auto& m : messages) EXPECT_THAT(errors(m), IsEmpty()) << m.type;
}

// ---- hostile input --------------------------------------------------------------------------

// Every strict prefix of every real message decodes without crashing and says it is truncated.
TEST(TraceMalformed, EveryPrefixOfEveryRealMessage) {
  for (const auto& log : {tls13_log(), tls12_log()}) {
    Tracer tracer;
    for (const auto& m : log) {
      if (m.content_type > SSL3_RT_HANDSHAKE) continue;
      for (std::size_t n = 0; n < m.bytes.size(); ++n) {
        auto message = tracer.decode(direction(m), m.content_type, std::string_view(m.bytes).substr(0, n));
        EXPECT_THAT(errors(message), Not(IsEmpty())) << message.type << " cut at " << n;
      }
      (void)tracer.decode(direction(m), m.content_type, m.bytes);  // learn from the whole message
    }
  }
}

// The same, with the handshake header rewritten to the cut length, so the body decoders (not the
// header check) meet the end: all but one cut of a ClientHello are errors — the one right after
// compression_methods is a valid extension-less hello.
TEST(TraceMalformed, EveryCutOfAClientHelloBody) {
  std::string hello = raw(tls13_log(), SSL3_MT_CLIENT_HELLO);
  std::string body = hello.substr(4);
  int clean = 0;
  for (std::size_t n = 0; n < body.size(); ++n) {
    auto message = decode(handshake_message(SSL3_MT_CLIENT_HELLO, body.substr(0, n)));
    EXPECT_EQ(message.type, "ClientHello");
    if (errors(message).empty()) {
      ++clean;
      EXPECT_EQ(field(message, "extensions"), "(absent)") << "cut at " << n;
    }
  }
  EXPECT_EQ(clean, 1);
}

TEST(TraceMalformed, CutsKeepWhatWasDecoded) {
  std::string extensions = sni("www.bank32.com") + alpn_extension("h2");
  std::string hello = client_hello(extensions);
  // Cut in the middle of the ALPN extension: the names and the SNI survive.
  auto message = decode(hello.substr(0, hello.size() - 2));
  EXPECT_EQ(field(message, "cipher_suites"), "TLS_AES_128_GCM_SHA256");
  EXPECT_EQ(field(message, "server_name"), "www.bank32.com");
  EXPECT_THAT(errors(message), Contains(HasSubstr("truncated")));
  EXPECT_THAT(errors(message), Contains("truncated extension application_layer_protocol_negotiation"));
}

TEST(TraceMalformed, AbsurdLengths) {
  // A header announcing 16 MiB over a few bytes.
  auto huge = decode(std::string("\x01\xFF\xFF\xFF", 4) + hello_body());
  EXPECT_EQ(huge.type, "ClientHello");
  EXPECT_EQ(huge.length, 0xFFFFFFu);
  EXPECT_THAT(errors(huge), Contains(HasSubstr("16777215 bytes announced")));
  EXPECT_EQ(field(huge, "cipher_suites"), "TLS_AES_128_GCM_SHA256");

  // An extension announcing 65535 bytes: reported, and the list stops there.
  auto ext = decode(client_hello(be(0, 2) + be(0xFFFF, 2) + "abc"));
  EXPECT_THAT(errors(ext), Contains("truncated extension server_name"));

  // A host name longer than its extension: the next extension is still decoded.
  auto name = decode(client_hello(extension(0, vec(2, be(0, 1) + be(0xFFFF, 2) + "www")) + alpn_extension("h2")));
  EXPECT_THAT(errors(name), ElementsAre("truncated extension server_name"));
  EXPECT_EQ(field(name, "application_layer_protocol_negotiation"), "h2");

  // cipher_suites longer than the message, or odd.
  auto suites = decode(handshake_message(1, be(0x0303, 2) + std::string(32, 'r') + vec(1, "") + be(0xFFFF, 2) + "ab"));
  EXPECT_THAT(errors(suites), ElementsAre("truncated cipher_suites"));
  auto odd = decode(handshake_message(1, hello_body("\x13\x01\x13")));
  EXPECT_THAT(errors(odd), Contains("odd length of cipher_suites"));

  // The extensions block announcing more than there is keeps the extensions that are there.
  auto block = decode(handshake_message(1, hello_body() + be(0x1000, 2) + sni("a.example")));
  EXPECT_EQ(field(block, "server_name"), "a.example");
  EXPECT_THAT(errors(block), Contains(HasSubstr("truncated extensions")));

  // A Certificate whose entry overruns the list.
  auto certificate = decode(handshake_message(11, vec(3, be(0xFFFFFF, 3) + "xyz")));
  EXPECT_THAT(errors(certificate), Not(IsEmpty()));
}

TEST(TraceMalformed, EmptyInputOfEveryContentType) {
  for (int type : fuzz::kContentTypes) {
    auto message = decode("", type);
    EXPECT_EQ(message.length, 0u);
    if (type == SSL3_RT_HEADER || type == SSL3_RT_INNER_CONTENT_TYPE) {
      EXPECT_EQ(message.type, "");
    } else {
      EXPECT_NE(message.type, "") << type;
    }
  }
  EXPECT_THAT(errors(decode("")), ElementsAre("empty handshake message"));
  EXPECT_EQ(decode("").type, "malformed");
  EXPECT_THAT(errors(decode("\x01\x00", SSL3_RT_HANDSHAKE)), ElementsAre("truncated handshake header"));
  EXPECT_THAT(errors(decode("", SSL3_RT_ALERT)), ElementsAre("truncated alert"));
  EXPECT_THAT(errors(decode("", SSL3_RT_CHANGE_CIPHER_SPEC)), ElementsAre("empty change_cipher_spec"));
}

TEST(TraceMalformed, UnknownTypes) {
  auto handshake = decode(handshake_message(0x63, "abc"));
  EXPECT_EQ(handshake.type, "unknown (0x63)");
  EXPECT_EQ(handshake.length, 3u);
  auto content = decode("abc", 99);
  EXPECT_EQ(content.type, "unknown (99)");
  EXPECT_EQ(content.length, 3u);
  auto extensions = decode(client_hello(extension(0x1234, "zz") + extension(0x0A0A, "")));
  EXPECT_EQ(field(extensions, "extensions"), "unknown (0x1234), GREASE");
  EXPECT_THAT(errors(extensions), IsEmpty());
}

TEST(TraceMalformed, TrailingBytesAreReported) {
  auto after = decode(handshake_message(14, "") + "zz");
  EXPECT_EQ(after.type, "ServerHelloDone");
  EXPECT_THAT(errors(after), ElementsAre("2 bytes after the message"));
  auto inside = decode(handshake_message(14, "z"));
  EXPECT_THAT(errors(inside), ElementsAre("1 byte unexpected after an empty message"));
  auto extension_tail = decode(client_hello(extension(28, be(16384, 2) + "x")));
  EXPECT_EQ(field(extension_tail, "record_size_limit"), "16384");
  EXPECT_THAT(errors(extension_tail), ElementsAre("1 byte unexpected after extension record_size_limit"));
}

TEST(TraceMalformed, DuplicateExtensions) {
  auto message = decode(client_hello(sni("a.example") + sni("b.example") + sni("c.example")));
  EXPECT_THAT(errors(message), ElementsAre("duplicate extension server_name"));
  EXPECT_THAT(values(message, "server_name"), ElementsAre("a.example", "b.example", "c.example"));
}

TEST(TraceMalformed, PeerTextIsEscaped) {
  auto message = decode(client_hello(sni("evil\x1b[31m\\\n.example") + alpn_extension(std::string("h2\0", 3))));
  EXPECT_EQ(field(message, "server_name"), "evil\\x1b[31m\\x5c\\x0a.example");
  EXPECT_EQ(field(message, "application_layer_protocol_negotiation"), "h2\\x00");
}

// Many tiny items: the output grows with the input, nothing worse.
TEST(TraceMalformed, ManyTinyItems) {
  std::string extensions;
  for (int i = 0; i < 16000; ++i) extensions += extension(0xAAAA, "");  // GREASE, repeated
  auto hello = decode(client_hello(extensions));
  EXPECT_THAT(errors(hello), ElementsAre("duplicate extension GREASE"));

  std::string list;
  for (int i = 0; i < 30000; ++i) list += vec(3, "");
  auto certificate = decode_message(Direction::Received, SSL3_RT_HANDSHAKE, handshake_message(11, vec(3, list)),
                                    TraceContext{TLS1_2_VERSION, 0xC02B});
  EXPECT_EQ(field(certificate, "certificates"), "30000");
  EXPECT_EQ(field(certificate, "certificate"), "not a certificate (0 bytes)");
}

// ---- other content types --------------------------------------------------------------------

TEST(TraceRecords, Alerts) {
  auto fatal = decode(std::string("\x02\x28", 2), SSL3_RT_ALERT);
  EXPECT_EQ(fatal.type, "alert");
  EXPECT_EQ(fatal.length, 2u);
  EXPECT_EQ(field(fatal, "level"), "fatal");
  EXPECT_EQ(field(fatal, "description"), "handshake_failure");
  auto close = decode(std::string("\x01\x00", 2), SSL3_RT_ALERT);
  EXPECT_EQ(field(close, "level"), "warning");
  EXPECT_EQ(field(close, "description"), "close_notify");
  auto odd = decode(std::string("\x07\xC8", 2), SSL3_RT_ALERT);
  EXPECT_EQ(field(odd, "level"), "unknown (0x07)");
  EXPECT_EQ(field(odd, "description"), "unknown (0xc8)");
  EXPECT_THAT(errors(decode("\x02", SSL3_RT_ALERT)), ElementsAre("truncated alert"));
}

TEST(TraceRecords, ChangeCipherSpecHeartbeatAndPseudoTypes) {
  auto ccs = decode("\x01", SSL3_RT_CHANGE_CIPHER_SPEC);
  EXPECT_EQ(ccs.type, "change_cipher_spec");
  EXPECT_THAT(errors(ccs), IsEmpty());
  EXPECT_THAT(errors(decode("\x02", SSL3_RT_CHANGE_CIPHER_SPEC)), ElementsAre("unexpected value 2"));
  // A heartbeat request claiming 16 KiB of payload over 1 byte: Heartbleed's shape.
  auto bleed = decode(std::string("\x01\x40\x00x", 4), 24);
  EXPECT_EQ(bleed.type, "heartbeat");
  EXPECT_EQ(field(bleed, "heartbeat_type"), "heartbeat_request");
  EXPECT_THAT(errors(bleed), ElementsAre("payload_length 16384 exceeds the 1 present"));
  EXPECT_EQ(decode("abcd", SSL3_RT_APPLICATION_DATA).type, "application_data");
  EXPECT_EQ(decode("\x17\x03\x03\x00\x10", SSL3_RT_HEADER).type, "");
  EXPECT_EQ(decode("\x16", SSL3_RT_INNER_CONTENT_TYPE).type, "");
}

TEST(TraceRecords, SmallHandshakeMessages) {
  EXPECT_EQ(field(decode(handshake_message(24, "\x01")), "request_update"), "update_requested");
  EXPECT_EQ(decode(handshake_message(5, "")).type, "EndOfEarlyData");
  EXPECT_EQ(field(decode(handshake_message(254, std::string(32, 'h'))), "hash_length"), "32");
  EXPECT_EQ(decode(handshake_message(254, "")).type, "MessageHash");
  auto status = decode(handshake_message(22, be(1, 1) + vec(3, "resp")));
  EXPECT_EQ(field(status, "status_type"), "ocsp");
  EXPECT_EQ(field(status, "response_length"), "4");
  // A TLS 1.0 CertificateVerify has no signature scheme.
  auto verify = decode_message(Direction::Sent, SSL3_RT_HANDSHAKE, handshake_message(15, vec(2, "sig")),
                               TraceContext{TLS1_VERSION, 0xC013});
  EXPECT_EQ(field(verify, "signature_scheme"), "(absent)");
  EXPECT_EQ(field(verify, "signature_length"), "3");
  auto guessed = decode(handshake_message(15, vec(2, "sig")));
  EXPECT_EQ(field(guessed, "signature_scheme"), "(absent)");
  EXPECT_THAT(errors(guessed), IsEmpty());
}

// ---- registry names -------------------------------------------------------------------------

// alert adapts alert_description (a uint8_t registry) to the table below.
std::string alert(std::uint16_t id) { return alert_description(static_cast<std::uint8_t>(id)); }

struct NameCase {
  std::string (*name)(std::uint16_t);
  std::uint16_t id;
  const char* expected;
};

const NameCase kNames[] = {
    {cipher_suite_name, 0x1301, "TLS_AES_128_GCM_SHA256"},
    {cipher_suite_name, 0x1302, "TLS_AES_256_GCM_SHA384"},
    {cipher_suite_name, 0x1303, "TLS_CHACHA20_POLY1305_SHA256"},
    {cipher_suite_name, 0x1304, "TLS_AES_128_CCM_SHA256"},
    {cipher_suite_name, 0x1305, "TLS_AES_128_CCM_8_SHA256"},
    {cipher_suite_name, 0xC02B, "TLS_ECDHE_ECDSA_WITH_AES_128_GCM_SHA256"},
    {cipher_suite_name, 0xC030, "TLS_ECDHE_RSA_WITH_AES_256_GCM_SHA384"},
    {cipher_suite_name, 0xCCA8, "TLS_ECDHE_RSA_WITH_CHACHA20_POLY1305_SHA256"},
    {cipher_suite_name, 0xC013, "TLS_ECDHE_RSA_WITH_AES_128_CBC_SHA"},
    {cipher_suite_name, 0x009E, "TLS_DHE_RSA_WITH_AES_128_GCM_SHA256"},
    {cipher_suite_name, 0x002F, "TLS_RSA_WITH_AES_128_CBC_SHA"},
    {cipher_suite_name, 0x000A, "TLS_RSA_WITH_3DES_EDE_CBC_SHA"},
    {cipher_suite_name, 0x00FF, "TLS_EMPTY_RENEGOTIATION_INFO_SCSV"},
    {cipher_suite_name, 0x5600, "TLS_FALLBACK_SCSV"},
    {cipher_suite_name, 0x0A0A, "GREASE"},
    {cipher_suite_name, 0xFAFA, "GREASE"},
    {cipher_suite_name, 0x1234, "unknown (0x1234)"},
    {group_name, 29, "x25519"},
    {group_name, 30, "x448"},
    {group_name, 23, "secp256r1"},
    {group_name, 24, "secp384r1"},
    {group_name, 25, "secp521r1"},
    {group_name, 256, "ffdhe2048"},
    {group_name, 260, "ffdhe8192"},
    {group_name, 0x11EC, "X25519MLKEM768"},
    {group_name, 0x11EB, "SecP256r1MLKEM768"},
    {group_name, 0x6399, "X25519Kyber768Draft00"},
    {group_name, 0x0201, "MLKEM768"},
    {group_name, 0x2A2A, "GREASE"},
    {group_name, 0x0999, "unknown (0x0999)"},
    {signature_scheme_name, 0x0403, "ecdsa_secp256r1_sha256"},
    {signature_scheme_name, 0x0503, "ecdsa_secp384r1_sha384"},
    {signature_scheme_name, 0x0603, "ecdsa_secp521r1_sha512"},
    {signature_scheme_name, 0x0401, "rsa_pkcs1_sha256"},
    {signature_scheme_name, 0x0804, "rsa_pss_rsae_sha256"},
    {signature_scheme_name, 0x080B, "rsa_pss_pss_sha512"},
    {signature_scheme_name, 0x0807, "ed25519"},
    {signature_scheme_name, 0x0808, "ed448"},
    {signature_scheme_name, 0x0201, "rsa_pkcs1_sha1"},
    {signature_scheme_name, 0x0203, "ecdsa_sha1"},
    {signature_scheme_name, 0x0202, "dsa_sha1"},  // a TLS 1.2 hash/signature pair
    {signature_scheme_name, 0x3A3A, "GREASE"},
    {signature_scheme_name, 0x0FFF, "unknown (0x0fff)"},
    {version_name, 0x0300, "SSL 3.0"},
    {version_name, 0x0301, "TLS 1.0"},
    {version_name, 0x0302, "TLS 1.1"},
    {version_name, 0x0303, "TLS 1.2"},
    {version_name, 0x0304, "TLS 1.3"},
    {version_name, 0xFEFD, "DTLS 1.2"},
    {version_name, 0x7F17, "TLS 1.3 draft 23"},
    {version_name, 0x4A4A, "GREASE"},
    {version_name, 0x0305, "unknown (0x0305)"},
    {extension_name, 0, "server_name"},
    {extension_name, 16, "application_layer_protocol_negotiation"},
    {extension_name, 43, "supported_versions"},
    {extension_name, 51, "key_share"},
    {extension_name, 0xFF01, "renegotiation_info"},
    {extension_name, 0xFE0D, "encrypted_client_hello"},
    {extension_name, 0xDADA, "GREASE"},
    {extension_name, 0x1234, "unknown (0x1234)"},
    {alert, 0, "close_notify"},
    {alert, 40, "handshake_failure"},
    {alert, 48, "unknown_ca"},
    {alert, 86, "inappropriate_fallback"},
    {alert, 116, "certificate_required"},
    {alert, 120, "no_application_protocol"},
    {alert, 21, "decryption_failed"},
    {alert, 255, "unknown (0xff)"},
};

TEST(TraceNames, RegistryValues) {
  for (const auto& c : kNames) EXPECT_EQ(c.name(c.id), c.expected) << "id 0x" << std::hex << c.id;
}

// Every suite OpenSSL knows has the name OpenSSL gives it.
TEST(TraceNames, CipherSuitesAgreeWithOpenSsl) {
  ossl::Ptr<SSL_CTX> ctx(SSL_CTX_new(TLS_method()));
  ASSERT_TRUE(SSL_CTX_set_cipher_list(ctx.get(), "ALL:COMPLEMENTOFALL:@SECLEVEL=0"));
  ossl::Ptr<SSL> ssl(SSL_new(ctx.get()));
  STACK_OF(SSL_CIPHER)* ciphers = SSL_get_ciphers(ssl.get());
  ASSERT_GT(sk_SSL_CIPHER_num(ciphers), 100);
  for (int i = 0; i < sk_SSL_CIPHER_num(ciphers); ++i) {
    const SSL_CIPHER* cipher = sk_SSL_CIPHER_value(ciphers, i);
    auto id = static_cast<std::uint16_t>(SSL_CIPHER_get_protocol_id(cipher));
    EXPECT_EQ(cipher_suite_name(id), SSL_CIPHER_standard_name(cipher));
  }
}

TEST(TraceNames, GreaseIsExactlyTheSixteenReservedValues) {
  std::vector<std::uint16_t> grease;
  for (std::uint32_t id = 0; id <= 0xFFFF; ++id)
    if (is_grease(static_cast<std::uint16_t>(id))) grease.push_back(static_cast<std::uint16_t>(id));
  ASSERT_EQ(grease.size(), 16u);
  EXPECT_EQ(grease.front(), 0x0A0A);
  EXPECT_EQ(grease.back(), 0xFAFA);
}

}  // namespace
}  // namespace tlslab::tls
