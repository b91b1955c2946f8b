#include "actor.hpp"

#include "zmqrpc/context.hpp"
#include "zmqrpc/errors.hpp"
#include "zmqrpc/events.hpp"

#include <poll.h>

#include <algorithm>
#include <atomic>
#include <cerrno>
#include <chrono>
#include <cstring>

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
    set_thread_stop_flag(&stopping_);
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
    if (Watch* w = find(socket.handle())) {
        if (w->events != events) events_dirty_ = true;
        w->events = events;
        // Changing a watch follows an operation on the socket.
        w->settled = false;
        if (callback) w->callback = std::move(callback);
        return;
    }
    watches_.push_back({socket.handle(), events, std::move(callback),
                        static_cast<int>(socket.get(zmq::sockopt::fd))});
    watches_dirty_ = true;
}

void Actor::watch_quiet(zmq::socket_ref socket, std::function<void(short)> callback) {
    unwatch_handle(socket.handle());
    watches_.push_back({socket.handle(), ZMQ_POLLIN, std::move(callback),
                        static_cast<int>(socket.get(zmq::sockopt::fd)), true});
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

Actor::Watch* Actor::find(void* handle) noexcept {
    for (auto& w : watches_)
        if (w.handle == handle) return &w;
    return nullptr;
}

void Actor::drained(zmq::socket_ref socket) noexcept {
    if (Watch* w = find(socket.handle())) w->tracked = w->settled = true;
}

void Actor::touched(zmq::socket_ref socket) noexcept {
    if (Watch* w = find(socket.handle())) w->settled = false;
}

namespace {
// The socket's ZMQ_EVENTS (processing its pending commands), or -1 with errno set.
int socket_events(void* handle) {
    int events = 0;
    std::size_t size = sizeof events;
    if (zmq_getsockopt(handle, ZMQ_EVENTS, &events, &size) != 0) return -1;
    return events;
}
}  // namespace

// Polls descriptors with poll(2) rather than zmq_poll: zmq_poll asks every socket for its
// ZMQ_FD and runs a zero-timeout poll and a ZMQ_EVENTS check of every socket before it blocks,
// on every call. Here descriptors are kept between calls, and only the sockets that may hold
// something unsignalled are checked (see drained()). On a request path that is a third of the
// system calls of an actor's wake-up (tests/bench rows 1 and 4).
void Actor::loop(zmq::socket_t& pipe) {
    const int pipe_fd = static_cast<int>(pipe.get(zmq::sockopt::fd));
    // Edge-triggered: read everything there is. True when $TERM came.
    const auto read_pipe = [&pipe] {
        zmq::message_t command;
        while (pipe.recv(command, zmq::recv_flags::dontwait)) {
            if (command.to_string_view() == kTerm) return true;
        }
        return false;
    };
    // A command that arrived before we first poll the descriptor would not wake us.
    try {
        if (read_pipe()) return;
    } catch (const zmq::error_t&) {
        return;  // the context is terminating
    }
    std::vector<pollfd> fds;
    std::vector<std::function<void(short)>> callbacks;
    std::vector<short> ready;
    const auto drop_dead_watches = [this](const char* what) {
        // A socket in the set is no longer valid (a bug of ours): report it, drop the dead
        // watches and carry on rather than let the thread die.
        stats_.errors.add();
        emit(EventKind::Error, {}, std::string("poll failed: ") + what);
        std::erase_if(watches_, [](const Watch& w) {
            int type = 0;
            std::size_t size = sizeof type;
            return zmq_getsockopt(w.handle, ZMQ_TYPE, &type, &size) != 0;
        });
        watches_dirty_ = true;
    };
    for (;;) {
        if (watches_dirty_) {
            fds.clear();
            callbacks.clear();
            // The pipe is quiet too: polled by its file descriptor (see watch_quiet).
            fds.push_back({pipe_fd, POLLIN, 0});
            for (const auto& w : watches_) {
                // A negative descriptor is left out by poll(2): a socket watched for nothing.
                fds.push_back({w.quiet || w.events ? w.fd : -1, POLLIN, 0});
                callbacks.push_back(w.callback);
            }
            ready.assign(watches_.size(), 0);
            watches_dirty_ = false;
            events_dirty_ = false;
        } else if (events_dirty_) {
            for (std::size_t i = 0; i < watches_.size(); ++i) {
                if (!watches_[i].quiet) fds[i + 1].fd = watches_[i].events ? watches_[i].fd : -1;
            }
            events_dirty_ = false;
        }
        // What the descriptors cannot tell: messages already there.
        bool any_ready = false;
        bool failed = false;
        for (std::size_t i = 0; i < watches_.size(); ++i) {
            Watch& w = watches_[i];
            ready[i] = 0;
            if (w.quiet || !w.events || w.settled) continue;
            const int events = socket_events(w.handle);
            if (events < 0) {
                if (zmq_errno() == ETERM) return;
                failed = true;
                break;
            }
            ready[i] = static_cast<short>(events & w.events);
            if (ready[i]) {
                any_ready = true;
            } else if (w.tracked) {
                w.settled = true;
            }
        }
        if (failed) {
            drop_dead_watches(zmq_strerror(zmq_errno()));
            continue;
        }
        int timeout_ms = -1;
        if (any_ready) {
            timeout_ms = 0;
        } else if (auto deadline = next_deadline(); deadline != Clock::time_point::max()) {
            auto now = Clock::now();
            if (deadline > now) {
                // Round up so we never wake before the deadline and spin.
                auto us = std::chrono::duration_cast<std::chrono::microseconds>(deadline - now);
                timeout_ms = static_cast<int>(
                    std::min<std::int64_t>((us.count() + 999) / 1000, 24 * 3600 * 1000));
            } else {
                timeout_ms = 0;
            }
        }
        for (auto& fd : fds)
            fd.revents = 0;
        if (::poll(fds.data(), static_cast<nfds_t>(fds.size()), timeout_ms) < 0) {
            if (errno == EINTR) continue;
            drop_dead_watches(std::strerror(errno));
            continue;
        }
        if (fds[0].revents) {
            try {
                if (read_pipe()) return;
            } catch (const zmq::error_t&) {
                return;  // the context is terminating
            }
        }
        for (std::size_t i = 0; i < watches_.size(); ++i) {
            Watch& w = watches_[i];
            if (!fds[i + 1].revents) continue;
            if (w.quiet) {
                ready[i] = ZMQ_POLLIN;
                continue;
            }
            if (ready[i]) continue;
            const int events = socket_events(w.handle);
            if (events < 0) {
                if (zmq_errno() == ETERM) return;
                failed = true;
                break;
            }
            ready[i] = static_cast<short>(events & w.events);
            // The check consumed the signal: until its callback has run, it is not settled.
            w.settled = !ready[i] && w.tracked;
        }
        if (failed) {
            drop_dead_watches(zmq_strerror(zmq_errno()));
            continue;
        }
        for (std::size_t i = 0; i < ready.size() && !watches_dirty_; ++i) {
            if (!ready[i]) continue;
            // The callback operates on the socket; if it reads it dry it says so (drained()).
            watches_[i].settled = false;
            try {
                callbacks[i](ready[i]);
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
