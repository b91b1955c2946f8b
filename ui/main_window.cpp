#include "main_window.hpp"

#include "charts/charts_widget.hpp"
#include "document/editor_document.hpp"
#include "health/alerts_widget.hpp"
#include "health/heartbeat_monitor.hpp"
#include "monitor/console_widget.hpp"
#include "monitor/event_log_widget.hpp"
#include "monitor/tap_widget.hpp"
#include "panels/inspector_widget.hpp"
#include "panels/palette_widget.hpp"
#include "panels/problems_widget.hpp"
#include "runtime/client_security.hpp"
#include "runtime/runtime_hub.hpp"

#include <zmqrpc/endpoint.hpp>
#include "runtime/secret_store.hpp"
#include "scene/graph_scene.hpp"
#include "scene/graph_view.hpp"

#include <zmqrpc/secrets.hpp>
#include <zmqrpc/security.hpp>
#include <zmqrpc/version.hpp>

#include <QAction>
#include <QApplication>
#include <QCloseEvent>
#include <QCommandLineParser>
#include <QDir>
#include <QDockWidget>
#include <QFile>
#include <QFileDialog>
#include <QFileInfo>
#include <QInputDialog>
#include <QJsonDocument>
#include <QJsonObject>
#include <QLabel>
#include <QLineEdit>
#include <QMenuBar>
#include <QSaveFile>
#include <QScreen>
#include <QScrollArea>
#include <QSettings>
#include <QStandardPaths>
#include <QStatusBar>
#include <QStyle>
#include <QSystemTrayIcon>
#include <QTimer>
#include <QToolBar>
#include <QUndoStack>

#include <algorithm>
#include <cstdio>
#include <initializer_list>

