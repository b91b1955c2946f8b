// The running form of each node kind (see runtime_nodes.hpp).
#include "runtime_nodes.hpp"

#include "zmqrpc/diagnostics.hpp"
#include "zmqrpc/errors.hpp"
#include "zmqrpc/protocol.hpp"
#include "zmqrpc/proxy.hpp"
#include "zmqrpc/receiver.hpp"
#include "zmqrpc/rpc_server.hpp"
#include "zmqrpc/sender.hpp"

#include <algorithm>
#include <atomic>
#include <cmath>
#include <condition_variable>
#include <cstdio>
#include <ctime>
#include <deque>
#include <functional>
#include <mutex>
#include <stdexcept>
#include <thread>

namespace zmqrpc::detail {

namespace {

using SteadyClock = std::chrono::steady_clock;
using SystemClock = std::chrono::system_clock;

std::chrono::milliseconds to_ms(double seconds) {
    return std::chrono::milliseconds(static_cast<std::int64_t>(std::llround(seconds * 1000.0)));
}

}  // namespace

bool NodeConfig::has(const char* key) const {
    return find_property_spec(kind, key) != nullptr;
}

const nlohmann::json& NodeConfig::value(const char* key) const {
    static const nlohmann::json null;
    if (!has(key)) {
        throw std::logic_error(std::string("a ") + to_string(kind) + " has no property '" + key +
                               "'");
    }
    auto it = properties.find(key);
    return it == properties.end() ? null : *it;
}

double NodeConfig::number(const char* key) const {
    const nlohmann::json& v = value(key);
    return v.is_number() ? v.get<double>() : 0.0;
}

std::string NodeConfig::text(const char* key) const {
    const nlohmann::json& v = value(key);
    return v.is_string() ? v.get<std::string>() : std::string();
}

std::chrono::milliseconds NodeConfig::seconds(const char* key) const {
    return to_ms(number(key));
}

const Security& NodeConfig::security_of(const char* key) const {
    static const Security none;
    auto it = security.find(key);
    return it == security.end() ? none : it->second;
}

// ---------------------------------------------------------------------------------------------
// SampleTemplate

SampleTemplate::SampleTemplate(const std::string& function, const nlohmann::json& parameters,
                               std::string node, std::string name, std::string host)
    : node_(std::move(node)), name_(std::move(name)), host_(std::move(host)) {
    random_state_ = std::hash<std::string>{}(node_) | 1u;
    const std::string text =
        encode_request(function, parameters.is_object() ? parameters : nlohmann::json::object());
    static const std::pair<const char*, Field> kFields[] = {
        {"seq", Field::Seq},     {"time", Field::Time},     {"iso_time", Field::IsoTime},
        {"value", Field::Value}, {"random", Field::Random}, {"node", Field::Node},
        {"name", Field::Name},   {"host", Field::Host},
    };
    std::string literal;
    std::size_t i = 0;
    while (i < text.size()) {
        std::size_t open = text.find("${", i);
        if (open == std::string::npos) break;
        std::size_t close = text.find('}', open + 2);
        if (close == std::string::npos) break;
        std::string key = text.substr(open + 2, close - open - 2);
        const Field* field = nullptr;
        for (const auto& [k, f] : kFields) {
            if (key == k) field = &f;
        }
        if (!field) {  // not ours: keep it as written
            literal += text.substr(i, close + 1 - i);
            i = close + 1;
            continue;
        }
        // A JSON string value that is exactly the placeholder (not an object key).
        bool whole = open > 0 && text[open - 1] == '"' && close + 1 < text.size() &&
                     text[close + 1] == '"' && (close + 2 >= text.size() || text[close + 2] != ':');
        if (whole) {
            literal += text.substr(i, open - 1 - i);
            pieces_.push_back({std::move(literal), *field, true});
            i = close + 2;
        } else {
            literal += text.substr(i, open - i);
            pieces_.push_back({std::move(literal), *field, false});
            i = close + 1;
        }
        literal.clear();
    }
    tail_ = literal + text.substr(std::min(i, text.size()));
}

std::string SampleTemplate::value_text(Field field, bool whole, std::uint64_t seq,
                                       double unix_seconds) {
    char buf[64];
    auto quoted = [&](const std::string& s) {
        std::string j = dumps(nlohmann::json(s));  // Python-style escaping, with quotes
        return whole ? j : j.substr(1, j.size() - 2);
    };
    switch (field) {
        case Field::Seq:
            return std::to_string(seq);
        case Field::Time:
            std::snprintf(buf, sizeof buf, "%.3f", unix_seconds);
            return buf;
        case Field::IsoTime: {
            auto secs = static_cast<std::time_t>(unix_seconds);
            int ms = static_cast<int>((unix_seconds - static_cast<double>(secs)) * 1000.0);
            std::tm tm{};
            gmtime_r(&secs, &tm);
            std::snprintf(buf, sizeof buf, "%04d-%02d-%02dT%02d:%02d:%02d.%03dZ", tm.tm_year + 1900,
                          tm.tm_mon + 1, tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec, ms);
            return whole ? std::string("\"") + buf + "\"" : std::string(buf);
        }
        case Field::Value:
        case Field::Random: {
            // xorshift64: cheap, and each sampler has its own sequence.
            random_state_ ^= random_state_ << 13;
            random_state_ ^= random_state_ >> 7;
            random_state_ ^= random_state_ << 17;
            double r = static_cast<double>(random_state_ >> 11) * 0x1.0p-53;
            if (field == Field::Random) {
                std::snprintf(buf, sizeof buf, "%.6f", r);
            } else {
                // A slow wave (one minute) with a little noise: looks like a sensor on a chart.
                double phase = static_cast<double>(std::hash<std::string>{}(node_) % 628) / 100.0;
                double v = 20.0 + 5.0 * std::sin(unix_seconds * 2.0 * M_PI / 60.0 + phase) +
                           0.5 * (r - 0.5);
                std::snprintf(buf, sizeof buf, "%.3f", v);
            }
            return buf;
        }
        case Field::Node:
            return quoted(node_);
        case Field::Name:
            return quoted(name_);
        case Field::Host:
            return quoted(host_);
    }
    return {};
}

std::string SampleTemplate::render(std::uint64_t seq, SystemClock::time_point time) {
    double unix_seconds = std::chrono::duration<double>(time.time_since_epoch()).count();
    out_.clear();
    for (const auto& piece : pieces_) {
        out_ += piece.literal;
        out_ += value_text(piece.field, piece.whole, seq, unix_seconds);
    }
    out_ += tail_;
    return out_;
}

namespace {

// ---------------------------------------------------------------------------------------------
// Sampler: a bound PUB (Sender) and a thread that publishes at the configured rate. The rate is
// kept against the start time (message n is due at start + n / rate), so a late wake-up sends
// the messages that fell due meanwhile instead of drifting; a burst is capped so that stop()
// stays prompt even at 100k messages per second.

class SamplerInstance final : public NodeInstance {
  public:
    explicit SamplerInstance(NodeConfig config) : config_(std::move(config)) {}
    ~SamplerInstance() override { stop(); }

