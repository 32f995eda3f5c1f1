// The one translation unit that compiles Boost.URL (query strings and form bodies are parsed with
// it); every other file only parses its declarations.
#include <boost/url/src.hpp>
