// printable(): text from the network or a file made safe for one line of a terminal. Header-only
// so that the status table (also compiled into tst_cli on its own) shares it.
#pragma once

#include <zmqrpc/protocol.hpp>

#include <cstdio>
#include <string>
#include <string_view>

namespace cli {

// Printable single line: control characters (C0, DEL and the C1 range U+0080..U+009F) escaped
// as \xHH per byte, and invalid UTF-8 marked "(invalid UTF-8)" with every byte outside printable
// ASCII escaped. For whatever the CLI prints that came from the network or a file (messages,
// status texts, ids and keys quoted in error lines).
inline std::string printable(std::string_view text) {
    auto escape = [](std::string& out, unsigned char u) {
        char buf[8];
        std::snprintf(buf, sizeof buf, "\\x%02x", u);
        out += buf;
    };
    std::string out;
    out.reserve(text.size());
    if (zmqrpc::is_valid_utf8(text)) {
        for (std::size_t i = 0; i < text.size(); ++i) {
            auto u = static_cast<unsigned char>(text[i]);
            if (u < 0x20 || u == 0x7f) {
                escape(out, u);
            } else if (u == 0xc2 && i + 1 < text.size() &&
                       static_cast<unsigned char>(text[i + 1]) < 0xa0) {
                // U+0080..U+009F, the C1 controls (U+009B is a CSI to some terminals).
                escape(out, u);
                escape(out, static_cast<unsigned char>(text[++i]));
            } else {
                out += text[i];
            }
        }
        return out;
    }
    out = "(invalid UTF-8) ";
    for (char c : text) {
        auto u = static_cast<unsigned char>(c);
        if (u >= 0x20 && u < 0x7f) {
            out += c;
        } else {
            escape(out, u);
        }
    }
    return out;
}

}  // namespace cli