    void start() override {
        SenderOptions options;
        config_.apply_common(options);
        options.pub_bind = config_.binds.at("pub");
        options.security = config_.security_of("credentials");
        options.pub_hwm = static_cast<int>(config_.number("hwm"));
        sender_ = std::make_unique<Sender>(std::move(options));
        template_ =
            std::make_unique<SampleTemplate>(config_.text("function"), config_.value("parameters"),
                                             config_.id, config_.display_name, config_.host);
        rate_ = std::max(config_.number("rate"), 0.001);
        heartbeat_interval_ = config_.seconds("heartbeat_interval");
        stop_ = false;
        thread_ = std::thread([this] { run(); });
    }

    void stop() override {
        {
            std::lock_guard lock(mutex_);
            stop_ = true;
        }
        cv_.notify_all();
        if (thread_.joinable()) thread_.join();
        sender_.reset();
    }

    bool running() const override { return thread_.joinable() && !ended_; }

    MetricsSnapshot metrics() const override {
        auto m = sender_ ? sender_->metrics() : MetricsSnapshot{};
        m.kind = "sampler";
        m.running = running();
        return m;
    }

    std::string bound_endpoint(const std::string& port) const override {
        return port == "pub" && sender_ ? sender_->pub_endpoint() : std::string();
    }

