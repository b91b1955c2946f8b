// JSON as CPython 3.11 reads it (json.loads on the str that pyzmqrpc's recv_string() decoded):
// the same values, the same errors with the same texts and positions. A port of the C scanner in
// CPython's Modules/_json.c (scan_once_unicode, scanstring_unicode, _match_number_unicode,
// _parse_object_unicode, _parse_array_unicode) and of json/decoder.py's decode(), so that a
// malformed request gets the very 400 text a pyzmqrpc server sends (docs/PROTOCOL.md). Also
// Python's str() of a value, for the 451 text, and the big integers that Python keeps exact.
#include "zmqrpc/protocol.hpp"

#include "json_object_builder.hpp"

#include <charconv>
#include <cmath>
#include <cstdint>
#include <limits>
#include <stdexcept>

namespace zmqrpc {

JsonDecodeError::JsonDecodeError(std::string message, std::size_t position)
    : std::runtime_error(message), position_(position) {}

// ---------------------------------------------------------------------------------------------
// Big integers

namespace {
bool is_decimal_integer(std::string_view text) {
    if (!text.empty() && text.front() == '-') text.remove_prefix(1);
    if (text.empty()) return false;
    for (char c : text)
        if (c < '0' || c > '9') return false;
    return text.size() == 1 || text.front() != '0';
}
}  // namespace

json big_integer(std::string_view digits) {
    if (!is_decimal_integer(digits) || digits == "-0") {
        throw std::invalid_argument("not a decimal integer: '" + std::string(digits) + "'");
    }
    // Those that fit are ordinary JSON integers: one value, one representation.
    const bool negative = digits.front() == '-';
    if (negative) {
        std::int64_t v = 0;
        const auto r = std::from_chars(digits.data(), digits.data() + digits.size(), v);
        if (r.ec == std::errc() && r.ptr == digits.data() + digits.size()) return v;
    } else {
        std::uint64_t v = 0;
        const auto r = std::from_chars(digits.data(), digits.data() + digits.size(), v);
        if (r.ec == std::errc() && r.ptr == digits.data() + digits.size()) {
            if (v <= static_cast<std::uint64_t>(std::numeric_limits<std::int64_t>::max()))
                return static_cast<std::int64_t>(v);
            return v;
        }
    }
    return json::binary(std::vector<std::uint8_t>(digits.begin(), digits.end()),
                        kBigIntegerSubtype);
}

bool is_big_integer(const json& value) {
    return value.is_binary() && value.get_binary().has_subtype() &&
           value.get_binary().subtype() == kBigIntegerSubtype;
}

std::string big_integer_digits(const json& value) {
    if (is_big_integer(value)) {
        const auto& bytes = value.get_binary();
        return std::string(bytes.begin(), bytes.end());
    }
    if (value.is_number_unsigned()) return std::to_string(value.get<std::uint64_t>());
    if (value.is_number_integer()) return std::to_string(value.get<std::int64_t>());
    throw std::invalid_argument(std::string("not an integer but ") + python_type_name(value));
}

// ---------------------------------------------------------------------------------------------
// Python's names and str()

const char* python_type_name(const json& value) {
    switch (value.type()) {
        case json::value_t::null:
            return "NoneType";
        case json::value_t::boolean:
            return "bool";
        case json::value_t::number_integer:
        case json::value_t::number_unsigned:
            return "int";
        case json::value_t::number_float:
            return "float";
        case json::value_t::string:
            return "str";
        case json::value_t::array:
            return "list";
        case json::value_t::object:
            return "dict";
        case json::value_t::binary:
            return is_big_integer(value) ? "int" : "bytes";
        case json::value_t::discarded:
            break;
    }
    return "NoneType";
}

namespace {

// One code point of generalised UTF-8 (surrogates allowed, as Python strings hold them); 0 on
// a malformed sequence.
std::size_t decode_wtf8(std::string_view s, std::size_t i, std::uint32_t& cp) {
    const auto b = [&](std::size_t k) { return static_cast<unsigned char>(s[k]); };
    const unsigned char b0 = b(i);
    std::size_t len = 0;
    std::uint32_t min = 0;
    if (b0 < 0x80) {
        cp = b0;
        return 1;
    } else if (b0 >= 0xC2 && b0 <= 0xDF) {
        len = 2, cp = b0 & 0x1Fu, min = 0x80;
    } else if (b0 >= 0xE0 && b0 <= 0xEF) {
        len = 3, cp = b0 & 0x0Fu, min = 0x800;
    } else if (b0 >= 0xF0 && b0 <= 0xF4) {
        len = 4, cp = b0 & 0x07u, min = 0x10000;
    } else {
        return 0;
    }
    if (s.size() - i < len) return 0;
    for (std::size_t k = 1; k < len; ++k) {
        if ((b(i + k) & 0xC0u) != 0x80u) return 0;
        cp = (cp << 6) | (b(i + k) & 0x3Fu);
    }
    if (cp < min || cp > 0x10FFFF) return 0;
    return len;
}

void append_utf8(std::string& out, std::uint32_t cp) {
    if (cp < 0x80) {
        out += static_cast<char>(cp);
    } else if (cp < 0x800) {
        out += static_cast<char>(0xC0 | (cp >> 6));
        out += static_cast<char>(0x80 | (cp & 0x3F));
    } else if (cp < 0x10000) {  // surrogates too: generalised UTF-8, as Python's str holds them
        out += static_cast<char>(0xE0 | (cp >> 12));
        out += static_cast<char>(0x80 | ((cp >> 6) & 0x3F));
        out += static_cast<char>(0x80 | (cp & 0x3F));
    } else {
        out += static_cast<char>(0xF0 | (cp >> 18));
        out += static_cast<char>(0x80 | ((cp >> 12) & 0x3F));
        out += static_cast<char>(0x80 | ((cp >> 6) & 0x3F));
        out += static_cast<char>(0x80 | (cp & 0x3F));
    }
}

// str.isprintable() for code points above ASCII: false for the categories Python calls
// unprintable (Cc, Cf, Cs, Co, Zl, Zp, Zs other than the space). Unassigned code points (Cn)
// would need Unicode's tables and count as printable here; this only shapes the repr() of a
// string inside a non-string function name, which pyzmqrpc itself never answers.
bool printable(std::uint32_t cp) {
    struct Range {
        std::uint32_t first, last;
    };
    static constexpr Range kUnprintable[] = {
        {0x80, 0xA0},       {0xAD, 0xAD},        {0x600, 0x605},     {0x61C, 0x61C},
        {0x6DD, 0x6DD},     {0x70F, 0x70F},      {0x890, 0x891},     {0x8E2, 0x8E2},
        {0x1680, 0x1680},   {0x180E, 0x180E},    {0x2000, 0x200F},   {0x2028, 0x202F},
        {0x205F, 0x2064},   {0x2066, 0x206F},    {0x3000, 0x3000},   {0xD800, 0xF8FF},
        {0xFEFF, 0xFEFF},   {0xFFF9, 0xFFFB},    {0x110BD, 0x110BD}, {0x110CD, 0x110CD},
        {0x13430, 0x1343F}, {0x1BCA0, 0x1BCA3},  {0x1D173, 0x1D17A}, {0xE0001, 0xE0001},
        {0xE0020, 0xE007F}, {0xF0000, 0x10FFFF},
    };
    for (const Range& r : kUnprintable)
        if (cp >= r.first && cp <= r.last) return false;
    return true;
}

void append_hex(std::string& out, std::uint32_t value, int digits) {
    static constexpr char kHex[] = "0123456789abcdef";
    for (int shift = (digits - 1) * 4; shift >= 0; shift -= 4)
        out += kHex[(value >> shift) & 0xFu];
}

// Python's repr() of a str (Objects/unicodeobject.c, unicode_repr).
void append_repr(std::string& out, std::string_view s) {
    const bool single = s.find('\'') == std::string_view::npos;
    const bool double_ = s.find('"') == std::string_view::npos;
    const char quote = (!single && double_) ? '"' : '\'';
    out += quote;
    for (std::size_t i = 0; i < s.size();) {
        std::uint32_t cp = 0;
        std::size_t len = decode_wtf8(s, i, cp);
        if (len == 0) {  // not from a Python str; shown as the byte Python would keep escaped
            cp = static_cast<unsigned char>(s[i]);
            len = 1;
            out += "\\x";
            append_hex(out, cp, 2);
            i += len;
            continue;
        }
        i += len;
        if (cp == static_cast<unsigned char>(quote) || cp == '\\') {
            out += '\\';
            out += static_cast<char>(cp);
        } else if (cp == '\t') {
            out += "\\t";
        } else if (cp == '\n') {
            out += "\\n";
        } else if (cp == '\r') {
            out += "\\r";
        } else if (cp < 0x20 || cp == 0x7F) {
            out += "\\x";
            append_hex(out, cp, 2);
        } else if (cp < 0x7F || printable(cp)) {
            append_utf8(out, cp);
        } else if (cp <= 0xFF) {
            out += "\\x";
            append_hex(out, cp, 2);
        } else if (cp <= 0xFFFF) {
            out += "\\u";
            append_hex(out, cp, 4);
        } else {
            out += "\\U";
            append_hex(out, cp, 8);
        }
    }
    out += quote;
}

void append_python(std::string& out, const json& value, bool top) {
    switch (value.type()) {
        case json::value_t::null:
        case json::value_t::discarded:
            out += "None";
            return;
        case json::value_t::boolean:
            out += value.get<bool>() ? "True" : "False";
            return;
        case json::value_t::number_float: {
            const double v = value.get<double>();
            if (std::isnan(v)) {
                out += "nan";
            } else if (std::isinf(v)) {
                out += v < 0 ? "-inf" : "inf";
            } else {
                out += dumps(value);  // float.__repr__, as json.dumps writes it
            }
            return;
        }
        case json::value_t::number_integer:
        case json::value_t::number_unsigned:
            out += big_integer_digits(value);
            return;
        case json::value_t::binary:
            out += is_big_integer(value) ? big_integer_digits(value) : dumps(value);
            return;
        case json::value_t::string:
            if (top) {
                out += value.get_ref<const std::string&>();
            } else {
                append_repr(out, value.get_ref<const std::string&>());
            }
            return;
        case json::value_t::array: {
            out += '[';
            bool first = true;
            for (const auto& element : value) {
                if (!first) out += ", ";
                first = false;
                append_python(out, element, false);
            }
            out += ']';
            return;
        }
        case json::value_t::object: {
            out += '{';
            bool first = true;
            for (auto it = value.begin(); it != value.end(); ++it) {
                if (!first) out += ", ";
                first = false;
                append_repr(out, it.key());
                out += ": ";
                append_python(out, it.value(), false);
            }
            out += '}';
            return;
        }
    }
}

}  // namespace

std::string python_str(const json& value) {
    std::string out;
    append_python(out, value, true);
    return out;
}

// ---------------------------------------------------------------------------------------------
// json.loads

namespace {

constexpr std::size_t kMaxIntDigits = 4300;  // sys.get_int_max_str_digits() by default

bool is_ws(char c) {
    return c == ' ' || c == '\t' || c == '\n' || c == '\r';
}
bool is_digit(char c) {
    return c >= '0' && c <= '9';
}
int hex_value(char c) {
    if (c >= '0' && c <= '9') return c - '0';
    if (c >= 'a' && c <= 'f') return c - 'a' + 10;
    if (c >= 'A' && c <= 'F') return c - 'A' + 10;
    return -1;
}

class PyScanner {
  public:
    explicit PyScanner(std::string_view text) : s_(text), len_(text.size()) {}

