#include "message_queue.hpp"

#include <algorithm>

namespace zmqrpc::detail {

PushResult MemoryQueue::push(std::string message) {
    if (size() >= capacity_ || (max_bytes_ > 0 && bytes_ + message.size() > max_bytes_))
        return PushResult::Full;
    bytes_ += message.size();
    ready_.push_back(QueueItem{next_seq_++, std::move(message), 0});
    return PushResult::Staged;
}

QueueItem* MemoryQueue::lease() {
    if (ready_.empty()) return nullptr;
    auto [it, inserted] = leased_.emplace(ready_.front().seq, std::move(ready_.front()));
    ready_.pop_front();
    ++it->second.deliveries;
    return &it->second;
}

void MemoryQueue::ack(std::uint64_t seq) {
    auto it = leased_.find(seq);
    if (it == leased_.end()) return;
    bytes_ -= it->second.message.size();
    leased_.erase(it);
}

void MemoryQueue::nack(std::uint64_t seq) {
    auto it = leased_.find(seq);
    if (it == leased_.end()) return;
    // Usually it goes back to the front (it was leased before everything still ready).
    auto at = std::lower_bound(ready_.begin(), ready_.end(), seq,
                               [](const QueueItem& item, std::uint64_t s) { return item.seq < s; });
    ready_.insert(at, std::move(it->second));
    leased_.erase(it);
}

}  // namespace zmqrpc::detail
