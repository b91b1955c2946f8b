#include "zmqrpc/diagnostics.hpp"

#include "zmqrpc/stop_token.hpp"

#include <chrono>
#include <cmath>
#include <limits>
#include <stdexcept>
#include <thread>

namespace zmqrpc {

namespace {
// Python's type names, for TypeError texts.
std::string py_type(const json& v) {
    switch (v.type()) {
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
        default:
            return "bytes";
    }
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

json add(const json& a, const json& b) {
    if (a.is_number() && b.is_number() && !a.is_boolean() && !b.is_boolean()) {
        if (a.is_number_float() || b.is_number_float()) return a.get<double>() + b.get<double>();
        // Exactly, as Python's integers add; JSON numbers here are 64-bit, and a sum beyond
        // them is refused rather than wrapped or rounded.
        __extension__ using Wide = __int128;  // GCC and Clang; holds any two of them summed
        auto wide = [](const json& n) -> Wide {
            return n.is_number_unsigned() ? static_cast<Wide>(n.get<std::uint64_t>())
                                          : static_cast<Wide>(n.get<std::int64_t>());
        };
        const Wide sum = wide(a) + wide(b);
        if (sum >= std::numeric_limits<std::int64_t>::min() &&
            sum <= std::numeric_limits<std::int64_t>::max())
            return static_cast<std::int64_t>(sum);
        if (sum >= 0 && sum <= std::numeric_limits<std::uint64_t>::max())
            return static_cast<std::uint64_t>(sum);
        throw std::runtime_error("add() result does not fit in a 64-bit integer");
    }
    if (a.is_string() && b.is_string()) return a.get<std::string>() + b.get<std::string>();
    if (a.is_array() && b.is_array()) {
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
    std::vector<std::string> missing;
    for (const auto& name : required) {
        if (!parameters.contains(name)) missing.push_back(name);
    }
    if (!missing.empty()) {
        throw std::runtime_error(std::string(function) + "() missing " +
                                 std::to_string(missing.size()) + " required positional argument" +
                                 (missing.size() > 1 ? "s" : "") + ": " + quoted_list(missing));
    }
    for (const auto& [key, value] : parameters.items()) {
        bool known = std::find(required.begin(), required.end(), key) != required.end() ||
                     std::find(optional.begin(), optional.end(), key) != optional.end();
        if (!known) {
            throw std::runtime_error(std::string(function) +
                                     "() got an unexpected keyword argument '" + key + "'");
        }
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
            throw std::runtime_error(m.is_string() ? m.get<std::string>() : dumps(m));
        },
        {"message"}, "raises an error with that message (status 463)");
    return r;
}

}  // namespace zmqrpc
