#include "zmqrpc/diagnostics.hpp"

#include "zmqrpc/stop_token.hpp"

#include <algorithm>
#include <charconv>
#include <chrono>
#include <cmath>
#include <limits>
#include <stdexcept>
#include <thread>

namespace zmqrpc {

namespace {
std::string py_type(const json& v) {
    return python_type_name(v);
}

std::string quoted_list(const std::vector<std::string>& names) {
    // Python: 'a', 'b' and 'c'
    std::string out;
    for (std::size_t i = 0; i < names.size(); ++i) {
        if (i > 0) out += (i + 1 == names.size()) ? " and " : ", ";
        out += "'" + names[i] + "'";
    }
    return out;
}

// |a| + |b| or |a| - |b| (|a| >= |b|) of decimal digit strings.
std::string add_magnitudes(std::string_view a, std::string_view b) {
    std::string out;
    int carry = 0;
    for (std::size_t i = 0; i < a.size() || i < b.size() || carry; ++i) {
        int d = carry;
        if (i < a.size()) d += a[a.size() - 1 - i] - '0';
        if (i < b.size()) d += b[b.size() - 1 - i] - '0';
        out += static_cast<char>('0' + d % 10);
        carry = d / 10;
    }
    return {out.rbegin(), out.rend()};
}
std::string subtract_magnitudes(std::string_view a, std::string_view b) {
    std::string out;
    int borrow = 0;
    for (std::size_t i = 0; i < a.size(); ++i) {
        int d =
            (a[a.size() - 1 - i] - '0') - borrow - (i < b.size() ? b[b.size() - 1 - i] - '0' : 0);
        borrow = d < 0;
        out += static_cast<char>('0' + (d + 10) % 10);
    }
    while (out.size() > 1 && out.back() == '0')
        out.pop_back();
    return {out.rbegin(), out.rend()};
}
bool magnitude_less(std::string_view a, std::string_view b) {
    return a.size() != b.size() ? a.size() < b.size() : a < b;
}

// Python's int + int, exact whatever the size (big integers are decimal digits).
json add_integers(const json& a, const json& b) {
    const std::string x = big_integer_digits(a), y = big_integer_digits(b);
    const bool xneg = x.front() == '-', yneg = y.front() == '-';
    const std::string_view xm = std::string_view(x).substr(xneg),
                           ym = std::string_view(y).substr(yneg);
    if (xneg == yneg) return big_integer((xneg ? "-" : "") + add_magnitudes(xm, ym));
    const bool x_bigger = !magnitude_less(xm, ym);
    std::string m = x_bigger ? subtract_magnitudes(xm, ym) : subtract_magnitudes(ym, xm);
    const bool negative = m != "0" && (x_bigger ? xneg : yneg);
    return big_integer((negative ? "-" : "") + m);
}

bool is_integer(const json& v) {
    return v.is_number_integer() || v.is_boolean() || is_big_integer(v);
}

// float(int), which Python refuses for an integer beyond a double's range.
double to_double(const json& v) {
    if (v.is_boolean()) return v.get<bool>() ? 1.0 : 0.0;
    if (!is_big_integer(v)) return v.get<double>();
    const std::string digits = big_integer_digits(v);
    double d = 0;
    const auto r = std::from_chars(digits.data(), digits.data() + digits.size(), d);
    if (r.ec != std::errc()) throw std::runtime_error("int too large to convert to float");
    return d;
}

// Python's a + b for what JSON holds: bool is an int; int and float mix as floats; str, list
// concatenate; anything else is Python's TypeError text.
json add(const json& a, const json& b) {
    const bool a_number = is_integer(a) || a.is_number_float();
    const bool b_number = is_integer(b) || b.is_number_float();
    if (a_number && b_number) {
        if (a.is_number_float() || b.is_number_float()) return to_double(a) + to_double(b);
        return add_integers(a.is_boolean() ? json(a.get<bool>() ? 1 : 0) : a,
                            b.is_boolean() ? json(b.get<bool>() ? 1 : 0) : b);
    }
    if (a.is_string()) {
        if (b.is_string()) return a.get<std::string>() + b.get<std::string>();
        throw std::runtime_error("can only concatenate str (not \"" + py_type(b) + "\") to str");
    }
    if (a.is_array()) {
        if (!b.is_array()) {
            throw std::runtime_error("can only concatenate list (not \"" + py_type(b) +
                                     "\") to list");
        }
        json out = a;
        for (const auto& v : b)
            out.push_back(v);
        return out;
    }
    throw std::runtime_error("unsupported operand type(s) for +: '" + py_type(a) + "' and '" +
                             py_type(b) + "'");
}
}  // namespace

void check_arguments(std::string_view function, const json& parameters,
                     const std::vector<std::string>& required,
                     const std::vector<std::string>& optional) {
    // Python binds keyword arguments first, so an unexpected one is reported before a missing
    // one (in the order the caller gave them).
    for (const auto& [key, value] : parameters.items()) {
        bool known = std::find(required.begin(), required.end(), key) != required.end() ||
                     std::find(optional.begin(), optional.end(), key) != optional.end();
        if (!known) {
            throw std::runtime_error(std::string(function) +
                                     "() got an unexpected keyword argument '" + key + "'");
        }
    }
    std::vector<std::string> missing;
    for (const auto& name : required) {
        if (!parameters.contains(name)) missing.push_back(name);
    }
    if (!missing.empty()) {
        throw std::runtime_error(std::string(function) + "() missing " +
                                 std::to_string(missing.size()) + " required positional argument" +
                                 (missing.size() > 1 ? "s" : "") + ": " + quoted_list(missing));
    }
}

FunctionRegistry diagnostic_functions() {
    FunctionRegistry r;
    r.add(
        "ping",
        [](const json& p) {
            check_arguments("ping", p, {});
            return json("pong");
        },
        {}, "answers \"pong\"");
    r.add(
        "echo", [](const json& p) { return p; }, {"**parameters"},
        "answers with its parameters, unchanged");
    r.add(
        "add",
        [](const json& p) {
            check_arguments("add", p, {"a", "b"});
            return add(p.at("a"), p.at("b"));
        },
        {"a", "b"}, "answers a + b (numbers add; strings and lists concatenate)");
    r.add(
        "sleep",
        [](const json& p) {
            check_arguments("sleep", p, {"seconds"});
            const json& s = p.at("seconds");
            if (!s.is_number() || s.is_boolean()) {
                throw std::runtime_error("sleep() seconds must be a number, not " + py_type(s));
            }
            double seconds = s.get<double>();
            if (!std::isfinite(seconds) || seconds < 0 || seconds > 3600) {
                throw std::runtime_error("sleep() seconds must be between 0 and 3600");
            }
            auto until = std::chrono::steady_clock::now() +
                         std::chrono::duration_cast<std::chrono::steady_clock::duration>(
                             std::chrono::duration<double>(seconds));
            // Sleep in slices so that stopping the server is not held up by a long sleep.
            while (std::chrono::steady_clock::now() < until && !stop_requested()) {
                auto left = until - std::chrono::steady_clock::now();
                std::this_thread::sleep_for(std::min<std::chrono::steady_clock::duration>(
                    left, std::chrono::milliseconds(10)));
            }
            if (stop_requested()) throw std::runtime_error("sleep() interrupted: server stopping");
            return s;
        },
        {"seconds"}, "sleeps that many seconds, then answers with them");
    r.add(
        "fail",
        [](const json& p) -> json {
            check_arguments("fail", p, {"message"});
            const json& m = p.at("message");
            throw std::runtime_error(python_str(m));  // str(message), as Exception(message)
        },
        {"message"}, "raises an error with that message (status 463)");
    return r;
}

}  // namespace zmqrpc
