// Minimal JSON text output for rr's line formats (strings escaped as RFC 8259 requires; UTF-8 kept as is).
#pragma once

#include <string>
#include <string_view>

namespace rr {

// Appends s as a quoted JSON string.
void append_json_string(std::string& out, std::string_view s);

}  // namespace rr