    json decode() {
        // json.loads(): a str that starts with a BOM is refused.
        if (s_.starts_with("\xEF\xBB\xBF"))
            throw error("Unexpected UTF-8 BOM (decode using utf-8-sig)", 0);
        std::size_t idx = skip_ws(0);
        std::size_t end = 0;
        json value = scan_once(idx, end);
        end = skip_ws(end);
        if (end != len_) throw error("Extra data", end);
        return value;
    }

  private:
    std::string_view s_;
    std::size_t len_;
    std::size_t depth_ = 0;

    std::size_t skip_ws(std::size_t idx) const {
        while (idx < len_ && is_ws(s_[idx]))
            ++idx;
        return idx;
    }

    // JSONDecodeError's text: "msg: line L column C (char P)", in code points as Python counts.
    JsonDecodeError error(std::string_view msg, std::size_t byte_pos) const {
        std::size_t pos = 0, line = 1, column_start = 0;  // column_start: char index after '\n'
        for (std::size_t i = 0; i < byte_pos && i < len_; ++i) {
            const unsigned char c = static_cast<unsigned char>(s_[i]);
            if ((c & 0xC0u) == 0x80u) continue;  // a continuation byte is no new character
            ++pos;
            if (c == '\n') {
                ++line;
                column_start = pos;
            }
        }
        std::string text(msg);
        text += ": line " + std::to_string(line) + " column " +
                std::to_string(pos - column_start + 1) + " (char " + std::to_string(pos) + ")";
        return JsonDecodeError(std::move(text), pos);
    }