  private:
    void run() {
        auto start = SteadyClock::now();
        auto next_heartbeat = start;
        auto next_events = start;
        std::uint64_t sent = 0;
        const double per_second = rate_;
        constexpr std::uint64_t kBurst = 2000;
        std::unique_lock lock(mutex_);
        while (!stop_) {
            lock.unlock();
            auto now = SteadyClock::now();
            if (heartbeat_interval_.count() > 0 && now >= next_heartbeat) {
                sender_->send_heartbeat();
                next_heartbeat += heartbeat_interval_;
                if (next_heartbeat <= now) next_heartbeat = now + heartbeat_interval_;
            }
            double elapsed = std::chrono::duration<double>(now - start).count();
            auto due = static_cast<std::uint64_t>(elapsed * per_second) + 1;
            std::uint64_t burst = 0;
            while (sent < due && burst < kBurst) {
                ++sent;
                ++burst;
                sender_->publish(template_->render(sent, SystemClock::now()));
            }
            if (due > sent + static_cast<std::uint64_t>(per_second) + kBurst) {
                // Hopelessly behind (a stalled machine): start counting afresh.
                start = now;
                sent = 0;
            }
            if (now >= next_events) {
                sender_->poll_events();
                next_events = now + std::chrono::milliseconds(100);
            }
            auto next_message =
                start + std::chrono::duration_cast<SteadyClock::duration>(
                            std::chrono::duration<double>(static_cast<double>(sent) / per_second));
            auto wake = std::min(next_message, next_events);
            if (heartbeat_interval_.count() > 0) wake = std::min(wake, next_heartbeat);
            lock.lock();
            if (sent < due) continue;  // still behind after a burst: check stop, go on
            cv_.wait_until(lock, wake, [this] { return stop_; });
        }
        ended_ = true;
    }

    NodeConfig config_;
    std::unique_ptr<Sender> sender_;
    std::unique_ptr<SampleTemplate> template_;
    double rate_ = 1;
    std::chrono::milliseconds heartbeat_interval_{0};
    std::mutex mutex_;
    std::condition_variable cv_;
    bool stop_ = false;
    std::atomic<bool> ended_{false};
    std::thread thread_;
};

// ---------------------------------------------------------------------------------------------
// RPC server with the diagnostic functions.

class ServerInstance final : public NodeInstance {
  public:
    explicit ServerInstance(NodeConfig config) : config_(std::move(config)) {}
    ~ServerInstance() override { stop(); }

    void start() override {
        RpcServerOptions options;
        config_.apply_common(options);
        auto rep = config_.binds.find("rep");
        if (rep != config_.binds.end()) options.rep_bind = rep->second;
        options.sub_connect = config_.sub_connect;
        options.default_heartbeat_timeout = std::chrono::milliseconds(0);
        options.security = config_.security_of("credentials");
        server_ = std::make_unique<RpcServer>(std::move(options), diagnostic_functions());
        server_->start();
    }
    void stop() override {
        if (server_) server_->stop();
    }
    bool running() const override { return server_ && server_->running(); }
    MetricsSnapshot metrics() const override {
        return server_ ? server_->metrics() : MetricsSnapshot{};
    }
    std::string bound_endpoint(const std::string& port) const override {
        return port == "rep" && server_ ? server_->rep_endpoint() : std::string();
    }

  private:
    NodeConfig config_;
    std::unique_ptr<RpcServer> server_;
};

// ---------------------------------------------------------------------------------------------
// The five proxies.

class ProxyInstance final : public NodeInstance {
  public:
    ProxyInstance(NodeConfig config, ProxyKind kind) : config_(std::move(config)), kind_(kind) {}
    ~ProxyInstance() override { stop(); }

    void start() override {
        ProxyOptions options;
        config_.apply_common(options);
        auto rep = config_.binds.find("rep");
        if (rep != config_.binds.end()) options.input.rep_bind = rep->second;
        options.input.sub_connect = config_.sub_connect;
        options.input.default_heartbeat_timeout = std::chrono::milliseconds(0);
        options.input.security = config_.security_of("input_credentials");
        auto pub = config_.binds.find("pub");
        if (pub != config_.binds.end()) options.output.pub_bind = pub->second;
        options.output.req_connect = config_.req_connect;
        options.output.security = config_.security_of("output_credentials");
        if (config_.has("hwm")) options.output.pub_hwm = static_cast<int>(config_.number("hwm"));
        if (config_.has("heartbeat_interval"))
            options.output.pub_heartbeat_interval = config_.seconds("heartbeat_interval");
        if (config_.has("req_timeout")) options.output.req_timeout = config_.seconds("req_timeout");
        if (config_.has("retry_interval"))
            options.retry_interval = config_.seconds("retry_interval");
        options.queue_capacity = static_cast<std::size_t>(config_.number("queue_capacity"));
        if (config_.has("window"))
            options.window = static_cast<std::size_t>(config_.number("window"));
        if (config_.has("store")) options.store = config_.text("store");
        if (config_.has("store_max_bytes"))
            options.store_max_bytes = static_cast<std::uint64_t>(config_.number("store_max_bytes"));
        if (config_.has("fsync"))
            options.store_sync = store_sync_from_string(config_.text("fsync"));
        proxy_ = std::make_unique<Proxy>(kind_, std::move(options));
        proxy_->start();
    }
    void stop() override {
        if (proxy_) proxy_->stop();
    }
    bool running() const override { return proxy_ && proxy_->running(); }
    MetricsSnapshot metrics() const override {
        return proxy_ ? proxy_->metrics() : MetricsSnapshot{};
    }
    std::string bound_endpoint(const std::string& port) const override {
        if (!proxy_) return {};
        if (port == "rep") return proxy_->input_endpoint();
        if (port == "pub") return proxy_->output_endpoint();
        return {};
    }

