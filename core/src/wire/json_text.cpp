// JSON file helpers (json_text.hpp).
#include "json_text.hpp"

#include <algorithm>
#include <cerrno>
#include <fstream>
#include <sstream>
#include <system_error>

namespace zmqrpc::detail {

// Files (topologies, credentials) are nlohmann::json, members sorted by key; zmqrpc::json is
// the ordered type of messages.
using njson = nlohmann::json;

std::string json_type_name(const nlohmann::json& value) {
    switch (value.type()) {
        case njson::value_t::null:
            return "null";
        case njson::value_t::object:
            return "an object";
        case njson::value_t::array:
            return "an array";
        case njson::value_t::string:
            return "a string";
        case njson::value_t::boolean:
            return "true or false";
        case njson::value_t::number_integer:
        case njson::value_t::number_unsigned:
        case njson::value_t::number_float:
            return "a number";
        case njson::value_t::binary:
            return "binary data";
        case njson::value_t::discarded:
            break;
    }
    return "nothing";
}

std::string line_column(std::string_view text, std::size_t byte) {
    const std::size_t end = std::min(byte > 0 ? byte - 1 : 0, text.size());
    std::size_t line = 1;
    std::size_t column = 1;
    for (std::size_t i = 0; i < end; ++i) {
        if (text[i] == '\n') {
            ++line;
            column = 1;
        } else {
            ++column;
        }
    }
    return "line " + std::to_string(line) + ", column " + std::to_string(column);
}

std::string parse_error_text(const njson::parse_error& e, bool hide_input) {
    std::string text = e.what();
    if (const auto at = text.find("parse error"); at != std::string::npos) {
        if (const auto colon = text.find(": ", at); colon != std::string::npos) {
            text = text.substr(colon + 2);
        }
    }
    if (hide_input) {
        if (const auto last = text.find("; last read: "); last != std::string::npos) {
            const auto expected = text.find("; expected ", last + 1);
            text = text.substr(0, last) +
                   (expected == std::string::npos ? std::string() : text.substr(expected));
        }
    }
    return text;
}

std::string read_file(const std::filesystem::path& path, int& error) {
    std::error_code ec;
    if (std::filesystem::is_directory(path, ec)) {  // an ifstream would read it as empty
        error = EISDIR;
        return {};
    }
    std::ifstream in(path, std::ios::binary);
    if (!in) {
        error = errno != 0 ? errno : ENOENT;
        return {};
    }
    std::ostringstream buffer;
    buffer << in.rdbuf();
    if (in.bad()) {
        error = errno != 0 ? errno : EIO;
        return {};
    }
    error = 0;
    return buffer.str();
}

}  // namespace zmqrpc::detail
