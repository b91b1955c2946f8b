// Actor: one thread that owns its sockets and polls them together with an inproc PAIR pipe from
// its owner (czmq's zactor). start() returns only after the thread reported READY (or rethrows
// what setup threw); stop() sends $TERM and returns after the thread has ended. No half-started
// or half-stopped actor is visible. Subclasses' destructors must call stop() first.
//
// Internal header. Thread rules: start/stop/join/running from any thread (not concurrently with
// the destructor); everything else in this class runs on the actor thread.
#pragma once

#include "stats.hpp"

#include "zmqrpc/events.hpp"

#include <zmq.hpp>

#include <atomic>
#include <functional>
#include <memory>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

namespace zmqrpc {
class Context;
}  // namespace zmqrpc

namespace zmqrpc::detail {

zmq::context_t& native_context(Context& context);

// Makes `flag` what stop_requested() reads on the calling thread (stop_token.cpp). An actor's
// thread sets its own stop flag once, as it starts.
void set_thread_stop_flag(const std::atomic<bool>* flag) noexcept;

class Actor {
  public:
    Actor(std::shared_ptr<Context> context, std::shared_ptr<EventBus> events,
          ComponentStats& stats);
    virtual ~Actor();
    Actor(const Actor&) = delete;
    Actor& operator=(const Actor&) = delete;

    void start();
    void stop();
    void join();
    bool running() const noexcept { return running_.load(); }

    // Actor thread: poll `socket` for `events` (ZMQ_POLLIN/ZMQ_POLLOUT); the callback gets the
    // revents. Changing the set during a callback is allowed.
    void watch(zmq::socket_ref socket, short events, std::function<void(short)> callback);
    // For sockets that carry little (socket monitors): polls the socket's ZMQ_FD instead of the
    // socket, which spares zmq_poll a ZMQ_EVENTS check, a system call, on every wake-up of a
    // busy actor. The callback must read until the socket has nothing left (edge-triggered).
    void watch_quiet(zmq::socket_ref socket, std::function<void(short)> callback);
    void unwatch(zmq::socket_ref socket) { unwatch_handle(socket.handle()); }
    void unwatch_handle(void* handle);
    // Before it blocks, the loop asks each watched socket for its ZMQ_EVENTS (what zmq_poll
    // does too): its descriptor only signals new commands, and a socket whose last read did
    // not fail may hold messages without a signal to come. That check costs two system calls
    // per socket and wake-up. A socket's owner can spare it: call drained() when a read of the
    // socket found nothing (the check would find nothing either), and touched() after any other
    // operation on the socket outside its callback (a send may consume the signal of a message
    // that arrived meanwhile). A socket never declared drained is checked every time.
    void drained(zmq::socket_ref socket) noexcept;
    void touched(zmq::socket_ref socket) noexcept;

    void emit(EventKind kind, const std::string& endpoint, std::string text);
    zmq::context_t& zmq_context() { return native_context(*context_); }
    const std::shared_ptr<Context>& context() const { return context_; }
    const std::shared_ptr<EventBus>& events() const { return events_; }
    ComponentStats& stats() { return stats_; }

  protected:
    // Set by teardown() to say more than "stopped" in the Stopped event.
    std::string stopped_text_;

    // Actor thread: create, bind and connect sockets. Throw to make start() fail.
    virtual void setup() = 0;
    // Actor thread: after $TERM, before the thread ends. Close sockets here.
    virtual void teardown() = 0;
    // Actor thread: the earliest time on_deadline() wants to run (time_point::max(): none).
    virtual Clock::time_point next_deadline() { return Clock::time_point::max(); }
    virtual void on_deadline(Clock::time_point /*now*/) {}

  private:
    void run(zmq::socket_t* ready_pipe_out, std::string pipe_endpoint);
    void loop(zmq::socket_t& pipe);

    struct Watch {
        void* handle;
        short events;
        std::function<void(short)> callback;
        int fd = -1;           // the socket's ZMQ_FD
        bool quiet = false;    // polled by descriptor only (watch_quiet)
        bool tracked = false;  // its owner reports drained()/touched()
        bool settled = false;  // tracked, and known to hold nothing for us (see drained())
    };
    Watch* find(void* handle) noexcept;
    std::shared_ptr<Context> context_;
    std::shared_ptr<EventBus> events_;
    ComponentStats& stats_;
    std::vector<Watch> watches_;
    bool watches_dirty_ = true;  // the set of sockets changed: rebuild the poll items
    bool events_dirty_ = false;  // only the events of a socket changed: refresh them in place

    std::mutex pipe_mutex_;
    std::mutex join_mutex_;
    std::unique_ptr<zmq::socket_t> pipe_;  // owner's end
    std::thread thread_;
    std::atomic<bool> running_{false};
    std::atomic<bool> stopping_{false};
};

}  // namespace zmqrpc::detail
