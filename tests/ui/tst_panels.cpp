// The Studio's side panels driven through their real widgets, offscreen: the palette (kinds,
// filter, drag payload, add), the inspector (generic property editors, validation as you type,
// undo and merging, credentials into the secret store, read-only while running, link and
// document forms) and the problems list.
#include "document/editor_document.hpp"
#include "panels/inspector_widget.hpp"
#include "panels/kind_icons.hpp"
#include "panels/palette_widget.hpp"
#include "panels/problems_widget.hpp"
#include "panels/property_editors.hpp"
#include "panels/runner_dialog.hpp"
#include "runtime/runtime_hub.hpp"
#include "runtime/secret_store.hpp"

#include <zmqrpc/proxy.hpp>
#include <zmqrpc/secrets.hpp>
#include <zmqrpc/security.hpp>
#include <zmqrpc/topology.hpp>

#include <QAbstractButton>
#include <QAbstractItemModel>
#include <QApplication>
#include <QCheckBox>
#include <QClipboard>
#include <QComboBox>
#include <QDir>
#include <QDoubleSpinBox>
#include <QFile>
#include <QHeaderView>
#include <QLabel>
#include <QLineEdit>
#include <QListWidget>
#include <QMimeData>
#include <QPlainTextEdit>
#include <QPushButton>
#include <QScopeGuard>
#include <QSignalSpy>
#include <QSpinBox>
#include <QStandardItemModel>
#include <QTableWidget>
#include <QTemporaryDir>
#include <QTest>
#include <QToolButton>
#include <QTreeWidget>

#include <memory>

using nlohmann::json;
using studio::EditorDocument;
using studio::InspectorWidget;
using studio::PaletteWidget;
using studio::ProblemsWidget;
using studio::PropertyEditor;
using zmqrpc::NodeKind;

// QCOMPARE cannot take nlohmann::json (its qfloat16 overload trips over json's conversions).
#define COMPARE_JSON(actual, expected)                                                          \
    do {                                                                                        \
        const json a_ = (actual);                                                               \
        const json e_ = (expected);                                                             \
        QVERIFY2(a_ == e_, qPrintable(QString::fromStdString(a_.dump() + " != " + e_.dump()))); \
    } while (false)

namespace {

QString examplePath(const char* name) {
    return QStringLiteral(ZMQRPC_EXAMPLES_DIR "/") + QString::fromLatin1(name);
}

void saveScreenshot(QWidget* widget, const QString& name) {
    // Let pending layout requests settle (they cascade up one parent per turn).
    for (int i = 0; i < 5; ++i)
        QCoreApplication::processEvents();
    QDir().mkpath(QStringLiteral(ZMQRPC_SCREENSHOT_DIR));
    const QString path = QStringLiteral(ZMQRPC_SCREENSHOT_DIR "/") + name + QStringLiteral(".png");
    QVERIFY2(widget->grab().save(path), qPrintable(path));
    qInfo("screenshot: %s", qPrintable(path));
}

json nodeProperty(const EditorDocument& doc, const char* node, const char* key) {
    const zmqrpc::Node* n = doc.topology().find_node(node);
    return n != nullptr && n->properties.contains(key) ? n->properties[key] : json();
}

// Replaces the text of a line edit the way a user does: click, select all, type, Enter.
void typeInto(QLineEdit* edit, const QString& text, bool enter = true) {
    edit->setFocus();
    QTest::keyClick(edit, Qt::Key_A, Qt::ControlModifier);
    QTest::keyClick(edit, Qt::Key_Backspace);
    QTest::keyClicks(edit, text);
    if (enter) QTest::keyClick(edit, Qt::Key_Return);
}

void typeInto(QAbstractSpinBox* spin, const QString& text) {
    spin->setFocus();
    QTest::keyClick(spin, Qt::Key_A, Qt::ControlModifier);
    QTest::keyClick(spin, Qt::Key_Backspace);
    QTest::keyClicks(spin, text);
    QTest::keyClick(spin, Qt::Key_Return);
}

// A window the size of a dock, shown and active so that focus changes happen as for a user.
void showAsDock(QWidget* widget, QSize size = {380, 760}) {
    widget->resize(size);
    widget->show();
    QApplication::setActiveWindow(widget);
    QVERIFY(QTest::qWaitForWindowExposed(widget));
}

}  // namespace

class TestPanels : public QObject {
    Q_OBJECT

  private slots:
    void initTestCase();
    void cleanup();

    void kindIconsAndColours();
    void paletteListsEveryKind();
    void paletteFilters();
    void paletteDragPayloadAndAdd();

    void inspectorHasAnEditorPerSpec();
    void endpointEditIsUndoableAndMerges();
    void invalidEndpointIsNotCommitted();
    void outOfRangeNumberIsNotCommitted();
    void uplinkWindowAndStore();
    void jsonEditorRefusesInvalidJson();
    void resetToDefault();
    void refreshKeepsTheCaret();
    void credentialsGoToTheSecretStore();
    void curveKeyPairIntoAKeyFile();
    void curveKeyPairIntoTheKeychain();
    void readOnlyWhileRunning();
    void linkFormEditsHeartbeat();
    void linkEncryptWithCurve();
    void documentFormEditsHosts();
    void hostsTableEditsRunner();
    void selectionSummary();

    void problemsListAndActivation();

  private:
    std::unique_ptr<EditorDocument> loadExample();

    QTemporaryDir tmp_;
};

void TestPanels::initTestCase() {
    QVERIFY(tmp_.isValid());
    // No keychain in CI: the secret store writes to a credentials file in the temp dir.
    qputenv("ZMQRPC_STUDIO_NO_KEYCHAIN", "1");
    qputenv("ZMQRPC_CREDENTIALS", QFile::encodeName(tmp_.filePath("credentials.json")));
}

void TestPanels::cleanup() {
    const auto windows = QApplication::topLevelWidgets();
    for (QWidget* w : windows)
        w->close();
}

std::unique_ptr<EditorDocument> TestPanels::loadExample() {
    auto doc = std::make_unique<EditorDocument>();
    QString error;
    if (!doc->load(examplePath("sampler-to-cloud.json"), &error)) {
        qWarning("%s", qPrintable(error));
        return nullptr;
    }
    return doc;
}

// ---------------------------------------------------------------------------------------------
// Icons and palette

void TestPanels::kindIconsAndColours() {
    QSet<QRgb> colours;
    for (NodeKind kind : zmqrpc::all_node_kinds()) {
        const QIcon icon = studio::kindIcon(kind);
        QVERIFY(!icon.isNull());
        const QImage image = icon.pixmap(32, 32).toImage();
        // Rendered from the SVG: the left edge has the kind's colour, not a blank.
        QCOMPARE(QColor(image.pixel(3, 10)).rgb(), studio::kindColor(kind).rgb());
        colours.insert(studio::kindColor(kind).rgb());
    }
    QCOMPARE(colours.size(), qsizetype(zmqrpc::all_node_kinds().size()));
}

void TestPanels::paletteListsEveryKind() {
    PaletteWidget palette;
    showAsDock(&palette, {300, 720});
    QListWidget* list = palette.listWidget();
    QCOMPARE(list->count(), 9);
    for (int row = 0; row < list->count(); ++row) {
        const QListWidgetItem* item = list->item(row);
        const NodeKind kind = zmqrpc::all_node_kinds()[static_cast<std::size_t>(row)];
        QCOMPARE(item->text(), QString::fromUtf8(zmqrpc::display_name(kind)));
        QVERIFY(!item->icon().isNull());
        QVERIFY(item->toolTip().contains(QString::fromUtf8(zmqrpc::description(kind))));
    }
    QCOMPARE(palette.visibleKinds().size(), 9);
    saveScreenshot(&palette, QStringLiteral("panels-palette"));
}

void TestPanels::paletteFilters() {
    PaletteWidget palette;
    showAsDock(&palette, {300, 600});
    QTest::keyClicks(palette.searchField(), QStringLiteral("proxy"));
    const QList<NodeKind> proxies = {NodeKind::Sub2Req, NodeKind::Sub2Pub, NodeKind::Rep2Pub,
                                     NodeKind::Rep2Req, NodeKind::BufferedRep2Req};
    QCOMPARE(palette.visibleKinds(), proxies);
    saveScreenshot(&palette, QStringLiteral("panels-palette-filtered"));

    // The kind string matches as well; Enter in the search field adds the entry on top.
    QSignalSpy added(&palette, &PaletteWidget::addRequested);
    typeInto(palette.searchField(), QStringLiteral("TAP"));
    QCOMPARE(palette.visibleKinds(), QList<NodeKind>{NodeKind::Tap});
    QCOMPARE(added.size(), 1);
    QCOMPARE(added.at(0).at(0).value<NodeKind>(), NodeKind::Tap);

    typeInto(palette.searchField(), QStringLiteral("no such kind"), false);
    QVERIFY(palette.visibleKinds().isEmpty());
    typeInto(palette.searchField(), QString(), false);
    QCOMPARE(palette.visibleKinds().size(), 9);
}

