// What the benchmark programs share: number formatting, the process's CPU time, a socket's bound
// endpoint, and the markdown table they print. Header-only; needs cppzmq, not zmqrpc or Qt.
#pragma once

#include <zmq.hpp>

#include <sys/resource.h>

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <iostream>
#include <string>
#include <vector>

namespace bench {

inline std::string fmt(double value, int decimals) {
    char buffer[64];
    std::snprintf(buffer, sizeof buffer, "%.*f", decimals, value);
    return buffer;
}

// 1234567.0 -> "1 234 567"
inline std::string grouped(double value) {
    std::string digits = std::to_string(static_cast<long long>(std::llround(value)));
    std::string out;
    int count = 0;
    for (auto it = digits.rbegin(); it != digits.rend(); ++it) {
        if (count && count % 3 == 0 && *it != '-') out.insert(out.begin(), ' ');
        out.insert(out.begin(), *it);
        ++count;
    }
    return out;
}

// CPU time (user + system) of the whole process so far, in seconds.
inline double process_cpu_seconds() {
    rusage u{};
    getrusage(RUSAGE_SELF, &u);
    auto sec = [](const timeval& t) {
        return static_cast<double>(t.tv_sec) + static_cast<double>(t.tv_usec) / 1e6;
    };
    return sec(u.ru_utime) + sec(u.ru_stime);
}

inline std::string bound_endpoint(zmq::socket_t& socket) {
    return socket.get(zmq::sockopt::last_endpoint);
}

// A markdown table on stdout, each column as wide as its widest cell.
inline void print_markdown_table(const std::vector<std::string>& head,
                                 const std::vector<std::vector<std::string>>& rows) {
    std::vector<std::size_t> width(head.size());
    for (std::size_t i = 0; i < head.size(); ++i)
        width[i] = head[i].size();
    for (const auto& c : rows) {
        for (std::size_t i = 0; i < c.size() && i < width.size(); ++i)
            width[i] = std::max(width[i], c[i].size());
    }
    auto print = [&](const std::vector<std::string>& c) {
        std::string out = "|";
        for (std::size_t i = 0; i < width.size(); ++i) {
            const std::string cell = i < c.size() ? c[i] : std::string();
            out += " " + cell + std::string(width[i] - cell.size(), ' ') + " |";
        }
        std::cout << out << "\n";
    };
    print(head);
    std::string rule = "|";
    for (auto w : width)
        rule += std::string(w + 2, '-') + "|";
    std::cout << rule << "\n";
    for (const auto& c : rows)
        print(c);
}

}  // namespace bench
