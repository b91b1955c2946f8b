// The tap view: a live look at what flows on a PUB endpoint, or at what a tap node of the
// running graph keeps. watchEndpoint() starts a zmqrpc::Receiver with a tap; the Receiver is an
// actor, created, started and stopped on this widget's worker thread, and its tap callback runs
// on the receiver's own thread: it only pushes rows into a mutex-protected bounded buffer. A
// QTimer on the GUI thread (every 100 ms) moves them into the model in one batch. watchTap()
// polls RuntimeSource::tapMessages() on the same timer (memory only, no network).
//
// Rows: time, size, a one-line preview (heartbeats grey, "♥"). Filter (substring), pause (rows
// keep counting, shown when resumed), clear, bounded rows, and "N msg, M heartbeats, R msg/s".
//
// GUI thread only; owns its worker thread (and through it the Receiver).
#pragma once

#include "monitor/tap_model.hpp"

#include <zmqrpc/security.hpp>

#include <QElapsedTimer>
#include <QString>
#include <QWidget>

#include <cstdint>
#include <deque>
#include <memory>
#include <utility>
#include <vector>

class QLabel;
class QLineEdit;
class QPushButton;
class QSpinBox;
class QTableView;
class QThread;
class QTimer;
class QToolButton;

namespace studio {

class RuntimeSource;
struct TapBuffer;
class TapWorker;

class TapWidget : public QWidget {
    Q_OBJECT

  public:
    explicit TapWidget(RuntimeSource* runtime, QWidget* parent = nullptr);
    ~TapWidget() override;  // stops the receiver (bounded: a Receiver stops within 200 ms)

    // Watches a PUB endpoint (connects a SUB with `security`: PLAIN, or CURVE with the server key).
    // Replaces what was watched.
    void watchEndpoint(const QString& endpoint, const zmqrpc::Security& security = {});
    // Shows the messages a tap node of the running graph keeps. Replaces what was watched.
    void watchTap(const QString& tapNodeId);
    // Stops watching; the rows stay.
    void stop();

    // What is watched: "tcp://…", "tap node <id>", or empty.
    QString watchedText() const;
    bool isWatching() const noexcept { return mode_ != Mode::None; }

    bool isPaused() const noexcept { return paused_; }
    void setPaused(bool paused);
    void clear();
    void setMaxRows(int rows);

    TapModel* model() const noexcept { return model_; }
    QTableView* view() const noexcept { return view_; }

    quint64 messageCount() const noexcept { return messages_; }
    quint64 heartbeatCount() const noexcept { return heartbeats_; }
    // "N msg, M heartbeats, R msg/s".
    QString counterText() const;

  signals:
    // The receiver is connected (endpoint) or could not be started (error).
    void watchStarted(const QString& what);
    void watchFailed(const QString& error);

  private:
    enum class Mode { None, Endpoint, TapNode };
    void tick();
    void drainBuffer(std::vector<TapRow>& out);
    void pollTapNode(std::vector<TapRow>& out);
    void deliver(std::vector<TapRow> rows);
    void updateCounter();
    void setState(const QString& text, bool error);

    RuntimeSource* runtime_;
    TapModel* model_ = nullptr;
    QTableView* view_ = nullptr;
    QLineEdit* endpointEdit_ = nullptr;
    QPushButton* watchButton_ = nullptr;
    QPushButton* stopButton_ = nullptr;
    QLabel* state_ = nullptr;
    QLineEdit* filter_ = nullptr;
    QToolButton* pauseButton_ = nullptr;
    QSpinBox* maxRows_ = nullptr;
    QLabel* counter_ = nullptr;
    QTimer* timer_ = nullptr;

    QThread* thread_ = nullptr;
    TapWorker* worker_ = nullptr;
    std::shared_ptr<TapBuffer> buffer_;  // the current receiver's; a new one per watch

    Mode mode_ = Mode::None;
    QString endpoint_;
    QString tapId_;
    quint64 lastSeq_ = 0;
    qint64 lastResetCheck_ = 0;

    bool paused_ = false;
    std::vector<TapRow> held_;  // rows that arrived while paused (bounded by the max rows)
    quint64 messages_ = 0;
    quint64 heartbeats_ = 0;
    std::uint64_t messageBase_ = 0;  // the buffer's totals at the last clear()
    std::uint64_t heartbeatBase_ = 0;
    QElapsedTimer clock_;
    std::deque<std::pair<qint64, quint64>> rateSamples_;  // (ms, messages_)
    double rate_ = 0;
};

}  // namespace studio