  private:
    NodeConfig config_;
    ProxyKind kind_;
    std::unique_ptr<Proxy> proxy_;
};

// ---------------------------------------------------------------------------------------------
// Tap: a Receiver on the SUB links whose tap keeps the last `keep` messages.

class TapInstance final : public NodeInstance {
  public:
    explicit TapInstance(NodeConfig config) : config_(std::move(config)) {
        keep_ = static_cast<std::size_t>(std::max(1.0, config_.number("keep")));
    }
    ~TapInstance() override { stop(); }

    void start() override {
        ReceiverOptions options;
        config_.apply_common(options);
        options.sub_connect = config_.sub_connect;
        options.default_heartbeat_timeout = std::chrono::milliseconds(0);
        options.security = config_.security_of("credentials");
        options.tap = [this](const std::string& endpoint, std::string_view message,
                             bool heartbeat) { keep(endpoint, message, heartbeat); };
        receiver_ = std::make_unique<Receiver>(
            std::move(options), [](std::string_view, Origin) { return std::string(); });
        receiver_->start();
    }
    void stop() override {
        if (receiver_) receiver_->stop();
    }
    bool running() const override { return receiver_ && receiver_->running(); }
    MetricsSnapshot metrics() const override {
        auto m = receiver_ ? receiver_->metrics() : MetricsSnapshot{};
        m.kind = "tap";
        return m;
    }
    std::string bound_endpoint(const std::string&) const override { return {}; }

    std::vector<TapMessage> tap_messages(std::uint64_t after) const override {
        std::lock_guard lock(mutex_);
        std::vector<TapMessage> out;
        for (const auto& m : rows_) {
            if (m.seq > after) out.push_back(m);
        }
        return out;
    }

  private:
    static constexpr std::size_t kPreview = 256;

    void keep(const std::string& endpoint, std::string_view message, bool heartbeat) {
        TapMessage m;
        m.time = SystemClock::now();
        m.endpoint = endpoint;
        m.size = message.size();
        m.heartbeat = heartbeat;
        m.preview.assign(message.substr(0, kPreview));
        std::lock_guard lock(mutex_);
        m.seq = ++seq_;
        if (rows_.size() >= keep_) rows_.pop_front();
        rows_.push_back(std::move(m));
    }

    NodeConfig config_;
    std::size_t keep_ = 100;
    std::unique_ptr<Receiver> receiver_;
    mutable std::mutex mutex_;
    std::deque<TapMessage> rows_;
    std::uint64_t seq_ = 0;
};

}  // namespace

std::unique_ptr<NodeInstance> make_node_instance(NodeConfig config) {
    switch (config.kind) {
        case NodeKind::Sampler:
            return std::make_unique<SamplerInstance>(std::move(config));
        case NodeKind::RpcServer:
            return std::make_unique<ServerInstance>(std::move(config));
        case NodeKind::Sub2Req:
            return std::make_unique<ProxyInstance>(std::move(config), ProxyKind::Sub2Req);
        case NodeKind::Sub2Pub:
            return std::make_unique<ProxyInstance>(std::move(config), ProxyKind::Sub2Pub);
        case NodeKind::Rep2Pub:
            return std::make_unique<ProxyInstance>(std::move(config), ProxyKind::Rep2Pub);
        case NodeKind::Rep2Req:
            return std::make_unique<ProxyInstance>(std::move(config), ProxyKind::Rep2Req);
        case NodeKind::BufferedRep2Req:
            return std::make_unique<ProxyInstance>(std::move(config), ProxyKind::BufferedRep2Req);
        case NodeKind::Tap:
            return std::make_unique<TapInstance>(std::move(config));
        case NodeKind::External:
            break;
    }
    throw ConfigError("node '" + config.id + "': " + to_string(config.kind) +
                      " nodes are not launched");
}

}  // namespace zmqrpc::detail
