// The inspector: a form for what is selected — a node (its name, host and one editor per
// property spec), a link (heartbeat timeout), or the document (name, hosts) — with that item's
// problems on top. It holds ids only and reads everything from the EditorDocument; every edit
// goes through the document (undoable). While the runtime runs a node, its form is read-only:
// runtime state is read from the RuntimeSource, never stored here.
//
// GUI thread only.
#pragma once

#include <zmqrpc/topology.hpp>

#include <QList>
#include <QPointer>
#include <QString>
#include <QStringList>
#include <QWidget>

class QComboBox;
class QDoubleSpinBox;
class QFormLayout;
class QLabel;
class QLineEdit;
class QPlainTextEdit;
class QPushButton;
class QScrollArea;
class QTableWidget;
class QTimer;

namespace studio {

class EditorDocument;
class PropertyEditor;
class RuntimeSource;
class SecretStore;

class InspectorWidget : public QWidget {
    Q_OBJECT

  public:
    enum class Mode { Empty, Node, Link, Document, Multiple };

    // `runtime` and `secrets` may be null (no read-only overlay; passwords cannot be stored).
    InspectorWidget(EditorDocument* doc, RuntimeSource* runtime, SecretStore* secrets,
                    QWidget* parent = nullptr);
    ~InspectorWidget() override;

    void showNode(const QString& id);
    void showLink(const QString& id);
    void showDocument();
    // "N items selected".
    void showMultiple(int count);
    // Picks the form for a selection: nothing → document, one node or link → its form,
    // more → the summary.
    void showSelection(const QStringList& nodeIds, const QStringList& linkIds);
    void clear();

    Mode mode() const noexcept { return mode_; }
    // The node or link shown (empty for the document, the summary and nothing).
    QString shownId() const { return id_; }
    // The editor of one property of the shown node (null when none).
    PropertyEditor* editor(const QString& key) const;
    QList<PropertyEditor*> editors() const { return editors_; }
    // Whether the form is read-only because the runtime runs the shown node.
    bool isReadOnly() const noexcept { return readOnly_; }

  private:
    void rebuild();
    void buildNodeForm(const zmqrpc::Node& node);
    void buildLinkForm(const zmqrpc::Link& link);
    void buildDocumentForm();
    void refresh();
    void refreshNode();
    void refreshLink();
    // "Encrypt with CURVE": the binding end gets a key pair (generated into the keychain or
    // the keys directory unless it has one) and lets any client with its public key in; the
    // connecting end a fresh key pair each run. One undo step. Returns the problem, or empty.
    QString encryptLink(const QString& linkId);
    void refreshDocument();
    void refreshProblems();
    void scheduleProblemsRefresh();
    void updateReadOnly();
    void commitHosts();
    QFormLayout* newPage();
    void addSection(QFormLayout* form, const QString& title);

    void onNodeChanged(const QString& id);
    void onNodeRemoved(const QString& id);
    void onLinkChanged(const QString& id);
    void onLinkRemoved(const QString& id);
    void onDocumentReset();

    EditorDocument* doc_;
    QPointer<RuntimeSource> runtime_;
    SecretStore* secrets_;
    Mode mode_ = Mode::Empty;
    QString id_;
    zmqrpc::NodeKind kind_ = zmqrpc::NodeKind::Sampler;
    bool readOnly_ = false;
    int multipleCount_ = 0;
    bool problemsRefreshQueued_ = false;

    // Fixed parts.
    QLabel* title_ = nullptr;
    QLabel* icon_ = nullptr;
    QLabel* banner_ = nullptr;
    QLabel* problems_ = nullptr;
    QScrollArea* scroll_ = nullptr;

    // The current page's widgets (owned by the page; reset on rebuild).
    QWidget* page_ = nullptr;
    QList<PropertyEditor*> editors_;
    QLineEdit* nameEdit_ = nullptr;
    QComboBox* hostCombo_ = nullptr;
    QLabel* linkEnds_ = nullptr;
    QLabel* connectAddress_ = nullptr;
    QLabel* linkSecurity_ = nullptr;
    QPushButton* encrypt_ = nullptr;
    QDoubleSpinBox* heartbeat_ = nullptr;
    QPlainTextEdit* description_ = nullptr;
    QTimer* descriptionCommit_ = nullptr;
    QLabel* counts_ = nullptr;
    QTableWidget* hosts_ = nullptr;
    QPushButton* removeHost_ = nullptr;
    QPushButton* editRunner_ = nullptr;
    QLabel* hostsError_ = nullptr;
    QString shownName_;
};

}  // namespace studio
