// The editor canvas's palette, metrics and fonts in one place, so that cards, ports, links and
// the runtime overlay agree on their colours. Fonts are built once (not per paint).
//
// GUI thread only.
#pragma once

#include <zmqrpc/metrics.hpp>
#include <zmqrpc/runtime.hpp>
#include <zmqrpc/topology.hpp>

#include <QColor>
#include <QFont>

namespace studio::style {

// ---- card geometry
inline constexpr double kCardWidth = 200;
inline constexpr double kHeaderHeight = 24;
inline constexpr double kTitleHeight = 22;
inline constexpr double kHostHeight = 16;
inline constexpr double kPortRowHeight = 20;
inline constexpr double kFooterHeight = 20;
inline constexpr double kQueueRowHeight = 16;
inline constexpr double kPad = 10;
inline constexpr double kRadius = 7;
inline constexpr double kPortRadius = 5.5;

// ---- canvas
inline QColor canvasBackground() {
    return {0xf4, 0xf5, 0xf7};
}
inline QColor gridMinor() {
    return {0xeb, 0xed, 0xf0};
}
inline QColor gridMajor() {
    return {0xd6, 0xd9, 0xdf};
}

// ---- card
inline QColor cardFill() {
    return Qt::white;
}
inline QColor cardBorder() {
    return {0xc4, 0xc9, 0xd1};
}
inline QColor selection() {
    return {0x2f, 0x6f, 0xeb};
}
inline QColor textPrimary() {
    return {0x1f, 0x23, 0x28};
}
inline QColor textSecondary() {
    return {0x6a, 0x73, 0x7d};
}
inline QColor divider() {
    return {0xea, 0xec, 0xef};
}

inline QColor kindColor(zmqrpc::NodeKind kind) {
    using K = zmqrpc::NodeKind;
    switch (kind) {
        case K::Sampler:
            return {0x1f, 0x8a, 0x70};  // teal: sources
        case K::RpcServer:
            return {0x5b, 0x4b, 0xc4};  // violet: servers
        case K::Sub2Req:
        case K::Sub2Pub:
        case K::Rep2Pub:
        case K::Rep2Req:
            return {0x2f, 0x6f, 0xb3};  // blue: proxies
        case K::BufferedRep2Req:
            return {0x24, 0x5a, 0x96};
        case K::Tap:
            return {0xb0, 0x6a, 0x12};  // amber-brown: observers
        case K::External:
            return {0x6b, 0x72, 0x80};  // slate: not ours
    }
    return {0x6b, 0x72, 0x80};
}

// A one-character glyph for the kind's header (DejaVu covers these).
inline QString kindGlyph(zmqrpc::NodeKind kind) {
    using K = zmqrpc::NodeKind;
    switch (kind) {
        case K::Sampler:
            return QStringLiteral("\u223F");  // sine wave
        case K::RpcServer:
            return QStringLiteral("\u0192");  // f (functions)
        case K::Tap:
            return QStringLiteral("\u25C9");  // fisheye
        case K::External:
            return QStringLiteral("\u2197");  // north-east arrow: elsewhere
        default:
            return QStringLiteral("\u21C4");  // arrows both ways: proxy
    }
}

inline QColor socketColor(zmqrpc::SocketType type) {
    using S = zmqrpc::SocketType;
    switch (type) {
        case S::Pub:
        case S::Sub:
            return {0x0e, 0x9f, 0x8f};  // PUB/SUB family: teal
        case S::Req:
        case S::Rep:
            return {0x7a, 0x4f, 0xd6};  // REQ/REP family: violet
    }
    return Qt::gray;
}

// ---- runtime overlay
inline QColor stateColor(zmqrpc::NodeState state) {
    using N = zmqrpc::NodeState;
    switch (state) {
        case N::Stopped:
            return {0x9a, 0xa0, 0xa6};
        case N::Starting:
        case N::Stopping:
        case N::Waiting:
            return {0xe0, 0x9b, 0x10};
        case N::Running:
            return {0x2e, 0xa0, 0x43};
        case N::Failed:
            return {0xd9, 0x30, 0x25};
        case N::External:
            return {0x3b, 0x82, 0xc4};
        case N::Remote:
            return {0xb4, 0xb9, 0xc0};
        case N::Unknown:  // a silent runner: not known to run
            return {0x8e, 0x44, 0xad};
    }
    return Qt::gray;
}
inline QColor okColor() {
    return {0x2e, 0xa0, 0x43};
}
inline QColor warnColor() {
    return {0xe0, 0x9b, 0x10};
}
inline QColor errorColor() {
    return {0xd9, 0x30, 0x25};
}
inline QColor idleLinkColor() {
    return {0x9a, 0xa0, 0xa6};
}

// ---- fonts (built once)
const QFont& headerFont();
const QFont& titleFont();
const QFont& smallFont();
const QFont& monoFont();
const QFont& portFont();

}  // namespace studio::style