void TestPanels::paletteDragPayloadAndAdd() {
    PaletteWidget palette;
    showAsDock(&palette, {300, 720});
    for (NodeKind kind : zmqrpc::all_node_kinds()) {
        std::unique_ptr<QMimeData> mime(PaletteWidget::mimeDataFor(kind));
        QVERIFY(mime->hasFormat(QStringLiteral("application/x-zmqrpc-node-kind")));
        QCOMPARE(mime->data(QStringLiteral("application/x-zmqrpc-node-kind")),
                 QByteArray(zmqrpc::to_string(kind)));
        QCOMPARE(PaletteWidget::kindFromMimeData(mime.get()), std::optional<NodeKind>(kind));
    }
    // What QDrag gets from the list's model when an entry is dragged.
    QListWidget* list = palette.listWidget();
    QAbstractItemModel* model = list->model();
    std::unique_ptr<QMimeData> dragged(model->mimeData({model->index(2, 0)}));
    QVERIFY(dragged);
    QCOMPARE(dragged->data(QString::fromLatin1(PaletteWidget::kMimeType)), QByteArray("sub2req"));
    QVERIFY(model->flags(model->index(2, 0)) & Qt::ItemIsDragEnabled);
    QVERIFY(list->dragEnabled());

    QSignalSpy added(&palette, &PaletteWidget::addRequested);
    const QRect tapRect = list->visualItemRect(list->item(7));
    // A user's double-click: a click, then the double-click event.
    QTest::mouseClick(list->viewport(), Qt::LeftButton, {}, tapRect.center());
    QTest::mouseDClick(list->viewport(), Qt::LeftButton, {}, tapRect.center());
    QCOMPARE(added.size(), 1);
    QCOMPARE(added.at(0).at(0).value<NodeKind>(), NodeKind::Tap);

    list->setFocus();
    list->setCurrentRow(0);
    QTest::keyClick(list, Qt::Key_Return);
    QCOMPARE(added.size(), 2);
    QCOMPARE(added.at(1).at(0).value<NodeKind>(), NodeKind::Sampler);
}

// ---------------------------------------------------------------------------------------------
// Inspector: node form

void TestPanels::inspectorHasAnEditorPerSpec() {
    auto doc = loadExample();
    QVERIFY(doc);
    studio::SecretStore secrets;
    InspectorWidget inspector(doc.get(), nullptr, &secrets);
    showAsDock(&inspector);
    for (const zmqrpc::Node& node : doc->topology().nodes()) {
        inspector.showNode(QString::fromStdString(node.id));
        QCOMPARE(inspector.mode(), InspectorWidget::Mode::Node);
        const auto& specs = zmqrpc::property_specs(node.kind);
        QCOMPARE(inspector.editors().size(), qsizetype(specs.size()));
        for (const zmqrpc::PropertySpec& spec : specs) {
            const QString key = QString::fromStdString(spec.key);
            PropertyEditor* editor = inspector.editor(key);
            QVERIFY2(editor != nullptr, qPrintable(key));
            QWidget* control = editor->findChild<QWidget*>(key);
            QVERIFY2(control != nullptr, qPrintable(key));
            switch (spec.type) {
                case zmqrpc::PropertyType::String:
                case zmqrpc::PropertyType::Endpoint:
                    QVERIFY(qobject_cast<QLineEdit*>(control));
                    break;
                case zmqrpc::PropertyType::Integer:
                    // Wider than an int (a byte limit): a double spin box without decimals.
                    if (spec.maximum > double(INT_MAX)) {
                        auto* wide = qobject_cast<QDoubleSpinBox*>(control);
                        QVERIFY(wide);
                        QCOMPARE(wide->decimals(), 0);
                    } else {
                        QVERIFY(qobject_cast<QSpinBox*>(control));
                    }
                    break;
                case zmqrpc::PropertyType::Number:
                case zmqrpc::PropertyType::Seconds: {
                    auto* spin = qobject_cast<QDoubleSpinBox*>(control);
                    QVERIFY(spin);
                    QCOMPARE(spin->suffix(), spec.type == zmqrpc::PropertyType::Seconds
                                                 ? QStringLiteral(" s")
                                                 : QString());
                    break;
                }
                case zmqrpc::PropertyType::Boolean:
                    QVERIFY(qobject_cast<QCheckBox*>(control));
                    break;
                case zmqrpc::PropertyType::Choice:
                    QVERIFY(qobject_cast<QComboBox*>(control));
                    break;
                case zmqrpc::PropertyType::JsonObject:
                    QVERIFY(qobject_cast<QPlainTextEdit*>(control));
                    break;
                case zmqrpc::PropertyType::Security: {
                    auto* password =
                        editor->findChild<QLineEdit*>(key + QStringLiteral(".password"));
                    QVERIFY(password);
                    QCOMPARE(password->echoMode(), QLineEdit::Password);
                    QVERIFY(password->text().isEmpty());
                    break;
                }
            }
        }
        // The spin boxes show the node's values.
        if (node.id == "sampler-1") {
            auto* rate = inspector.editor(QStringLiteral("rate"))->findChild<QDoubleSpinBox*>();
            QCOMPARE(rate->value(), 5.0);
            auto* bind = inspector.findChild<QLineEdit*>(QStringLiteral("bind"));
            QCOMPARE(bind->text(), QStringLiteral("tcp://*:5601"));
            // Required fields are marked.
            auto* label = qobject_cast<QLabel*>(
                inspector.findChild<QWidget*>(QStringLiteral("inspectorPage"))
                    ->findChildren<QLabel*>()
                    .value(0));
            Q_UNUSED(label);
            bool starred = false;
            for (QLabel* l : inspector.findChildren<QLabel*>()) {
                if (l->text() == QStringLiteral("Bind endpoint *")) starred = true;
            }
            QVERIFY(starred);
        }
        // Everything fits the dock's width (no field cut at the right edge).
        QWidget* page = inspector.findChild<QWidget*>(QStringLiteral("inspectorPage"));
        QVERIFY2(page->minimumSizeHint().width() <= page->width(),
                 qPrintable(QStringLiteral("%1: %2 > %3")
                                .arg(QString::fromStdString(node.id))
                                .arg(page->minimumSizeHint().width())
                                .arg(page->width())));
        if (node.id == "sampler-1") saveScreenshot(&inspector, QStringLiteral("inspector-sampler"));
        if (node.id == "site-proxy") {
            saveScreenshot(&inspector, QStringLiteral("inspector-proxy-credentials"));
        }
        if (node.id == "cloud-bridge")
            saveScreenshot(&inspector, QStringLiteral("inspector-rep2pub"));
    }
}

void TestPanels::endpointEditIsUndoableAndMerges() {
    auto doc = loadExample();
    QVERIFY(doc);
    InspectorWidget inspector(doc.get(), nullptr, nullptr);
    showAsDock(&inspector);
    inspector.showNode(QStringLiteral("sampler-1"));
    auto* bind = inspector.findChild<QLineEdit*>(QStringLiteral("bind"));
    QVERIFY(bind);
    const int before = doc->undoStack()->count();

    typeInto(bind, QStringLiteral("tcp://*:7001"));
    COMPARE_JSON(nodeProperty(*doc, "sampler-1", "bind"), json("tcp://*:7001"));
    QCOMPARE(doc->undoStack()->count(), before + 1);
    // A second edit of the same field merges into the same undo step.
    typeInto(bind, QStringLiteral("tcp://127.0.0.1:7002"));
    COMPARE_JSON(nodeProperty(*doc, "sampler-1", "bind"), json("tcp://127.0.0.1:7002"));
    QCOMPARE(doc->undoStack()->count(), before + 1);

    doc->undoStack()->undo();
    COMPARE_JSON(nodeProperty(*doc, "sampler-1", "bind"), json("tcp://*:5601"));
    QCOMPARE(bind->text(), QStringLiteral("tcp://*:5601"));
    doc->undoStack()->redo();
    QCOMPARE(bind->text(), QStringLiteral("tcp://127.0.0.1:7002"));

    // Name and host go through the document as well.
    auto* name = inspector.findChild<QLineEdit*>(QStringLiteral("node.name"));
    typeInto(name, QStringLiteral("First sampler"));
    QCOMPARE(doc->topology().find_node("sampler-1")->name, std::string("First sampler"));
    auto* host = inspector.findChild<QComboBox*>(QStringLiteral("node.host"));
    QCOMPARE(host->currentText(), QStringLiteral("site"));
    typeInto(host->lineEdit(), QStringLiteral("cloud"));
    QCOMPARE(doc->topology().find_node("sampler-1")->host, std::string("cloud"));
}

