#include "tls/trace.hpp"
