// The tap view's worker: creates, starts and stops the zmqrpc::Receiver that watches a PUB
// endpoint, so that the GUI thread never makes a ZeroMQ call. The receiver's tap callback runs on
// the receiver's own thread and only appends to a TapBuffer, which the GUI drains on a timer.
//
// TapWorker lives on the TapWidget's worker thread; TapBuffer is shared and mutex-protected.
#pragma once

#include "monitor/tap_model.hpp"

#include <zmqrpc/security.hpp>

#include <QObject>
#include <QString>

#include <atomic>
#include <cstdint>
#include <deque>
#include <memory>
#include <mutex>
#include <vector>

namespace zmqrpc {
class Receiver;
}

namespace studio {

// Rows handed from a receiver thread to the GUI. Bounded: when the GUI falls behind, the oldest
// rows go (the counters still count them).
struct TapBuffer {
    explicit TapBuffer(std::size_t maxRows) : capacity(maxRows) {}

    void push(TapRow row) {
        std::lock_guard lock(mutex);
        if (row.heartbeat) {
            ++heartbeats;
        } else {
            ++messages;
        }
        rows.push_back(std::move(row));
        while (rows.size() > capacity.load(std::memory_order_relaxed))
            rows.pop_front();
    }
    // Moves the rows out and returns the totals seen so far.
    void take(std::vector<TapRow>& out, std::uint64_t& messageTotal,
              std::uint64_t& heartbeatTotal) {
        std::lock_guard lock(mutex);
        out.insert(out.end(), std::make_move_iterator(rows.begin()),
                   std::make_move_iterator(rows.end()));
        rows.clear();
        messageTotal = messages;
        heartbeatTotal = heartbeats;
    }

    std::atomic<std::size_t> capacity;
    std::mutex mutex;
    std::deque<TapRow> rows;
    std::uint64_t messages = 0;
    std::uint64_t heartbeats = 0;
};

class TapWorker : public QObject {
    Q_OBJECT

  public:
    TapWorker();
    ~TapWorker() override;  // stops the receiver

    // Stops what runs, then connects a SUB to `endpoint`; answers with started() or failed().
    void watch(const QString& endpoint, const zmqrpc::Security& security,
               std::shared_ptr<TapBuffer> buffer);
    void stopWatching();

  signals:
    void started(const QString& endpoint);
    void failed(const QString& endpoint, const QString& error);

  private:
    std::unique_ptr<zmqrpc::Receiver> receiver_;
};

}  // namespace studio