void TestPanels::invalidEndpointIsNotCommitted() {
    auto doc = loadExample();
    QVERIFY(doc);
    InspectorWidget inspector(doc.get(), nullptr, nullptr);
    showAsDock(&inspector);
    inspector.showNode(QStringLiteral("sampler-2"));
    PropertyEditor* editor = inspector.editor(QStringLiteral("bind"));
    auto* bind = editor->findChild<QLineEdit*>(QStringLiteral("bind"));
    const int before = doc->undoStack()->count();

    typeInto(bind, QStringLiteral("tcp://nonsense"));
    QVERIFY(!editor->errorText().isEmpty());
    QVERIFY(editor->errorLabel()->isVisibleTo(&inspector));
    QVERIFY(editor->errorLabel()->text().contains(QStringLiteral("nonsense")));
    QVERIFY(bind->property("invalid").toBool());
    COMPARE_JSON(nodeProperty(*doc, "sampler-2", "bind"), json("tcp://*:5602"));
    QCOMPARE(doc->undoStack()->count(), before);
    saveScreenshot(&inspector, QStringLiteral("inspector-invalid-endpoint"));

    // Fixing it clears the error as it is typed, and commits.
    typeInto(bind, QStringLiteral("tcp://*:5612"));
    QVERIFY(editor->errorText().isEmpty());
    QVERIFY(!editor->errorLabel()->isVisibleTo(&inspector));
    COMPARE_JSON(nodeProperty(*doc, "sampler-2", "bind"), json("tcp://*:5612"));

    // A required endpoint cannot be emptied.
    typeInto(bind, QString());
    QCOMPARE(editor->errorText(), QStringLiteral("required"));
    COMPARE_JSON(nodeProperty(*doc, "sampler-2", "bind"), json("tcp://*:5612"));
}

void TestPanels::outOfRangeNumberIsNotCommitted() {
    auto doc = loadExample();
    QVERIFY(doc);
    InspectorWidget inspector(doc.get(), nullptr, nullptr);
    showAsDock(&inspector);
    inspector.showNode(QStringLiteral("site-proxy"));
    auto* capacity = inspector.findChild<QSpinBox*>(QStringLiteral("queue_capacity"));
    QVERIFY(capacity);
    QCOMPARE(capacity->minimum(), 1);
    QCOMPARE(capacity->maximum(), 100000000);
    const int before = doc->undoStack()->count();

    typeInto(capacity, QStringLiteral("0"));  // below the minimum: reverts
    COMPARE_JSON(nodeProperty(*doc, "site-proxy", "queue_capacity"), json(100000));
    QCOMPARE(capacity->value(), 100000);
    QCOMPARE(doc->undoStack()->count(), before);

    typeInto(capacity, QStringLiteral("2500"));
    COMPARE_JSON(nodeProperty(*doc, "site-proxy", "queue_capacity"), json(2500));

    auto* timeout = inspector.findChild<QDoubleSpinBox*>(QStringLiteral("req_timeout"));
    QVERIFY(timeout);
    typeInto(timeout, QStringLiteral("0"));  // the minimum is 0.001 s
    COMPARE_JSON(nodeProperty(*doc, "site-proxy", "req_timeout"), json(5));
    typeInto(timeout, QStringLiteral("2.5"));
    COMPARE_JSON(nodeProperty(*doc, "site-proxy", "req_timeout"), json(2.5));
    typeInto(timeout, QStringLiteral("999999"));  // above the maximum of a day
    QVERIFY(nodeProperty(*doc, "site-proxy", "req_timeout").get<double>() <= 86400);
    QVERIFY(!zmqrpc::check_property(*zmqrpc::find_property_spec(NodeKind::Sub2Req, "req_timeout"),
                                    nodeProperty(*doc, "site-proxy", "req_timeout")));
}

// The site proxy's window, store and fsync policy (issue 13) are edited like any property:
// a spin box within the library's limits, a path, a choice of the three policies.
void TestPanels::uplinkWindowAndStore() {
    auto doc = loadExample();
    QVERIFY(doc);
    InspectorWidget inspector(doc.get(), nullptr, nullptr);
    showAsDock(&inspector);
    inspector.showNode(QStringLiteral("site-proxy"));
    auto* window = inspector.findChild<QSpinBox*>(QStringLiteral("window"));
    QVERIFY(window);
    QCOMPARE(window->minimum(), 1);
    QCOMPARE(window->maximum(), 100000);
    QCOMPARE(window->value(), static_cast<int>(zmqrpc::kDefaultWindow));
    typeInto(window, QStringLiteral("0"));  // below the minimum: reverts
    QCOMPARE(window->value(), static_cast<int>(zmqrpc::kDefaultWindow));
    typeInto(window, QStringLiteral("64"));
    COMPARE_JSON(nodeProperty(*doc, "site-proxy", "window"), json(64));

    auto* store = inspector.findChild<QLineEdit*>(QStringLiteral("store"));
    QVERIFY(store);
    typeInto(store, QStringLiteral("/var/lib/zmqrpc/site-proxy.db"));
    COMPARE_JSON(nodeProperty(*doc, "site-proxy", "store"), json("/var/lib/zmqrpc/site-proxy.db"));

    auto* fsync = inspector.findChild<QComboBox*>(QStringLiteral("fsync"));
    QVERIFY(fsync);
    QCOMPARE(fsync->count(), 3);
    QCOMPARE(fsync->currentText(), QStringLiteral("interval"));
    const int always = fsync->findText(QStringLiteral("always"));
    QVERIFY(always >= 0);
    fsync->setCurrentIndex(always);
    emit fsync->activated(always);
    COMPARE_JSON(nodeProperty(*doc, "site-proxy", "fsync"), json("always"));
    // A byte limit is wider than an int: the editor holds it exactly.
    auto* limit = inspector.findChild<QDoubleSpinBox*>(QStringLiteral("store_max_bytes"));
    QVERIFY(limit);
    QCOMPARE(limit->decimals(), 0);
    typeInto(limit, QStringLiteral("8589934592"));  // 8 GiB
    COMPARE_JSON(nodeProperty(*doc, "site-proxy", "store_max_bytes"),
                 json(std::int64_t{8589934592}));
    // A Rep2Pub has no REQ output: no window.
    QVERIFY(!zmqrpc::find_property_spec(NodeKind::Rep2Pub, "window"));
    saveScreenshot(inspector.window(), QStringLiteral("inspector-uplink"));
}

void TestPanels::jsonEditorRefusesInvalidJson() {
    auto doc = loadExample();
    QVERIFY(doc);
    InspectorWidget inspector(doc.get(), nullptr, nullptr);
    showAsDock(&inspector);
    inspector.showNode(QStringLiteral("sampler-1"));
    PropertyEditor* editor = inspector.editor(QStringLiteral("parameters"));
    auto* text = editor->findChild<QPlainTextEdit*>(QStringLiteral("parameters"));
    auto* name = inspector.findChild<QLineEdit*>(QStringLiteral("node.name"));
    QVERIFY(text && name);
    const json original = nodeProperty(*doc, "sampler-1", "parameters");
    COMPARE_JSON(json::parse(text->toPlainText().toStdString()), original);

    text->setFocus();
    QTest::keyClick(text, Qt::Key_A, Qt::ControlModifier);
    QTest::keyClicks(text, QStringLiteral("{\"sensor\": 01}"));
    QVERIFY2(
        editor->errorText() ==
            QStringLiteral("not valid JSON: Expecting ',' delimiter: line 1 column 13 (char 12)"),
        qPrintable(editor->errorText()));
    QTest::keyClick(text, Qt::Key_A, Qt::ControlModifier);
    QTest::keyClicks(text, QStringLiteral("{\"sensor\": "));
    QVERIFY(editor->errorText().startsWith(QStringLiteral("not valid JSON")));
    name->setFocus();  // focus-out: not committed
    QTRY_VERIFY_WITH_TIMEOUT(!text->hasFocus(), 2000);
    COMPARE_JSON(nodeProperty(*doc, "sampler-1", "parameters"), original);
    QVERIFY(editor->errorLabel()->isVisibleTo(&inspector));

    text->setFocus();
    QTest::keyClick(text, Qt::Key_A, Qt::ControlModifier);
    QTest::keyClicks(text, QStringLiteral("[1, 2]"));
    QCOMPARE(editor->errorText(), QStringLiteral("must be a JSON object { ... }"));
    name->setFocus();
    COMPARE_JSON(nodeProperty(*doc, "sampler-1", "parameters"), original);

    text->setFocus();
    QTest::keyClick(text, Qt::Key_A, Qt::ControlModifier);
    QTest::keyClicks(text, QStringLiteral("{\"sensor\": \"${node}\", \"x\": 1}"));
    QVERIFY(editor->errorText().isEmpty());
    name->setFocus();
    COMPARE_JSON(nodeProperty(*doc, "sampler-1", "parameters"),
                 json::parse(R"({"sensor": "${node}", "x": 1})"));
}

