// proxy::find_secrets and proxy::redact_flow — the secrets a flow carries, found on parsed data
// (never by searching text for names), and the same flow with them masked.
//
// Where secrets are found:
//   query string and form bodies (application/x-www-form-urlencoded), parsed with Boost.URL and
//     decoded ('+' is a space): fields with a secret-looking name (is_secret_name);
//   JSON bodies (by Content-Type, or a body that starts with '{' or '['), parsed with nlohmann and
//     walked whole: members with a secret-looking name, at any depth (every value inside them);
//   headers and trailers: Authorization and Proxy-Authorization (Basic credentials decoded),
//     Cookie (every cookie), Set-Cookie (the cookie's value), and any header with a secret-looking
//     name (X-Api-Key, X-Auth-Token, X-CSRF-Token);
//   the password of a URL's user information (an absolute-form target).
// Request and response alike (an OAuth token endpoint answers with access_token in JSON).
//
// redact_flow masks the model, not its text: the form and the query string are re-encoded with
// the secret fields' values masked, JSON re-serialised with them masked, header values masked with
// their structure kept ("Basic ********", "sid=********; theme=********"). Then every string of the
// flow — other fields, bodies that do not parse, headers, the reason, the error — has each secret
// value masked wherever it appears, in any spelling: as is, percent-encoded (either case, '+' for
// a space), JSON-escaped (\" \\ \/ \uXXXX, surrogate pairs) or HTML-escaped (&quot; &#34; …), or a
// mix of those. Values shorter than 4 bytes (cookies: 8) are masked where they are found by name
// only: searching every text for them would mask ordinary words.
#pragma once

#include <string>
#include <string_view>
#include <vector>

#include "proxy/flow.hpp"

namespace tlslab::proxy {

// kMask replaces a secret's value.
inline constexpr std::string_view kMask = "********";

// Secret is something --dump spotlights (and --redact masks).
struct Secret {
  std::string where;  // "form field", "query", "JSON field", "header", "cookie", "response cookie", "URL"…
  std::string name;   // "password", "Authorization (Basic, decoded)", "sid"
  std::string value;  // decoded: "p@ss%21\"wörd", "alice:secret" for Basic credentials
};

// is_secret_name says whether a field so named holds a secret. Case and separators are ignored
// (password, user[password], new-password, Access_Token, apiKey, X-Api-Key all are); the words:
// pass, pwd, pin, otp, auth, sid, session exactly, or password, passwd, passphrase, secret,
// token, apikey, accesskey, privatekey, authorization, sessionid anywhere in the name.
[[nodiscard]] bool is_secret_name(std::string_view name);

// find_secrets lists the secrets of a flow's request and response, in the order they appear.
[[nodiscard]] std::vector<Secret> find_secrets(const Flow& flow);

// redact_flow returns flow with the secrets masked (see the file comment); secrets are
// find_secrets(flow), passed in when the caller has them already.
[[nodiscard]] Flow redact_flow(Flow flow, const std::vector<Secret>& secrets);
[[nodiscard]] Flow redact_flow(Flow flow);

// mask_text returns text with every searched secret value (see the file comment) replaced by
// kMask, in any spelling.
[[nodiscard]] std::string mask_text(std::string text, const std::vector<Secret>& secrets);

}  // namespace tlslab::proxy