namespace studio {

namespace {
constexpr int kMaxRecent = 8;
constexpr int kRecoveryIntervalMs = 5000;
// The saved dock layout's version: 2 since the bottom docks leave the charts readable.
constexpr int kWindowStateVersion = 2;
const char* kExamples[] = {"sampler-to-cloud", "buffered-bridge", "rpc-fanout"};
}  // namespace

MainWindow::MainWindow(QWidget* parent) : QMainWindow(parent) {
    setObjectName(QStringLiteral("mainWindow"));
    setWindowIcon(QIcon(QStringLiteral(":/studio/zmqrpc-studio.svg")));
    doc_ = new EditorDocument(this);
    runtime_ = new RuntimeHub(this);
    secrets_ = new SecretStore(this);
    scene_ = new GraphScene(doc_, runtime_, this);
    view_ = new GraphView(scene_, this);
    setCentralWidget(view_);

    createActions();
    createMenus();
    createDocks();
    connectDocument();

    runLabel_ = new QLabel(this);
    runLabel_->setObjectName(QStringLiteral("runStatus"));
    problemLabel_ = new QLabel(this);
    statusBar()->addPermanentWidget(problemLabel_);
    statusBar()->addPermanentWidget(runLabel_);

    recoveryTimer_ = new QTimer(this);
    recoveryTimer_->setInterval(kRecoveryIntervalMs);
    connect(recoveryTimer_, &QTimer::timeout, this, [this] {
        if (doc_->isDirty()) writeRecovery();
    });
    recoveryTimer_->start();

    // The runtime follows the document a moment after edits settle (it revalidates and keeps
    // running nodes as they are).
    pushTimer_ = new QTimer(this);
    pushTimer_->setSingleShot(true);
    pushTimer_->setInterval(200);
    connect(pushTimer_, &QTimer::timeout, this, &MainWindow::pushTopologyToRuntime);

    QSettings settings;
    restoreGeometry(settings.value(QStringLiteral("window/geometry")).toByteArray());
    // A state saved by a version before kWindowStateVersion is not restored: its bottom docks
    // were too short for the charts.
    firstLayout_ = !restoreState(settings.value(QStringLiteral("window/state")).toByteArray(),
                                 kWindowStateVersion);
    if (!settings.contains(QStringLiteral("window/geometry"))) {
        // First start: 1500x900, or nine tenths of a smaller screen.
        QSize size(1500, 900);
        if (const QScreen* s = screen(); s != nullptr)
            size = size.boundedTo(s->availableGeometry().size() * 0.9);
        resize(size);
    }

    updateTitle();
    updateActions();
    updateStatus();
}

MainWindow::~MainWindow() {
    // Views before what they show: the docks and the canvas go first, then the runtime (which
    // stops its nodes), then the document. Nothing may call back into a half-destroyed window.
    scene_->disconnect(this);
    scene_->blockSignals(true);
    doc_->disconnect(this);
    runtime_->disconnect(this);
    secrets_->disconnect(this);
    for (auto* dock : findChildren<QDockWidget*>())
        delete dock;
    delete view_;
    delete scene_;
    delete runtime_;
    delete secrets_;
}

QAction* MainWindow::action(const QString& name) const {
    return actions_.value(name);
}

QAction* MainWindow::makeAction(const QString& name, const QString& text,
                                const QKeySequence& shortcut, const QString& icon) {
    auto* a = new QAction(text, this);
    a->setObjectName(name);
    if (!shortcut.isEmpty()) a->setShortcut(shortcut);
    if (!icon.isEmpty()) a->setIcon(QIcon::fromTheme(icon));
    actions_.insert(name, a);
    addAction(a);
    return a;
}

void MainWindow::createActions() {
    auto* s = style();
    auto* a = makeAction("file.new", tr("&New"), QKeySequence::New, "document-new");
    a->setIcon(QIcon::fromTheme("document-new", s->standardIcon(QStyle::SP_FileIcon)));
    connect(a, &QAction::triggered, this, [this] {
        if (maybeSave()) doc_->newDocument();
    });
    a = makeAction("file.open", tr("&Open..."), QKeySequence::Open);
    a->setIcon(QIcon::fromTheme("document-open", s->standardIcon(QStyle::SP_DialogOpenButton)));
    connect(a, &QAction::triggered, this, [this] {
        QString path =
            choose(tr("Open topology"), QString(), tr("Topologies (*.json);;All files (*)"), false);
        if (!path.isEmpty()) openFile(path);
    });
    a = makeAction("file.save", tr("&Save"), QKeySequence::Save);
    a->setIcon(QIcon::fromTheme("document-save", s->standardIcon(QStyle::SP_DialogSaveButton)));
    connect(a, &QAction::triggered, this, [this] { save(); });
    a = makeAction("file.saveAs", tr("Save &As..."), QKeySequence::SaveAs);
    connect(a, &QAction::triggered, this, [this] { saveAs(); });
    a = makeAction("file.exportPng", tr("Export Diagram as &PNG..."), {});
    connect(a, &QAction::triggered, this, [this] { exportImage(false); });
    a = makeAction("file.exportSvg", tr("Export Diagram as S&VG..."), {});
    connect(a, &QAction::triggered, this, [this] { exportImage(true); });
    a = makeAction("file.quit", tr("&Quit"), QKeySequence::Quit);
    connect(a, &QAction::triggered, this, &QWidget::close);

    QAction* undo = doc_->undoStack()->createUndoAction(this, tr("&Undo"));
    undo->setObjectName("edit.undo");
    undo->setShortcut(QKeySequence::Undo);
    undo->setIcon(QIcon::fromTheme("edit-undo", s->standardIcon(QStyle::SP_ArrowBack)));
    actions_.insert("edit.undo", undo);
    addAction(undo);
    QAction* redo = doc_->undoStack()->createRedoAction(this, tr("&Redo"));
    redo->setObjectName("edit.redo");
    redo->setShortcuts({QKeySequence::Redo, QKeySequence(Qt::CTRL | Qt::Key_Y)});
    redo->setIcon(QIcon::fromTheme("edit-redo", s->standardIcon(QStyle::SP_ArrowForward)));
    actions_.insert("edit.redo", redo);
    addAction(redo);

    a = makeAction("edit.cut", tr("Cu&t"), QKeySequence::Cut);
    connect(a, &QAction::triggered, this, [this] {
        scene_->copySelection();
        scene_->deleteSelection();
    });
    a = makeAction("edit.copy", tr("&Copy"), QKeySequence::Copy);
    connect(a, &QAction::triggered, this, [this] { scene_->copySelection(); });
    a = makeAction("edit.paste", tr("&Paste"), QKeySequence::Paste);
    connect(a, &QAction::triggered, this, [this] {
        QPointF at = view_->mapToScene(view_->viewport()->mapFromGlobal(QCursor::pos()));
        if (!view_->viewport()->rect().contains(view_->mapFromScene(at)))
            at = view_->mapToScene(view_->viewport()->rect().center());
        scene_->pasteAt(at);
    });
    a = makeAction("edit.duplicate", tr("D&uplicate"), QKeySequence(Qt::CTRL | Qt::Key_D));
    connect(a, &QAction::triggered, this, [this] { scene_->duplicateSelection(); });
    a = makeAction("edit.delete", tr("&Delete"), QKeySequence::Delete);
    connect(a, &QAction::triggered, this, [this] { scene_->deleteSelection(); });
    a = makeAction("edit.selectAll", tr("Select &All"), QKeySequence::SelectAll);
    connect(a, &QAction::triggered, this, [this] {
        QStringList nodes, links;
        for (const auto& n : doc_->topology().nodes())
            nodes << QString::fromStdString(n.id);
        for (const auto& l : doc_->topology().links())
            links << QString::fromStdString(l.id);
        scene_->selectOnly(nodes, links);
    });
    a = makeAction("edit.quickAdd", tr("&Quick Add..."), QKeySequence(Qt::CTRL | Qt::Key_Space));
    connect(a, &QAction::triggered, this, [this] { view_->quickAdd(); });

    a = makeAction("view.zoomIn", tr("Zoom &In"), QKeySequence::ZoomIn, "zoom-in");
    connect(a, &QAction::triggered, view_, &GraphView::zoomIn);
    a = makeAction("view.zoomOut", tr("Zoom &Out"), QKeySequence::ZoomOut, "zoom-out");
    connect(a, &QAction::triggered, view_, &GraphView::zoomOut);
    a = makeAction("view.resetZoom", tr("&Actual Size"), QKeySequence(Qt::CTRL | Qt::Key_0),
                   "zoom-original");
    connect(a, &QAction::triggered, view_, &GraphView::resetZoom);
    a = makeAction("view.fit", tr("&Fit to View"), QKeySequence(Qt::CTRL | Qt::Key_1),
                   "zoom-fit-best");
    connect(a, &QAction::triggered, view_, &GraphView::fitToView);
    a = makeAction("view.layout", tr("Automatic &Layout"), QKeySequence(Qt::CTRL | Qt::Key_L));
    connect(a, &QAction::triggered, this, [this] {
        doc_->autoLayout();
        view_->fitToView();
    });

    a = makeAction("run.startAll", tr("&Start All"), QKeySequence(Qt::Key_F5));
    a->setIcon(QIcon::fromTheme("media-playback-start", s->standardIcon(QStyle::SP_MediaPlay)));
    a->setToolTip(tr("Start every node of this document (F5)"));
    connect(a, &QAction::triggered, this, [this] {
        pushTopologyToRuntime();
        askMissingPasswords({});
        runtime_->startAll();
    });
    a = makeAction("run.stopAll", tr("S&top All"), QKeySequence(Qt::SHIFT | Qt::Key_F5));
    a->setIcon(QIcon::fromTheme("media-playback-stop", s->standardIcon(QStyle::SP_MediaStop)));
    a->setToolTip(tr("Stop every running node (Shift+F5)"));
    connect(a, &QAction::triggered, runtime_, &RuntimeSource::stopAll);
    a = makeAction("run.startSelected", tr("Start &Selected"), QKeySequence(Qt::Key_F6));
    a->setIcon(s->standardIcon(QStyle::SP_MediaSeekForward));
    a->setToolTip(tr("Start the selected nodes (F6)"));
    connect(a, &QAction::triggered, this, [this] {
        QStringList ids = scene_->selectedNodeIds();
        if (ids.isEmpty()) return;
        pushTopologyToRuntime();
        askMissingPasswords(ids);
        runtime_->start(ids);
    });
    a = makeAction("run.stopSelected", tr("Stop Se&lected"), QKeySequence(Qt::SHIFT | Qt::Key_F6));
    a->setIcon(s->standardIcon(QStyle::SP_MediaPause));
    a->setToolTip(tr("Stop the selected nodes (Shift+F6)"));
    connect(a, &QAction::triggered, this, [this] {
        QStringList ids = scene_->selectedNodeIds();
        if (!ids.isEmpty()) runtime_->stop(ids);
    });

    a = makeAction("run.connectRunners", tr("&Connect to Runners"),
                   QKeySequence(Qt::CTRL | Qt::Key_R));
    a->setIcon(QIcon::fromTheme("network-connect", s->standardIcon(QStyle::SP_DriveNetIcon)));
    a->setToolTip(
        tr("Attach to the runner of every host that names one (Hosts table): their "
           "nodes show the runner's state, and start, stop and deploy go to it "
           "(Ctrl+R)"));
    connect(a, &QAction::triggered, this, &MainWindow::connectRunners);
    a = makeAction("run.disconnectRunners", tr("&Disconnect from Runners"), {});
    a->setToolTip(
        tr("Detach from the runners (they keep running); this Studio runs every "
           "host's nodes again"));
    connect(a, &QAction::triggered, this, [this] { runtime_->disconnectRunners(); });
    a = makeAction("run.deploy", tr("&Deploy to Runners"), QKeySequence(Qt::CTRL | Qt::Key_D));
    a->setIcon(QIcon::fromTheme("document-send", s->standardIcon(QStyle::SP_ArrowUp)));
    a->setToolTip(
        tr("Send this document to every connected runner: each starts its new nodes, "
           "stops removed ones, restarts changed ones and leaves the rest running "
           "(Ctrl+D)"));
    connect(a, &QAction::triggered, this, &MainWindow::deployToRunners);
}

void MainWindow::createMenus() {
    QMenu* file = menuBar()->addMenu(tr("&File"));
    file->addAction(action("file.new"));
    file->addAction(action("file.open"));
    QMenu* examples = file->addMenu(tr("Open &Example"));
    for (const char* name : kExamples) {
        QAction* a = examples->addAction(QString::fromLatin1(name));
        connect(a, &QAction::triggered, this,
                [this, n = QString::fromLatin1(name)] { openExample(n); });
    }
    recentMenu_ = file->addMenu(tr("Open &Recent"));
    rebuildRecentMenu();
    file->addSeparator();
    file->addAction(action("file.save"));
    file->addAction(action("file.saveAs"));
    file->addSeparator();
    file->addAction(action("file.exportPng"));
    file->addAction(action("file.exportSvg"));
    file->addSeparator();
    file->addAction(action("file.quit"));

    QMenu* edit = menuBar()->addMenu(tr("&Edit"));
    for (const char* n : std::initializer_list<const char*>{
             "edit.undo", "edit.redo", nullptr, "edit.cut", "edit.copy", "edit.paste",
             "edit.duplicate", "edit.delete", nullptr, "edit.selectAll", "edit.quickAdd"}) {
        if (n)
            edit->addAction(action(n));
        else
            edit->addSeparator();
    }
    QMenu* view = menuBar()->addMenu(tr("&View"));
    for (const char* n :
         {"view.zoomIn", "view.zoomOut", "view.resetZoom", "view.fit", "view.layout"})
        view->addAction(action(n));
    view->addSeparator();
    viewMenu_ = view;

    QMenu* run = menuBar()->addMenu(tr("&Run"));
    for (const char* n : std::initializer_list<const char*>{
             "run.startAll", "run.stopAll", "run.startSelected", "run.stopSelected"})
        run->addAction(action(n));
    run->addSeparator();
    for (const char* n : {"run.connectRunners", "run.disconnectRunners", "run.deploy"})
        run->addAction(action(n));

    QMenu* help = menuBar()->addMenu(tr("&Help"));
    help->addAction(tr("&About zmqrpc Studio"), this, [this] {
        QMessageBox::about(this, tr("About zmqrpc Studio"),
                           tr("<b>zmqrpc Studio</b> %1<br>Draw, run and watch pyzmqrpc-compatible "
                              "topologies over ZeroMQ (libzmq %2).")
                               .arg(QString::fromLatin1(zmqrpc::version()),
                                    QString::fromLatin1(zmqrpc::libzmq_version())));
    });

    QToolBar* bar = addToolBar(tr("Main"));
    bar->setObjectName(QStringLiteral("mainToolBar"));
    bar->setToolButtonStyle(Qt::ToolButtonTextBesideIcon);
    for (const char* n : std::initializer_list<const char*>{
             "file.new", "file.open", "file.save", nullptr, "edit.undo", "edit.redo", nullptr,
             "run.startAll", "run.stopAll", "run.startSelected", "run.stopSelected", nullptr,
             "view.fit", "view.layout"}) {
        if (n)
            bar->addAction(action(n));
        else
            bar->addSeparator();
    }

    // The canvas's context menu: the run and edit actions that apply to the selection.
    view_->setContextMenuPolicy(Qt::ActionsContextMenu);
    for (const char* n : std::initializer_list<const char*>{
             "run.startSelected", "run.stopSelected", nullptr, "edit.cut", "edit.copy",
             "edit.paste", "edit.duplicate", "edit.delete", nullptr, "edit.quickAdd", "view.layout",
             "view.fit"}) {
        if (n) {
            view_->addAction(action(n));
        } else {
            auto* sep = new QAction(view_);
            sep->setSeparator(true);
            view_->addAction(sep);
        }
    }
}

void MainWindow::createDocks() {
    auto dock = [this](QWidget* w, const QString& title, const QString& name,
                       Qt::DockWidgetArea area) {
        auto* d = new QDockWidget(title, this);
        d->setObjectName(name);
        d->setWidget(w);
        addDockWidget(area, d);
        viewMenu_->addAction(d->toggleViewAction());
        return d;
    };
    palette_ = new PaletteWidget(this);
    inspector_ = new InspectorWidget(doc_, runtime_, secrets_, this);
    problems_ = new ProblemsWidget(doc_, this);
    dock(palette_, tr("Palette"), QStringLiteral("paletteDock"), Qt::LeftDockWidgetArea);
    dock(inspector_, tr("Inspector"), QStringLiteral("inspectorDock"), Qt::RightDockWidgetArea);
    QDockWidget* problemsDock =
        dock(problems_, tr("Problems"), QStringLiteral("problemsDock"), Qt::BottomDockWidgetArea);
    // The monitor half: tabs beside the problems list.
    console_ = new ConsoleWidget(doc_, runtime_, secrets_, this);
    eventLog_ = new EventLogWidget(runtime_, this);
    tap_ = new TapWidget(runtime_, this);
    // The console's form is tall; in a scroll area the bottom docks can stay short and leave
    // the canvas most of the window.
    auto* consoleScroll = new QScrollArea(this);
    consoleScroll->setWidget(console_);
    consoleScroll->setWidgetResizable(true);
    consoleScroll->setFrameShape(QFrame::NoFrame);
    QDockWidget* consoleDock =
        dock(consoleScroll, tr("Console"), QStringLiteral("consoleDock"), Qt::BottomDockWidgetArea);
    QDockWidget* eventsDock =
        dock(eventLog_, tr("Events"), QStringLiteral("eventsDock"), Qt::BottomDockWidgetArea);
    QDockWidget* tapDock =
        dock(tap_, tr("Tap"), QStringLiteral("tapDock"), Qt::BottomDockWidgetArea);
    heartbeats_ = new HeartbeatMonitorWidget(doc_, runtime_, this);
    alerts_ = new AlertsWidget(runtime_, this);
    alerts_->setDocument(doc_);
    QDockWidget* heartbeatsDock = dock(heartbeats_, tr("Heartbeats"),
                                       QStringLiteral("heartbeatsDock"), Qt::BottomDockWidgetArea);
    QDockWidget* alertsDock =
        dock(alerts_, tr("Alerts"), QStringLiteral("alertsDock"), Qt::BottomDockWidgetArea);
    tabifyDockWidget(problemsDock, eventsDock);
    tabifyDockWidget(eventsDock, consoleDock);
    tabifyDockWidget(consoleDock, tapDock);
    tabifyDockWidget(tapDock, heartbeatsDock);
    charts_ = new ChartsWidget(runtime_, this);
    QDockWidget* chartsDock =
        dock(charts_, tr("Charts"), QStringLiteral("chartsDock"), Qt::BottomDockWidgetArea);
    tabifyDockWidget(heartbeatsDock, alertsDock);
    tabifyDockWidget(alertsDock, chartsDock);
    problemsDock->raise();

    connect(heartbeats_, &HeartbeatMonitorWidget::linkActivated, this, [this](const QString& id) {
        scene_->selectOnly({}, {id});
        if (auto* item = scene_->linkItem(id)) view_->centerOn(item);
    });
    // An alert is news: the dock's title counts what is not acknowledged, the status bar says
    // what happened (and the desktop's tray, where there is one).
    connect(alerts_, &AlertsWidget::countChanged, this, [alertsDock, this] {
        const int n = alerts_->unacknowledgedCount();
        alertsDock->setWindowTitle(n ? tr("Alerts (%1)").arg(n) : tr("Alerts"));
    });
    connect(alerts_, &AlertsWidget::alertRaised, this, [this](const QString& text) {
        statusBar()->showMessage(tr("Alert: %1").arg(text), 15000);
        if (tray_) tray_->showMessage(tr("zmqrpc Studio alert"), text, QSystemTrayIcon::Warning);
    });
    if (QSystemTrayIcon::isSystemTrayAvailable()) {
        tray_ = new QSystemTrayIcon(windowIcon(), this);
        tray_->setToolTip(tr("zmqrpc Studio"));
        tray_->show();
    }

    connect(palette_, &PaletteWidget::addRequested, this, [this](zmqrpc::NodeKind kind) {
        QPointF at = view_->mapToScene(view_->viewport()->rect().center());
        QString id = doc_->addNode(kind, at);
        scene_->selectOnly({id}, {});
    });
    connect(problems_, &ProblemsWidget::activated, this,
            [this](const QString& node, const QString& link) {
                scene_->selectOnly(node.isEmpty() ? QStringList() : QStringList{node},
                                   link.isEmpty() ? QStringList() : QStringList{link});
                if (!node.isEmpty()) {
                    if (auto* item = scene_->nodeItem(node)) view_->centerOn(item);
                }
            });
}

void MainWindow::connectDocument() {
    connect(doc_, &EditorDocument::dirtyChanged, this, &MainWindow::updateTitle);
    connect(doc_, &EditorDocument::filePathChanged, this, &MainWindow::updateTitle);
    connect(doc_, &EditorDocument::documentReset, this, [this] {
        updateTitle();
        pushTimer_->start();
        QTimer::singleShot(0, view_, &GraphView::fitToView);
        inspector_->showDocument();
    });
    auto changed = [this] { pushTimer_->start(); };
    connect(doc_, &EditorDocument::nodeAdded, this, changed);
    connect(doc_, &EditorDocument::nodeRemoved, this, changed);
    connect(doc_, &EditorDocument::nodeChanged, this, changed);
    connect(doc_, &EditorDocument::linkAdded, this, changed);
    connect(doc_, &EditorDocument::linkRemoved, this, changed);
    connect(doc_, &EditorDocument::linkChanged, this, changed);
    connect(doc_, &EditorDocument::problemsChanged, this, &MainWindow::updateStatus);
    connect(scene_, &GraphScene::selectionIdsChanged, this, [this] {
        syncSelection();
        updateActions();
    });
    connect(runtime_, &RuntimeSource::snapshotUpdated, this, [this] {
        updateStatus();
        updateActions();
    });
    connect(runtime_, &RuntimeSource::busyChanged, this, &MainWindow::updateActions);
    connect(runtime_, &RuntimeHub::runnersChanged, this, [this] {
        updateStatus();
        updateActions();
    });
    connect(runtime_, &RuntimeHub::deployFinished, this, &MainWindow::deployReported);
    connect(runtime_, &RuntimeSource::operationFailed, this,
            [this](const QString& message) { statusBar()->showMessage(message, 10000); });
    connect(secrets_, &SecretStore::stored, this,
            [this] { runtime_->setSecrets(currentSecrets()); });
    connect(scene_, &GraphScene::linkRefused, this,
            [this](const QString& reason, QPointF) { statusBar()->showMessage(reason, 6000); });
    runtime_->setSecrets(currentSecrets());
}

zmqrpc::Secrets MainWindow::currentSecrets() const {
    zmqrpc::Secrets secrets = secrets_->secrets();
    for (auto it = sessionPasswords_.begin(); it != sessionPasswords_.end(); ++it)
        secrets.known[it.key().toStdString()] = it.value().toStdString();
    return secrets;
}

void MainWindow::askMissingPasswords(const QStringList& ids) {
    // Like `zmqrpc run` from a terminal: a password the nodes about to start need but nobody
    // has given is asked for once, kept for this session only (the inspector stores it for
    // good), and handed to the runtime before the start. A missing CURVE secret key cannot be
    // typed in: a server's missing key file is offered to be generated now (its public key goes
    // into the document), every other missing key is named before the start.
    zmqrpc::Secrets secrets = currentSecrets();
    QStringList missingKeys;
    bool documentChanged = false;
    const zmqrpc::Topology topology = doc_->topology();
    for (const auto& node : topology.nodes()) {
        if (node.kind == zmqrpc::NodeKind::External) continue;
        const QString nodeId = QString::fromStdString(node.id);
        if (!ids.isEmpty() && !ids.contains(nodeId)) continue;
        for (const auto& spec : zmqrpc::property_specs(node.kind)) {
            if (spec.type != zmqrpc::PropertyType::Security) continue;
            auto value = node.property(spec.key);
            if (value.is_null()) continue;
            zmqrpc::SecurityRef security;
            try {
                security = zmqrpc::SecurityRef::from_json(value);
            } catch (const std::exception&) {
                continue;  // the problems list says what is wrong with it
            }
            if (const zmqrpc::CurveRef* curve = security.curve()) {
                const zmqrpc::KeyRef& key = curve->secret_key;
                if (key.empty() || secrets.has(key)) continue;
                bool binds = false;
                for (const auto& port : zmqrpc::port_specs(node.kind, node.properties))
                    binds |=
                        port.binds && zmqrpc::security_property(node.kind, port.name) == spec.key;
                const QString name = QString::fromStdString(key.key);
                const QString where = QString::fromStdString(key.source_text());
                if (binds && key.source == zmqrpc::CredentialRef::Source::File &&
                    !name.contains(QLatin1Char('/'))) {
                    const QString dir = QString::fromStdString(secrets.keys_dir.string());
                    const auto answer =
                        ask(tr("CURVE key missing"),
                            tr("%1 serves with the CURVE key pair '%2', which is not in %3.\n\n"
                               "Generate key pair %2 now?")
                                .arg(nodeId, name, dir),
                            QMessageBox::Yes | QMessageBox::No);
                    if (answer == QMessageBox::Yes) {
                        try {
                            const zmqrpc::CurveKeyPair keys = zmqrpc::generate_curve_key_pair();
                            zmqrpc::write_curve_key_pair(secrets.keys_dir, key.key, keys, false);
                            // Connecting nodes (on other hosts too) learn the new public key.
                            zmqrpc::CurveRef updated = *curve;
                            updated.public_key = keys.public_key;
                            QString error;
                            if (doc_->setProperty(nodeId, QString::fromStdString(spec.key),
                                                  zmqrpc::SecurityRef(updated).to_json(), &error))
                                documentChanged = true;
                            else
                                missingKeys << tr("%1: %2").arg(nodeId, error);
                        } catch (const std::exception& e) {
                            missingKeys << tr("%1: %2").arg(nodeId, QString::fromUtf8(e.what()));
                        }
                    }
                    continue;  // declined: that node fails with the reason; the rest runs
                }
                QString why;
                try {
                    secrets.resolve_key(key);
                } catch (const std::exception& e) {
                    why = QString::fromUtf8(e.what());
                }
                missingKeys << tr("%1 (%2): %3")
                                   .arg(nodeId, where,
                                        key.source == zmqrpc::CredentialRef::Source::Keychain
                                            ? tr("the keychain has no secret key '%1' here; "
                                                 "generate one in the inspector")
                                                  .arg(name)
                                            : why);
                continue;
            }
            const zmqrpc::CredentialRef* plain = security.plain();
            if (plain == nullptr) continue;
            const zmqrpc::CredentialRef& ref = *plain;
            if (ref.empty() || secrets.has(ref)) continue;
            std::optional<QString> password;
            if (passwordPrompt_) {
                password = passwordPrompt_(ref);
            } else {
                bool ok = false;
                QString text =
                    QInputDialog::getText(this, tr("Password needed"),
                                          tr("Password for user '%1' (%2 is not available):")
                                              .arg(QString::fromStdString(ref.username),
                                                   QString::fromStdString(ref.source_text())),
                                          QLineEdit::Password, QString(), &ok);
                if (ok) password = text;
            }
            if (!password) continue;  // that node will fail with the reason; the rest runs
            const QString key = QString::fromStdString(ref.source_text());
            sessionPasswords_.insert(key, *password);
            secrets.known[key.toStdString()] = password->toStdString();
        }
    }
    if (!missingKeys.isEmpty()) {
        ask(tr("CURVE key missing"),
            tr("These nodes cannot start without their secret key:\n\n%1")
                .arg(missingKeys.join(QLatin1Char('\n'))),
            QMessageBox::Ok);
    }
    if (documentChanged) pushTopologyToRuntime();
    runtime_->setSecrets(secrets);
}

void MainWindow::pushTopologyToRuntime() {
    pushTimer_->stop();
    runtime_->setTopology(doc_->topology());
}

void MainWindow::connectRunners() {
    pushTopologyToRuntime();
    const QStringList hosts = runtime_->connectRunners();
    statusBar()->showMessage(hosts.isEmpty()
                                 ? tr("No runner attached: name one in the Hosts table")
                                 : tr("Attached to the runners of %1").arg(hosts.join(", ")),
                             8000);
}

void MainWindow::deployToRunners() {
    pushTopologyToRuntime();
    deployLines_.clear();
    deployWaiting_ = runtime_->runnerHosts();
    if (runtime_->deploy() == 0) {
        deployWaiting_.clear();
        return;  // operationFailed said why
    }
    statusBar()->showMessage(tr("Deploying to %1 …").arg(deployWaiting_.join(", ")), 8000);
}

void MainWindow::deployReported(const RunnerDeployReport& report) {
    if (!deployWaiting_.removeOne(report.host)) return;  // not ours (an old deploy)
    QString line = tr("%1: %2").arg(
        report.host, report.refused ? tr("refused: %1").arg(report.message) : report.message);
    for (const auto& n : report.nodes) {
        if (n.outcome == zmqrpc::DeployResult::Outcome::Unchanged) continue;
        line +=
            QStringLiteral("\n    %1 %2%3")
                .arg(QString::fromStdString(n.node), QString::fromLatin1(to_string(n.outcome)),
                     n.reason.empty() ? QString()
                                      : QStringLiteral(": ") + QString::fromStdString(n.reason));
    }
    deployLines_ << line;
    if (!deployWaiting_.isEmpty()) return;
    bool bad = false;
    for (const auto& [host, r] : runtime_->deployReports().toStdMap())
        bad = bad || r.refused || r.failed() > 0;
    // Not modal: the canvas keeps updating (and marks failed nodes) while it is open.
    auto* box = findChild<QMessageBox*>(QStringLiteral("deployResults"));
    if (box == nullptr) {
        box = new QMessageBox(this);
        box->setObjectName(QStringLiteral("deployResults"));
        box->setWindowTitle(tr("Deploy"));
        box->setStandardButtons(QMessageBox::Close);
        box->setModal(false);
    }
    box->setIcon(bad ? QMessageBox::Warning : QMessageBox::Information);
    box->setText(bad ? tr("The deploy did not apply everywhere.") : tr("Deployed."));
    box->setInformativeText(deployLines_.join(QLatin1Char('\n')));
    box->show();
    statusBar()->showMessage(bad ? tr("Deploy: not applied everywhere (see the results)")
                                 : tr("Deployed to every runner"),
                             8000);
}

void MainWindow::syncSelection() {
    const QStringList nodes = scene_->selectedNodeIds();
    const QStringList links = scene_->selectedLinkIds();
    inspector_->showSelection(nodes, links);
    charts_->setSelectedNodes(nodes);
    // The monitor docks follow a single selection: a server becomes the console's target, a
    // tap node or a PUB->SUB link is what the tap view shows.
    if (nodes.size() == 1 && links.isEmpty()) {
        const zmqrpc::Node* node = doc_->topology().find_node(nodes.front().toStdString());
        if (!node) return;
        if (node->kind == zmqrpc::NodeKind::Tap && runtime_->isActive(nodes.front())) {
            tap_->watchTap(nodes.front());
        } else {
            for (const auto& port : zmqrpc::port_specs(node->kind, node->properties)) {
                if (port.socket == zmqrpc::SocketType::Rep) console_->setTargetNode(nodes.front());
            }
        }
    } else if (links.size() == 1 && nodes.isEmpty()) {
        const zmqrpc::Link* link = doc_->topology().find_link(links.front().toStdString());
        if (!link || link->from.port != "pub") return;
        std::string endpoint;
        if (const auto* status = runtime_->snapshot().link(link->id)) endpoint = status->endpoint;
        if (endpoint.empty() || endpoint.find(":*") != std::string::npos)
            endpoint = doc_->topology().connect_address(*link);
        // The subscriber's address is the one its own host uses (127.0.0.1 when the publisher
        // runs beside it); this Studio reaches a publisher a runner runs at its host's address.
        if (!endpoint.empty() && runtime_->nodeAddress(QString::fromStdString(link->from.node)) !=
                                     QStringLiteral("127.0.0.1")) {
            try {
                zmqrpc::Endpoint parsed = zmqrpc::parse_endpoint(endpoint, true);
                if (parsed.transport == zmqrpc::Endpoint::Transport::Tcp) {
                    parsed.host = runtime_->nodeAddress(QString::fromStdString(link->from.node))
                                      .toStdString();
                    endpoint = parsed.str();
                }
            } catch (const std::exception&) {
            }
        }
        if (endpoint.empty() || endpoint.find(":*") != std::string::npos) return;
        // The tap presents what the link's subscriber presents.
        zmqrpc::Security security;
        const zmqrpc::Node* sub = doc_->topology().find_node(link->to.node);
        const zmqrpc::Node* pub = doc_->topology().find_node(link->from.node);
        if (sub != nullptr && pub != nullptr) {
            try {
                security = clientSecurity(
                    sub->property(zmqrpc::security_property(sub->kind, link->to.port)),
                    pub->property(zmqrpc::security_property(pub->kind, link->from.port)),
                    currentSecrets(), pub->id);
            } catch (const std::exception& e) {
                // The tap connects without; the publisher refuses it and the tap says so.
                statusBar()->showMessage(tr("Tap: %1").arg(QString::fromUtf8(e.what())), 8000);
            }
        }
        tap_->watchEndpoint(QString::fromStdString(endpoint), security);
    }
}

void MainWindow::updateTitle() {
    QString name = doc_->displayName();
    if (doc_->filePath().isEmpty() && !doc_->topology().name().empty())
        name = QString::fromStdString(doc_->topology().name());
    setWindowTitle(tr("%1[*] — zmqrpc Studio").arg(name));
    setWindowModified(doc_->isDirty());
}

void MainWindow::updateActions() {
    const bool hasSelection = !scene_->selectedNodeIds().isEmpty();
    action("run.startSelected")->setEnabled(hasSelection);
    action("run.stopSelected")->setEnabled(hasSelection);
    action("edit.copy")->setEnabled(hasSelection);
    action("edit.cut")->setEnabled(hasSelection || !scene_->selectedLinkIds().isEmpty());
    action("edit.duplicate")->setEnabled(hasSelection);
    action("edit.delete")->setEnabled(hasSelection || !scene_->selectedLinkIds().isEmpty());
    bool anyRunner = false;
    for (const auto& h : doc_->topology().hosts())
        anyRunner = anyRunner || !h.runner.empty();
    action("run.connectRunners")->setEnabled(anyRunner);
    action("run.disconnectRunners")->setEnabled(runtime_->attached());
    action("run.deploy")->setEnabled(!runtime_->runnerHosts().isEmpty());
}

void MainWindow::updateStatus() {
    int errors = 0, warnings = 0;
    for (const auto& p : doc_->problems())
        (p.severity == zmqrpc::Severity::Error ? errors : warnings)++;
    problemLabel_->setText(errors + warnings == 0
                               ? tr("No problems")
                               : tr("%1 error(s), %2 warning(s)").arg(errors).arg(warnings));
    // The document's nodes, from the first screen on; their states once the runtime has them.
    // External nodes are never launched, nodes of another host run there: neither counts.
    int running = 0, failed = 0, waiting = 0, unknown = 0, total = 0;
    const zmqrpc::RuntimeSnapshot& snapshot = runtime_->snapshot();
    for (const auto& node : doc_->topology().nodes()) {
        if (node.kind == zmqrpc::NodeKind::External) continue;
        const zmqrpc::NodeStatus* status = snapshot.node(node.id);
        const zmqrpc::NodeState state = status ? status->state : zmqrpc::NodeState::Stopped;
        if (state == zmqrpc::NodeState::External || state == zmqrpc::NodeState::Remote) continue;
        ++total;
        if (state == zmqrpc::NodeState::Running) ++running;
        if (state == zmqrpc::NodeState::Failed) ++failed;
        if (state == zmqrpc::NodeState::Waiting) ++waiting;
        if (state == zmqrpc::NodeState::Unknown) ++unknown;
    }
    QString text = total == 1 ? tr("%1 of 1 node running").arg(running)
                              : tr("%1 of %2 nodes running").arg(running).arg(total);
    if (waiting) text += tr(", %1 waiting").arg(waiting);
    if (failed) text += tr(", %1 failed").arg(failed);
    if (unknown) text += tr(", %1 unknown").arg(unknown);
    const QStringList hosts = runtime_->runnerHosts();
    if (!hosts.isEmpty()) {
        QStringList silent;
        for (const QString& h : hosts) {
            if (runtime_->runner(h)->silent()) silent << h;
        }
        text += silent.isEmpty()
                    ? tr(" · %n runner(s) connected", nullptr, static_cast<int>(hosts.size()))
                    : tr(" · runner(s) silent: %1").arg(silent.join(QStringLiteral(", ")));
    }
    if (runtime_->isBusy()) text += tr(" …");
    runLabel_->setText(text);
}

// ---------------------------------------------------------------------------------------------
// Files

QMessageBox::StandardButton MainWindow::ask(const QString& title, const QString& text,
                                            QMessageBox::StandardButtons buttons) {
    if (prompt_) return prompt_(title, text, buttons);
    return QMessageBox::question(this, title, text, buttons);
}

QString MainWindow::choose(const QString& title, const QString& path, const QString& filter,
                           bool saving) {
    if (chooseFile_) return chooseFile_(title, path, filter, saving);
    return saving ? QFileDialog::getSaveFileName(this, title, path, filter)
                  : QFileDialog::getOpenFileName(this, title, path, filter);
}

bool MainWindow::maybeSave() {
    if (!doc_->isDirty()) return true;
    auto answer = ask(tr("Unsaved changes"),
                      tr("%1 has unsaved changes. Save them?").arg(doc_->displayName()),
                      QMessageBox::Save | QMessageBox::Discard | QMessageBox::Cancel);
    if (answer == QMessageBox::Cancel) return false;
    if (answer == QMessageBox::Save) return save();
    return true;
}

bool MainWindow::openFile(const QString& path) {
    if (!maybeSave()) return false;
    QString error;
    if (!doc_->load(path, &error)) {
        if (prompt_) {
            prompt_(tr("Cannot open"), error, QMessageBox::Ok);
        } else {
            // Every located error of the file, one per line, under "Show Details".
            QMessageBox box(QMessageBox::Warning, tr("Cannot open"), tr("Cannot open %1").arg(path),
                            QMessageBox::Ok, this);
            box.setDetailedText(error);
            box.exec();
        }
        statusBar()->showMessage(error.section('\n', 0, 0), 10000);
        return false;
    }
    addRecent(QFileInfo(path).absoluteFilePath());
    QFile::remove(recoveryPath());
    return true;
}

bool MainWindow::openExample(const QString& name) {
    if (!maybeSave()) return false;
    QFile file(QStringLiteral(":/studio/examples/%1.json").arg(name));
    if (!file.open(QIODevice::ReadOnly)) return false;
    try {
        doc_->reset(zmqrpc::load_topology(file.readAll().toStdString()), QString(), false);
    } catch (const std::exception& e) {
        statusBar()->showMessage(QString::fromStdString(e.what()), 10000);
        return false;
    }
    return true;
}

bool MainWindow::save() {
    if (doc_->filePath().isEmpty()) return saveAs();
    QString error;
    if (!doc_->save(&error)) {
        ask(tr("Cannot save"), error, QMessageBox::Ok);
        return false;
    }
    QFile::remove(recoveryPath());
    statusBar()->showMessage(tr("Saved %1").arg(doc_->filePath()), 4000);
    return true;
}

bool MainWindow::saveAs() {
    QString suggested = doc_->filePath();
    if (suggested.isEmpty()) {
        QString base = doc_->topology().name().empty()
                           ? QStringLiteral("topology")
                           : QString::fromStdString(doc_->topology().name())
                                 .toLower()
                                 .replace(QLatin1Char(' '), QLatin1Char('-'));
        suggested = QDir::home().filePath(base + QStringLiteral(".json"));
    }
    QString path = choose(tr("Save topology"), suggested, tr("Topologies (*.json)"), true);
    if (path.isEmpty()) return false;
    if (QFileInfo(path).suffix().isEmpty()) path += QStringLiteral(".json");
    QString error;
    if (!doc_->saveAs(path, &error)) {
        ask(tr("Cannot save"), error, QMessageBox::Ok);
        return false;
    }
    addRecent(QFileInfo(path).absoluteFilePath());
    QFile::remove(recoveryPath());
    statusBar()->showMessage(tr("Saved %1").arg(path), 4000);
    return true;
}

QStringList MainWindow::recentFiles() const {
    return QSettings().value(QStringLiteral("recentFiles")).toStringList();
}

void MainWindow::addRecent(const QString& path) {
    QStringList list = recentFiles();
    list.removeAll(path);
    list.prepend(path);
    while (list.size() > kMaxRecent)
        list.removeLast();
    QSettings().setValue(QStringLiteral("recentFiles"), list);
    rebuildRecentMenu();
}

void MainWindow::rebuildRecentMenu() {
    recentMenu_->clear();
    const QStringList list = recentFiles();
    for (const auto& path : list) {
        QAction* a = recentMenu_->addAction(QFileInfo(path).fileName());
        a->setToolTip(path);
        a->setStatusTip(path);
        connect(a, &QAction::triggered, this, [this, path] { openFile(path); });
    }
    recentMenu_->setEnabled(!list.isEmpty());
}

void MainWindow::exportImage(bool svg) {
    QString base = QFileInfo(doc_->filePath()).completeBaseName();
    if (base.isEmpty()) base = QStringLiteral("topology");
    QString path = choose(svg ? tr("Export as SVG") : tr("Export as PNG"),
                          QDir::home().filePath(base + (svg ? ".svg" : ".png")),
                          svg ? tr("SVG images (*.svg)") : tr("PNG images (*.png)"), true);
    if (path.isEmpty()) return;
    if (svg)
        scene_->renderToSvg(path);
    else
        scene_->renderToPng(path);
    statusBar()->showMessage(tr("Exported %1").arg(path), 4000);
}

QString MainWindow::recoveryPath() {
    QString dir = QStandardPaths::writableLocation(QStandardPaths::AppDataLocation);
    QDir().mkpath(dir);
    return QDir(dir).filePath(QStringLiteral("recovery.json"));
}

void MainWindow::writeRecovery() {
    // The unsaved document and where it came from, written atomically.
    QJsonObject meta;
    meta.insert(QStringLiteral("path"), doc_->filePath());
    meta.insert(QStringLiteral("topology"),
                QString::fromStdString(zmqrpc::save_topology(doc_->topology())));
    QSaveFile file(recoveryPath());
    if (!file.open(QIODevice::WriteOnly)) return;
    file.write(QJsonDocument(meta).toJson(QJsonDocument::Compact));
    file.commit();
}

bool MainWindow::offerRecovery() {
    QFile file(recoveryPath());
    if (!file.open(QIODevice::ReadOnly)) return false;
    QJsonObject meta = QJsonDocument::fromJson(file.readAll()).object();
    file.close();
    QString original = meta.value(QStringLiteral("path")).toString();
    zmqrpc::Topology topology;
    try {
        topology =
            zmqrpc::load_topology(meta.value(QStringLiteral("topology")).toString().toStdString());
    } catch (const std::exception&) {
        QFile::remove(recoveryPath());
        return false;
    }
    auto answer = ask(tr("Recover unsaved work"),
                      tr("zmqrpc Studio did not close cleanly last time. Recover the unsaved "
                         "changes to %1?")
                          .arg(original.isEmpty() ? tr("an untitled topology") : original),
                      QMessageBox::Yes | QMessageBox::No);
    if (answer != QMessageBox::Yes) {
        QFile::remove(recoveryPath());
        return false;
    }
    doc_->reset(std::move(topology), original, true);
    return true;
}

void MainWindow::showEvent(QShowEvent* event) {
    QMainWindow::showEvent(event);
    if (firstLayout_) {
        firstLayout_ = false;
        applyFirstLayout();
    }
}

void MainWindow::applyFirstLayout() {
    // An inspector wide enough for endpoints.
    resizeDocks({findChild<QDockWidget*>(QStringLiteral("paletteDock")),
                 findChild<QDockWidget*>(QStringLiteral("inspectorDock"))},
                {250, 380}, Qt::Horizontal);
    auto* bottom = findChild<QDockWidget*>(QStringLiteral("chartsDock"));
    const int share = static_cast<int>(height() * 0.36);
    resizeDocks({bottom}, {std::max(share, bottom->minimumSizeHint().height())}, Qt::Vertical);
    // The charts are what a first look at a running topology is for; problems show on the
    // canvas and in the status bar meanwhile.
    bottom->raise();
}

void MainWindow::closeEvent(QCloseEvent* event) {
    if (!maybeSave()) {
        event->ignore();
        return;
    }
    QSettings settings;
    settings.setValue(QStringLiteral("window/geometry"), saveGeometry());
    settings.setValue(QStringLiteral("window/state"), saveState(kWindowStateVersion));
    QFile::remove(recoveryPath());
    recoveryTimer_->stop();
    event->accept();
}

// ---------------------------------------------------------------------------------------------

int runStudio(QApplication& app) {
    QCommandLineParser parser;
    parser.setApplicationDescription(
        QStringLiteral("zmqrpc Studio: draw, run and watch ZeroMQ RPC topologies"));
    parser.addHelpOption();
    parser.addVersionOption();
    parser.addPositionalArgument(QStringLiteral("file"), QStringLiteral("Topology to open"),
                                 QStringLiteral("[file]"));
    QCommandLineOption start(QStringLiteral("start"),
                             QStringLiteral("Start every node once the topology is open"));
    parser.addOption(start);
    QCommandLineOption example(
        QStringLiteral("example"),
        QStringLiteral("Open a bundled example as a new document (sampler-to-cloud, "
                       "buffered-bridge, rpc-fanout)"),
        QStringLiteral("name"));
    parser.addOption(example);
    QApplication::setApplicationVersion(QString::fromLatin1(zmqrpc::version()));
    parser.process(app);

    MainWindow window;
    window.show();
    const QStringList files = parser.positionalArguments();
    QSettings settings;
    if (parser.isSet(example)) {
        if (!window.openExample(parser.value(example))) {
            std::fprintf(stderr, "zmqrpc-studio: no example '%s'\n",
                         qPrintable(parser.value(example)));
            return 64;
        }
    } else if (!files.isEmpty()) {
        window.openFile(files.front());
    } else if (!window.offerRecovery()) {
        // First start: the bundled example; later: the last file, if it is still there.
        QStringList recent = window.recentFiles();
        if (!settings.value(QStringLiteral("started")).toBool() || recent.isEmpty() ||
            !QFileInfo::exists(recent.front()) || !window.openFile(recent.front()))
            window.openExample(QStringLiteral("sampler-to-cloud"));
    }
    settings.setValue(QStringLiteral("started"), true);
    if (parser.isSet(start)) window.action(QStringLiteral("run.startAll"))->trigger();
    return app.exec();
}

}  // namespace studio