void TestPanels::resetToDefault() {
    auto doc = loadExample();
    QVERIFY(doc);
    InspectorWidget inspector(doc.get(), nullptr, nullptr);
    showAsDock(&inspector);
    inspector.showNode(QStringLiteral("sampler-1"));
    PropertyEditor* rate = inspector.editor(QStringLiteral("rate"));
    QVERIFY(rate->resetButton()->isEnabled());  // the example sets the rate
    QTest::mouseClick(rate->resetButton(), Qt::LeftButton);
    QVERIFY(!doc->topology().find_node("sampler-1")->properties.contains("rate"));
    QCOMPARE(rate->findChild<QDoubleSpinBox*>()->value(), 1.0);  // the default
    QVERIFY(!rate->resetButton()->isEnabled());
    doc->undoStack()->undo();
    COMPARE_JSON(nodeProperty(*doc, "sampler-1", "rate"), json(5));
    QCOMPARE(rate->findChild<QDoubleSpinBox*>()->value(), 5.0);

    // An unset string shows its default as the placeholder.
    auto* function = inspector.findChild<QLineEdit*>(QStringLiteral("function"));
    QVERIFY(function->text().isEmpty() || function->text() == QStringLiteral("store_sample"));
    QCOMPARE(function->placeholderText(), QStringLiteral("store_sample"));
}

void TestPanels::refreshKeepsTheCaret() {
    auto doc = loadExample();
    QVERIFY(doc);
    InspectorWidget inspector(doc.get(), nullptr, nullptr);
    showAsDock(&inspector);
    inspector.showNode(QStringLiteral("sampler-1"));
    auto* function = inspector.findChild<QLineEdit*>(QStringLiteral("function"));
    function->setFocus();
    QTest::keyClicks(function, QStringLiteral("log_sample"));
    QTest::keyClick(function, Qt::Key_Left);
    QTest::keyClick(function, Qt::Key_Left);
    const int caret = function->cursorPosition();
    // Another edit of the same node (the scene moving it, say) refreshes the form.
    doc->setProperty(QStringLiteral("sampler-1"), QStringLiteral("rate"), json(7));
    QCOMPARE(inspector.findChild<QDoubleSpinBox*>(QStringLiteral("rate"))->value(), 7.0);
    QCOMPARE(function->text(), QStringLiteral("log_sample"));
    QCOMPARE(function->cursorPosition(), caret);
    QVERIFY(function->hasFocus());
    QTest::keyClick(function, Qt::Key_Return);
    COMPARE_JSON(nodeProperty(*doc, "sampler-1", "function"), json("log_sample"));
}

void TestPanels::credentialsGoToTheSecretStore() {
    auto doc = loadExample();
    QVERIFY(doc);
    // The example's uplink is CURVE: make it PLAIN with a password from the environment.
    QString error;
    QVERIFY2(doc->setProperty(QStringLiteral("site-proxy"), QStringLiteral("output_credentials"),
                              json::parse(R"({"username": "bridge",
                                              "password": {"env": "ZMQRPC_BRIDGE_PASSWORD"}})"),
                              &error),
             qPrintable(error));
    studio::SecretStore secrets;
    QCOMPARE(secrets.preferredSource(), zmqrpc::CredentialRef::Source::File);
    InspectorWidget inspector(doc.get(), nullptr, &secrets);
    showAsDock(&inspector);
    inspector.showNode(QStringLiteral("site-proxy"));
    PropertyEditor* editor = inspector.editor(QStringLiteral("output_credentials"));
    auto* user = editor->findChild<QLineEdit*>(QStringLiteral("output_credentials.username"));
    auto* password = editor->findChild<QLineEdit*>(QStringLiteral("output_credentials.password"));
    auto* where = editor->findChild<QComboBox*>(QStringLiteral("output_credentials.source"));
    auto* entry = editor->findChild<QLineEdit*>(QStringLiteral("output_credentials.entry"));
    auto* hint = editor->findChild<QLabel*>(QStringLiteral("output_credentials.hint"));
    auto* mode = editor->findChild<QComboBox*>(QStringLiteral("output_credentials.mode"));
    QVERIFY(user && password && where && entry && hint && mode);
    QCOMPARE(mode->currentData().toInt(), 1);  // PLAIN
    QVERIFY(user->isVisibleTo(&inspector));
    QVERIFY(!editor->findChild<QWidget*>(QStringLiteral("output_credentials.curve"))
                 ->isVisibleTo(&inspector));

    // The password comes from the environment.
    QCOMPARE(user->text(), QStringLiteral("bridge"));
    QCOMPARE(where->currentText(), QStringLiteral("Environment variable"));
    QCOMPARE(entry->text(), QStringLiteral("ZMQRPC_BRIDGE_PASSWORD"));
    QVERIFY(!password->isEnabled());
    QVERIFY(hint->text().contains(QStringLiteral("ZMQRPC_BRIDGE_PASSWORD")));
    QVERIFY(hint->text().contains(QStringLiteral("zmqrpc run")));
    saveScreenshot(&inspector, QStringLiteral("inspector-credentials-env"));

    // Keep it in the credentials file instead (no keychain here): one key up in the combo.
    where->setFocus();
    QTest::keyClick(where, Qt::Key_Up);
    QCOMPARE(where->currentText(), QStringLiteral("Credentials file"));
    QCOMPARE(entry->text(), QStringLiteral("bridge"));
    COMPARE_JSON(nodeProperty(*doc, "site-proxy", "output_credentials"),
                 json::parse(R"({"username": "bridge", "password": {"file": "bridge"}})"));
    QVERIFY(password->isEnabled());

    QSignalSpy stored(&secrets, &studio::SecretStore::stored);
    typeInto(user, QStringLiteral("uplink"));
    typeInto(entry, QStringLiteral("site-uplink"));
    typeInto(password, QStringLiteral("s3cret-pw"));
    QTRY_VERIFY_WITH_TIMEOUT(!stored.isEmpty(), 5000);
    QCOMPARE(stored.last().at(0).toString(), QStringLiteral("site-uplink"));
    QVERIFY2(stored.last().at(1).toBool(), qPrintable(stored.last().at(2).toString()));
    QVERIFY(password->text().isEmpty());  // never kept in the field
    QVERIFY(secrets.has(QStringLiteral("site-uplink")));
    QCOMPARE(secrets.secrets().file_entries.at("site-uplink"), std::string("s3cret-pw"));
    COMPARE_JSON(nodeProperty(*doc, "site-proxy", "output_credentials"),
                 json::parse(R"({"username": "uplink", "password": {"file": "site-uplink"}})"));
    const std::string saved = zmqrpc::save_topology(doc->topology());
    QVERIFY(saved.find("s3cret-pw") == std::string::npos);
    QVERIFY(saved.find("site-uplink") != std::string::npos);
    QVERIFY(password->placeholderText().contains(QStringLiteral("stored")));
    QVERIFY(editor->errorText().isEmpty());
    saveScreenshot(&inspector, QStringLiteral("inspector-credentials-stored"));

    // The keychain is not offered on a machine without one.
    auto* model = qobject_cast<QStandardItemModel*>(where->model());
    if (model != nullptr) QVERIFY(!model->item(0)->isEnabled());

    // Clearing the username removes the credentials (null: none).
    typeInto(user, QString());
    QVERIFY(nodeProperty(*doc, "site-proxy", "output_credentials").is_null());
    QCOMPARE(mode->currentData().toInt(), 0);  // None
    QVERIFY(!user->isVisibleTo(&inspector));
}

