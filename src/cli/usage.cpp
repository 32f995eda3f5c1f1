// The help layout and the usage errors. CLI11 says what went wrong in its own terms ("A subcommand
// is required", "Could not convert: --days = x"); the exception's type tells which kind of mistake
// it was, and a walk over the arguments, with the command definitions, finds which word it was.
#include "cli/usage.hpp"

#include <fmt/format.h>

#include <algorithm>
#include <array>
#include <cctype>
#include <charconv>
#include <cstdlib>
#include <limits>
#include <optional>
#include <string_view>

#include "base/text.hpp"

namespace tlslab::cli {
namespace {

bool hidden(const CLI::Option& opt) { return opt.get_group().empty(); }

bool contains(std::string_view text, std::string_view word) {
  return ascii_lower(text).find(ascii_lower(word)) != std::string::npos;
}

// A flag takes no value (CLI11 sets its expected count to 0): "--insecure", "--system=false" at most.
bool is_flag(const CLI::Option& opt) { return opt.get_expected_max() == 0; }

bool is_vector(const CLI::Option& opt) { return opt.get_expected_max() >= CLI::detail::expected_max_vector_size; }

// has_word says whether text holds word on its own (case matters): "PEM" in "(PEM, leaf first)".
bool has_word(std::string_view text, std::string_view word) {
  auto is_letter = [](char c) { return std::isalnum(static_cast<unsigned char>(c)) != 0; };
  for (auto pos = text.find(word); pos != std::string_view::npos; pos = text.find(word, pos + 1)) {
    auto end = pos + word.size();
    if ((pos == 0 || !is_letter(text[pos - 1])) && (end == text.size() || !is_letter(text[end]))) return true;
  }
  return false;
}

// shown is how messages name an option or a positional: "--cacert", "TARGET" (CLI11's get_name()
// gives "" for hidden options).
std::string shown(const CLI::Option& opt) {
  if (opt.get_positional()) return ascii_upper(opt.get_name(true, false));
  if (!opt.get_lnames().empty()) return "--" + opt.get_lnames().front();
  return opt.get_snames().empty() ? opt.get_name() : "-" + opt.get_snames().front();
}

std::vector<const CLI::App*> subcommands(const CLI::App& app) {
  return app.get_subcommands([](const CLI::App* sub) { return !sub->get_name().empty() && !sub->get_disabled(); });
}

const CLI::App* find_subcommand(const CLI::App& app, const std::string& name) {
  for (const auto* sub : subcommands(app))
    if (sub->check_name(name)) return sub;
  return nullptr;
}

// path is "tlslab ca issue" for that subcommand.
std::string path(const CLI::App& app) {
  return app.get_parent() ? path(*app.get_parent()) + " " + app.get_name() : app.get_name();
}

// either joins words as "a, b or c".
std::string either(const std::vector<std::string>& words) {
  std::string out;
  for (size_t i = 0; i < words.size(); ++i) out += (i == 0 ? "" : i + 1 == words.size() ? " or " : ", ") + words[i];
  return out;
}

bool is_number(const std::string& s) {
  if (s.empty()) return false;
  char* end = nullptr;
  std::strtod(s.c_str(), &end);
  return end == s.c_str() + s.size();
}

bool looks_like_option(const std::string& s) { return s.size() > 1 && s[0] == '-' && !is_number(s); }

size_t positional_room(const CLI::App& app) {
  size_t room = 0;
  for (const auto* opt : app.get_options([](const CLI::Option* o) { return o->get_positional(); }))
    room += is_vector(*opt) ? std::numeric_limits<int>::max() : static_cast<size_t>(opt->get_expected_max());
  return room;
}

// One option as the user gave it: the spelling typed and the value, if any.
struct Given {
  const CLI::Option* opt;
  std::string name;
  std::optional<std::string> value;
};

// Walk is what a pass over the arguments found: the command they reach, the options given, and
// the first word of each kind that does not fit.
struct Walk {
  const CLI::App* app;
  std::vector<Given> given;
  std::string unknown_option;
  const CLI::App* unknown_option_app = nullptr;  // the command it was given to
  std::string stray_word;
  const CLI::App* stray_word_app = nullptr;
  const CLI::Option* missing_value = nullptr;
};

// walk reads args the way CLI11 does: a word naming a subcommand of the current command enters it,
// other words fill its positionals; an option takes the next word whatever it looks like, and a
// vector option then every word up to the next option or command.
Walk walk(const CLI::App& root, const std::vector<std::string>& args) {
  Walk w{&root, {}, {}, nullptr, {}, nullptr, nullptr};
  size_t room = positional_room(root);
  auto positional = [&](const std::string& word) {
    if (room > 0)
      --room;
    else if (w.stray_word.empty()) {
      w.stray_word = word;
      w.stray_word_app = w.app;
    }
  };
  for (size_t i = 0; i < args.size(); ++i) {
    const auto& arg = args[i];
    if (arg == "--") {
      while (++i < args.size()) positional(args[i]);
      break;
    }
    if (looks_like_option(arg)) {
      // "--name=value", "--name", "-o value", "-ovalue", or flags run together: "-kq".
      bool is_long = arg.starts_with("--");
      auto eq = arg.find('=');
      auto name = is_long ? arg.substr(0, eq) : arg.substr(0, 2);
      std::optional<std::string> attached;
      if (is_long && eq != std::string::npos) attached = arg.substr(eq + 1);
      const CLI::Option* opt = nullptr;
      for (size_t k = 1;; ++k) {
        if (!is_long) name = std::string("-") + arg[k];
        opt = w.app->get_option_no_throw(name);
        if (opt == nullptr) {
          if (w.unknown_option.empty()) {
            w.unknown_option = name;
            w.unknown_option_app = w.app;
          }
          break;
        }
        if (is_long || !is_flag(*opt) || k + 1 == arg.size()) {
          if (!is_long && k + 1 < arg.size()) attached = arg.substr(k + 1);
          break;
        }
        w.given.push_back({opt, name, std::nullopt});  // a flag, with more letters after it
      }
      if (opt == nullptr) continue;
      if (is_flag(*opt)) {  // "--system=false" is a flag with a value
        w.given.push_back({opt, name, attached});
        continue;
      }
      if (attached && attached->empty()) {  // "--days=" gives no value
        w.given.push_back({opt, name, std::nullopt});
        if (w.missing_value == nullptr) w.missing_value = opt;
        continue;
      }
      if (attached) {
        w.given.push_back({opt, name, attached});
        continue;
      }
      size_t taken = 0;
      if (i + 1 < args.size() && looks_like_option(args[i + 1])) {  // CLI11 takes it as the value all the same
        w.given.push_back({opt, name, args[++i]});
        continue;
      }
      while (i + 1 < args.size() && !looks_like_option(args[i + 1]) && (taken == 0 || is_vector(*opt)) &&
             !(taken > 0 && find_subcommand(*w.app, args[i + 1]))) {
        w.given.push_back({opt, name, args[++i]});
        ++taken;
      }
      if (taken == 0) {
        w.given.push_back({opt, name, std::nullopt});
        if (w.missing_value == nullptr) w.missing_value = opt;
      }
      continue;
    }
    if (const auto* sub = find_subcommand(*w.app, arg)) {
      w.app = sub;
      room = positional_room(*sub);
      continue;
    }
    positional(arg);
  }
  return w;
}

// expectation says in words what a value of this type looks like, "" for text.
std::string expectation(const CLI::Option& opt) {
  auto type = opt.get_type_name();
  if (type == "INT") return "a whole number";
  if (type == "UINT") return "a whole number, 0 or more";
  if (type == "FLOAT") return "a number";
  return "";
}

// converts says whether value is a valid value for opt's type (as far as its type name tells).
bool converts(const CLI::Option& opt, const std::string& value) {
  if (is_flag(opt)) {
    static constexpr std::array kWords = {"true", "false", "yes", "no", "on", "off", "1", "0", "enable", "disable"};
    return std::find(kWords.begin(), kWords.end(), value) != kWords.end();
  }
  auto type = opt.get_type_name();
  const char* begin = value.data();
  const char* end = begin + value.size();
  if (type == "INT") {
    long long n = 0;
    auto [p, ec] = std::from_chars(begin, end, n);
    return ec == std::errc() && p == end;
  }
  if (type == "UINT") {
    unsigned long long n = 0;
    auto [p, ec] = std::from_chars(begin, end, n);
    return ec == std::errc() && p == end;
  }
  if (type == "FLOAT") return is_number(value);
  return true;
}

std::vector<std::string> option_names(const CLI::App& app) {
  std::vector<std::string> names;
  for (const auto* opt : app.get_options()) {
    if (hidden(*opt) || opt->get_positional()) continue;
    for (const auto& l : opt->get_lnames()) names.push_back("--" + l);
  }
  return names;
}

std::vector<std::string> subcommand_names(const CLI::App& app) {
  std::vector<std::string> names;
  for (const auto* sub : subcommands(app)) names.push_back(sub->get_name());
  return names;
}

// owners lists the subcommands below app that have an option called name.
void owners(const CLI::App& app, const std::string& name, std::vector<std::string>& out) {
  for (const auto* sub : subcommands(app)) {
    const auto* opt = sub->get_option_no_throw(name);
    if (opt != nullptr && !hidden(*opt)) out.push_back(path(*sub));
    owners(*sub, name, out);
  }
}

std::string unknown_option(const CLI::App& app, const std::string& prefix, const std::string& name) {
  auto near = suggestion(name, option_names(app));
  if (!near.empty()) return fmt::format("{}unknown option {}; did you mean {}?", prefix, name, near);
  std::vector<std::string> where;
  owners(app, name, where);
  if (!where.empty())
    return fmt::format("{}{} is an option of {}: put it after the command", prefix, name, either(where));
  return fmt::format("{}unknown option {} ({} --help lists the options)", prefix, name, path(app));
}

std::string stray_word(const CLI::App& app, const std::string& prefix, const std::string& word) {
  auto commands = subcommand_names(app);
  if (!commands.empty()) {
    auto near = suggestion(word, commands);
    if (!near.empty()) return fmt::format("{}unknown command {}; did you mean {}?", prefix, word, near);
    return fmt::format("{}unknown command {}; the commands are {}", prefix, word, either(commands));
  }
  if (!word.starts_with("-")) {
    auto near = suggestion("--" + word, option_names(app));
    if (!near.empty()) return fmt::format("{}unexpected argument {}; did you mean {}?", prefix, word, near);
  }
  std::vector<std::string> takes;
  for (const auto* opt : app.get_options([](const CLI::Option* o) { return o->get_positional(); }))
    takes.push_back(shown(*opt) + (is_vector(*opt) ? "..." : ""));
  if (takes.empty())
    return fmt::format("{}unexpected argument {}: {} takes options only", prefix, word, app.get_name());
  return fmt::format("{}unexpected argument {}: {} takes {}{}", prefix, word, app.get_name(),
                     takes.size() == 1 && takes[0].find("...") == std::string::npos ? "one " : "",
                     fmt::join(takes, " and "));
}

// needs_text is "--days N (validity in days)" style: what an option expects, for messages.
std::string needs_text(const CLI::Option& opt) {
  auto var = metavar(opt);
  auto what = var == "VALUE" ? std::string("a value") : var;
  auto desc = opt.get_description();
  return desc.empty() ? what : fmt::format("{} ({})", what, desc);
}

std::optional<std::string> missing_required(const CLI::App& app, const std::string& prefix) {
  if (app.get_require_subcommand_min() > 0 && app.get_subcommands().empty())
    return fmt::format("{}missing command: {} ({} --help says what each does)", prefix, either(subcommand_names(app)),
                       path(app));
  for (const auto* opt : app.get_options()) {
    if (!opt->get_required() || opt->count() > 0) continue;
    if (opt->get_positional()) return fmt::format("{}missing {}: {}", prefix, shown(*opt), opt->get_description());
    return fmt::format("{}missing {} {}", prefix, shown(*opt), needs_text(*opt));
  }
  return std::nullopt;
}

std::optional<std::string> bad_value(const Walk& w, const std::string& prefix) {
  for (const auto& g : w.given) {
    if (!g.value || converts(*g.opt, *g.value)) continue;
    if (is_flag(*g.opt))
      return fmt::format("{}{} is a switch: give it alone (or =true, =false), not \"{}\"", prefix, g.name, *g.value);
    return fmt::format("{}{} expects {}, not \"{}\"", prefix, g.name, expectation(*g.opt), *g.value);
  }
  return std::nullopt;
}

std::optional<std::string> needs_or_excludes(const Walk& w, const std::string& prefix) {
  for (const auto& g : w.given) {
    for (const auto* needed : g.opt->get_needs())
      if (needed->count() == 0)
        return fmt::format("{}{} needs {}{} too", prefix, g.name, shown(*needed),
                           is_flag(*needed) ? "" : " " + metavar(*needed));
    for (const auto* excluded : g.opt->get_excludes())
      if (excluded->count() > 0)
        return fmt::format("{}{} and {} cannot be used together", prefix, g.name, shown(*excluded));
  }
  // A positional that excludes an option: its value is not among the options given.
  for (const auto* opt : w.app->get_options([](const CLI::Option* o) { return o->get_positional(); }))
    for (const auto* excluded : opt->get_excludes())
      if (opt->count() > 0 && excluded->count() > 0)
        return fmt::format("{}{} and {} cannot be used together", prefix, shown(*opt), shown(*excluded));
  return std::nullopt;
}

// distance is the optimal string alignment distance: edits, counting a swap of neighbours as one.
size_t distance(std::string_view a, std::string_view b) {
  std::vector<std::vector<size_t>> d(a.size() + 1, std::vector<size_t>(b.size() + 1));
  for (size_t i = 0; i <= a.size(); ++i) d[i][0] = i;
  for (size_t j = 0; j <= b.size(); ++j) d[0][j] = j;
  for (size_t i = 1; i <= a.size(); ++i)
    for (size_t j = 1; j <= b.size(); ++j) {
      size_t cost = a[i - 1] == b[j - 1] ? 0 : 1;
      d[i][j] = std::min({d[i - 1][j] + 1, d[i][j - 1] + 1, d[i - 1][j - 1] + cost});
      if (i > 1 && j > 1 && a[i - 1] == b[j - 2] && a[i - 2] == b[j - 1])
        d[i][j] = std::min(d[i][j], d[i - 2][j - 2] + 1);
    }
  return d[a.size()][b.size()];
}

std::string_view undashed(std::string_view s) {
  while (s.starts_with('-')) s.remove_prefix(1);
  return s;
}

// named_value returns the value's name when the description spells it in capitals: its first word
// ("HOST:PORT:ADDR — use ADDR for HOST:PORT"), else the last such word ("every HOST[:PORT] listed
// in FILE"); "" when there is none.
std::string named_value(std::string_view desc) {
  static constexpr std::array kNames = {"FILE",           "DIR",
                                        "PATH",           "PATTERN",
                                        "BYTES",          "URL",
                                        "NAME",           "ADDR:PORT",
                                        "ADDR[:PORT]",    "HOST:PORT",
                                        "HOST[:PORT]",    "NAME:ADDR",
                                        "HOST:PORT:ADDR", "HOST1:PORT1:HOST2:PORT2",
                                        "NAME=CERT,KEY",  "SUFFIX"};
  std::string last;
  for (size_t pos = 0; pos < desc.size();) {
    auto end = desc.find_first_of(" ;()'\"", pos);
    if (end == std::string_view::npos) end = desc.size();
    auto word = desc.substr(pos, end - pos);
    while (!word.empty() && (word.back() == ':' || word.back() == '.' || word.back() == ',')) word.remove_suffix(1);
    if (std::find(kNames.begin(), kNames.end(), word) != kNames.end()) {
      if (pos == 0) return std::string(word);
      last = word;
    }
    pos = end + 1;
  }
  return last;
}

// lead_value returns how long the "HOST:PORT:ADDR — " or "NAME:ADDR: " that opens desc is (0 if
// none): --help shows the name in the left column already.
size_t lead_value(std::string_view desc, const std::string& name) {
  if (name.empty() || !desc.starts_with(name)) return 0;
  for (std::string_view sep : {" — ", ": "})
    if (desc.substr(name.size()).starts_with(sep)) return name.size() + sep.size();
  return 0;
}

}  // namespace

HelpFormatter::HelpFormatter() {
  label("SUBCOMMAND", "COMMAND");
  label("SUBCOMMANDS", "COMMANDS");
  label("Positionals", "Arguments");
}

std::string HelpFormatter::make_option_name(const CLI::Option* opt, bool is_positional) const {
  if (is_positional) return shown(*opt) + (is_vector(*opt) ? "..." : "");
  std::vector<std::string> names;
  for (const auto& s : opt->get_snames()) names.push_back("-" + s);
  for (const auto& l : opt->get_lnames()) names.push_back("--" + l);
  return fmt::format("{}", fmt::join(names, ", "));
}

std::string HelpFormatter::make_option_opts(const CLI::Option* opt) const {
  return is_flag(*opt) || opt->get_positional() ? "" : " " + metavar(*opt);
}

std::string HelpFormatter::make_option_desc(const CLI::Option* opt) const {
  auto desc = opt->get_description();
  if (!opt->get_positional()) desc.erase(0, lead_value(desc, metavar(*opt)));
  if (!opt->get_default_str().empty() && !contains(desc, "default"))
    desc += fmt::format(" (default: {})", opt->get_default_str());
  if (!opt->get_positional() && is_vector(*opt) && !contains(desc, "repeat")) desc += " (repeatable)";
  if (!opt->get_positional() && opt->get_required()) desc += " (required)";
  return desc;
}

std::string HelpFormatter::make_option_usage(const CLI::Option* opt) const {
  auto name = shown(*opt) + (is_vector(*opt) ? "..." : "");
  return opt->get_required() ? name : "[" + name + "]";
}

void group_commands(CLI::App& app) {
  for (auto* sub : app.get_subcommands([](CLI::App*) { return true; })) {
    sub->group("Commands");
    group_commands(*sub);
  }
}

std::string metavar(const CLI::Option& opt) {
  if (!opt.get_option_text().empty()) return opt.get_option_text();
  const auto& desc = opt.get_description();
  if (auto named = named_value(desc); !named.empty()) return named;
  auto type = opt.get_type_name();
  if (type == "INT" || type == "UINT" || type == "FLOAT") return "N";
  if (contains(desc, "folder") || contains(desc, "directory")) return "DIR";
  if (contains(desc, "file") || has_word(desc, "PEM") || has_word(desc, "DER") || has_word(desc, "key")) return "FILE";
  if (contains(desc, "version")) return "VERSION";
  auto names = opt.get_lnames();
  return names.empty() ? "VALUE" : ascii_upper(names.front());
}

std::vector<std::string> help_request(const CLI::App& app, std::vector<std::string> args) {
  const CLI::App* cur = &app;
  for (size_t i = 0; i < args.size(); ++i) {
    if (args[i] == "help" && !subcommands(*cur).empty()) {
      args.erase(args.begin() + static_cast<std::ptrdiff_t>(i));
      // The words after "help" name a command. One that does not is left for the parser to report
      // (the parser takes words after a command without subcommands as its arguments, so "help"
      // still only shows help there: it never runs a command).
      for (size_t j = i; j < args.size(); ++j) {
        const auto* next = find_subcommand(*cur, args[j]);
        if (next == nullptr) {
          if (subcommands(*cur).empty()) break;
          return args;
        }
        cur = next;
      }
      args.emplace_back("--help");
      return args;
    }
    cur = find_subcommand(*cur, args[i]);
    if (cur == nullptr) break;
  }
  return args;
}

std::string usage_error(const CLI::App& app, const std::vector<std::string>& args, const CLI::ParseError& error) {
  auto w = walk(app, args);
  auto prefix = path(*w.app) + ": ";
  bool extras = dynamic_cast<const CLI::ExtrasError*>(&error) != nullptr;
  bool required = dynamic_cast<const CLI::RequiredError*>(&error) != nullptr;
  if (extras || required) {
    if (!w.unknown_option.empty())
      return unknown_option(*w.unknown_option_app, path(*w.unknown_option_app) + ": ", w.unknown_option);
    if (!w.stray_word.empty()) return stray_word(*w.stray_word_app, path(*w.stray_word_app) + ": ", w.stray_word);
  }
  if (required)
    if (auto message = missing_required(*w.app, prefix)) return *message;
  if (dynamic_cast<const CLI::ArgumentMismatch*>(&error) && w.missing_value)
    return fmt::format("{}{} needs {}", prefix, shown(*w.missing_value), needs_text(*w.missing_value));
  if (dynamic_cast<const CLI::ConversionError*>(&error))
    if (auto message = bad_value(w, prefix)) return *message;
  if (dynamic_cast<const CLI::RequiresError*>(&error) || dynamic_cast<const CLI::ExcludesError*>(&error))
    if (auto message = needs_or_excludes(w, prefix)) return *message;
  std::string_view what = error.what();  // CLI11's own words; a hidden option's name is missing from them
  if (what.starts_with(": ")) what.remove_prefix(2);
  return prefix + std::string(what);
}

std::string suggestion(const std::string& word, const std::vector<std::string>& candidates) {
  auto typed = undashed(word);
  if (typed.empty()) return "";
  std::string best;
  size_t best_distance = std::max<size_t>(1, std::min<size_t>(3, typed.size() / 3)) + 1;
  std::vector<std::string> prefixed;
  for (const auto& candidate : candidates) {
    auto name = undashed(candidate);
    if (name.starts_with(typed)) prefixed.push_back(candidate);
    if (typed.size() < 3 || name.size() < 3) continue;
    auto d = distance(typed, name);
    if (d < best_distance) {
      best_distance = d;
      best = candidate;
    }
  }
  if (best.empty() && prefixed.size() == 1) best = prefixed[0];
  return best;
}

}  // namespace tlslab::cli