    // raise_stop_iteration(idx), which raw_decode() turns into "Expecting value" at idx.
    [[noreturn]] void expecting_value(std::size_t idx) const {
        throw error("Expecting value", idx);
    }

    // A named constant at idx (scan_once's "idx + 3 < length && ..." tests say the same).
    bool constant(std::size_t idx, std::string_view word, std::size_t& next) const {
        if (s_.substr(idx, word.size()) != word) return false;
        next = idx + word.size();
        return true;
    }

    json scan_once(std::size_t idx, std::size_t& next) {
        if (idx >= len_) expecting_value(idx);
        switch (s_[idx]) {
            case '"': {
                std::string text = scanstring(idx + 1, next);
                return json(std::move(text));
            }
            case '{':
            case '[': {
                // CPython's scanner enters a recursive call for each container
                // (Py_EnterRecursiveCall in _json.c) and names the one that is too deep.
                if (++depth_ > kPythonJsonDepth) {
                    throw JsonDecodeError(std::string("maximum recursion depth exceeded while "
                                                      "decoding a JSON ") +
                                              (s_[idx] == '{' ? "object" : "array") +
                                              " from a unicode string",
                                          idx);
                }
                json value =
                    s_[idx] == '{' ? parse_object(idx + 1, next) : parse_array(idx + 1, next);
                --depth_;
                return value;
            }
            case 'n':
                if (constant(idx, "null", next)) return nullptr;
                break;
            case 't':
                if (constant(idx, "true", next)) return true;
                break;
            case 'f':
                if (constant(idx, "false", next)) return false;
                break;
            case 'N':
                if (constant(idx, "NaN", next)) return std::numeric_limits<double>::quiet_NaN();
                break;
            case 'I':
                if (constant(idx, "Infinity", next)) return std::numeric_limits<double>::infinity();
                break;
            case '-':
                if (constant(idx, "-Infinity", next))
                    return -std::numeric_limits<double>::infinity();
                break;
            default:
                break;
        }
        return match_number(idx, next);
    }