namespace {

// Picks `data` in a combo box the way a user does (the activated signal commits).
void choose(QComboBox* combo, int data) {
    const int index = combo->findData(data);
    QVERIFY2(index >= 0, qPrintable(combo->objectName()));
    combo->setCurrentIndex(index);
    emit combo->activated(index);
}

// The public key a CURVE side holds in the document, checking that no secret is there.
std::string documentPublicKey(const EditorDocument& doc, const char* node, const char* key,
                              const std::string& secret) {
    const json value = nodeProperty(doc, node, key);
    const std::string saved = zmqrpc::save_topology(doc.topology());
    if (!secret.empty() && saved.find(secret) != std::string::npos) return "SECRET IN DOCUMENT";
    if (!value.contains("curve")) return {};
    return value["curve"].value("public_key", "");
}

}  // namespace

// The bridge's input side: switch it from PLAIN to CURVE through the widgets, generate a key
// pair into the keys directory, and find only the public key in the document (undoable).
void TestPanels::curveKeyPairIntoAKeyFile() {
    if (!zmqrpc::curve_available()) QSKIP("libzmq without CURVE");
    QTemporaryDir keys;
    QVERIFY(keys.isValid());
    qputenv("ZMQRPC_KEYS", QFile::encodeName(keys.path()));
    auto doc = loadExample();
    QVERIFY(doc);
    const json original = nodeProperty(*doc, "cloud-bridge", "input_credentials");
    QString error;
    QVERIFY(doc->setProperty(QStringLiteral("cloud-bridge"), QStringLiteral("input_credentials"),
                             json::parse(R"({"username": "site", "password": {"file": "site"}})"),
                             &error));
    studio::SecretStore secrets;
    InspectorWidget inspector(doc.get(), nullptr, &secrets);
    showAsDock(&inspector, {400, 900});
    inspector.showNode(QStringLiteral("cloud-bridge"));
    PropertyEditor* editor = inspector.editor(QStringLiteral("input_credentials"));
    QVERIFY(editor);
    const auto find = [editor](const char* name) {
        return editor->findChild<QWidget*>(QStringLiteral("input_credentials.") +
                                           QLatin1String(name));
    };
    auto* mode = qobject_cast<QComboBox*>(find("mode"));
    QVERIFY(mode);
    QCOMPARE(mode->currentData().toInt(), 1);  // PLAIN
    choose(mode, 2);                           // CURVE
    auto* source = qobject_cast<QComboBox*>(find("curve.source"));
    auto* name = qobject_cast<QLineEdit*>(find("curve.name"));
    auto* publicKey = qobject_cast<QLineEdit*>(find("curve.public_key"));
    auto* clients = qobject_cast<QComboBox*>(find("curve.clients"));
    auto* authorized = qobject_cast<QLineEdit*>(find("curve.authorized_keys"));
    auto* generate = qobject_cast<QPushButton*>(find("curve.generate"));
    auto* copy = qobject_cast<QAbstractButton*>(find("curve.copy"));
    auto* hint = qobject_cast<QLabel*>(find("curve.hint"));
    QVERIFY(source && name && publicKey && clients && authorized && generate && copy && hint);
    QVERIFY(publicKey->isVisibleTo(&inspector));
    QVERIFY(!find("username")->isVisibleTo(&inspector));
    // A binding side: no "fresh key pair" (a server needs its own key).
    QCOMPARE(source->findData(int(zmqrpc::CredentialRef::Source::None)), -1);
    // No keychain here: a key file named after the node, any client with the key.
    QCOMPARE(source->currentData().toInt(), int(zmqrpc::CredentialRef::Source::File));
    COMPARE_JSON(nodeProperty(*doc, "cloud-bridge", "input_credentials"),
                 json::parse(R"({"curve": {"secret_key": {"file": "cloud-bridge"},
                                           "clients": "any"}})"));
    QVERIFY2(hint->text().contains(QStringLiteral("does not exist")), qPrintable(hint->text()));
    QVERIFY(!publicKey->isReadOnly());  // unknown here: can be pasted
    QVERIFY(!copy->isEnabled());

    typeInto(name, QStringLiteral("cloud"));
    QVERIFY(generate->isEnabled());
    QTest::mouseClick(generate, Qt::LeftButton);
    QVERIFY2(editor->errorText().isEmpty(), qPrintable(editor->errorText()));
    const QString secretPath = keys.filePath(QStringLiteral("cloud.key_secret"));
    QVERIFY(QFile::exists(secretPath));
    QVERIFY(QFile::exists(keys.filePath(QStringLiteral("cloud.key"))));
    QCOMPARE(QFile::permissions(secretPath) & (QFileDevice::ReadGroup | QFileDevice::ReadOther),
             QFileDevice::Permissions());
    const zmqrpc::CurveKeyPair pair = zmqrpc::load_curve_secret_file(secretPath.toStdString());
    const std::string inDocument =
        documentPublicKey(*doc, "cloud-bridge", "input_credentials", pair.secret_key);
    QCOMPARE(inDocument, pair.public_key);
    COMPARE_JSON(nodeProperty(*doc, "cloud-bridge", "input_credentials")["curve"]["secret_key"],
                 json::parse(R"({"file": "cloud"})"));
    // Derived from the key file now: shown, read-only, and copied as is.
    QCOMPARE(publicKey->text(), QString::fromStdString(pair.public_key));
    QVERIFY(publicKey->isReadOnly());
    QVERIFY2(hint->text().contains(QStringLiteral("Secret key found")), qPrintable(hint->text()));
    QGuiApplication::clipboard()->clear();
    QVERIFY(copy->isEnabled());
    QTest::mouseClick(copy, Qt::LeftButton);
    QCOMPARE(QGuiApplication::clipboard()->text(), QString::fromStdString(pair.public_key));
    // A second pair under the same name does not replace the first one.
    QTest::mouseClick(generate, Qt::LeftButton);
    QVERIFY2(editor->errorText().contains(QStringLiteral("exists already")),
             qPrintable(editor->errorText()));
    QCOMPARE(zmqrpc::load_curve_secret_file(secretPath.toStdString()), pair);

    // Only the keys an authorized_keys file lists.
    choose(clients, int(zmqrpc::CurveClients::AuthorizedKeys));
    QVERIFY(authorized->isEnabled());
    typeInto(authorized, QStringLiteral("sites.authorized_keys"));
    COMPARE_JSON(nodeProperty(*doc, "cloud-bridge", "input_credentials")["curve"]["clients"],
                 json::parse(R"({"authorized_keys": "sites.authorized_keys"})"));
    // The document holds a SecurityRef the library reads back.
    const auto ref =
        zmqrpc::SecurityRef::from_json(nodeProperty(*doc, "cloud-bridge", "input_credentials"));
    QVERIFY(ref.curve() != nullptr);
    QCOMPARE(ref.curve()->public_key, pair.public_key);
    saveScreenshot(inspector.window(), QStringLiteral("inspector-curve"));

    // The edits went through the undo stack (one field's edits merge into one step): undone,
    // the example's side is back; redone, the generated key is.
    const json last = nodeProperty(*doc, "cloud-bridge", "input_credentials");
    for (int i = 0; i < 20 && doc->undoStack()->canUndo(); ++i)
        doc->undoStack()->undo();
    COMPARE_JSON(nodeProperty(*doc, "cloud-bridge", "input_credentials"), original);
    for (int i = 0; i < 20 && doc->undoStack()->canRedo(); ++i)
        doc->undoStack()->redo();
    COMPARE_JSON(nodeProperty(*doc, "cloud-bridge", "input_credentials"), last);
    QCOMPARE(mode->currentData().toInt(), 2);
    QCOMPARE(publicKey->text(), QString::fromStdString(pair.public_key));

    // The site proxy's output connects: a fresh key pair each run, nothing to generate.
    inspector.showNode(QStringLiteral("site-proxy"));
    PropertyEditor* out = inspector.editor(QStringLiteral("output_credentials"));
    auto* outMode = out->findChild<QComboBox*>(QStringLiteral("output_credentials.mode"));
    auto* outSource = out->findChild<QComboBox*>(QStringLiteral("output_credentials.curve.source"));
    QVERIFY(outMode && outSource);
    QCOMPARE(outMode->currentData().toInt(), 2);
    QCOMPARE(outSource->currentData().toInt(), int(zmqrpc::CredentialRef::Source::None));
    QVERIFY(!out->findChild<QPushButton*>(QStringLiteral("output_credentials.curve.generate"))
                 ->isEnabled());
    QVERIFY(!out->findChild<QWidget*>(QStringLiteral("output_credentials.curve.clients")));
    qunsetenv("ZMQRPC_KEYS");
}

