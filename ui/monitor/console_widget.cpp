#include "monitor/console_widget.hpp"

#include "document/editor_document.hpp"
#include "monitor/latency_histogram.hpp"
#include "runtime/client_security.hpp"
#include "runtime/runtime_source.hpp"
#include "runtime/secret_store.hpp"

#include <zmqrpc/endpoint.hpp>
#include <zmqrpc/errors.hpp>
#include <zmqrpc/protocol.hpp>
#include <zmqrpc/rpc_client.hpp>
#include <zmqrpc/runtime.hpp>
#include <zmqrpc/secrets.hpp>
#include <zmqrpc/topology.hpp>

#include <QComboBox>
#include <QCompleter>
#include <QDoubleSpinBox>
#include <QFontDatabase>
#include <QFormLayout>
#include <QGridLayout>
#include <QGroupBox>
#include <QHBoxLayout>
#include <QKeyEvent>
#include <QLabel>
#include <QLineEdit>
#include <QListWidget>
#include <QPlainTextEdit>
#include <QProgressBar>
#include <QPushButton>
#include <QSettings>
#include <QSpinBox>
#include <QSplitter>
#include <QTabWidget>
#include <QTextBlock>
#include <QThread>
#include <QTimer>
#include <QVBoxLayout>
#include <QtConcurrent/QtConcurrentRun>

#include <nlohmann/json.hpp>

#include <algorithm>
#include <functional>

namespace studio {

using zmqrpc::json;

namespace {

constexpr auto kDescribeTimeout = std::chrono::milliseconds(2000);
constexpr const char* kBadColor = "#c0392b";
constexpr const char* kGoodColor = "#1e8449";

// The parameters editor: Up on the first line and Down on the last (or Alt+Up/Down anywhere)
// walk the history instead of moving the caret.
class ParamsEdit : public QPlainTextEdit {
  public:
    using QPlainTextEdit::QPlainTextEdit;
    std::function<bool(int)> onHistory;

    // Six lines to start with: parameters are short, and the splitter gives more on demand.
    QSize sizeHint() const override {
        const int h = fontMetrics().lineSpacing() * 6 + 2 * frameWidth() +
                      static_cast<int>(document()->documentMargin() * 2);
        return {QPlainTextEdit::sizeHint().width(), h};
    }