    // The four hex digits of a \\u escape that end at `end`; Python's error names its 'u'.
    std::uint32_t hex4(std::size_t first, std::size_t end) const {
        std::uint32_t value = 0;
        for (std::size_t i = first; i < end; ++i) {
            const int digit = hex_value(s_[i]);
            if (digit < 0) throw error("Invalid \\uXXXX escape", end - 5);
            value = (value << 4) | static_cast<std::uint32_t>(digit);
        }
        return value;
    }

    // scanstring_unicode(pystr, end, strict=True): `end` is the index after the opening quote.
    std::string scanstring(std::size_t end, std::size_t& next_end) const {
        const std::size_t begin = end - 1;
        std::string chunks;
        while (true) {
            std::size_t next = end;
            char c = 0;
            for (; next < len_; ++next) {
                c = s_[next];
                if (c == '"' || c == '\\') break;
                if (static_cast<unsigned char>(c) <= 0x1F)
                    throw error("Invalid control character at", next);
            }
            if (next >= len_) throw error("Unterminated string starting at", begin);
            chunks.append(s_.data() + end, next - end);
            ++next;
            if (c == '"') {
                end = next;
                break;
            }
            if (next == len_) throw error("Unterminated string starting at", begin);
            c = s_[next];
            std::uint32_t cp = 0;
            if (c != 'u') {
                end = next + 1;
                switch (c) {
                    case '"':
                    case '\\':
                    case '/':
                        cp = static_cast<unsigned char>(c);
                        break;
                    case 'b':
                        cp = '\b';
                        break;
                    case 'f':
                        cp = '\f';
                        break;
                    case 'n':
                        cp = '\n';
                        break;
                    case 'r':
                        cp = '\r';
                        break;
                    case 't':
                        cp = '\t';
                        break;
                    default:
                        throw error("Invalid \\escape", end - 2);
                }
            } else {
                ++next;
                end = next + 4;
                if (end >= len_) throw error("Invalid \\uXXXX escape", next - 1);
                cp = hex4(next, end);
                next = end;
                // A high surrogate followed by an escaped low one is one code point.
                if (cp >= 0xD800 && cp <= 0xDBFF && end + 6 < len_ && s_[next] == '\\' &&
                    s_[next + 1] == 'u') {
                    end += 6;
                    const std::uint32_t low = hex4(next + 2, end);
                    if (low >= 0xDC00 && low <= 0xDFFF) {
                        cp = 0x10000 + (((cp - 0xD800) << 10) | (low - 0xDC00));
                    } else {
                        end -= 6;
                    }
                }
            }
            append_utf8(chunks, cp);
        }
        next_end = end;
        return chunks;
    }

