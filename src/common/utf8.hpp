// UTF-8 validation, shared by key parsing and migration-file parsing.
#pragma once

#include <cstddef>
#include <string_view>

namespace credvault {

// Offset of the first byte that is not part of valid UTF-8 (overlongs,
// surrogates and code points above U+10FFFF are invalid), or npos.
std::size_t FindInvalidUtf8(std::string_view text);
inline bool IsValidUtf8(std::string_view text) { return FindInvalidUtf8(text) == std::string_view::npos; }

}  // namespace credvault