  protected:
    void keyPressEvent(QKeyEvent* event) override {
        const bool up = event->key() == Qt::Key_Up;
        const bool down = event->key() == Qt::Key_Down;
        if ((up || down) && onHistory) {
            const auto mods = event->modifiers() & ~Qt::KeypadModifier;
            const QTextCursor c = textCursor();
            const bool alt = mods == Qt::AltModifier;
            const bool plain = mods == Qt::NoModifier;
            const bool edge =
                up ? c.blockNumber() == 0 : c.blockNumber() == document()->blockCount() - 1;
            if ((alt || (plain && edge)) && onHistory(up ? -1 : +1)) {
                event->accept();
                return;
            }
        }
        QPlainTextEdit::keyPressEvent(event);
    }
};

// The compact form of a parameters text, to compare and store; the text itself when invalid.
QString compactParams(const QString& text) {
    const QByteArray utf8 = text.trimmed().toUtf8();
    if (utf8.isEmpty()) return QStringLiteral("{}");
    const auto v = zmqrpc::parse_json_text(std::string_view(utf8.constData(), utf8.size()));
    return v ? QString::fromStdString(zmqrpc::dumps(*v, -1, false)) : text.trimmed();
}

// Pretty form for the editor ("{}" stays "{}").
QString prettyParams(const QString& text) {
    const QByteArray utf8 = text.toUtf8();
    const auto v = zmqrpc::parse_json_text(std::string_view(utf8.constData(), utf8.size()));
    if (!v) return text;
    if (v->is_object() && v->empty()) return QStringLiteral("{}");
    return QString::fromStdString(zmqrpc::dumps(*v, 2, false));
}

QString msText(double ms) {
    return QStringLiteral("%1 ms").arg(ms, 0, 'f', ms < 10 ? 2 : 1);
}

double percentile(const std::vector<double>& sorted, double p) {
    if (sorted.empty()) return 0;
    // Nearest rank.
    auto rank = static_cast<std::size_t>(std::ceil(p * static_cast<double>(sorted.size())));
    rank = std::clamp<std::size_t>(rank, 1, sorted.size());
    return sorted[rank - 1];
}

}  // namespace

ConsoleWidget::ConsoleWidget(EditorDocument* doc, RuntimeSource* runtime, SecretStore* secrets,
                             QWidget* parent)
    : QWidget(parent),
      doc_(doc),
      runtime_(runtime),
      secrets_(secrets),
      cancel_(std::make_shared<std::atomic<bool>>(false)) {
    qRegisterMetaType<studio::ConsoleCallResult>();
    qRegisterMetaType<studio::RepeatSummary>();
    buildUi();

    // Workers. The threads are not children: on destruction a thread still inside a long call
    // is left to finish and clean up after itself rather than hold the GUI.
    callThread_ = new QThread;
    callThread_->setObjectName(QStringLiteral("studio-console-call"));
    callWorker_ = new CallWorker;
    callWorker_->moveToThread(callThread_);
    connect(callThread_, &QThread::finished, callWorker_, &QObject::deleteLater);
    callThread_->start();
    publishThread_ = new QThread;
    publishThread_->setObjectName(QStringLiteral("studio-console-pub"));
    publishWorker_ = new PublishWorker;
    publishWorker_->moveToThread(publishThread_);
    connect(publishThread_, &QThread::finished, publishWorker_, &QObject::deleteLater);
    publishThread_->start();

    connect(callWorker_, &CallWorker::callFinished, this, [this](const ConsoleCallResult& r) {
        callRunning_ = false;
        showResult(r);
        updateActions();
        emit callFinished(r);
    });
    connect(callWorker_, &CallWorker::repeatProgress, this, [this](int done, int total) {
        progress_->setMaximum(total);
        progress_->setValue(done);
    });
    connect(callWorker_, &CallWorker::repeatFinished, this, [this](const RepeatSummary& s) {
        repeatRunning_ = false;
        showRepeat(s);
        updateActions();
        emit repeatFinished(s);
    });
    connect(publishWorker_, &PublishWorker::bound, this, [this](const QString& endpoint) {
        publishEndpoint_ = endpoint;
        boundEdit_->setText(endpoint);
        publishState_->clear();
        publishState_->setStyleSheet(QString());
        updateActions();
        emit publishBound(endpoint);
    });
    connect(publishWorker_, &PublishWorker::bindFailed, this, [this](const QString& error) {
        publishEndpoint_.clear();
        boundEdit_->clear();
        publishState_->setText(error);
        publishState_->setStyleSheet(QStringLiteral("color: %1;").arg(QLatin1String(kBadColor)));
        updateActions();
    });
    connect(publishWorker_, &PublishWorker::sent, this, [this](const QString& what, bool ok) {
        publishState_->setText(what);
        publishState_->setStyleSheet(
            ok ? QString() : QStringLiteral("color: %1;").arg(QLatin1String(kBadColor)));
    });

    describeWatcher_ = new QFutureWatcher<DescribeResult>(this);

    if (doc_ != nullptr) {
        connect(doc_, &EditorDocument::nodeAdded, this, &ConsoleWidget::refreshTargets);
        connect(doc_, &EditorDocument::nodeRemoved, this, &ConsoleWidget::refreshTargets);
        connect(doc_, &EditorDocument::nodeChanged, this, &ConsoleWidget::refreshTargets);
        connect(doc_, &EditorDocument::documentReset, this, &ConsoleWidget::refreshTargets);
    }
    if (runtime_ != nullptr) {
        connect(runtime_, &RuntimeSource::snapshotUpdated, this, &ConsoleWidget::refreshTargets);
    }

    loadHistory();
    refreshTargets();
    validateParameters();
    // Bind the PUB now, so that its endpoint can be linked to before the first publish.
    QMetaObject::invokeMethod(publishWorker_,
                              [w = publishWorker_, ep = publishOnEdit_->text()] { w->bind(ep); });
}

ConsoleWidget::~ConsoleWidget() {
    cancel_->store(true);
    describeWatcher_->disconnect(this);
    for (QThread* thread : {callThread_, publishThread_}) {
        thread->quit();
        if (thread->wait(1500)) {
            delete thread;
        } else {
            connect(thread, &QThread::finished, thread, &QObject::deleteLater);
        }
    }
}

void ConsoleWidget::buildUi() {
    const QFont mono = QFontDatabase::systemFont(QFontDatabase::FixedFont);

    targetCombo_ = new QComboBox(this);
    targetCombo_->setObjectName(QStringLiteral("consoleTarget"));
    targetCombo_->setEditable(true);
    targetCombo_->setInsertPolicy(QComboBox::NoInsert);
    targetCombo_->setSizePolicy(QSizePolicy::Expanding, QSizePolicy::Fixed);
    targetCombo_->setMinimumContentsLength(24);
    targetCombo_->lineEdit()->setPlaceholderText(tr("a REP node, or tcp://host:port"));
    userEdit_ = new QLineEdit(this);
    userEdit_->setObjectName(QStringLiteral("consoleUser"));
    userEdit_->setPlaceholderText(tr("user"));
    userEdit_->setMaximumWidth(120);
    passwordEdit_ = new QLineEdit(this);
    passwordEdit_->setObjectName(QStringLiteral("consolePassword"));
    passwordEdit_->setPlaceholderText(tr("password"));
    passwordEdit_->setEchoMode(QLineEdit::Password);
    passwordEdit_->setMaximumWidth(120);
    serverKeyEdit_ = new QLineEdit(this);
    serverKeyEdit_->setObjectName(QStringLiteral("consoleServerKey"));
    serverKeyEdit_->setPlaceholderText(tr("CURVE server key"));
    serverKeyEdit_->setToolTip(
        tr("The server's CURVE public key (Z85): the console connects encrypted, with a fresh "
           "key pair of its own"));
    serverKeyEdit_->setMaximumWidth(160);
    targetInfo_ = new QLabel(this);
    targetInfo_->setObjectName(QStringLiteral("consoleTargetInfo"));
    targetInfo_->setWordWrap(true);

    functionCombo_ = new QComboBox(this);
    functionCombo_->setObjectName(QStringLiteral("consoleFunction"));
    functionCombo_->setEditable(true);
    functionCombo_->setInsertPolicy(QComboBox::NoInsert);
    functionCombo_->setSizePolicy(QSizePolicy::Expanding, QSizePolicy::Fixed);
    functionCombo_->lineEdit()->setPlaceholderText(tr("function"));
    functionCombo_->completer()->setCaseSensitivity(Qt::CaseInsensitive);
    functionCombo_->completer()->setCompletionMode(QCompleter::PopupCompletion);
    templateButton_ = new QPushButton(tr("Template"), this);
    templateButton_->setObjectName(QStringLiteral("consoleTemplate"));
    templateButton_->setToolTip(tr("Fill the parameters with the function's parameter names"));
    timeoutSpin_ = new QDoubleSpinBox(this);
    timeoutSpin_->setObjectName(QStringLiteral("consoleTimeout"));
    timeoutSpin_->setRange(0.1, 3600);
    timeoutSpin_->setDecimals(1);
    timeoutSpin_->setSingleStep(0.5);
    timeoutSpin_->setValue(static_cast<double>(zmqrpc::kInteractiveCallTimeout.count()) / 1000.0);
    timeoutSpin_->setSuffix(tr(" s"));
    timeoutSpin_->setPrefix(tr("timeout "));
    hint_ = new QLabel(this);
    hint_->setObjectName(QStringLiteral("consoleHint"));
    hint_->setWordWrap(true);
    hint_->setForegroundRole(QPalette::PlaceholderText);

    auto* params = new ParamsEdit(this);
    params->onHistory = [this](int direction) { return recallHistory(direction); };
    paramsEdit_ = params;
    paramsEdit_->setObjectName(QStringLiteral("consoleParams"));
    paramsEdit_->setFont(mono);
    paramsEdit_->setPlaceholderText(tr("{\"name\": value, ...}   (empty: {})"));
    paramsEdit_->setTabChangesFocus(true);
    paramsEdit_->setMinimumHeight(QFontMetrics(mono).lineSpacing() * 3 + 12);
    paramsError_ = new QLabel(this);
    paramsError_->setObjectName(QStringLiteral("consoleParamsError"));
    paramsError_->setStyleSheet(QStringLiteral("color: %1;").arg(QLatin1String(kBadColor)));
    paramsError_->setWordWrap(true);

    sendButton_ = new QPushButton(tr("Send"), this);
    sendButton_->setObjectName(QStringLiteral("consoleSend"));
    sendButton_->setDefault(true);
    sendButton_->setShortcut(QKeySequence(Qt::CTRL | Qt::Key_Return));
    sendButton_->setToolTip(tr("Call the function and wait for the answer (Ctrl+Return)"));
    publishButton_ = new QPushButton(tr("Publish"), this);
    publishButton_->setObjectName(QStringLiteral("consolePublish"));
    publishButton_->setToolTip(tr("Fire and forget on the console's PUB"));
    heartbeatButton_ = new QPushButton(tr("Heartbeat"), this);
    heartbeatButton_->setObjectName(QStringLiteral("consoleHeartbeat"));
    heartbeatButton_->setToolTip(tr("Send a heartbeat on the console's PUB"));

    repeatCount_ = new QSpinBox(this);
    repeatCount_->setObjectName(QStringLiteral("consoleRepeatCount"));
    repeatCount_->setRange(1, 1000000);
    repeatCount_->setValue(100);
    repeatCount_->setSuffix(tr(" ×"));
    repeatRate_ = new QDoubleSpinBox(this);
    repeatRate_->setObjectName(QStringLiteral("consoleRepeatRate"));
    repeatRate_->setRange(0, 100000);
    repeatRate_->setDecimals(1);
    repeatRate_->setValue(0);
    repeatRate_->setSuffix(tr(" /s"));
    repeatRate_->setSpecialValueText(tr("max rate"));
    repeatButton_ = new QPushButton(tr("Repeat"), this);
    repeatButton_->setObjectName(QStringLiteral("consoleRepeat"));
    cancelButton_ = new QPushButton(tr("Cancel"), this);
    cancelButton_->setObjectName(QStringLiteral("consoleCancel"));
    progress_ = new QProgressBar(this);
    progress_->setObjectName(QStringLiteral("consoleProgress"));
    progress_->setRange(0, 1);
    progress_->setValue(0);
    progress_->setTextVisible(false);  // until a run starts: an idle "0%" says nothing

    publishOnEdit_ = new QLineEdit(QStringLiteral("tcp://127.0.0.1:*"), this);
    publishOnEdit_->setObjectName(QStringLiteral("consolePublishOn"));
    publishOnEdit_->setToolTip(tr("Where the console's PUB binds (for Publish and Heartbeat)"));
    bindButton_ = new QPushButton(tr("Bind"), this);
    bindButton_->setObjectName(QStringLiteral("consoleBind"));
    boundEdit_ = new QLineEdit(this);
    boundEdit_->setObjectName(QStringLiteral("consoleBound"));
    boundEdit_->setReadOnly(true);
    boundEdit_->setPlaceholderText(tr("not bound"));
    boundEdit_->setToolTip(tr("Link a SUB to this address to receive what the console publishes"));
    publishState_ = new QLabel(this);
    publishState_->setObjectName(QStringLiteral("consolePublishState"));

    // ---- request form
    auto* targetRow = new QHBoxLayout;
    targetRow->addWidget(targetCombo_, 1);
    targetRow->addWidget(userEdit_);
    targetRow->addWidget(passwordEdit_);
    targetRow->addWidget(serverKeyEdit_);
    auto* functionRow = new QHBoxLayout;
    functionRow->addWidget(functionCombo_, 1);
    functionRow->addWidget(templateButton_);
    functionRow->addWidget(timeoutSpin_);
    auto* sendRow = new QHBoxLayout;
    sendRow->addWidget(sendButton_);
    sendRow->addWidget(publishButton_);
    sendRow->addWidget(heartbeatButton_);
    sendRow->addSpacing(16);
    sendRow->addWidget(new QLabel(tr("Repeat"), this));
    sendRow->addWidget(repeatCount_);
    sendRow->addWidget(new QLabel(tr("at"), this));
    sendRow->addWidget(repeatRate_);
    sendRow->addWidget(repeatButton_);
    sendRow->addWidget(cancelButton_);
    sendRow->addWidget(progress_, 1);
    auto* publishRow = new QHBoxLayout;
    publishRow->addWidget(publishOnEdit_, 1);
    publishRow->addWidget(bindButton_);
    publishRow->addWidget(new QLabel(tr("bound at"), this));
    publishRow->addWidget(boundEdit_, 1);
    publishRow->addWidget(publishState_);

    auto* form = new QFormLayout;
    form->setFieldGrowthPolicy(QFormLayout::AllNonFixedFieldsGrow);
    form->setContentsMargins(0, 0, 0, 0);
    form->addRow(tr("Target"), targetRow);
    form->addRow(QString(), targetInfo_);
    form->addRow(tr("Function"), functionRow);
    form->addRow(QString(), hint_);
    form->addRow(tr("Parameters"), paramsEdit_);
    form->addRow(QString(), paramsError_);
    form->addRow(QString(), sendRow);
    form->addRow(tr("Publish on"), publishRow);
    auto* request = new QWidget(this);
    auto* requestLayout = new QVBoxLayout(request);
    requestLayout->setContentsMargins(0, 0, 0, 0);
    requestLayout->addLayout(form);

    // ---- results
    tabs_ = new QTabWidget(this);
    tabs_->setObjectName(QStringLiteral("consoleTabs"));
    tabs_->setDocumentMode(true);
    auto* resultPage = new QWidget(tabs_);
    statusLabel_ = new QLabel(tr("No call yet"), resultPage);
    statusLabel_->setObjectName(QStringLiteral("consoleStatus"));
    statusLabel_->setTextInteractionFlags(Qt::TextSelectableByMouse);
    statusLabel_->setWordWrap(true);
    QFont bold = statusLabel_->font();
    bold.setBold(true);
    statusLabel_->setFont(bold);
    roundTripLabel_ = new QLabel(resultPage);
    roundTripLabel_->setObjectName(QStringLiteral("consoleRoundTrip"));
    responseView_ = new QPlainTextEdit(resultPage);
    responseView_->setObjectName(QStringLiteral("consoleResponse"));
    responseView_->setReadOnly(true);
    responseView_->setFont(mono);
    responseView_->setPlaceholderText(tr("The response appears here"));
    auto* statusRow = new QHBoxLayout;
    statusRow->addWidget(statusLabel_, 1);
    statusRow->addWidget(roundTripLabel_);
    auto* resultLayout = new QVBoxLayout(resultPage);
    resultLayout->setContentsMargins(4, 4, 4, 4);
    resultLayout->addLayout(statusRow);
    resultLayout->addWidget(responseView_, 1);
    tabs_->addTab(resultPage, tr("Result"));

    auto* repeatPage = new QWidget(tabs_);
    repeatSummary_ = new QLabel(tr("Repeat a call to measure its latency."), repeatPage);
    repeatSummary_->setObjectName(QStringLiteral("consoleRepeatSummary"));
    repeatSummary_->setWordWrap(true);
    repeatSummary_->setTextInteractionFlags(Qt::TextSelectableByMouse);
    histogram_ = new LatencyHistogram(repeatPage);
    auto* repeatLayout = new QVBoxLayout(repeatPage);
    repeatLayout->setContentsMargins(4, 4, 4, 4);
    repeatLayout->addWidget(repeatSummary_);
    repeatLayout->addWidget(histogram_, 1);
    tabs_->addTab(repeatPage, tr("Latency"));

    historyList_ = new QListWidget(tabs_);
    historyList_->setObjectName(QStringLiteral("consoleHistory"));
    historyList_->setFont(mono);
    historyList_->setToolTip(tr("Double-click to recall target, function and parameters"));
    tabs_->addTab(historyList_, tr("History"));

    auto* splitter = new QSplitter(Qt::Vertical, this);
    splitter->setChildrenCollapsible(false);
    splitter->addWidget(request);
    splitter->addWidget(tabs_);
    splitter->setStretchFactor(0, 0);
    splitter->setStretchFactor(1, 1);
    auto* layout = new QVBoxLayout(this);
    layout->setContentsMargins(6, 6, 6, 6);
    layout->addWidget(splitter);

    targetDebounce_ = new QTimer(this);
    targetDebounce_->setSingleShot(true);
    targetDebounce_->setInterval(300);
    connect(targetDebounce_, &QTimer::timeout, this, &ConsoleWidget::targetEdited);
    connect(targetCombo_, &QComboBox::editTextChanged, this, [this] {
        targetDebounce_->start();
        updateActions();
    });
    connect(targetCombo_, &QComboBox::activated, this, [this] {
        targetDebounce_->stop();
        targetEdited();
    });
    connect(userEdit_, &QLineEdit::editingFinished, this, &ConsoleWidget::targetEdited);
    connect(passwordEdit_, &QLineEdit::editingFinished, this, &ConsoleWidget::targetEdited);
    connect(serverKeyEdit_, &QLineEdit::editingFinished, this, &ConsoleWidget::targetEdited);
    connect(functionCombo_, &QComboBox::editTextChanged, this, [this] {
        updateHint();
        updateActions();
    });
    connect(templateButton_, &QPushButton::clicked, this, &ConsoleWidget::fillTemplate);
    connect(paramsEdit_, &QPlainTextEdit::textChanged, this, [this] {
        if (!recalling_) historyPos_ = -1;
        validateParameters();
    });
    connect(sendButton_, &QPushButton::clicked, this, &ConsoleWidget::send);
    connect(publishButton_, &QPushButton::clicked, this, &ConsoleWidget::publish);
    connect(heartbeatButton_, &QPushButton::clicked, this, &ConsoleWidget::sendHeartbeat);
    connect(repeatButton_, &QPushButton::clicked, this, &ConsoleWidget::startRepeat);
    connect(cancelButton_, &QPushButton::clicked, this, &ConsoleWidget::cancelRepeat);
    connect(bindButton_, &QPushButton::clicked, this, [this] {
        publishEndpoint_.clear();
        boundEdit_->clear();
        publishState_->setText(tr("binding…"));
        updateActions();
        QMetaObject::invokeMethod(
            publishWorker_, [w = publishWorker_, ep = publishOnEdit_->text()] { w->bind(ep); });
    });
    connect(publishOnEdit_, &QLineEdit::returnPressed, bindButton_, &QPushButton::click);
    connect(historyList_, &QListWidget::itemActivated, this, [this](QListWidgetItem* item) {
        const int index = item->data(Qt::UserRole).toInt();
        if (index >= 0 && index < history_.size()) applyEntry(history_[index], true);
    });
}

// ---------------------------------------------------------------------------------------------
// Targets

QString ConsoleWidget::nodeEndpoint(const QString& nodeId, QString* error) const {
    const auto& topology = doc_->topology();
    const zmqrpc::Node* node = topology.find_node(nodeId.toStdString());
    if (node == nullptr) {
        *error = tr("no node %1").arg(nodeId);
        return {};
    }
    std::string port;
    for (const auto& spec : zmqrpc::port_specs(node->kind, node->properties)) {
        if (spec.socket == zmqrpc::SocketType::Rep) port = spec.name;
    }
    if (port.empty()) {
        *error = tr("%1 has no REP socket").arg(QString::fromStdString(node->display_name()));
        return {};
    }
    try {
        // Running here: the address it is bound at (its port may have been chosen at bind time).
        const zmqrpc::NodeStatus* status =
            runtime_ != nullptr ? runtime_->snapshot().node(node->id) : nullptr;
        // Where it runs: 127.0.0.1 here, the host's address for a node a runner runs.
        const std::string here = runtime_ != nullptr ? runtime_->nodeAddress(nodeId).toStdString()
                                                     : std::string("127.0.0.1");
        if (status != nullptr && runtime_->isActive(nodeId)) {
            for (const auto& socket : status->metrics.sockets) {
                if (socket.role == "rep" && !socket.endpoint.empty())
                    return QString::fromStdString(zmqrpc::connect_address(socket.endpoint, here));
            }
        }
        const std::string bind = topology.bind_endpoint({node->id, port});
        if (bind.empty()) {
            *error = tr("%1 has no endpoint").arg(QString::fromStdString(node->display_name()));
            return {};
        }
        // Another host runs it: reach it at that host's address.
        const std::string peer = status != nullptr && status->state == zmqrpc::NodeState::Remote
                                     ? topology.host_address(topology.node_host(*node))
                                     : here;
        const std::string address = zmqrpc::connect_address(bind, peer);
        const zmqrpc::Endpoint parsed = zmqrpc::parse_endpoint(address, true);
        if (parsed.transport == zmqrpc::Endpoint::Transport::Tcp && parsed.port == 0) {
            *error = tr("%1 picks its port when it starts: start it first")
                         .arg(QString::fromStdString(node->display_name()));
            return QString::fromStdString(address);
        }
        return QString::fromStdString(address);
    } catch (const std::exception& e) {
        *error = QString::fromStdString(e.what());
        return {};
    }
}

void ConsoleWidget::refreshTargets() {
    if (doc_ == nullptr) return;
    // (node id, text) for every node with a REP socket, in document order.
    QList<QPair<QString, QString>> wanted;
    for (const auto& node : doc_->topology().nodes()) {
        bool rep = false;
        for (const auto& spec : zmqrpc::port_specs(node.kind, node.properties))
            rep = rep || spec.socket == zmqrpc::SocketType::Rep;
        if (!rep) continue;
        const QString id = QString::fromStdString(node.id);
        QString error;
        QString endpoint = nodeEndpoint(id, &error);
        if (endpoint.isEmpty()) endpoint = tr("no endpoint");
        wanted.append({id, QStringLiteral("%1 (%2)").arg(
                               QString::fromStdString(node.display_name()), endpoint)});
    }
    bool same = wanted.size() == targetCombo_->count();
    for (int i = 0; same && i < wanted.size(); ++i) {
        same = targetCombo_->itemData(i).toString() == wanted[i].first &&
               targetCombo_->itemText(i) == wanted[i].second;
    }
    if (same) return;
    // Keep what the user has in the field: the same node (under its new text), or the typed text.
    const QString text = targetCombo_->currentText();
    const int current = targetCombo_->findText(text);
    const QString currentNode =
        current >= 0 ? targetCombo_->itemData(current).toString() : QString();
    const QSignalBlocker block(targetCombo_);
    targetCombo_->clear();
    int select = -1;
    for (int i = 0; i < wanted.size(); ++i) {
        targetCombo_->addItem(wanted[i].second, wanted[i].first);
        if (!currentNode.isEmpty() && wanted[i].first == currentNode) select = i;
    }
    if (select >= 0) {
        targetCombo_->setCurrentIndex(select);
    } else {
        targetCombo_->setCurrentIndex(-1);
        targetCombo_->setEditText(text);
    }
    targetEdited();
}

void ConsoleWidget::setTargetNode(const QString& nodeId) {
    const int index = targetCombo_->findData(nodeId);
    if (index < 0) return;
    targetCombo_->setCurrentIndex(index);
    targetDebounce_->stop();
    targetEdited();
}

void ConsoleWidget::setTargetText(const QString& text) {
    targetCombo_->setEditText(text);
    targetDebounce_->stop();
    targetEdited();
}

ConsoleWidget::Target ConsoleWidget::resolveTarget() const {
    Target t;
    const QString text = targetCombo_->currentText().trimmed();
    const int index = text.isEmpty() ? -1 : targetCombo_->findText(text);
    if (text.isEmpty()) {
        t.error = tr("Pick a node or type an endpoint");
        return t;
    }
    if (index >= 0 && doc_ != nullptr) {
        t.nodeId = targetCombo_->itemData(index).toString();
        t.endpoint = nodeEndpoint(t.nodeId, &t.error);
        if (!t.error.isEmpty()) return t;
        const zmqrpc::Node* node = doc_->topology().find_node(t.nodeId.toStdString());
        // The security of the REP port it serves on: the console presents what its clients do
        // (PLAIN: the node's own credentials; CURVE: the node's public key, a fresh key pair).
        std::string key = "credentials";
        for (const auto& port : zmqrpc::port_specs(node->kind, node->properties)) {
            if (port.socket == zmqrpc::SocketType::Rep)
                key = zmqrpc::security_property(node->kind, port.name);
        }
        try {
            const nlohmann::json value = node->property(key);
            const auto ref = zmqrpc::SecurityRef::from_json(value);
            const zmqrpc::Secrets secrets =
                secrets_ != nullptr ? secrets_->secrets() : zmqrpc::Secrets{};
            t.security = toolSecurity(value, secrets, node->id);
            if (const auto* plain = ref.plain()) {
                t.info = tr("%1 (password from %2)")
                             .arg(QString::fromStdString(t.security.describe()),
                                  QString::fromStdString(plain->source_text()));
            } else if (const auto* curve = t.security.curve()) {
                t.info =
                    tr("CURVE, server key %1, a fresh client key")
                        .arg(QString::fromStdString(zmqrpc::key_fingerprint(curve->server_key)));
            } else {
                t.info = tr("no credentials");
            }
        } catch (const std::exception& e) {
            t.error = QString::fromStdString(e.what());
        }
        return t;
    }
    try {
        zmqrpc::parse_endpoint(text.toStdString(), false);
        t.endpoint = text;
        zmqrpc::Credentials plain;
        plain.username = userEdit_->text().toStdString();
        plain.password = passwordEdit_->text().toStdString();
        const std::string serverKey = serverKeyEdit_->text().trimmed().toStdString();
        if (plain.username.empty() && !plain.password.empty()) {
            t.error = tr("a password without a user name");
        } else if (!serverKey.empty()) {
            if (!plain.username.empty()) {
                t.error = tr("either a user (PLAIN) or a server key (CURVE), not both");
            } else if (auto problem = zmqrpc::check_curve_key(serverKey)) {
                t.error = tr("server key: %1").arg(QString::fromStdString(*problem));
            } else {
                zmqrpc::CurveSecurity curve;  // a fresh key pair of our own
                curve.server_key = serverKey;
                t.security = curve;
            }
        } else {
            t.security = plain;
        }
        t.info = QString::fromStdString(t.security.describe());
    } catch (const std::exception& e) {
        t.error = QString::fromStdString(e.what());
        t.endpoint.clear();
    }
    return t;
}

QString ConsoleWidget::targetEndpoint() const {
    const Target t = resolveTarget();
    return t.error.isEmpty() ? t.endpoint : QString();
}

QString ConsoleWidget::targetError() const {
    return resolveTarget().error;
}

void ConsoleWidget::targetEdited() {
    const Target t = resolveTarget();
    // Typed credentials only make sense for a typed endpoint; a node brings its own.
    const bool raw = t.nodeId.isEmpty();
    userEdit_->setEnabled(raw);
    passwordEdit_->setEnabled(raw);
    serverKeyEdit_->setEnabled(raw);
    targetValid_ = t.error.isEmpty();
    if (!t.error.isEmpty()) {
        targetInfo_->setText(t.error);
        targetInfo_->setStyleSheet(QStringLiteral("color: %1;").arg(QLatin1String(kBadColor)));
    } else {
        targetInfo_->setText(tr("%1 · %2").arg(t.endpoint, t.info));
        targetInfo_->setStyleSheet(QString());
    }
    updateActions();
    const QString key = t.error.isEmpty()
                            ? t.endpoint + QChar(0) + QString::fromStdString(t.security.describe())
                            : QString();
    if (key != describedKey_) {
        describedKey_ = key;
        fetchDescribe();
    }
}

// ---------------------------------------------------------------------------------------------
// Functions

void ConsoleWidget::fetchDescribe() {
    const quint64 generation = ++describeGeneration_;
    const Target t = resolveTarget();
    if (!t.error.isEmpty()) {
        onDescribed(generation, DescribeResult{false, t.error, {}});
        return;
    }
    hint_->setText(tr("Asking %1 for its functions…").arg(t.endpoint));
    auto* watcher = describeWatcher_;
    watcher->disconnect(this);
    connect(watcher, &QFutureWatcher<DescribeResult>::finished, this,
            [this, watcher, generation] { onDescribed(generation, watcher->result()); });
    watcher->setFuture(QtConcurrent::run([endpoint = t.endpoint, security = t.security] {
        return describeServer(endpoint, security, kDescribeTimeout);
    }));
}

void ConsoleWidget::onDescribed(quint64 generation, const DescribeResult& result) {
    if (generation != describeGeneration_) return;
    functions_ = result.functions;
    const QString text = functionCombo_->currentText();
    {
        const QSignalBlocker block(functionCombo_);
        functionCombo_->clear();
        for (const auto& f : functions_)
            functionCombo_->addItem(f.name);
        functionCombo_->setCurrentIndex(-1);
        functionCombo_->setEditText(text);
    }
    if (!result.ok) {
        hint_->setText(tr("Function list unavailable (%1): type the name").arg(result.error));
    } else {
        updateHint();
    }
    updateActions();
    emit describeFinished(result.ok);
}

QStringList ConsoleWidget::functionNames() const {
    QStringList names;
    for (const auto& f : functions_)
        names.append(f.name);
    return names;
}

void ConsoleWidget::updateHint() {
    const QString name = functionCombo_->currentText().trimmed();
    for (const auto& f : functions_) {
        if (f.name != name) continue;
        hint_->setText(QStringLiteral("%1(%2) — %3")
                           .arg(f.name, f.parameters.join(QStringLiteral(", ")), f.help));
        templateButton_->setEnabled(true);
        return;
    }
    templateButton_->setEnabled(false);
    if (!functions_.isEmpty()) {
        hint_->setText(name.isEmpty() ? tr("%1 functions known: pick one").arg(functions_.size())
                                      : tr("%1 is not among the server's functions").arg(name));
    }
}

void ConsoleWidget::fillTemplate() {
    const QString name = functionCombo_->currentText().trimmed();
    for (const auto& f : functions_) {
        if (f.name != name) continue;
        json object = json::object();
        for (const auto& p : f.parameters) {
            if (p.startsWith(QLatin1Char('*'))) continue;  // **kwargs: anything goes
            object[p.toStdString()] = nullptr;
        }
        paramsEdit_->setPlainText(prettyParams(QString::fromStdString(zmqrpc::dumps(object))));
        paramsEdit_->setFocus();
        return;
    }
}

// ---------------------------------------------------------------------------------------------
// Parameters and actions

void ConsoleWidget::validateParameters() {
    const QByteArray utf8 = paramsEdit_->toPlainText().trimmed().toUtf8();
    QString error;
    if (!utf8.isEmpty()) {
        std::string why;
        const auto v =
            zmqrpc::parse_json_text(std::string_view(utf8.constData(), utf8.size()), &why);
        if (!v) {
            // "parse error at line 1, column 5: ..." -> from "at".
            const QString what = QString::fromStdString(why);
            const qsizetype at = what.indexOf(QLatin1String("at line"));
            error = tr("Invalid JSON: %1").arg(at >= 0 ? what.mid(at) : what);
        } else if (!v->is_object()) {
            error = tr("Parameters must be a JSON object {…}");
        }
    }
    paramsValid_ = error.isEmpty();
    paramsError_->setText(error);
    paramsError_->setVisible(!paramsValid_);
    updateActions();
}

void ConsoleWidget::updateActions() {
    const bool haveFunction = !functionCombo_->currentText().trimmed().isEmpty();
    const bool targetOk =
        !targetCombo_->currentText().trimmed().isEmpty() && targetInfo_->styleSheet().isEmpty();
    const bool canCall = paramsValid_ && haveFunction && targetOk;
    sendButton_->setEnabled(canCall && !callRunning_ && !repeatRunning_);
    repeatButton_->setEnabled(canCall && !callRunning_ && !repeatRunning_);
    cancelButton_->setEnabled(repeatRunning_);
    publishButton_->setEnabled(paramsValid_ && haveFunction && !publishEndpoint_.isEmpty());
    heartbeatButton_->setEnabled(!publishEndpoint_.isEmpty());
}

ConsoleCall ConsoleWidget::makeCall(const Target& target) const {
    ConsoleCall call;
    call.endpoint = target.endpoint;
    call.security = target.security;
    call.function = functionCombo_->currentText().trimmed();
    call.parameters = paramsEdit_->toPlainText();
    call.timeout = std::chrono::milliseconds(std::llround(timeoutSpin_->value() * 1000.0));
    return call;
}

void ConsoleWidget::send() {
    if (callRunning_ || repeatRunning_ || !paramsValid_) return;
    const Target t = resolveTarget();
    if (!t.error.isEmpty()) {
        statusLabel_->setText(t.error);
        statusLabel_->setStyleSheet(QStringLiteral("color: %1;").arg(QLatin1String(kBadColor)));
        return;
    }
    const ConsoleCall call = makeCall(t);
    if (call.function.isEmpty()) return;
    remember(
        {targetCombo_->currentText().trimmed(), call.function, compactParams(call.parameters)});
    callRunning_ = true;
    statusLabel_->setText(tr("Calling %1 on %2…").arg(call.function, call.endpoint));
    statusLabel_->setStyleSheet(QString());
    roundTripLabel_->clear();
    tabs_->setCurrentIndex(0);
    updateActions();
    QMetaObject::invokeMethod(callWorker_, [w = callWorker_, call] { w->call(call); });
}

void ConsoleWidget::showResult(const ConsoleCallResult& r) {
    lastResult_ = r;
    lastRoundTripMs_ = r.roundTripMs;
    if (r.ok()) {
        statusLabel_->setText(QStringLiteral("%1 %2").arg(r.status).arg(r.statusText));
        statusLabel_->setStyleSheet(QStringLiteral("color: %1;").arg(QLatin1String(kGoodColor)));
        responseView_->setPlainText(r.response.isEmpty() ? tr("(no response_message)")
                                                         : r.response);
    } else {
        statusLabel_->setText(r.error);
        statusLabel_->setStyleSheet(QStringLiteral("color: %1;").arg(QLatin1String(kBadColor)));
        responseView_->setPlainText(r.response);
    }
    roundTripLabel_->setText(tr("round trip %1").arg(msText(r.roundTripMs)));
}

QString ConsoleWidget::resultText() const {
    return statusLabel_->text();
}
QString ConsoleWidget::responseText() const {
    return responseView_->toPlainText();
}

void ConsoleWidget::publish() {
    if (!paramsValid_ || publishEndpoint_.isEmpty()) return;
    const QString function = functionCombo_->currentText().trimmed();
    if (function.isEmpty()) return;
    const QString params = paramsEdit_->toPlainText();
    remember({targetCombo_->currentText().trimmed(), function, compactParams(params)});
    QMetaObject::invokeMethod(
        publishWorker_, [w = publishWorker_, function, params] { w->publish(function, params); });
}

void ConsoleWidget::sendHeartbeat() {
    if (publishEndpoint_.isEmpty()) return;
    QMetaObject::invokeMethod(publishWorker_, [w = publishWorker_] { w->heartbeat(); });
}

// ---------------------------------------------------------------------------------------------
// Repeat

void ConsoleWidget::startRepeat() {
    if (callRunning_ || repeatRunning_ || !paramsValid_) return;
    const Target t = resolveTarget();
    if (!t.error.isEmpty()) return;
    const ConsoleCall call = makeCall(t);
    if (call.function.isEmpty()) return;
    const int count = repeatCount_->value();
    const double rate = repeatRate_->value();
    // A fresh flag per run: a late cancel of the previous run cannot touch this one.
    cancel_ = std::make_shared<std::atomic<bool>>(false);
    repeatRunning_ = true;
    progress_->setRange(0, count);
    progress_->setValue(0);
    progress_->setTextVisible(true);
    repeatSummary_->setText(tr("Running %1 × %2…").arg(count).arg(call.function));
    histogram_->clear();
    tabs_->setCurrentIndex(1);
    updateActions();
    QMetaObject::invokeMethod(callWorker_, [w = callWorker_, call, count, rate, c = cancel_] {
        w->repeat(call, count, rate, c);
    });
}

void ConsoleWidget::cancelRepeat() {
    if (repeatRunning_) cancel_->store(true);
}

void ConsoleWidget::showRepeat(const RepeatSummary& s) {
    lastRepeat_ = s;
    if (!s.cancelled) progress_->setValue(progress_->maximum());
    repeatSummary_->setText(repeatSummaryText());
    histogram_->setSamples(s.latenciesMs);
}

QString ConsoleWidget::repeatSummaryText() const {
    const RepeatSummary& s = lastRepeat_;
    QString text = tr("%1 ok, %2 failed").arg(s.ok).arg(s.failed);
    if (s.cancelled)
        text += tr(" (cancelled after %1 of %2)").arg(s.ok + s.failed).arg(s.requested);
    text += s.elapsedMs < 1000 ? tr(" in %1 ms").arg(s.elapsedMs, 0, 'f', 1)
                               : tr(" in %1 s").arg(s.elapsedMs / 1000.0, 0, 'f', 2);
    std::vector<double> sorted = s.latenciesMs;
    std::sort(sorted.begin(), sorted.end());
    if (!sorted.empty()) {
        text += QStringLiteral("\n") +
                tr("min %1 · median %2 · p99 %3 · max %4")
                    .arg(msText(sorted.front()), msText(percentile(sorted, 0.5)),
                         msText(percentile(sorted, 0.99)), msText(sorted.back()));
    }
    if (!s.firstError.isEmpty())
        text += QStringLiteral("\n") + tr("first error: %1").arg(s.firstError);
    return text;
}

// ---------------------------------------------------------------------------------------------
// History

void ConsoleWidget::remember(const HistoryEntry& entry) {
    if (history_.isEmpty() || !(history_.back() == entry)) history_.append(entry);
    while (history_.size() > kHistoryLimit)
        history_.removeFirst();
    historyPos_ = -1;
    saveHistory();
    rebuildHistoryList();
}

void ConsoleWidget::loadHistory() {
    QSettings settings;
    history_.clear();
    for (const QVariant& v : settings.value(QLatin1String(kHistoryKey)).toList()) {
        const QVariantMap m = v.toMap();
        HistoryEntry e{m.value(QStringLiteral("target")).toString(),
                       m.value(QStringLiteral("function")).toString(),
                       m.value(QStringLiteral("parameters")).toString()};
        if (!e.function.isEmpty()) history_.append(e);
    }
    while (history_.size() > kHistoryLimit)
        history_.removeFirst();
    rebuildHistoryList();
}

void ConsoleWidget::saveHistory() const {
    QVariantList list;
    for (const auto& e : history_) {
        list.append(QVariantMap{{QStringLiteral("target"), e.target},
                                {QStringLiteral("function"), e.function},
                                {QStringLiteral("parameters"), e.parameters}});
    }
    QSettings settings;
    settings.setValue(QLatin1String(kHistoryKey), list);
}

void ConsoleWidget::rebuildHistoryList() {
    historyList_->clear();
    // Newest first.
    for (int i = static_cast<int>(history_.size()) - 1; i >= 0; --i) {
        const auto& e = history_[i];
        auto* item = new QListWidgetItem(
            QStringLiteral("%1 %2   → %3").arg(e.function, e.parameters, e.target));
        item->setData(Qt::UserRole, i);
        historyList_->addItem(item);
    }
}

void ConsoleWidget::applyEntry(const HistoryEntry& entry, bool withTarget) {
    recalling_ = true;
    if (withTarget && !entry.target.isEmpty()) setTargetText(entry.target);
    functionCombo_->setEditText(entry.function);
    paramsEdit_->setPlainText(prettyParams(entry.parameters));
    QTextCursor c = paramsEdit_->textCursor();
    c.movePosition(QTextCursor::End);
    paramsEdit_->setTextCursor(c);
    recalling_ = false;
}

bool ConsoleWidget::recallHistory(int direction) {
    if (history_.isEmpty()) return false;
    const QString current = compactParams(paramsEdit_->toPlainText());
    int pos = historyPos_;
    if (direction < 0) {
        if (pos == -1) {
            draft_ = paramsEdit_->toPlainText();
            pos = static_cast<int>(history_.size());
        }
        // Skip entries that would not change what is shown.
        do {
            --pos;
        } while (pos >= 0 && history_[pos].parameters == current &&
                 history_[pos].function == functionCombo_->currentText().trimmed());
        if (pos < 0) return true;  // at the oldest: stay
    } else {
        if (pos == -1) return false;
        ++pos;
        if (pos >= history_.size()) {
            historyPos_ = -1;
            recalling_ = true;
            paramsEdit_->setPlainText(draft_);
            recalling_ = false;
            return true;
        }
    }
    historyPos_ = pos;
    applyEntry(history_[pos], false);
    return true;
}

}  // namespace studio