// A key pair kept in the keychain: the secret goes to the SecretStore (here the keychain
// answers "no backend" and the store falls back to its file, as on CI), the public key into the
// document, and the runtime's secrets resolve it.
void TestPanels::curveKeyPairIntoTheKeychain() {
    if (!zmqrpc::curve_available()) QSKIP("libzmq without CURVE");
    qunsetenv("ZMQRPC_STUDIO_NO_KEYCHAIN");
    const QByteArray bus = qgetenv("DBUS_SESSION_BUS_ADDRESS");
    qputenv("DBUS_SESSION_BUS_ADDRESS", "unix:path=/nonexistent/zmqrpc-test-bus");
    const auto restore = qScopeGuard([&bus] {
        qputenv("ZMQRPC_STUDIO_NO_KEYCHAIN", "1");
        if (bus.isEmpty())
            qunsetenv("DBUS_SESSION_BUS_ADDRESS");
        else
            qputenv("DBUS_SESSION_BUS_ADDRESS", bus);
    });
    auto doc = loadExample();
    QVERIFY(doc);
    studio::SecretStore secrets;
    QVERIFY(secrets.keychainAvailable());
    InspectorWidget inspector(doc.get(), nullptr, &secrets);
    showAsDock(&inspector);
    inspector.showNode(QStringLiteral("cloud-bridge"));
    PropertyEditor* editor = inspector.editor(QStringLiteral("input_credentials"));
    auto* source = editor->findChild<QComboBox*>(QStringLiteral("input_credentials.curve.source"));
    auto* name = editor->findChild<QLineEdit*>(QStringLiteral("input_credentials.curve.name"));
    auto* generate =
        editor->findChild<QPushButton*>(QStringLiteral("input_credentials.curve.generate"));
    auto* publicKey =
        editor->findChild<QLineEdit*>(QStringLiteral("input_credentials.curve.public_key"));
    QVERIFY(source && name && generate && publicKey);
    // The example's key file.
    QCOMPARE(name->text(), QStringLiteral("sampler-to-cloud-bridge"));
    choose(source, int(zmqrpc::CredentialRef::Source::Keychain));
    const QString entry =
        QStringLiteral("zmqrpc-panels-test-%1").arg(QCoreApplication::applicationPid());
    typeInto(name, entry);
    COMPARE_JSON(nodeProperty(*doc, "cloud-bridge", "input_credentials")["curve"]["secret_key"],
                 (json{{"keychain", entry.toStdString()}}));
    QSignalSpy stored(&secrets, &studio::SecretStore::stored);
    QTest::mouseClick(generate, Qt::LeftButton);
    QTRY_VERIFY_WITH_TIMEOUT(!stored.isEmpty(), 10000);
    QVERIFY2(stored.last().at(1).toBool(), qPrintable(stored.last().at(2).toString()));
    QVERIFY2(editor->errorText().isEmpty(), qPrintable(editor->errorText()));

    zmqrpc::KeyRef key;
    key.source = zmqrpc::CredentialRef::Source::Keychain;
    key.key = entry.toStdString();
    const zmqrpc::CurveKeyPair pair = secrets.secrets().resolve_key(key);
    QCOMPARE(documentPublicKey(*doc, "cloud-bridge", "input_credentials", pair.secret_key),
             pair.public_key);
    QTRY_COMPARE_WITH_TIMEOUT(publicKey->text(), QString::fromStdString(pair.public_key), 5000);
    QVERIFY(publicKey->isReadOnly());

    QSignalSpy forgotten(&secrets, &studio::SecretStore::forgotten);
    secrets.forget(entry);
    QTRY_VERIFY_WITH_TIMEOUT(!forgotten.isEmpty(), 10000);
}

void TestPanels::readOnlyWhileRunning() {
    auto doc = loadExample();
    QVERIFY(doc);
    // Loopback binds on free ports, and the bridge password known to the runtime.
    // All on one host, so that ports chosen at bind time can be reached.
    zmqrpc::Topology topology = doc->topology();
    for (const zmqrpc::Node& node : doc->topology().nodes()) {
        topology.set_node_host(node.id, "site");
        for (const char* key : {"bind", "rep_bind", "pub_bind"}) {
            if (node.properties.contains(key))
                topology.set_property(node.id, key, "tcp://127.0.0.1:*");
        }
    }
    doc->reset(topology, QString(), false);
    studio::RuntimeController runtime;
    zmqrpc::Secrets secrets;
    secrets.use_environment = false;
    runtime.setSecrets(secrets);  // the sampler needs none
    runtime.setTopology(doc->topology());

    InspectorWidget inspector(doc.get(), &runtime, nullptr);
    showAsDock(&inspector);
    inspector.showNode(QStringLiteral("sampler-1"));
    auto* bind = inspector.findChild<QLineEdit*>(QStringLiteral("bind"));
    auto* banner = inspector.findChild<QLabel*>(QStringLiteral("inspectorBanner"));
    QVERIFY(!inspector.isReadOnly());
    QVERIFY(bind->isEnabled());

    QSignalSpy failed(&runtime, &studio::RuntimeController::operationFailed);
    runtime.start({QStringLiteral("sampler-1")});
    QTRY_VERIFY_WITH_TIMEOUT(runtime.isActive(QStringLiteral("sampler-1")) || !failed.isEmpty(),
                             10000);
    if (!failed.isEmpty()) {
        QFAIL(qPrintable(failed.first().first().toString()));
    }
    QTRY_VERIFY_WITH_TIMEOUT(inspector.isReadOnly(), 5000);
    QVERIFY(banner->isVisibleTo(&inspector));
    QVERIFY(!bind->isEnabled());
    QVERIFY(!inspector.findChild<QLineEdit*>(QStringLiteral("node.name"))->isEnabled());
    QVERIFY(!inspector.editor(QStringLiteral("rate"))->findChild<QDoubleSpinBox*>()->isEnabled());
    saveScreenshot(&inspector, QStringLiteral("inspector-running"));

    // Another node that does not run stays editable.
    inspector.showNode(QStringLiteral("sampler-2"));
    QVERIFY(!inspector.isReadOnly());
    QVERIFY(inspector.findChild<QLineEdit*>(QStringLiteral("bind"))->isEnabled());

    inspector.showNode(QStringLiteral("sampler-1"));
    QVERIFY(inspector.isReadOnly());
    runtime.stop({QStringLiteral("sampler-1")});
    QTRY_VERIFY_WITH_TIMEOUT(!runtime.isActive(QStringLiteral("sampler-1")), 10000);
    QTRY_VERIFY_WITH_TIMEOUT(!inspector.isReadOnly(), 5000);
    QVERIFY(!banner->isVisibleTo(&inspector));
    QVERIFY(inspector.findChild<QLineEdit*>(QStringLiteral("bind"))->isEnabled());
}

// ---------------------------------------------------------------------------------------------
// Inspector: link and document forms

// "Encrypt with CURVE" on a link: the binding sampler gets a key pair in the keys directory
// (its public key in the document, any client with it let in), the connecting proxy a fresh
// key pair each run; one undo step takes both back.
void TestPanels::linkEncryptWithCurve() {
    if (!zmqrpc::curve_available()) QSKIP("libzmq without CURVE");
    QTemporaryDir keys;
    QVERIFY(keys.isValid());
    qputenv("ZMQRPC_KEYS", QFile::encodeName(keys.path()));
    const auto restore = qScopeGuard([] { qunsetenv("ZMQRPC_KEYS"); });
    auto doc = loadExample();
    QVERIFY(doc);
    studio::SecretStore secrets;
    InspectorWidget inspector(doc.get(), nullptr, &secrets);
    showAsDock(&inspector, {380, 400});
    inspector.showLink(QStringLiteral("uplink"));
    auto* security = inspector.findChild<QLabel*>(QStringLiteral("link.security"));
    auto* encrypt = inspector.findChild<QPushButton*>(QStringLiteral("link.encrypt"));
    QVERIFY(security && encrypt);
    QCOMPARE(security->text(), QStringLiteral("CURVE: encrypted"));
    QVERIFY(!encrypt->isEnabled());

    inspector.showLink(QStringLiteral("sampler-1-to-proxy"));
    security = inspector.findChild<QLabel*>(QStringLiteral("link.security"));
    encrypt = inspector.findChild<QPushButton*>(QStringLiteral("link.encrypt"));
    QCOMPARE(security->text(), QStringLiteral("none: not encrypted"));
    QVERIFY(encrypt->isEnabled());
    const int steps = doc->undoStack()->count();
    QTest::mouseClick(encrypt, Qt::LeftButton);
    QCOMPARE(security->text(), QStringLiteral("CURVE: encrypted"));
    QVERIFY(!encrypt->isEnabled());
    const QString secretFile = keys.filePath(QStringLiteral("sampler-1.key_secret"));
    QVERIFY(QFile::exists(secretFile));
    const auto pair = zmqrpc::load_curve_secret_file(secretFile.toStdString());
    const json server = nodeProperty(*doc, "sampler-1", "credentials");
    COMPARE_JSON(server["curve"]["secret_key"], json::parse(R"({"file": "sampler-1"})"));
    COMPARE_JSON(server["curve"]["clients"], json("any"));
    QCOMPARE(documentPublicKey(*doc, "sampler-1", "credentials", pair.secret_key), pair.public_key);
    COMPARE_JSON(nodeProperty(*doc, "site-proxy", "input_credentials"),
                 json::parse(R"({"curve": {}})"));
    QCOMPARE(doc->undoStack()->count(), steps + 1);
    doc->undoStack()->undo();
    QVERIFY(nodeProperty(*doc, "sampler-1", "credentials").is_null());
    QVERIFY(nodeProperty(*doc, "site-proxy", "input_credentials").is_null());
}

