// The pyzmqrpc wire protocol: status texts, a json.dumps()-compatible writer, request/response
// encoding and decoding. See docs/PROTOCOL.md.
#include "zmqrpc/protocol.hpp"
#include "zmqrpc/errors.hpp"
#include "zmqrpc/version.hpp"

#include "json_object_builder.hpp"

#include <simdjson.h>
#include <zmq.h>

#include <array>
#include <charconv>
#include <cmath>
#include <cstdint>
#include <cstdio>
#include <cstring>
#include <limits>
#include <stdexcept>
#include <system_error>

#ifndef ZMQRPC_VERSION_STRING
#define ZMQRPC_VERSION_STRING "0.1.0"
#endif

namespace zmqrpc {

// ---------------------------------------------------------------------------------------------
// errors.hpp, version.hpp

const char* to_string(RpcError::Kind kind) noexcept {
    switch (kind) {
        case RpcError::Kind::Timeout:
            return "timeout";
        case RpcError::Kind::Unreachable:
            return "unreachable";
        case RpcError::Kind::CredentialsRefused:
            return "credentials refused";
        case RpcError::Kind::Status:
            return "status";
        case RpcError::Kind::Protocol:
            return "protocol";
    }
    return "unknown";
}

const char* version() noexcept {
    return ZMQRPC_VERSION_STRING;
}

const char* libzmq_version() noexcept {
    static const std::array<char, 32> text = [] {
        std::array<char, 32> buffer{};
        int major = 0, minor = 0, patch = 0;
        zmq_version(&major, &minor, &patch);
        std::snprintf(buffer.data(), buffer.size(), "%d.%d.%d", major, minor, patch);
        return buffer;
    }();
    return text.data();
}

// ---------------------------------------------------------------------------------------------
// Status texts (verbatim pyzmqrpc)

std::string status_text_bad_json(std::string_view parser_error) {
    std::string text =
        "Incorrectly marshalled function. Incoming message is no proper json formatted string. "
        "Exception: ";
    text += parser_error;
    return text;
}

std::string status_text_no_function() {
    return "Incorrectly marshalled function. No function name provided.";
}

std::string status_text_unknown_function(std::string_view name) {
    std::string text = "Function '";
    text += name;
    text +=
        "' is not implemented on server. Check rpc_functions on server if it contains the "
        "function name";
    return text;
}

std::string status_text_function_raised(std::string_view name, std::string_view error) {
    std::string text = "Exception raised when calling function ";
    text += name;
    text += ". Exception: ";
    text += error;
    text += ' ';  // pyzmqrpc's format string ends with a space
    return text;
}

std::string status_text_not_a_mapping(std::string_view name, std::string_view python_type) {
    std::string error(name);
    error += "() argument after ** must be a mapping, not ";
    error += python_type;
    return status_text_function_raised(name, error);
}

// ---------------------------------------------------------------------------------------------
// UTF-8

namespace {

// Decodes one UTF-8 sequence at bytes[i]. Returns its length and sets cp, or 0 when malformed
// (overlong, surrogate, above U+10FFFF, truncated, stray continuation byte).
std::size_t decode_utf8(std::string_view bytes, std::size_t i, std::uint32_t& cp) {
    const auto byte = [&](std::size_t k) { return static_cast<unsigned char>(bytes[k]); };
    const unsigned char b0 = byte(i);
    if (b0 < 0x80) {
        cp = b0;
        return 1;
    }
    std::size_t len = 0;
    std::uint32_t min = 0;
    if (b0 >= 0xC2 && b0 <= 0xDF) {
        len = 2;
        cp = b0 & 0x1Fu;
        min = 0x80;
    } else if (b0 >= 0xE0 && b0 <= 0xEF) {
        len = 3;
        cp = b0 & 0x0Fu;
        min = 0x800;
    } else if (b0 >= 0xF0 && b0 <= 0xF4) {
        len = 4;
        cp = b0 & 0x07u;
        min = 0x10000;
    } else {
        return 0;  // continuation byte, C0/C1 (always overlong) or F5..FF
    }
    if (bytes.size() - i < len) return 0;
    for (std::size_t k = 1; k < len; ++k) {
        const unsigned char b = byte(i + k);
        if ((b & 0xC0u) != 0x80u) return 0;
        cp = (cp << 6) | (b & 0x3Fu);
    }
    if (cp < min || cp > 0x10FFFF || (cp >= 0xD800 && cp <= 0xDFFF)) return 0;
    return len;
}

// Written for each byte that does not start a well-formed sequence.
constexpr std::uint32_t kReplacementChar = 0xFFFD;

// ---------------------------------------------------------------------------------------------
// json.dumps

void append_hex4(std::string& out, std::uint32_t unit) {
    static constexpr char kHex[] = "0123456789abcdef";
    out += "\\u";
    out += kHex[(unit >> 12) & 0xFu];
    out += kHex[(unit >> 8) & 0xFu];
    out += kHex[(unit >> 4) & 0xFu];
    out += kHex[unit & 0xFu];
}

// Bytes written as they are: printable ASCII other than " and \.
constexpr std::array<bool, 256> kVerbatim = [] {
    std::array<bool, 256> table{};
    for (int c = 0x20; c < 0x7F; ++c)
        table[static_cast<std::size_t>(c)] = c != '"' && c != '\\';
    return table;
}();

// True when none of the 8 bytes at p needs escaping (bit tricks from "Bit Twiddling Hacks":
// a byte below n, a byte equal to c; exact as to whether any byte matches).
bool verbatim8(const char* p) {
    constexpr std::uint64_t kOnes = 0x0101010101010101ull;
    constexpr std::uint64_t kHigh = 0x8080808080808080ull;
    std::uint64_t w = 0;
    std::memcpy(&w, p, 8);
    const auto has_zero = [](std::uint64_t v) { return (v - kOnes) & ~v & kHigh; };
    const std::uint64_t below_space = (w - kOnes * 0x20) & ~w & kHigh;
    const std::uint64_t special =
        has_zero(w ^ (kOnes * '"')) | has_zero(w ^ (kOnes * '\\')) | has_zero(w ^ (kOnes * 0x7F));
    return ((w & kHigh) | below_space | special) == 0;
}

// Python's ensure_ascii: printable ASCII (0x20..0x7E) as is except " and \, the short escapes
// \" \\ \n \r \t \b \f, everything else as \uXXXX (surrogate pairs above the BMP). A lone
// surrogate (generalised UTF-8, as loads() keeps one) is written as its escape; other invalid
// UTF-8 (which a std::string can hold) as U+FFFD rather than failing.
void append_string(std::string& out, std::string_view s, bool ensure_ascii = true) {
    out += '"';
    std::size_t i = 0;
    while (i < s.size()) {
        // Runs of verbatim bytes in one append: byte-by-byte appends made this function the
        // largest single cost of a round trip (tests/bench rows 1 and 4, callgrind).
        std::size_t run = i;
        while (s.size() - run >= 8 && verbatim8(s.data() + run))
            run += 8;
        while (run < s.size() && kVerbatim[static_cast<unsigned char>(s[run])])
            ++run;
        if (run > i) {
            out.append(s.data() + i, run - i);
            i = run;
            if (i == s.size()) break;
        }
        const unsigned char c = static_cast<unsigned char>(s[i]);
        if (c == '"') {
            out += "\\\"";
            ++i;
            continue;
        }
        if (c == '\\') {
            out += "\\\\";
            ++i;
            continue;
        }
        switch (c) {
            case '\n':
                out += "\\n";
                ++i;
                continue;
            case '\r':
                out += "\\r";
                ++i;
                continue;
            case '\t':
                out += "\\t";
                ++i;
                continue;
            case '\b':
                out += "\\b";
                ++i;
                continue;
            case '\f':
                out += "\\f";
                ++i;
                continue;
            default:
                break;
        }
        std::uint32_t cp = 0;
        std::size_t len = decode_utf8(s, i, cp);
        if (len == 0 && c == 0xED && s.size() - i >= 3 &&
            (static_cast<unsigned char>(s[i + 1]) & 0xE0u) == 0xA0u &&
            (static_cast<unsigned char>(s[i + 2]) & 0xC0u) == 0x80u) {
            // A lone surrogate, which Python strings hold and loads() keeps (as generalised
            // UTF-8): written as the escape it came as.
            cp = 0xD000u | ((static_cast<unsigned char>(s[i + 1]) & 0x3Fu) << 6) |
                 (static_cast<unsigned char>(s[i + 2]) & 0x3Fu);
            len = 3;
        }
        if (len == 0) {
            cp = kReplacementChar;
            len = 1;
        } else if (!ensure_ascii && cp >= 0x80 && (cp < 0xD800 || cp > 0xDFFF)) {
            out.append(s.data() + i, len);  // json.dumps(ensure_ascii=False): as it is
            i += len;
            continue;
        }
        if (cp >= 0x10000) {
            const std::uint32_t v = cp - 0x10000;
            append_hex4(out, 0xD800 + (v >> 10));
            append_hex4(out, 0xDC00 + (v & 0x3FFu));
        } else {
            append_hex4(out, cp);
        }
        i += len;
    }
    out += '"';
}

// Python's float repr: the shortest digits that round-trip; fixed notation when the decimal
// exponent is in [-4, 16), otherwise d[.ddd]e+XX; fixed notation always has a fractional part.
void append_float(std::string& out, double value) {
    if (std::isnan(value)) {
        out += "NaN";
        return;
    }
    if (std::isinf(value)) {
        out += value < 0 ? "-Infinity" : "Infinity";
        return;
    }
    std::array<char, 64> buffer{};
    const auto result = std::to_chars(buffer.data(), buffer.data() + buffer.size(), value,
                                      std::chars_format::scientific);
    std::string_view sci(buffer.data(), static_cast<std::size_t>(result.ptr - buffer.data()));
    // sci is "[-]d[.ddd]e(+|-)XX"
    bool negative = false;
    if (!sci.empty() && sci.front() == '-') {
        negative = true;
        sci.remove_prefix(1);
    }
    const std::size_t e_pos = sci.find('e');
    std::string digits;
    for (char ch : sci.substr(0, e_pos)) {
        if (ch != '.') digits += ch;
    }
    int exponent = 0;
    {
        std::string_view exp_text = sci.substr(e_pos + 1);
        if (!exp_text.empty() && exp_text.front() == '+') exp_text.remove_prefix(1);
        std::from_chars(exp_text.data(), exp_text.data() + exp_text.size(), exponent);
    }
    const int decpt = exponent + 1;  // position of the decimal point relative to the digits
    if (negative) out += '-';
    const int ndigits = static_cast<int>(digits.size());
    if (decpt > -4 && decpt <= 16) {
        if (decpt <= 0) {
            out += "0.";
            out.append(static_cast<std::size_t>(-decpt), '0');
            out += digits;
        } else if (decpt >= ndigits) {
            out += digits;
            out.append(static_cast<std::size_t>(decpt - ndigits), '0');
            out += ".0";
        } else {
            out.append(digits, 0, static_cast<std::size_t>(decpt));
            out += '.';
            out.append(digits, static_cast<std::size_t>(decpt));
        }
        return;
    }
    out += digits.front();
    if (ndigits > 1) {
        out += '.';
        out.append(digits, 1);
    }
    out += 'e';
    out += exponent < 0 ? '-' : '+';
    const int magnitude = exponent < 0 ? -exponent : exponent;
    if (magnitude < 10) out += '0';
    out += std::to_string(magnitude);
}

std::string too_deep_text() {
    return "nested more than " + std::to_string(kMaxJsonDepth) + " levels deep";
}

[[noreturn]] void throw_too_deep() {
    throw std::invalid_argument("JSON value " + too_deep_text());
}

template <typename Integer>
void append_integer(std::string& out, Integer value) {
    std::array<char, 32> buffer{};
    const auto result = std::to_chars(buffer.data(), buffer.data() + buffer.size(), value);
    out.append(buffer.data(), result.ptr);
}

void append_newline(std::string& out, int indent, std::size_t depth) {
    out += '\n';
    out.append(static_cast<std::size_t>(indent) * depth, ' ');
}

// json.dumps(value[, indent]) for either JSON type: the same writer, whatever order the type
// keeps its members in.
struct DumpsStyle {
    int indent = -1;  // < 0: one line
    bool ensure_ascii = true;
};

template <typename Json>
void append_value(std::string& out, const Json& value, const DumpsStyle& style,
                  std::size_t depth = 0) {
    const int indent = style.indent;
    using value_t = typename Json::value_t;
    switch (value.type()) {
        case value_t::null:
        case value_t::discarded:
            out += "null";
            return;
        case value_t::boolean:
            out += value.template get<bool>() ? "true" : "false";
            return;
        case value_t::number_integer:
            append_integer(out, value.template get<typename Json::number_integer_t>());
            return;
        case value_t::number_unsigned:
            append_integer(out, value.template get<typename Json::number_unsigned_t>());
            return;
        case value_t::number_float:
            append_float(out, value.template get<typename Json::number_float_t>());
            return;
        case value_t::string:
            append_string(out, value.template get_ref<const typename Json::string_t&>(),
                          style.ensure_ascii);
            return;
        case value_t::array: {
            if (++depth > kMaxJsonDepth) throw_too_deep();
            if (value.empty()) {
                out += "[]";
                return;
            }
            out += '[';
            bool first = true;
            for (const auto& element : value) {
                if (!first) out += indent >= 0 ? "," : ", ";
                first = false;
                if (indent >= 0) append_newline(out, indent, depth);
                append_value(out, element, style, depth);
            }
            if (indent >= 0) append_newline(out, indent, depth - 1);
            out += ']';
            return;
        }
        case value_t::object: {
            if (++depth > kMaxJsonDepth) throw_too_deep();
            if (value.empty()) {
                out += "{}";
                return;
            }
            out += '{';
            bool first = true;
            for (auto it = value.begin(); it != value.end(); ++it) {
                if (!first) out += indent >= 0 ? "," : ", ";
                first = false;
                if (indent >= 0) append_newline(out, indent, depth);
                append_string(out, it.key(), style.ensure_ascii);
                out += ": ";
                append_value(out, it.value(), style, depth);
            }
            if (indent >= 0) append_newline(out, indent, depth - 1);
            out += '}';
            return;
        }
        case value_t::binary: {
            const auto& binary = value.get_binary();
            if (binary.has_subtype() && binary.subtype() == kBigIntegerSubtype) {
                out.append(binary.begin(), binary.end());  // the digits of a big integer
                return;
            }
            // No Python equivalent; written the way nlohmann::json::dump() writes it.
            out += "{\"bytes\": [";
            bool first = true;
            for (std::uint8_t b : binary) {
                if (!first) out += ", ";
                first = false;
                append_integer(out, static_cast<unsigned>(b));
            }
            out += "], \"subtype\": ";
            if (binary.has_subtype()) {
                append_integer(out, binary.subtype());
            } else {
                out += "null";
            }
            out += '}';
            return;
        }
    }
    out += "null";
}

// Python's text for a JSON value that cannot be read, as pyzmqrpc puts it after "Exception: ".
// The message must be valid UTF-8 (recv_string() would have failed otherwise: no reply at all
// from pyzmqrpc; we answer 400 with the offset).
std::string loads_failure(std::string_view message, json* value) {
    std::size_t bad = 0;
    if (!is_valid_utf8(message, &bad)) return "invalid UTF-8 at byte " + std::to_string(bad);
    // loads() stops at kPythonJsonDepth as CPython does, with its text, and only there: a
    // syntax error before that point is reported as Python reports it.
    try {
        *value = loads(message);
        return {};
    } catch (const JsonDecodeError& e) {
        return e.what();
    }
}

}  // namespace

bool json_nesting_exceeds(std::string_view text, std::size_t limit) {
    std::size_t depth = 0;
    bool in_string = false;
    for (std::size_t i = 0; i < text.size(); ++i) {
        const char c = text[i];
        if (in_string) {
            if (c == '\\') {
                ++i;  // whatever is escaped, it ends nothing
            } else if (c == '"') {
                in_string = false;
            }
            continue;
        }
        if (c == '"') {
            in_string = true;
        } else if (c == '[' || c == '{') {
            if (++depth > limit) return true;
        } else if ((c == ']' || c == '}') && depth > 0) {
            --depth;
        }
    }
    return false;
}

std::optional<json> parse_json_text(std::string_view text, std::string* error) {
    json value;
    std::string why;
    try {
        why = loads_failure(text, &value);
    } catch (const std::exception& e) {  // std::bad_alloc
        why = e.what();
    }
    if (why.empty()) return value;
    if (error) *error = std::move(why);
    return std::nullopt;
}

std::string json_exception_text(const std::exception& e) {
    std::string text = e.what();
    const auto end = text.find("] ");
    if (text.rfind("[json.exception.", 0) == 0 && end != std::string::npos) text.erase(0, end + 2);
    return text;
}

bool is_valid_utf8(std::string_view bytes, std::size_t* bad_offset) {
    std::size_t i = 0;
    while (i < bytes.size()) {
        // Messages are mostly ASCII: skip it eight bytes at a time (every message received is
        // checked, so this is on each request's path).
        while (bytes.size() - i >= 8) {
            std::uint64_t word = 0;
            std::memcpy(&word, bytes.data() + i, 8);
            if (word & 0x8080808080808080ull) break;
            i += 8;
        }
        if (i == bytes.size()) break;
        if (static_cast<unsigned char>(bytes[i]) < 0x80) {
            ++i;
            continue;
        }
        std::uint32_t cp = 0;
        const std::size_t len = decode_utf8(bytes, i, cp);
        if (len == 0) {
            if (bad_offset) *bad_offset = i;
            return false;
        }
        i += len;
    }
    return true;
}

std::string dumps(const json& value, int indent, bool ensure_ascii) {
    std::string out;
    append_value(out, value, DumpsStyle{indent, ensure_ascii});
    return out;
}

std::string dumps(const nlohmann::json& value, int indent, bool ensure_ascii) {
    std::string out;
    append_value(out, value, DumpsStyle{indent, ensure_ascii});
    return out;
}

// ---------------------------------------------------------------------------------------------
// Requests and responses. The keys are written by hand to keep pyzmqrpc's order.

std::string encode_request(std::string_view function, const json& parameters) {
    if (!parameters.is_null() && !parameters.is_object()) {
        throw std::invalid_argument("parameters must be a JSON object of named arguments, not " +
                                    std::string(parameters.type_name()));
    }
    std::string out;
    // One allocation for common sizes instead of one per doubling while appending.
    out.reserve(256);
    out += "{\"function\": ";
    append_string(out, function);
    if (parameters.is_object()) {
        out += ", \"parameters\": ";
        append_value(out, parameters, DumpsStyle{});
    }
    out += '}';
    return out;
}

std::string encode_response(int status_code, std::string_view status_message,
                            const std::optional<json>& response_message) {
    std::string out;
    out.reserve(256);
    out += "{\"status_code\": ";
    append_integer(out, status_code);
    out += ", \"status_message\": ";
    append_string(out, status_message);
    if (response_message && !response_message->is_null()) {
        out += ", \"response_message\": ";
        append_value(out, *response_message, DumpsStyle{});
    }
    out += '}';
    return out;
}

namespace {
// A simdjson parser that refuses (DEPTH_ERROR) what nests deeper than Python reads, so that such
// a message goes to loads() and gets Python's RecursionError text.
simdjson::dom::parser python_depth_parser() {
    simdjson::dom::parser parser;
    if (parser.allocate(4096, kPythonJsonDepth)) throw std::bad_alloc();
    return parser;
}

// simdjson's DOM -> json, for the parameters handed to functions. Members keep their order; a
// repeated key keeps its first place and takes the last value, as in Python. simdjson refuses
// what Python reads differently (integers beyond 64 bits, 1e400, NaN, lone surrogates, control
// characters in strings), so those go through loads().
json to_json(simdjson::dom::element e) {
    using T = simdjson::dom::element_type;
    switch (e.type()) {
        case T::OBJECT: {
            detail::ObjectBuilder object;
            for (auto field : e.get_object())
                object.set(std::string(field.key), to_json(field.value));
            return object.finish();
        }
        case T::ARRAY: {
            json array = json::array();
            for (auto value : e.get_array())
                array.push_back(to_json(value));
            return array;
        }
        case T::STRING:
            return std::string(std::string_view(e.get_string()));
        case T::INT64:
            return static_cast<std::int64_t>(e.get_int64());
        case T::UINT64:
            return static_cast<std::uint64_t>(e.get_uint64());
        case T::DOUBLE:
            return static_cast<double>(e.get_double());
        case T::BOOL:
            return static_cast<bool>(e.get_bool());
        default:
            return nullptr;
    }
}

// The common case, fast: valid UTF-8 JSON, an object with a string "function" and "parameters"
// absent, null or an object. simdjson parses a 100-byte request about three times faster than
// nlohmann/json (tests/bench row 2 is bound by this). Anything else returns nullopt and goes
// through loads(), which also words the errors.
std::optional<Request> decode_request_fast(std::string_view message) {
    // The parser keeps buffers as large as the largest document it has seen: keep large
    // messages away from it so that its memory stays bounded (64 KiB covers samples and calls).
    if (message.size() > 64 * 1024) return std::nullopt;
    thread_local simdjson::dom::parser parser = python_depth_parser();
    simdjson::dom::element root;
    if (parser.parse(message.data(), message.size()).get(root)) return std::nullopt;
    simdjson::dom::object object;
    if (root.get_object().get(object)) return std::nullopt;
    // The members in order, the last of a repeated one winning (simdjson's lookup finds the
    // first).
    std::string_view function;
    bool has_function = false;
    simdjson::dom::element parameters;
    bool has_parameters = false;
    for (auto field : object) {
        if (field.key == "function") {
            if (field.value.get_string().get(function)) return std::nullopt;
            has_function = true;
        } else if (field.key == "parameters") {
            parameters = field.value;
            has_parameters = true;
        }
    }
    if (!has_function) return std::nullopt;
    if (!has_parameters || parameters.is_null()) return Request{std::string(function)};
    if (!parameters.is_object()) return std::nullopt;
    // Both members given: the default empty object of Request::parameters (an allocation) is
    // not built only to be replaced.
    return Request{std::string(function), to_json(parameters)};
}
}  // namespace

DecodedRequest decode_request(std::string_view message) {
    DecodedRequest decoded;
    try {
        if (auto request = decode_request_fast(message)) {
            decoded.request = std::move(*request);
            return decoded;
        }
    } catch (const std::exception&) {
        // fall through to the full path
    }
    const auto fail = [&](int status, std::string text) {
        decoded.error_status = status;
        decoded.error_text = std::move(text);
        return decoded;
    };
    try {
        // pyzmqrpc's ZmqRpcServer.handle_incoming_message, step by step.
        json document;
        if (std::string why = loads_failure(message, &document); !why.empty())
            return fail(status::kBadJson, status_text_bad_json(why));
        // `"function" not in incoming_message`: for a list that is membership, for a string a
        // substring test, for other values a TypeError after which pyzmqrpc answers nothing.
        // Whatever it is, a request that is not an object has no function name: 450.
        if (!document.is_object()) return fail(status::kNoFunction, status_text_no_function());
        const auto function = document.find("function");
        if (function == document.end()) return fail(status::kNoFunction, status_text_no_function());
        // A name that is not a string is in no registry: 451 with its str() (pyzmqrpc raises
        // for a list or an object, unhashable, and answers nothing).
        if (!function->is_string()) {
            return fail(status::kUnknownFunction,
                        status_text_unknown_function(python_str(*function)));
        }
        Request request;
        request.function = function->get<std::string>();
        const auto parameters = document.find("parameters");
        if (parameters != document.end() && !parameters->is_null()) {
            if (parameters->is_object()) {
                request.parameters = std::move(*parameters);
            } else {
                request.not_a_mapping = python_type_name(*parameters);
            }
        }
        decoded.request = std::move(request);
        return decoded;
    } catch (const std::exception& e) {  // std::bad_alloc and the like
        return fail(status::kBadJson, status_text_bad_json(e.what()));
    }
}

namespace {
// The common case of a reply, fast (see decode_request_fast): an object with an int64
// status_code, a string or absent status_message, any response_message. Else nullopt.
std::optional<Response> decode_response_fast(std::string_view message) {
    if (message.size() > 64 * 1024) return std::nullopt;
    thread_local simdjson::dom::parser parser = python_depth_parser();
    simdjson::dom::element root;
    if (parser.parse(message.data(), message.size()).get(root)) return std::nullopt;
    simdjson::dom::object object;
    if (root.get_object().get(object)) return std::nullopt;
    std::optional<simdjson::dom::element> code_element, message_element, value_element;
    for (auto field : object) {
        if (field.key == "status_code") {
            code_element = field.value;
        } else if (field.key == "status_message") {
            message_element = field.value;
        } else if (field.key == "response_message") {
            value_element = field.value;
        }
    }
    if (!code_element) return std::nullopt;
    std::int64_t code = 0;
    if (code_element->get_int64().get(code)) return std::nullopt;
    if (code < std::numeric_limits<int>::min() || code > std::numeric_limits<int>::max()) {
        return std::nullopt;
    }
    Response response;
    response.status_code = static_cast<int>(code);
    if (message_element) {
        std::string_view text;
        if (message_element->get_string().get(text)) return std::nullopt;
        response.status_message = std::string(text);
    }
    if (value_element) response.response_message = to_json(*value_element);
    return response;
}
}  // namespace

Response decode_response(std::string_view message) {
    try {
        if (auto response = decode_response_fast(message)) return std::move(*response);
    } catch (const std::exception&) {
        // fall through to the full path
    }
    json document;
    if (std::string why = loads_failure(message, &document); !why.empty()) {
        if (why.rfind("maximum recursion depth exceeded", 0) == 0)
            throw RpcError(RpcError::Kind::Protocol, "Reply refused: JSON " + why);
        throw RpcError(RpcError::Kind::Protocol, "Reply is not JSON: " + why);
    }
    if (!document.is_object()) {
        throw RpcError(RpcError::Kind::Protocol,
                       "Reply is not a JSON object but " + std::string(document.type_name()));
    }
    const auto code = document.find("status_code");
    if (code == document.end()) {
        throw RpcError(RpcError::Kind::Protocol, "No status_code in response");
    }
    Response response;
    if (code->is_number_integer() && !code->is_number_unsigned()) {
        const auto v = code->get<json::number_integer_t>();
        if (v < std::numeric_limits<int>::min() || v > std::numeric_limits<int>::max()) {
            throw RpcError(RpcError::Kind::Protocol, "status_code out of range: " + dumps(*code));
        }
        response.status_code = static_cast<int>(v);
    } else if (code->is_number_unsigned()) {
        const auto v = code->get<json::number_unsigned_t>();
        if (v > static_cast<json::number_unsigned_t>(std::numeric_limits<int>::max())) {
            throw RpcError(RpcError::Kind::Protocol, "status_code out of range: " + dumps(*code));
        }
        response.status_code = static_cast<int>(v);
    } else if (code->is_number_float()) {
        // Python compares 200.0 == 200, so an integral float is a valid code.
        const double v = code->get<double>();
        if (!std::isfinite(v) || v != std::trunc(v) || v < std::numeric_limits<int>::min() ||
            v > std::numeric_limits<int>::max()) {
            throw RpcError(RpcError::Kind::Protocol,
                           "status_code is not an integer: " + dumps(*code));
        }
        response.status_code = static_cast<int>(v);
    } else if (is_big_integer(*code)) {
        throw RpcError(RpcError::Kind::Protocol, "status_code out of range: " + dumps(*code));
    } else {
        throw RpcError(RpcError::Kind::Protocol, "status_code is not an integer: " + dumps(*code));
    }
    const auto status_message = document.find("status_message");
    if (status_message != document.end() && !status_message->is_null()) {
        response.status_message = status_message->is_string() ? status_message->get<std::string>()
                                                              : dumps(*status_message);
    }
    const auto value = document.find("response_message");
    if (value != document.end()) response.response_message = std::move(*value);
    return response;
}

json response_value_or_throw(const Response& response) {
    if (response.status_code == status::kOk) {
        return response.response_message ? *response.response_message : json();
    }
    std::string what = response.status_message.empty()
                           ? "Error occurred with code " + std::to_string(response.status_code)
                           : response.status_message;
    throw RpcError(RpcError::Kind::Status, std::move(what), response.status_code,
                   response.status_message);
}

}  // namespace zmqrpc