    // _match_number_unicode: the same scan, the same backtracking.
    json match_number(std::size_t start, std::size_t& next) const {
        const std::size_t end_idx = len_ - 1;
        std::size_t idx = start;
        bool is_float = false;
        if (s_[idx] == '-') {
            ++idx;
            if (idx > end_idx) expecting_value(start);
        }
        if (s_[idx] >= '1' && s_[idx] <= '9') {
            ++idx;
            while (idx <= end_idx && is_digit(s_[idx]))
                ++idx;
        } else if (s_[idx] == '0') {
            ++idx;
        } else {
            expecting_value(start);
        }
        if (idx < end_idx && s_[idx] == '.' && is_digit(s_[idx + 1])) {
            is_float = true;
            idx += 2;
            while (idx <= end_idx && is_digit(s_[idx]))
                ++idx;
        }
        if (idx < end_idx && (s_[idx] == 'e' || s_[idx] == 'E')) {
            const std::size_t e_start = idx;
            ++idx;
            if (idx < end_idx && (s_[idx] == '-' || s_[idx] == '+')) ++idx;
            while (idx <= end_idx && is_digit(s_[idx]))
                ++idx;
            if (is_digit(s_[idx - 1])) {
                is_float = true;
            } else {
                idx = e_start;
            }
        }
        next = idx;
        const std::string_view text = s_.substr(start, idx - start);
        if (is_float) return parse_float(text);
        const std::size_t digits = text.size() - (text.front() == '-' ? 1 : 0);
        if (digits > kMaxIntDigits) {
            // ValueError from int(), which pyzmqrpc reports like a JSON error (a 400).
            throw JsonDecodeError("Exceeds the limit (" + std::to_string(kMaxIntDigits) +
                                      " digits) for integer string conversion: value has " +
                                      std::to_string(digits) +
                                      " digits; use sys.set_int_max_str_digits() to increase "
                                      "the limit",
                                  0);
        }
        if (text == "-0") return 0;
        return big_integer(text);
    }