void TestPanels::linkFormEditsHeartbeat() {
    auto doc = loadExample();
    QVERIFY(doc);
    InspectorWidget inspector(doc.get(), nullptr, nullptr);
    showAsDock(&inspector, {380, 400});
    inspector.showLink(QStringLiteral("sampler-1-to-proxy"));
    QCOMPARE(inspector.mode(), InspectorWidget::Mode::Link);
    auto* ends = inspector.findChild<QLabel*>(QStringLiteral("link.ends"));
    QCOMPARE(ends->text(), QStringLiteral("sampler-1.pub → site-proxy.sub"));
    auto* address = inspector.findChild<QLabel*>(QStringLiteral("link.connectAddress"));
    QVERIFY(address->text().contains(QStringLiteral("tcp://127.0.0.1:5601")));
    auto* heartbeat =
        inspector.findChild<QDoubleSpinBox*>(QStringLiteral("link.heartbeat_timeout"));
    QVERIFY(heartbeat);
    QCOMPARE(heartbeat->value(), 5.0);
    QCOMPARE(heartbeat->suffix(), QStringLiteral(" s"));

    typeInto(heartbeat, QStringLiteral("7.5"));
    QCOMPARE(doc->topology().find_link("sampler-1-to-proxy")->heartbeat_timeout, 7.5);
    typeInto(heartbeat, QStringLiteral("0"));
    QCOMPARE(doc->topology().find_link("sampler-1-to-proxy")->heartbeat_timeout, 0.0);
    QCOMPARE(heartbeat->text(), QStringLiteral("off"));
    doc->undoStack()->undo();
    QVERIFY(doc->topology().find_link("sampler-1-to-proxy")->heartbeat_timeout > 0);
    QCOMPARE(heartbeat->value(),
             doc->topology().find_link("sampler-1-to-proxy")->heartbeat_timeout);
    saveScreenshot(&inspector, QStringLiteral("inspector-link"));

    // The connect address follows the bound side.
    doc->setProperty(QStringLiteral("sampler-1"), QStringLiteral("bind"), json("tcp://*:6001"));
    QVERIFY(address->text().contains(QStringLiteral("tcp://127.0.0.1:6001")));

    // REQ->REP links have no heartbeat supervision.
    inspector.showLink(QStringLiteral("uplink"));
    QVERIFY(!inspector.findChild<QDoubleSpinBox*>(QStringLiteral("link.heartbeat_timeout")));
}

// A host's runner through the Hosts table's Runner... dialog: bad endpoints and a key without
// CURVE are refused with the reason; the accepted runner is in the document (one undo step) and
// in the table's Runner column.
void TestPanels::hostsTableEditsRunner() {
    if (!zmqrpc::curve_available()) QSKIP("libzmq without CURVE");
    auto doc = loadExample();
    QVERIFY(doc);
    studio::SecretStore secrets;
    InspectorWidget inspector(doc.get(), nullptr, &secrets);
    showAsDock(&inspector);
    inspector.showDocument();
    auto* hosts = inspector.findChild<QTableWidget*>(QStringLiteral("document.hosts"));
    QVERIFY(hosts);
    QCOMPARE(hosts->columnCount(), 3);
    QCOMPARE(hosts->item(0, 2)->text(), QString());
    hosts->setCurrentCell(0, 0);  // site
    auto* edit = inspector.findChild<QPushButton*>(QStringLiteral("document.editRunner"));
    QVERIFY(edit && edit->isEnabled());
    QTest::mouseClick(edit, Qt::LeftButton);
    auto* dialog = inspector.findChild<studio::RunnerDialog*>();
    QVERIFY(dialog);
    QTRY_VERIFY(dialog->isVisible());
    auto field = [dialog](const char* name) {
        return dialog->findChild<QLineEdit*>(QLatin1String(name));
    };
    auto* control = field("runner.control");
    auto* metrics = field("runner.metrics");
    auto* serverKey = field("runner.serverKey");
    QVERIFY(control && metrics && serverKey);
    // (Enter in a field would press OK: the fields are typed without it.)

    typeInto(control, QStringLiteral("tcp://*:7100"), false);  // a bind address, not one to reach
    QVERIFY2(dialog->problem().contains(QStringLiteral("control endpoint")),
             qPrintable(dialog->problem()));
    dialog->accept();
    QVERIFY(dialog->isVisible());  // refused
    typeInto(control, QStringLiteral("tcp://10.0.0.2:7100"), false);
    typeInto(metrics, QStringLiteral("tcp://10.0.0.2:7101"), false);
    const zmqrpc::CurveKeyPair runnerKeys = zmqrpc::generate_curve_key_pair();
    typeInto(serverKey, QString::fromStdString(runnerKeys.public_key), false);
    QVERIFY2(dialog->problem().contains(QStringLiteral("for CURVE")),
             qPrintable(dialog->problem()));
    // CURVE: the Studio presents a fresh key pair (no secret key named).
    auto* mode = dialog->findChild<QComboBox*>(QStringLiteral("security.mode"));
    QVERIFY(mode);
    choose(mode, 2);
    QVERIFY2(dialog->problem().isEmpty(), qPrintable(dialog->problem()));
    saveScreenshot(dialog, QStringLiteral("runner-dialog"));
    dialog->accept();
    QTRY_VERIFY(!dialog->isVisible());

    const zmqrpc::Runner& runner = doc->topology().hosts().at(0).runner;
    QCOMPARE(runner.control, std::string("tcp://10.0.0.2:7100"));
    QCOMPARE(runner.metrics, std::string("tcp://10.0.0.2:7101"));
    QCOMPARE(runner.server_key, runnerKeys.public_key);
    QVERIFY(runner.security.curve() != nullptr);
    QTRY_COMPARE(hosts->item(0, 2)->text(), QStringLiteral("tcp://10.0.0.2:7100"));
    // Editing the address keeps the runner.
    hosts->item(0, 1)->setText(QStringLiteral("10.0.0.2"));
    QCOMPARE(doc->topology().hosts().at(0).address, std::string("10.0.0.2"));
    QCOMPARE(doc->topology().hosts().at(0).runner.control, std::string("tcp://10.0.0.2:7100"));
    doc->undoStack()->undo();
    doc->undoStack()->undo();
    QVERIFY(doc->topology().hosts().at(0).runner.empty());
    QTRY_COMPARE(hosts->item(0, 2)->text(), QString());
}

