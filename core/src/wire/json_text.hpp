// JSON as people write it in files: type names for messages, located parse errors, reading a
// file whole. Shared by the topology and credentials-file loaders. Internal to libzmqrpc; pure
// functions.
#pragma once

#include <nlohmann/json.hpp>

#include <cstddef>
#include <filesystem>
#include <string>
#include <string_view>

namespace zmqrpc::detail {

// "a string", "a number", "an object", "an array", "true or false", "null".
std::string json_type_name(const nlohmann::json& value);
// "line L, column C" of byte offset `byte` (nlohmann's parse_error::byte: the count of bytes read,
// so the offending byte is the one before it).
std::string line_column(std::string_view text, std::size_t byte);
// The parser's own message without its "[json.exception.parse_error.101] parse error at line 1,
// column 2: " prefix. With hide_input, also without the "last read: '...'" part (which could show
// a password of a credentials file).
std::string parse_error_text(const nlohmann::json::parse_error& e, bool hide_input);
// The whole file; on failure "" with `error` set to an errno value (EISDIR for a directory).
std::string read_file(const std::filesystem::path& path, int& error);

}  // namespace zmqrpc::detail