    // float(text): correctly rounded; beyond the range of a double, infinity or zero (signed).
    static json parse_float(std::string_view text) {
        double value = 0;
        const auto r = std::from_chars(text.data(), text.data() + text.size(), value);
        if (r.ec == std::errc::result_out_of_range) {
            const bool negative = text.front() == '-';
            // Out of range: the decimal exponent says which way. Digits before the point count
            // up, leading zeros after it count down.
            const std::size_t e = text.find_first_of("eE");
            std::string_view mantissa = text.substr(negative ? 1 : 0, e - (negative ? 1 : 0));
            long long exponent = 0;
            if (e != std::string_view::npos) {
                std::string_view exp_text = text.substr(e + 1);
                if (!exp_text.empty() && exp_text.front() == '+') exp_text.remove_prefix(1);
                const auto er =
                    std::from_chars(exp_text.data(), exp_text.data() + exp_text.size(), exponent);
                if (er.ec == std::errc::result_out_of_range)
                    exponent = exp_text.front() == '-' ? std::numeric_limits<long long>::min() / 2
                                                       : std::numeric_limits<long long>::max() / 2;
            }
            // The magnitude of the first significant digit, plus the exponent: above zero the
            // value overflowed, else it underflowed.
            const std::size_t point = mantissa.find('.');
            const std::size_t int_digits =
                point == std::string_view::npos ? mantissa.size() : point;
            const std::size_t first = mantissa.find_first_of("123456789");
            long long magnitude = 0;
            if (first != std::string_view::npos) {
                magnitude = first < int_digits ? static_cast<long long>(int_digits - first) - 1
                                               : -static_cast<long long>(first - int_digits);
            }
            const bool huge = first != std::string_view::npos && magnitude + exponent > 0;
            value = huge ? std::numeric_limits<double>::infinity() : 0.0;
            if (negative) value = -value;
        }
        return value;
    }

    json parse_object(std::size_t idx, std::size_t& next_out) {
        detail::ObjectBuilder object;
        const std::size_t end_idx = len_ - 1;
        idx = skip_ws(idx);
        if (idx > end_idx || s_[idx] != '}') {
            while (true) {
                if (idx > end_idx || s_[idx] != '"')
                    throw error("Expecting property name enclosed in double quotes", idx);
                std::size_t next = 0;
                std::string key = scanstring(idx + 1, next);
                idx = skip_ws(next);
                if (idx > end_idx || s_[idx] != ':') throw error("Expecting ':' delimiter", idx);
                idx = skip_ws(idx + 1);
                json value = scan_once(idx, next);
                object.set(std::move(key), std::move(value));
                idx = skip_ws(next);
                if (idx <= end_idx && s_[idx] == '}') break;
                if (idx > end_idx || s_[idx] != ',') throw error("Expecting ',' delimiter", idx);
                idx = skip_ws(idx + 1);
            }
        }
        next_out = idx + 1;
        return object.finish();
    }

    json parse_array(std::size_t idx, std::size_t& next_out) {
        json array = json::array();
        const std::size_t end_idx = len_ - 1;
        idx = skip_ws(idx);
        if (idx > end_idx || s_[idx] != ']') {
            while (true) {
                std::size_t next = 0;
                array.push_back(scan_once(idx, next));
                idx = skip_ws(next);
                if (idx <= end_idx && s_[idx] == ']') break;
                if (idx > end_idx || s_[idx] != ',') throw error("Expecting ',' delimiter", idx);
                idx = skip_ws(idx + 1);
            }
        }
        next_out = idx + 1;
        return array;
    }
};

}  // namespace

json loads(std::string_view text) {
    return PyScanner(text).decode();
}

}  // namespace zmqrpc