void TestPanels::documentFormEditsHosts() {
    auto doc = loadExample();
    QVERIFY(doc);
    InspectorWidget inspector(doc.get(), nullptr, nullptr);
    showAsDock(&inspector);
    inspector.showDocument();
    QCOMPARE(inspector.mode(), InspectorWidget::Mode::Document);

    auto* name = inspector.findChild<QLineEdit*>(QStringLiteral("document.name"));
    QCOMPARE(name->text(), QStringLiteral("Sampler to cloud"));
    typeInto(name, QStringLiteral("Site and cloud"));
    QCOMPARE(doc->topology().name(), std::string("Site and cloud"));

    auto* hosts = inspector.findChild<QTableWidget*>(QStringLiteral("document.hosts"));
    QVERIFY(hosts);
    QCOMPARE(hosts->rowCount(), 2);
    QCOMPARE(hosts->item(1, 0)->text(), QStringLiteral("cloud"));

    // Edit the cloud's address in place: double-click the cell, type, Enter.
    const QRect cell = hosts->visualItemRect(hosts->item(1, 1));
    QTest::mouseClick(hosts->viewport(), Qt::LeftButton, {}, cell.center());
    QTest::mouseDClick(hosts->viewport(), Qt::LeftButton, {}, cell.center());
    QWidget* cellEditor = QApplication::focusWidget();
    auto* cellLine = qobject_cast<QLineEdit*>(cellEditor);
    QVERIFY(cellLine);
    QTest::keyClick(cellLine, Qt::Key_A, Qt::ControlModifier);
    QTest::keyClicks(cellLine, QStringLiteral("cloud.example.net"));
    QTest::keyClick(cellLine, Qt::Key_Return);
    QTRY_COMPARE_WITH_TIMEOUT(doc->topology().hosts().at(1).address,
                              std::string("cloud.example.net"), 2000);

    auto* add = inspector.findChild<QPushButton*>(QStringLiteral("document.addHost"));
    QTest::mouseClick(add, Qt::LeftButton);
    QCOMPARE(doc->topology().hosts().size(), std::size_t(3));
    QCOMPARE(doc->topology().hosts().at(2).name, std::string("host-1"));
    QCOMPARE(hosts->rowCount(), 3);
    saveScreenshot(&inspector, QStringLiteral("inspector-document"));

    // A duplicate name is refused, with the reason under the table.
    QApplication::focusWidget()->clearFocus();
    hosts->item(2, 0)->setText(QStringLiteral("site"));
    QCOMPARE(doc->topology().hosts().at(2).name, std::string("host-1"));
    bool reason = false;
    for (QLabel* label : inspector.findChildren<QLabel*>()) {
        if (label->isVisibleTo(&inspector) &&
            label->text().contains(QStringLiteral("listed twice")))
            reason = true;
    }
    QVERIFY(reason);
    saveScreenshot(&inspector, QStringLiteral("inspector-document-duplicate-host"));

    // Remove the new row.
    hosts->setCurrentCell(2, 0);
    auto* remove = inspector.findChild<QPushButton*>(QStringLiteral("document.removeHost"));
    QTest::mouseClick(remove, Qt::LeftButton);
    QCOMPARE(doc->topology().hosts().size(), std::size_t(2));
    QTRY_COMPARE_WITH_TIMEOUT(hosts->rowCount(), 2, 2000);

    // Undo (host edits may merge into one step): the table follows the document.
    doc->undoStack()->undo();
    QCOMPARE(hosts->rowCount(), static_cast<int>(doc->topology().hosts().size()));
    QCOMPARE(hosts->item(0, 0)->text(), QStringLiteral("site"));
}

void TestPanels::selectionSummary() {
    auto doc = loadExample();
    QVERIFY(doc);
    InspectorWidget inspector(doc.get(), nullptr, nullptr);
    showAsDock(&inspector, {380, 300});
    inspector.showSelection({QStringLiteral("sampler-1"), QStringLiteral("sampler-2")},
                            {QStringLiteral("uplink")});
    QCOMPARE(inspector.mode(), InspectorWidget::Mode::Multiple);
    auto* title = inspector.findChild<QLabel*>(QStringLiteral("inspectorTitle"));
    QVERIFY(title->text().contains(QStringLiteral("3 items selected")));
    inspector.showSelection({QStringLiteral("cloud-tap")}, {});
    QCOMPARE(inspector.mode(), InspectorWidget::Mode::Node);
    QCOMPARE(inspector.shownId(), QStringLiteral("cloud-tap"));
    inspector.showSelection({}, {});
    QCOMPARE(inspector.mode(), InspectorWidget::Mode::Document);

    // Removing the shown node empties the form.
    inspector.showNode(QStringLiteral("cloud-tap"));
    doc->removeItems({QStringLiteral("cloud-tap")}, {});
    QCOMPARE(inspector.mode(), InspectorWidget::Mode::Empty);
    doc->undoStack()->undo();
    inspector.showNode(QStringLiteral("cloud-tap"));
    QCOMPARE(inspector.mode(), InspectorWidget::Mode::Node);
}

// ---------------------------------------------------------------------------------------------
// Problems

void TestPanels::problemsListAndActivation() {
    auto doc = loadExample();
    QVERIFY(doc);
    ProblemsWidget problems(doc.get());
    showAsDock(&problems, {760, 260});
    QTreeWidget* tree = problems.treeWidget();
    const int initial = tree->topLevelItemCount();
    QCOMPARE(initial, static_cast<int>(doc->problems().size()));

    // Break it: a sampler without an endpoint, a proxy with no queue, a bind used twice.
    doc->setProperty(QStringLiteral("sampler-1"), QStringLiteral("bind"), json(nullptr));
    doc->setProperty(QStringLiteral("site-proxy"), QStringLiteral("queue_capacity"), json(0));
    doc->setProperty(QStringLiteral("sampler-3"), QStringLiteral("bind"), json("tcp://*:5602"));
    QVERIFY(zmqrpc::has_errors(doc->problems()));
    // The document revalidates once per burst of edits, from the event loop.
    QTRY_COMPARE_WITH_TIMEOUT(tree->topLevelItemCount(), static_cast<int>(doc->problems().size()),
                              2000);

    int errors = 0, warnings = 0;
    for (const zmqrpc::Problem& p : doc->problems())
        (p.severity == zmqrpc::Severity::Error ? errors : warnings)++;
    QCOMPARE(problems.errorCount(), errors);
    QCOMPARE(problems.warningCount(), warnings);
    auto* summary = problems.findChild<QLabel*>(QStringLiteral("problemsSummary"));
    QVERIFY(summary->text().contains(errors == 1 ? QStringLiteral("1 error")
                                                 : QStringLiteral("%1 errors").arg(errors)));

    // Rows name the item and the property.
    QTreeWidgetItem* samplerRow = nullptr;
    for (int i = 0; i < tree->topLevelItemCount(); ++i) {
        QTreeWidgetItem* row = tree->topLevelItem(i);
        if (row->text(1) == QStringLiteral("node 'sampler-1'") &&
            row->text(2) == QStringLiteral("bind")) {
            samplerRow = row;
        }
    }
    QVERIFY(samplerRow);
    QCOMPARE(samplerRow->text(0), QStringLiteral("error"));
    QVERIFY(!samplerRow->icon(0).isNull());
    saveScreenshot(&problems, QStringLiteral("panels-problems"));

    QSignalSpy activated(&problems, &ProblemsWidget::activated);
    const QRect rect = tree->visualItemRect(samplerRow);
    QTest::mouseClick(tree->viewport(), Qt::LeftButton, {}, rect.center());
    QTest::mouseDClick(tree->viewport(), Qt::LeftButton, {}, rect.center());
    QCOMPARE(activated.size(), 1);
    QCOMPARE(activated.at(0).at(0).toString(), QStringLiteral("sampler-1"));
    QCOMPARE(activated.at(0).at(1).toString(), QString());

    // Enter on a link's problem.
    doc->setLinkHeartbeatTimeout(QStringLiteral("bridge-to-tap"), 0.5);  // below the heartbeat
    QTRY_COMPARE_WITH_TIMEOUT(tree->topLevelItemCount(), static_cast<int>(doc->problems().size()),
                              2000);
    QTreeWidgetItem* linkRow = nullptr;
    for (int i = 0; i < tree->topLevelItemCount(); ++i) {
        if (tree->topLevelItem(i)->text(1).startsWith(QStringLiteral("link"))) {
            linkRow = tree->topLevelItem(i);
        }
    }
    if (linkRow != nullptr) {
        tree->setFocus();
        tree->setCurrentItem(linkRow);
        QTest::keyClick(tree, Qt::Key_Return);
        QCOMPARE(activated.size(), 2);
        QCOMPARE(activated.at(1).at(1).toString(), linkRow->data(0, Qt::UserRole + 2).toString());
        QVERIFY(!activated.at(1).at(1).toString().isEmpty());
    } else {
        qInfo("no link problem for a heartbeat timeout below the interval; Enter not tested");
    }

    // The inspector shows the node's own problems on top.
    InspectorWidget inspector(doc.get(), nullptr, nullptr);
    showAsDock(&inspector);
    inspector.showNode(QStringLiteral("site-proxy"));
    auto* own = inspector.findChild<QLabel*>(QStringLiteral("inspectorProblems"));
    QVERIFY(own->isVisibleTo(&inspector));
    QVERIFY(own->text().contains(QStringLiteral("Queue capacity")));
    saveScreenshot(&inspector, QStringLiteral("inspector-proxy-problems"));

    // Fixing them empties the list.
    while (doc->undoStack()->canUndo())
        doc->undoStack()->undo();
    QTRY_COMPARE_WITH_TIMEOUT(tree->topLevelItemCount(), initial, 2000);
    QVERIFY(!own->isVisibleTo(&inspector));
}

QTEST_MAIN(TestPanels)
#include "tst_panels.moc"
