// stop_requested(): the stop flag of the component whose thread this is.
#include "zmqrpc/stop_token.hpp"

#include "actor.hpp"

#include <atomic>

namespace zmqrpc {
namespace {
// The stop flag of the component whose thread this is (null on other threads).
thread_local const std::atomic<bool>* tl_stopping = nullptr;
}  // namespace

bool stop_requested() noexcept {
    return tl_stopping && tl_stopping->load();
}

void detail::set_thread_stop_flag(const std::atomic<bool>* flag) noexcept {
    tl_stopping = flag;
}

}  // namespace zmqrpc
