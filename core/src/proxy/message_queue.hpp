// The queue between a proxy's input and output stages, behind one interface with two
// implementations: MemoryQueue (RAM, as pyzmqrpc) and SqliteQueue (a durable store on disk,
// sqlite_queue.hpp). Internal header; everything here runs on the proxy's own thread.
//
// Life of a message:
//
//   push()    the input offers it. The queue assigns its sequence number (increasing, never
//             reused, also across restarts of a durable queue) or refuses it (full).
//   commit()  makes what was pushed and acknowledged since the last commit durable, in one
//             transaction. Until then a pushed message is staged: counted in size(), not yet
//             accepted, not yet leasable. MemoryQueue accepts on push, and commit() is free.
//   lease()   hands out the oldest accepted message that is not leased: the output sends it.
//   ack()     the downstream answered (or the message was given up): it is removed (from disk at
//             the next commit).
//   nack()    it must be sent again (timeout, lost connection): it goes back to be leased again,
//             in sequence order, before anything newer.
//
// Messages are leased in sequence order; after nacks the lowest nacked sequence comes first.
#pragma once

#include "stats.hpp"

#include <cstddef>
#include <cstdint>
#include <deque>
#include <map>
#include <string>

namespace zmqrpc::detail {

struct QueueItem {
    std::uint64_t seq = 0;
    std::string message;
    // Times it was leased. 1 on its first delivery; more is a redelivery. A message recovered
    // from a durable store starts at 0 again (the store does not know what reached the wire).
    std::uint32_t deliveries = 0;
};

enum class PushResult {
    Staged,  // taken: accepted at the next successful commit (at once for MemoryQueue)
    Full,    // refused: the message or byte limit is reached; nothing was taken
};

struct CommitResult {
    std::size_t accepted = 0;  // staged messages made durable by this commit
    std::size_t rejected = 0;  // staged messages thrown away because the commit failed
    std::string error;         // why it failed ("disk full: ..."); empty when it did not
    bool disk_full = false;    // the failure was SQLITE_FULL (or the file system said ENOSPC)
};

class MessageQueue {
  public:
    virtual ~MessageQueue() = default;

    virtual PushResult push(std::string message) = 0;
    // The sequence number the last successful push() gave.
    virtual std::uint64_t last_seq() const noexcept = 0;
    virtual CommitResult commit() = 0;
    // Something is staged or acknowledged that commit() has not written yet.
    virtual bool needs_commit() const noexcept = 0;

    // The next message to send, or nullptr. The pointer stays valid until ack() or nack() of
    // its sequence number; nothing else invalidates it.
    virtual QueueItem* lease() = 0;
    virtual void ack(std::uint64_t seq) = 0;
    virtual void nack(std::uint64_t seq) = 0;

    // Messages in the queue: staged, accepted and leased, until acknowledged.
    virtual std::size_t size() const noexcept = 0;
    // Their payload bytes.
    virtual std::uint64_t bytes() const noexcept = 0;
    // Accepted and not leased: what lease() can hand out now.
    virtual std::size_t leasable() const noexcept = 0;
    // Messages that were in the store when it opened (0 for MemoryQueue).
    virtual std::size_t recovered() const noexcept = 0;
    virtual bool durable() const noexcept = 0;
};

// In RAM, bounded by a message count and (when non-zero) a byte count.
class MemoryQueue final : public MessageQueue {
  public:
    explicit MemoryQueue(std::size_t capacity, std::uint64_t max_bytes = 0)
        : capacity_(capacity), max_bytes_(max_bytes) {}

    PushResult push(std::string message) override;
    std::uint64_t last_seq() const noexcept override { return next_seq_ - 1; }
    CommitResult commit() override { return {}; }
    bool needs_commit() const noexcept override { return false; }
    QueueItem* lease() override;
    void ack(std::uint64_t seq) override;
    void nack(std::uint64_t seq) override;
    std::size_t size() const noexcept override { return ready_.size() + leased_.size(); }
    std::uint64_t bytes() const noexcept override { return bytes_; }
    std::size_t leasable() const noexcept override { return ready_.size(); }
    std::size_t recovered() const noexcept override { return 0; }
    bool durable() const noexcept override { return false; }

  private:
    std::size_t capacity_;
    std::uint64_t max_bytes_;
    std::uint64_t next_seq_ = 1;
    std::uint64_t bytes_ = 0;
    std::deque<QueueItem> ready_;                // sorted by seq
    std::map<std::uint64_t, QueueItem> leased_;  // node-based: lease() pointers stay valid
};

}  // namespace zmqrpc::detail
