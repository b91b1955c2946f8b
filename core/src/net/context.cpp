#include "zmqrpc/context.hpp"

#include <zmq.hpp>
#include <zmq_addon.hpp>

#include "zmqrpc/errors.hpp"

#include <array>

#include <atomic>
#include <map>
#include <mutex>
#include <thread>

namespace zmqrpc {

namespace {
// Comparison whose time does not depend on where the strings differ.
bool equal_constant_time(const std::string& a, const std::string& b) {
    unsigned char diff = a.size() == b.size() ? 0 : 1;
    const std::size_t n = std::max(a.size(), b.size());
    for (std::size_t i = 0; i < n; ++i) {
        unsigned char x = i < a.size() ? static_cast<unsigned char>(a[i]) : 0;
        unsigned char y = i < b.size() ? static_cast<unsigned char>(b[i]) : 0;
        diff = static_cast<unsigned char>(diff | (x ^ y));
    }
    return diff == 0;
}
}  // namespace

// The ZAP handler (RFC 27) runs on its own thread with a REP socket bound to the context's
// well-known inproc address. It polls with a short timeout to notice shutdown; it is not on any
// message path, only on handshakes.
struct Context::Impl {
    zmq::context_t context;
    std::mutex mutex;
    struct Domain {
        Security security;         // the binding side's: its password, or who may connect by key
        std::string last_refusal;  // why the last handshake was refused
    };
    std::map<std::string, Domain> domains;
    std::uint64_t next_domain = 0;
    std::thread zap_thread;
    std::atomic<bool> zap_stop{false};
    std::atomic<std::uint64_t> refused{0};

    void start_zap() {
        // Bind here, synchronously, so that no handshake can happen before the handler exists.
        auto socket = std::make_shared<zmq::socket_t>(context, zmq::socket_type::rep);
        socket->set(zmq::sockopt::linger, 0);
        socket->bind("inproc://zeromq.zap.01");
        zap_thread = std::thread([this, socket] { run_zap(*socket); });
    }

    void run_zap(zmq::socket_t& socket) {
        while (!zap_stop.load()) {
            zmq::pollitem_t item{socket.handle(), 0, ZMQ_POLLIN, 0};
            try {
                zmq::poll(&item, 1, std::chrono::milliseconds(50));
            } catch (const zmq::error_t&) {
                return;
            }
            if (!(item.revents & ZMQ_POLLIN)) continue;
            std::vector<zmq::message_t> frames;
            try {
                (void)zmq::recv_multipart(socket, std::back_inserter(frames));
            } catch (const zmq::error_t&) {
                return;
            }
            reply(socket, frames);
        }
    }

    // Whether `key` is in the domain's authorized_keys file, read again for every handshake so
    // that a new or rotated list applies at the next connection. Empty when it is; else why not.
    static std::string check_authorized(const CurveSecurity& curve, const std::string& key,
                                        std::string& user) {
        std::vector<AuthorizedKey> keys;
        try {
            keys = load_authorized_keys(curve.authorized_keys);
        } catch (const ConfigError& e) {
            return std::string("client key refused: ") + e.what();
        }
        for (const auto& allowed : keys) {
            if (equal_constant_time(allowed.key, key)) {
                user = allowed.comment.empty() ? key : allowed.comment;
                return {};
            }
        }
        return "client key " + key_fingerprint(key) + " is not in " +
               curve.authorized_keys.string();
    }

    void reply(zmq::socket_t& socket, std::vector<zmq::message_t>& frames) {
        // version, request id, domain, address, identity, mechanism, credentials...
        std::string request_id = frames.size() > 1 ? frames[1].to_string() : "";
        std::string status = "400";
        std::string text = "bad request";
        std::string user;
        if (frames.size() >= 6 && frames[0].to_string_view() == "1.0") {
            std::string domain = frames[2].to_string();
            std::string mechanism = frames[5].to_string();
            std::lock_guard lock(mutex);
            auto it = domains.find(domain);
            Domain* policy = it == domains.end() ? nullptr : &it->second;
            if (mechanism == "NULL") {
                status = "200";
                text = "OK";
            } else if (mechanism == "PLAIN" && frames.size() >= 8) {
                const Credentials* expected = policy ? policy->security.plain() : nullptr;
                std::string username = frames[6].to_string();
                std::string password = frames[7].to_string();
                if (expected && equal_constant_time(username, expected->username) &
                                    equal_constant_time(password, expected->password)) {
                    status = "200";
                    text = "OK";
                    user = username;
                } else {
                    text = "invalid username or password";
                }
            } else if (mechanism == "CURVE" && frames.size() >= 7 && frames[6].size() == 32) {
                const CurveSecurity* curve = policy ? policy->security.curve() : nullptr;
                std::array<char, 41> key{};
                zmq_z85_encode(key.data(), frames[6].data<std::uint8_t>(), 32);
                if (curve == nullptr) {
                    text = "CURVE not expected on this socket";
                } else if (curve->clients == CurveClients::AnyWithServerKey) {
                    status = "200";
                    text = "OK";
                    user = key.data();
                } else {
                    text = check_authorized(*curve, key.data(), user);
                    if (text.empty()) {
                        status = "200";
                        text = "OK";
                    }
                }
            } else {
                text = "mechanism not supported";
            }
            if (policy && status != "200") policy->last_refusal = text;
        }
        if (status != "200") refused.fetch_add(1);
        std::array<zmq::const_buffer, 6> reply{zmq::str_buffer("1.0"), zmq::buffer(request_id),
                                               zmq::buffer(status),    zmq::buffer(text),
                                               zmq::buffer(user),      zmq::str_buffer("")};
        try {
            zmq::send_multipart(socket, reply);
        } catch (const zmq::error_t&) {
        }
    }
};

Context::Context() : impl_(std::make_unique<Impl>()) {}

Context::~Context() {
    impl_->zap_stop = true;
    if (impl_->zap_thread.joinable()) impl_->zap_thread.join();
}

std::shared_ptr<Context> Context::shared_default() {
    // Never destroyed: components may outlive static destruction order (e.g. in a test's
    // global object), and terminating a context that still has sockets would block.
    static auto* instance = new std::shared_ptr<Context>(std::make_shared<Context>());
    return *instance;
}

void* Context::native() noexcept {
    return &impl_->context;
}

std::string Context::register_domain(const Security& security) {
    std::lock_guard lock(impl_->mutex);
    if (!impl_->zap_thread.joinable()) impl_->start_zap();
    std::string domain = "zmqrpc-" + std::to_string(impl_->next_domain++);
    impl_->domains.emplace(domain, Impl::Domain{security, {}});
    return domain;
}

std::string Context::last_refusal(const std::string& domain) const {
    std::lock_guard lock(impl_->mutex);
    auto it = impl_->domains.find(domain);
    return it == impl_->domains.end() ? std::string{} : it->second.last_refusal;
}

void Context::unregister_domain(const std::string& domain) {
    std::lock_guard lock(impl_->mutex);
    impl_->domains.erase(domain);
}

std::uint64_t Context::refused_count() const noexcept {
    return impl_->refused.load();
}

}  // namespace zmqrpc
