// The Studio's main window: the canvas in the middle, the palette (left), inspector (right),
// problems, events, console, tap, heartbeats, alerts and charts (bottom, tabbed) as docks whose
// layout is remembered, a toolbar and menus for files, editing, view and run, and a status bar. It
// owns the document, the runtime controller and the secret store, and wires their signals to the
// views. Files: new/open/save/save as, recent files, the dirty mark in the title, a prompt before
// losing changes, recovery of unsaved work after a crash (an autosave every few seconds while
// dirty), export of the diagram as PNG and SVG.
//
// GUI thread only.
#pragma once

#include <zmqrpc/topology.hpp>

#include <QHash>
#include <QMainWindow>
#include <QMessageBox>
#include <QPointer>
#include <QString>
#include <QStringList>

#include <functional>
#include <optional>

class QAction;
class QApplication;
class QLabel;
class QMenu;
class QSystemTrayIcon;
class QTimer;

namespace studio {

class EditorDocument;
class GraphScene;
class GraphView;
class AlertsWidget;
class ChartsWidget;
class ConsoleWidget;
class HeartbeatMonitorWidget;
class EventLogWidget;
class InspectorWidget;
class TapWidget;
class PaletteWidget;
class ProblemsWidget;
class RuntimeHub;
struct RunnerDeployReport;
class SecretStore;

class MainWindow : public QMainWindow {
    Q_OBJECT

  public:
    explicit MainWindow(QWidget* parent = nullptr);
    ~MainWindow() override;

    EditorDocument* document() const { return doc_; }
    GraphScene* scene() const { return scene_; }
    GraphView* view() const { return view_; }
    PaletteWidget* palette() const { return palette_; }
    InspectorWidget* inspector() const { return inspector_; }
    ProblemsWidget* problems() const { return problems_; }
    ConsoleWidget* console() const { return console_; }
    EventLogWidget* eventLog() const { return eventLog_; }
    TapWidget* tap() const { return tap_; }
    HeartbeatMonitorWidget* heartbeats() const { return heartbeats_; }
    AlertsWidget* alerts() const { return alerts_; }
    ChartsWidget* charts() const { return charts_; }
    RuntimeHub* runtime() const { return runtime_; }
    SecretStore* secrets() const { return secrets_; }
    // Every action by its object name ("file.save", "run.startAll", ...), for tests and menus.
    QAction* action(const QString& name) const;

    // Questions to the user (save changes? recover?) go through this, so tests can answer them.
    using Prompt = std::function<QMessageBox::StandardButton(
        const QString& title, const QString& text, QMessageBox::StandardButtons buttons)>;
    void setPrompt(Prompt prompt) { prompt_ = std::move(prompt); }
    // File dialogs likewise: (title, suggested path, filter, saving) -> chosen path or empty.
    using FileChooser = std::function<QString(const QString& title, const QString& path,
                                              const QString& filter, bool saving)>;
    void setFileChooser(FileChooser chooser) { chooseFile_ = std::move(chooser); }
    // A password a node needs that no keychain, file or environment has: asked before a start.
    using PasswordPrompt = std::function<std::optional<QString>(const zmqrpc::CredentialRef&)>;
    void setPasswordPrompt(PasswordPrompt prompt) { passwordPrompt_ = std::move(prompt); }
    // What the runtime gets: the secret store's passwords and those given this session.
    zmqrpc::Secrets currentSecrets() const;

    // Opens a file (asking about unsaved changes first). False when refused or cancelled.
    bool openFile(const QString& path);
    // Opens a bundled example (":/studio/examples/<name>.json") as an untitled document.
    bool openExample(const QString& name);
    bool save();
    bool saveAs();
    // Asks about unsaved changes; false when the user cancels.
    bool maybeSave();
    QStringList recentFiles() const;

    // Where unsaved work is kept for recovery; removed on a clean exit or save.
    static QString recoveryPath();
    // Offers to recover unsaved work of a session that did not end cleanly. True if recovered.
    bool offerRecovery();
    // Writes the recovery file now (normally a timer does it while the document is dirty).
    void writeRecovery();

  protected:
    void closeEvent(QCloseEvent* event) override;
    void showEvent(QShowEvent* event) override;

  private:
    // The layout of a first start (or of a window state saved by an older version): the canvas
    // about two thirds of the height, the bottom docks the rest but never less than the charts
    // need to be readable. Applied once the window has its size, on the first show.
    void applyFirstLayout();
    void createActions();
    void createMenus();
    void createDocks();
    void connectDocument();
    void updateTitle();
    void updateActions();
    void updateStatus();
    void syncSelection();
    void addRecent(const QString& path);
    void rebuildRecentMenu();
    void exportImage(bool svg);
    void pushTopologyToRuntime();
    void connectRunners();
    void deployToRunners();
    void deployReported(const RunnerDeployReport& report);
    void askMissingPasswords(const QStringList& ids);
    QMessageBox::StandardButton ask(const QString& title, const QString& text,
                                    QMessageBox::StandardButtons buttons);
    QString choose(const QString& title, const QString& path, const QString& filter, bool saving);
    QStringList selectedOrAll() const;
    QAction* makeAction(const QString& name, const QString& text, const QKeySequence& shortcut,
                        const QString& icon = {});

    EditorDocument* doc_ = nullptr;
    RuntimeHub* runtime_ = nullptr;
    SecretStore* secrets_ = nullptr;
    GraphScene* scene_ = nullptr;
    GraphView* view_ = nullptr;
    PaletteWidget* palette_ = nullptr;
    InspectorWidget* inspector_ = nullptr;
    ProblemsWidget* problems_ = nullptr;
    ConsoleWidget* console_ = nullptr;
    EventLogWidget* eventLog_ = nullptr;
    TapWidget* tap_ = nullptr;
    HeartbeatMonitorWidget* heartbeats_ = nullptr;
    AlertsWidget* alerts_ = nullptr;
    ChartsWidget* charts_ = nullptr;
    QSystemTrayIcon* tray_ = nullptr;
    QMenu* recentMenu_ = nullptr;
    QMenu* viewMenu_ = nullptr;
    bool firstLayout_ = false;
    QLabel* runLabel_ = nullptr;
    QLabel* problemLabel_ = nullptr;
    QTimer* recoveryTimer_ = nullptr;
    QTimer* pushTimer_ = nullptr;
    QHash<QString, QAction*> actions_;
    Prompt prompt_;
    FileChooser chooseFile_;
    PasswordPrompt passwordPrompt_;
    QHash<QString, QString> sessionPasswords_;
    QStringList deployWaiting_;  // hosts whose deploy answer has not come yet
    QStringList deployLines_;    // what the answers said, for the results box  // by
                                 // CredentialRef::source_text()
};

// The program: parses the command line (`zmqrpc-studio [FILE] [--start]`), opens FILE, or
// recovers unsaved work, or on first start the bundled sampler-to-cloud example; runs the
// event loop.
int runStudio(QApplication& app);

}  // namespace studio
