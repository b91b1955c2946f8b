#include "actor.hpp"

#include "zmqrpc/context.hpp"
#include "zmqrpc/errors.hpp"
#include "zmqrpc/events.hpp"
#include "zmqrpc/stop_token.hpp"

#include <algorithm>
#include <atomic>
#include <chrono>

namespace zmqrpc {
namespace {
// The stop flag of the component whose thread this is (null on other threads).
thread_local const std::atomic<bool>* tl_stopping = nullptr;
}  // namespace

bool stop_requested() noexcept {
    return tl_stopping && tl_stopping->load();
}

}  // namespace zmqrpc

namespace zmqrpc::detail {

namespace {
constexpr std::string_view kReady = "READY";
constexpr std::string_view kTerm = "$TERM";
std::atomic<std::uint64_t> g_pipe_counter{0};
}  // namespace

zmq::context_t& native_context(Context& context) {
    return *static_cast<zmq::context_t*>(context.native());
}

Actor::Actor(std::shared_ptr<Context> context, std::shared_ptr<EventBus> events,
             ComponentStats& stats)
    : context_(context ? std::move(context) : Context::shared_default()),
      events_(std::move(events)),
      stats_(stats) {}

Actor::~Actor() = default;

void Actor::start() {
    std::lock_guard lock(pipe_mutex_);
    if (pipe_) throw ConfigError(stats_.name + ": already running");
    {
        // A previous run may have ended on its own; make sure its thread is gone.
        std::lock_guard jl(join_mutex_);
        if (thread_.joinable()) thread_.join();
    }
    std::string endpoint = "inproc://zmqrpc-actor-" + std::to_string(g_pipe_counter.fetch_add(1));
    auto pipe = std::make_unique<zmq::socket_t>(zmq_context(), zmq::socket_type::pair);
    pipe->set(zmq::sockopt::linger, 0);
    pipe->bind(endpoint);
    watches_.clear();
    watches_dirty_ = true;
    stopping_ = false;
    thread_ = std::thread([this, endpoint] { run(nullptr, endpoint); });

    zmq::message_t reply;
    (void)pipe->recv(reply, zmq::recv_flags::none);
    std::string text = reply.to_string();
    if (text != kReady) {
        {
            std::lock_guard jl(join_mutex_);
            if (thread_.joinable()) thread_.join();
        }
        throw ConfigError(text);
    }
    pipe_ = std::move(pipe);
    running_ = true;
    stats_.running = true;
    emit(EventKind::Started, {}, "started");
}

void Actor::stop() {
    {
        std::lock_guard lock(pipe_mutex_);
        if (pipe_) {
            stopping_ = true;
            // dontwait: if the thread already ended on its own, nobody reads the pipe.
            (void)pipe_->send(zmq::buffer(kTerm), zmq::send_flags::dontwait);
        }
    }
    join();
    std::lock_guard lock(pipe_mutex_);
    if (pipe_) {
        pipe_.reset();
        running_ = false;
        stats_.running = false;
    }
}

void Actor::join() {
    std::lock_guard jl(join_mutex_);
    if (thread_.joinable()) thread_.join();
}

void Actor::run(zmq::socket_t*, std::string pipe_endpoint) {
    tl_stopping = &stopping_;
    zmq::socket_t pipe(zmq_context(), zmq::socket_type::pair);
    pipe.set(zmq::sockopt::linger, 0);
    pipe.connect(pipe_endpoint);
    try {
        setup();
    } catch (const std::exception& e) {
        try {
            teardown();
        } catch (...) {
        }
        std::string text = e.what();
        pipe.send(zmq::buffer(text), zmq::send_flags::none);
        return;
    }
    pipe.send(zmq::buffer(kReady), zmq::send_flags::none);
    loop(pipe);
    try {
        teardown();
    } catch (const std::exception& e) {
        emit(EventKind::Error, {}, std::string("teardown: ") + e.what());
    }
    emit(EventKind::Stopped, {}, stopped_text_.empty() ? std::string("stopped") : stopped_text_);
    stopped_text_.clear();
}

void Actor::watch(zmq::socket_ref socket, short events, std::function<void(short)> callback) {
    void* handle = socket.handle();
    auto it = std::find_if(watches_.begin(), watches_.end(),
                           [&](const Watch& w) { return w.handle == handle; });
    if (it != watches_.end()) {
        if (it->events != events) events_dirty_ = true;
        it->events = events;
        if (callback) it->callback = std::move(callback);
        return;
    }
    watches_.push_back({handle, events, std::move(callback)});
    watches_dirty_ = true;
}

void Actor::watch_quiet(zmq::socket_ref socket, std::function<void(short)> callback) {
    unwatch_handle(socket.handle());
    watches_.push_back({socket.handle(), ZMQ_POLLIN, std::move(callback),
                        static_cast<int>(socket.get(zmq::sockopt::fd))});
    watches_dirty_ = true;
}

void Actor::unwatch_handle(void* handle) {
    auto it = std::remove_if(watches_.begin(), watches_.end(),
                             [&](const Watch& w) { return w.handle == handle; });
    if (it != watches_.end()) {
        watches_.erase(it, watches_.end());
        watches_dirty_ = true;
    }
}

void Actor::loop(zmq::socket_t& pipe) {
    const int pipe_fd = static_cast<int>(pipe.get(zmq::sockopt::fd));
    // A command that arrived before we first poll the descriptor would not wake us.
    {
        zmq::message_t command;
        while (pipe.recv(command, zmq::recv_flags::dontwait)) {
            if (command.to_string_view() == kTerm) return;
        }
    }
    std::vector<zmq::pollitem_t> items;
    std::vector<std::function<void(short)>> callbacks;
    for (;;) {
        if (watches_dirty_) {
            items.clear();
            callbacks.clear();
            // The pipe is quiet too: polled by its file descriptor (see watch_quiet).
            items.push_back({nullptr, pipe_fd, ZMQ_POLLIN, 0});
            for (const auto& w : watches_) {
                if (w.fd >= 0) {
                    items.push_back({nullptr, w.fd, ZMQ_POLLIN, 0});
                } else {
                    items.push_back({w.handle, 0, w.events, 0});
                }
                callbacks.push_back(w.callback);
            }
            watches_dirty_ = false;
            events_dirty_ = false;
        } else if (events_dirty_) {
            for (std::size_t i = 0; i < watches_.size(); ++i) {
                if (watches_[i].fd < 0) items[i + 1].events = watches_[i].events;
            }
            events_dirty_ = false;
        }
        auto deadline = next_deadline();
        long timeout_ms = -1;
        if (deadline != Clock::time_point::max()) {
            auto now = Clock::now();
            if (deadline <= now) {
                timeout_ms = 0;
            } else {
                // Round up so we never wake before the deadline and spin.
                auto us = std::chrono::duration_cast<std::chrono::microseconds>(deadline - now);
                timeout_ms = static_cast<long>((us.count() + 999) / 1000);
            }
        }
        for (auto& item : items)
            item.revents = 0;
        try {
            zmq::poll(items.data(), items.size(), std::chrono::milliseconds(timeout_ms));
        } catch (const zmq::error_t& e) {
            if (e.num() == ETERM) return;
            if (e.num() == EINTR) continue;
            // A socket in the set is no longer valid (a bug of ours): report it, drop the dead
            // watches and carry on rather than let the thread die.
            stats_.errors.add();
            emit(EventKind::Error, {}, std::string("poll failed: ") + e.what());
            std::erase_if(watches_, [](const Watch& w) {
                int type = 0;
                std::size_t size = sizeof type;
                return zmq_getsockopt(w.handle, ZMQ_TYPE, &type, &size) != 0;
            });
            watches_dirty_ = true;
            continue;
        }
        if (items[0].revents & ZMQ_POLLIN) {
            // Edge-triggered: read everything there is.
            zmq::message_t command;
            while (pipe.recv(command, zmq::recv_flags::dontwait)) {
                if (command.to_string_view() == kTerm) return;
            }
        }
        for (std::size_t i = 1; i < items.size() && !watches_dirty_; ++i) {
            if (!items[i].revents) continue;
            try {
                callbacks[i - 1](items[i].revents);
            } catch (const zmq::error_t& e) {
                if (e.num() == ETERM) return;
                stats_.errors.add();
                emit(EventKind::Error, {}, e.what());
            } catch (const std::exception& e) {
                stats_.errors.add();
                emit(EventKind::Error, {}, e.what());
            }
        }
        if (next_deadline() <= Clock::now()) {
            try {
                on_deadline(Clock::now());
            } catch (const std::exception& e) {
                stats_.errors.add();
                emit(EventKind::Error, {}, e.what());
            }
        }
    }
}

void Actor::emit(EventKind kind, const std::string& endpoint, std::string text) {
    if (!events_) return;
    events_->publish(stats_.name, kind, endpoint, std::move(text));
}

}  // namespace zmqrpc::detail
