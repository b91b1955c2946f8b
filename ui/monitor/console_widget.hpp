// The RPC console: fire test invocations at a REP endpoint and see status, response and round
// trip. The target is a REP-capable node of the document (its bound endpoint when it runs here,
// else the one derived from its properties; its credentials resolved through the SecretStore) or
// any endpoint typed in (with typed credentials). Function names come from the server's
// `_describe`, fetched in the background when the target changes. Parameters are a JSON object,
// checked as typed. Calls, "repeat N at rate R" and `_describe` run off the GUI thread (a call
// thread owning the RpcClient; QtConcurrent for `_describe`); Publish and Heartbeat go out on a
// PUB that a publish thread keeps bound while the console exists. History (bounded, in QSettings
// "console/history") is recalled with Up/Down in the parameters editor (caret on the first/last
// line, or Alt+Up/Down) or from the History tab.
//
// GUI thread only. Owns its two worker threads; the document, controller and secret store are
// not owned (the controller and the store may be null).
#pragma once

#include "monitor/console_worker.hpp"

#include <zmqrpc/security.hpp>

#include <QFutureWatcher>
#include <QList>
#include <QString>
#include <QWidget>

#include <atomic>
#include <memory>

class QComboBox;
class QDoubleSpinBox;
class QLabel;
class QLineEdit;
class QListWidget;
class QPlainTextEdit;
class QProgressBar;
class QPushButton;
class QSpinBox;
class QTabWidget;
class QThread;
class QTimer;

namespace studio {

class EditorDocument;
class LatencyHistogram;
class RuntimeSource;
class SecretStore;

class ConsoleWidget : public QWidget {
    Q_OBJECT

  public:
    static constexpr int kHistoryLimit = 200;
    static constexpr const char* kHistoryKey = "console/history";

    struct HistoryEntry {
        QString target;  // as shown in the target field
        QString function;
        QString parameters;  // JSON text, compact
        bool operator==(const HistoryEntry&) const = default;
    };

    ConsoleWidget(EditorDocument* doc, RuntimeSource* runtime, SecretStore* secrets,
                  QWidget* parent = nullptr);
    ~ConsoleWidget() override;  // cancels a repeat; waits a bounded time for the threads

    // ---- targets
    // Selects a node of the document as the target (empty: none).
    void setTargetNode(const QString& nodeId);
    // Types `text` (an endpoint, or an item's "name (endpoint)") into the target field.
    void setTargetText(const QString& text);
    // The endpoint the next call goes to, or empty with targetError() saying why.
    QString targetEndpoint() const;
    QString targetError() const;

    // ---- state, for the main window and tests
    QStringList functionNames() const;  // from the last _describe
    bool isCallRunning() const noexcept { return callRunning_; }
    bool isRepeatRunning() const noexcept { return repeatRunning_; }
    // The result panel: status line, response text, round trip of the last call.
    QString resultText() const;
    QString responseText() const;
    double lastRoundTripMs() const noexcept { return lastRoundTripMs_; }
    const ConsoleCallResult& lastResult() const noexcept { return lastResult_; }
    const RepeatSummary& lastRepeat() const noexcept { return lastRepeat_; }
    QString repeatSummaryText() const;
    // Where the console's PUB is bound (connect address), empty until bound.
    QString publishEndpoint() const { return publishEndpoint_; }
    const QList<HistoryEntry>& history() const noexcept { return history_; }

  public slots:
    void send();
    void publish();
    void sendHeartbeat();
    void startRepeat();
    void cancelRepeat();
    void fillTemplate();
    // Recalls an older (-1) or newer (+1) history entry into the function and parameters.
    bool recallHistory(int direction);

  signals:
    void callFinished(const studio::ConsoleCallResult& result);
    void describeFinished(bool ok);
    void repeatFinished(const studio::RepeatSummary& summary);
    void publishBound(const QString& endpoint);

  private:
    struct Target {
        QString endpoint;
        zmqrpc::Security security;
        QString error;
        QString info;  // "user 'x' (keychain:y)", "no credentials", ...
        QString nodeId;
    };

    void buildUi();
    void refreshTargets();
    QString nodeEndpoint(const QString& nodeId, QString* error) const;
    Target resolveTarget() const;
    void targetEdited();
    void fetchDescribe();
    void onDescribed(quint64 generation, const DescribeResult& result);
    void updateHint();
    void validateParameters();
    void updateActions();
    void showResult(const ConsoleCallResult& result);
    void showRepeat(const RepeatSummary& summary);
    void remember(const HistoryEntry& entry);
    void loadHistory();
    void saveHistory() const;
    void rebuildHistoryList();
    void applyEntry(const HistoryEntry& entry, bool withTarget);
    ConsoleCall makeCall(const Target& target) const;

    EditorDocument* doc_;
    RuntimeSource* runtime_;
    SecretStore* secrets_;

    QComboBox* targetCombo_ = nullptr;
    QLineEdit* userEdit_ = nullptr;
    QLineEdit* passwordEdit_ = nullptr;
    QLineEdit* serverKeyEdit_ = nullptr;  // CURVE: the typed endpoint's public key
    QLabel* targetInfo_ = nullptr;
    QComboBox* functionCombo_ = nullptr;
    QPushButton* templateButton_ = nullptr;
    QDoubleSpinBox* timeoutSpin_ = nullptr;
    QLabel* hint_ = nullptr;
    QPlainTextEdit* paramsEdit_ = nullptr;
    QLabel* paramsError_ = nullptr;
    QPushButton* sendButton_ = nullptr;
    QPushButton* publishButton_ = nullptr;
    QPushButton* heartbeatButton_ = nullptr;
    QSpinBox* repeatCount_ = nullptr;
    QDoubleSpinBox* repeatRate_ = nullptr;
    QPushButton* repeatButton_ = nullptr;
    QPushButton* cancelButton_ = nullptr;
    QProgressBar* progress_ = nullptr;
    QLineEdit* publishOnEdit_ = nullptr;
    QPushButton* bindButton_ = nullptr;
    QLineEdit* boundEdit_ = nullptr;
    QLabel* publishState_ = nullptr;
    QTabWidget* tabs_ = nullptr;
    QLabel* statusLabel_ = nullptr;
    QLabel* roundTripLabel_ = nullptr;
    QPlainTextEdit* responseView_ = nullptr;
    QLabel* repeatSummary_ = nullptr;
    LatencyHistogram* histogram_ = nullptr;
    QListWidget* historyList_ = nullptr;
    QTimer* targetDebounce_ = nullptr;

    QThread* callThread_ = nullptr;
    CallWorker* callWorker_ = nullptr;
    QThread* publishThread_ = nullptr;
    PublishWorker* publishWorker_ = nullptr;
    std::shared_ptr<std::atomic<bool>> cancel_;
    QFutureWatcher<DescribeResult>* describeWatcher_ = nullptr;

    QString describedKey_;  // endpoint + username the functions came from
    quint64 describeGeneration_ = 0;
    QList<FunctionDoc> functions_;
    bool paramsValid_ = true;
    bool targetValid_ = false;  // as of the last targetEdited()
    bool callRunning_ = false;
    bool repeatRunning_ = false;
    double lastRoundTripMs_ = 0;
    ConsoleCallResult lastResult_;
    RepeatSummary lastRepeat_;
    QString publishEndpoint_;

    QList<HistoryEntry> history_;
    int historyPos_ = -1;  // -1: the draft; else an index into history_
    QString draft_;
    bool recalling_ = false;
};

}  // namespace studio
