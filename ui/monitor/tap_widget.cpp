#include "monitor/tap_widget.hpp"

#include "monitor/tap_worker.hpp"
#include "runtime/runtime_source.hpp"

#include "monitor/table_style.hpp"

#include <QHBoxLayout>
#include <QHeaderView>
#include <QLabel>
#include <QLineEdit>
#include <QPushButton>
#include <QScrollBar>
#include <QSpinBox>
#include <QTableView>
#include <QThread>
#include <QTimer>
#include <QToolButton>
#include <QVBoxLayout>

#include <chrono>

namespace studio {

namespace {
constexpr int kTickMs = 100;
constexpr qint64 kRateWindowMs = 1000;
}  // namespace

TapWidget::TapWidget(RuntimeSource* runtime, QWidget* parent)
    : QWidget(parent), runtime_(runtime), model_(new TapModel(this)) {
    endpointEdit_ = new QLineEdit(this);
    endpointEdit_->setObjectName(QStringLiteral("tapEndpoint"));
    endpointEdit_->setPlaceholderText(tr("PUB endpoint to watch, e.g. tcp://127.0.0.1:5601"));
    watchButton_ = new QPushButton(tr("Watch"), this);
    watchButton_->setObjectName(QStringLiteral("tapWatch"));
    stopButton_ = new QPushButton(tr("Stop"), this);
    stopButton_->setObjectName(QStringLiteral("tapStop"));
    stopButton_->setEnabled(false);
    state_ = new QLabel(tr("Not watching"), this);
    state_->setObjectName(QStringLiteral("tapState"));
    state_->setTextInteractionFlags(Qt::TextSelectableByMouse);

    filter_ = new QLineEdit(this);
    filter_->setObjectName(QStringLiteral("tapFilter"));
    filter_->setPlaceholderText(tr("Filter messages…"));
    filter_->setClearButtonEnabled(true);
    pauseButton_ = new QToolButton(this);
    pauseButton_->setObjectName(QStringLiteral("tapPause"));
    pauseButton_->setText(tr("Pause"));
    pauseButton_->setCheckable(true);
    auto* clearButton = new QToolButton(this);
    clearButton->setObjectName(QStringLiteral("tapClear"));
    clearButton->setText(tr("Clear"));
    maxRows_ = new QSpinBox(this);
    maxRows_->setObjectName(QStringLiteral("tapMaxRows"));
    maxRows_->setRange(10, 1000000);
    maxRows_->setSingleStep(1000);
    maxRows_->setValue(static_cast<int>(TapModel::kDefaultCapacity));
    maxRows_->setPrefix(tr("keep "));
    maxRows_->setSuffix(tr(" rows"));
    maxRows_->setToolTip(tr("Oldest rows are dropped beyond this"));
    counter_ = new QLabel(this);
    counter_->setObjectName(QStringLiteral("tapCounter"));

    view_ = new QTableView(this);
    view_->setObjectName(QStringLiteral("tapView"));
    view_->setModel(model_);
    auto* header = styleLogTable(
        view_,
        {{TapModel::TimeColumn, 14}, {TapModel::SizeColumn, 10}, {TapModel::EndpointColumn, 22}},
        false);
    header->setSectionResizeMode(TapModel::MessageColumn, QHeaderView::Stretch);

    auto* top = new QHBoxLayout;
    top->setContentsMargins(0, 0, 0, 0);
    top->addWidget(endpointEdit_, 1);
    top->addWidget(watchButton_);
    top->addWidget(stopButton_);
    auto* bar = new QHBoxLayout;
    bar->setContentsMargins(0, 0, 0, 0);
    bar->addWidget(filter_, 1);
    bar->addWidget(pauseButton_);
    bar->addWidget(clearButton);
    bar->addWidget(maxRows_);
    auto* bottom = new QHBoxLayout;
    bottom->setContentsMargins(0, 0, 0, 0);
    bottom->addWidget(state_, 1);
    bottom->addWidget(counter_);
    auto* layout = new QVBoxLayout(this);
    layout->setContentsMargins(4, 4, 4, 4);
    layout->setSpacing(4);
    layout->addLayout(top);
    layout->addLayout(bar);
    layout->addWidget(view_, 1);
    layout->addLayout(bottom);

    thread_ = new QThread;  // not a child: it may outlive a slow stop (see the destructor)
    thread_->setObjectName(QStringLiteral("studio-tap"));
    worker_ = new TapWorker;
    worker_->moveToThread(thread_);
    connect(thread_, &QThread::finished, worker_, &QObject::deleteLater);
    thread_->start();
    connect(worker_, &TapWorker::started, this, [this](const QString& endpoint) {
        if (mode_ != Mode::Endpoint || endpoint != endpoint_) return;
        setState(tr("Watching %1").arg(endpoint), false);
        emit watchStarted(endpoint);
    });
    connect(worker_, &TapWorker::failed, this,
            [this](const QString& endpoint, const QString& error) {
                if (mode_ != Mode::Endpoint || endpoint != endpoint_) return;
                mode_ = Mode::None;
                stopButton_->setEnabled(false);
                setState(error, true);
                emit watchFailed(error);
            });

    connect(watchButton_, &QPushButton::clicked, this,
            [this] { watchEndpoint(endpointEdit_->text()); });
    connect(endpointEdit_, &QLineEdit::returnPressed, this,
            [this] { watchEndpoint(endpointEdit_->text()); });
    connect(stopButton_, &QPushButton::clicked, this, &TapWidget::stop);
    connect(filter_, &QLineEdit::textChanged, model_, &TapModel::setFilter);
    connect(pauseButton_, &QToolButton::toggled, this, &TapWidget::setPaused);
    connect(clearButton, &QToolButton::clicked, this, &TapWidget::clear);
    connect(maxRows_, &QSpinBox::valueChanged, this, &TapWidget::setMaxRows);

    clock_.start();
    timer_ = new QTimer(this);
    timer_->setInterval(kTickMs);
    connect(timer_, &QTimer::timeout, this, &TapWidget::tick);
    timer_->start();
    updateCounter();
}

TapWidget::~TapWidget() {
    timer_->stop();
    QMetaObject::invokeMethod(worker_, [w = worker_] { w->stopWatching(); });
    thread_->quit();
    // A Receiver stops within 200 ms; should the thread still be busy, it cleans up after
    // itself rather than holding the GUI.
    if (thread_->wait(2000)) {
        delete thread_;
    } else {
        connect(thread_, &QThread::finished, thread_, &QObject::deleteLater);
    }
}

void TapWidget::watchEndpoint(const QString& endpoint, const zmqrpc::Security& security) {
    const QString ep = endpoint.trimmed();
    if (endpointEdit_->text() != ep) endpointEdit_->setText(ep);
    mode_ = Mode::Endpoint;
    endpoint_ = ep;
    tapId_.clear();
    buffer_ = std::make_shared<TapBuffer>(static_cast<std::size_t>(maxRows_->value()));
    messages_ = heartbeats_ = 0;
    messageBase_ = heartbeatBase_ = 0;
    rateSamples_.clear();
    rate_ = 0;
    stopButton_->setEnabled(true);
    setState(tr("Connecting to %1…").arg(ep), false);
    QMetaObject::invokeMethod(
        worker_, [w = worker_, ep, security, buffer = buffer_] { w->watch(ep, security, buffer); });
    updateCounter();
}

void TapWidget::watchTap(const QString& tapNodeId) {
    QMetaObject::invokeMethod(worker_, [w = worker_] { w->stopWatching(); });
    buffer_.reset();
    mode_ = Mode::TapNode;
    tapId_ = tapNodeId;
    endpoint_.clear();
    lastSeq_ = 0;
    messages_ = heartbeats_ = 0;
    rateSamples_.clear();
    rate_ = 0;
    stopButton_->setEnabled(true);
    setState(tr("Watching tap node %1").arg(tapNodeId), false);
    emit watchStarted(tapNodeId);
    updateCounter();
}

void TapWidget::stop() {
    if (mode_ == Mode::Endpoint)
        QMetaObject::invokeMethod(worker_, [w = worker_] { w->stopWatching(); });
    // Rows already received are still shown.
    if (buffer_) {
        std::vector<TapRow> rows;
        drainBuffer(rows);
        deliver(std::move(rows));
    }
    buffer_.reset();
    mode_ = Mode::None;
    stopButton_->setEnabled(false);
    setState(tr("Stopped"), false);
    rate_ = 0;
    rateSamples_.clear();
    updateCounter();
}

QString TapWidget::watchedText() const {
    switch (mode_) {
        case Mode::Endpoint:
            return endpoint_;
        case Mode::TapNode:
            return tr("tap node %1").arg(tapId_);
        default:
            return {};
    }
}

void TapWidget::setPaused(bool paused) {
    if (paused == paused_) return;
    paused_ = paused;
    if (pauseButton_->isChecked() != paused) pauseButton_->setChecked(paused);
    pauseButton_->setText(paused ? tr("Resume") : tr("Pause"));
    if (!paused && !held_.empty()) {
        std::vector<TapRow> rows;
        rows.swap(held_);
        deliver(std::move(rows));
    }
    updateCounter();
}

void TapWidget::clear() {
    held_.clear();
    model_->clear();
    messages_ = heartbeats_ = 0;
    if (buffer_) {
        // The buffer keeps totals since the watch began: count from here on.
        std::vector<TapRow> discarded;
        buffer_->take(discarded, messageBase_, heartbeatBase_);
    }
    rateSamples_.clear();
    rate_ = 0;
    updateCounter();
}

void TapWidget::setMaxRows(int rows) {
    if (maxRows_->value() != rows) {
        maxRows_->setValue(rows);  // comes back here through valueChanged
        return;
    }
    model_->setCapacity(static_cast<std::size_t>(rows));
    if (buffer_) buffer_->capacity.store(static_cast<std::size_t>(rows));
}

void TapWidget::drainBuffer(std::vector<TapRow>& out) {
    std::uint64_t messages = 0, heartbeats = 0;
    buffer_->take(out, messages, heartbeats);
    messages_ = messages - messageBase_;
    heartbeats_ = heartbeats - heartbeatBase_;
}

void TapWidget::pollTapNode(std::vector<TapRow>& out) {
    if (runtime_ == nullptr) return;
    auto kept = runtime_->tapMessages(tapId_, lastSeq_);
    if (kept.empty() && lastSeq_ > 0 && clock_.elapsed() - lastResetCheck_ > 1000) {
        // A fresh Runtime numbers its taps' messages from 1 again: start over when the newest
        // kept message is older than what we saw last.
        lastResetCheck_ = clock_.elapsed();
        auto all = runtime_->tapMessages(tapId_, 0);
        if (!all.empty() && all.back().seq < lastSeq_) {
            lastSeq_ = 0;
            kept = std::move(all);
        }
    }
    for (const auto& m : kept) {
        TapRow row;
        row.msecs = std::chrono::duration_cast<std::chrono::milliseconds>(m.time.time_since_epoch())
                        .count();
        row.time = TapModel::timeText(row.msecs);
        row.size = m.size;
        row.heartbeat = m.heartbeat;
        if (!m.heartbeat) row.preview = TapModel::previewOf(m.preview);
        row.endpoint = QString::fromStdString(m.endpoint);
        if (m.heartbeat) {
            ++heartbeats_;
        } else {
            ++messages_;
        }
        lastSeq_ = m.seq;
        out.push_back(std::move(row));
    }
}

void TapWidget::tick() {
    std::vector<TapRow> rows;
    if (mode_ == Mode::Endpoint && buffer_) {
        drainBuffer(rows);
    } else if (mode_ == Mode::TapNode) {
        pollTapNode(rows);
    }
    deliver(std::move(rows));

    // Rate over the last second of samples.
    const qint64 now = clock_.elapsed();
    rateSamples_.emplace_back(now, messages_);
    while (rateSamples_.size() > 2 && now - rateSamples_[1].first >= kRateWindowMs)
        rateSamples_.pop_front();
    const auto& [t0, n0] = rateSamples_.front();
    rate_ = now > t0 ? static_cast<double>(messages_ - n0) * 1000.0 / static_cast<double>(now - t0)
                     : 0.0;
    updateCounter();
}

void TapWidget::deliver(std::vector<TapRow> rows) {
    if (rows.empty()) return;
    if (paused_) {
        held_.insert(held_.end(), std::make_move_iterator(rows.begin()),
                     std::make_move_iterator(rows.end()));
        const auto cap = static_cast<std::size_t>(maxRows_->value());
        if (held_.size() > cap)
            held_.erase(held_.begin(),
                        held_.begin() + static_cast<std::ptrdiff_t>(held_.size() - cap));
        return;
    }
    auto* bar = view_->verticalScrollBar();
    const bool atBottom = bar->value() >= bar->maximum();
    model_->append(std::move(rows));
    if (atBottom) view_->scrollToBottom();
}

QString TapWidget::counterText() const {
    QString text = tr("%1 msg, %2 heartbeats, %3 msg/s")
                       .arg(messages_)
                       .arg(heartbeats_)
                       .arg(rate_, 0, 'f', rate_ < 10 ? 1 : 0);
    if (paused_ && !held_.empty()) text += tr(" (%1 held)").arg(held_.size());
    return text;
}

void TapWidget::updateCounter() {
    counter_->setText(counterText());
}

void TapWidget::setState(const QString& text, bool error) {
    state_->setText(text);
    state_->setStyleSheet(error ? QStringLiteral("color: #c0392b;") : QString());
}

}  // namespace studio
