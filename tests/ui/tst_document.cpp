// EditorDocument: every edit undoable, merged property edits, structural undo (delete restores
// links), clipboard with fresh ids and ports, layout, files with the dirty mark, problems.
#include "document/editor_document.hpp"

#include <QSignalSpy>
#include <QTemporaryDir>
#include <QtTest>

using namespace studio;
using zmqrpc::NodeKind;

namespace {

QString examplePath() {
    return QStringLiteral(ZMQRPC_EXAMPLES_DIR "/sampler-to-cloud.json");
}

std::string bindOf(const EditorDocument& doc, const QString& id, const char* key) {
    return doc.topology().find_node(id.toStdString())->property(key).get<std::string>();
}

}  // namespace

class TestDocument : public QObject {
    Q_OBJECT

  private slots:
    void loadSaveRoundTrip() {
        EditorDocument doc;
        QString error;
        QVERIFY2(doc.load(examplePath(), &error), qPrintable(error));
        QCOMPARE(doc.displayName(), QStringLiteral("sampler-to-cloud.json"));
        QVERIFY(!doc.isDirty());
        QVERIFY(doc.problems().empty());
        QTemporaryDir dir;
        const QString copy = dir.filePath("copy.json");
        QVERIFY(doc.saveAs(copy, &error));
        QFile a(examplePath()), b(copy);
        QVERIFY(a.open(QIODevice::ReadOnly) && b.open(QIODevice::ReadOnly));
        QCOMPARE(b.readAll(), a.readAll());
        QCOMPARE(doc.filePath(), copy);
    }

    void loadErrorLeavesDocument() {
        EditorDocument doc;
        QVERIFY(doc.load(examplePath(), nullptr));
        QTemporaryDir dir;
        QFile bad(dir.filePath("bad.json"));
        QVERIFY(bad.open(QIODevice::WriteOnly));
        bad.write(
            "{\"format\": \"zmqrpc-topology\", \"version\": 1, \"nodes\": [], \"links\": "
            "[{\"id\": \"l\", \"from\": \"a.pub\", \"to\": \"proxy-2.sub\"}]}");
        bad.close();
        QString error;
        QVERIFY(!doc.load(bad.fileName(), &error));
        QVERIFY2(error.contains("links[0].from: no node 'a'"), qPrintable(error));
        QCOMPARE(doc.topology().nodes().size(), std::size_t(6));
    }

    void addNodeIsUndoableWithFreshPorts() {
        EditorDocument doc;
        QSignalSpy added(&doc, &EditorDocument::nodeAdded);
        QSignalSpy dirty(&doc, &EditorDocument::dirtyChanged);
        QString a = doc.addNode(NodeKind::Sampler, QPointF(13, 27));
        QString b = doc.addNode(NodeKind::Sampler, QPointF(100, 0));
        QCOMPARE(a, QStringLiteral("sampler-1"));
        QCOMPARE(b, QStringLiteral("sampler-2"));
        QCOMPARE(added.count(), 2);
        QVERIFY(doc.isDirty());
        QCOMPARE(dirty.count(), 1);
        QVERIFY(bindOf(doc, a, "bind") != bindOf(doc, b, "bind"));
        const auto* node = doc.topology().find_node("sampler-1");
        QCOMPARE(node->position.x, 20.0);  // snapped to the grid
        QCOMPARE(node->position.y, 20.0);
        QCOMPARE(node->name, std::string("Sampler 1"));
        doc.undoStack()->undo();
        QVERIFY(!doc.topology().find_node("sampler-2"));
        doc.undoStack()->undo();
        QVERIFY(!doc.isDirty());
        doc.undoStack()->redo();
        QVERIFY(doc.topology().find_node("sampler-1"));
        // Every kind can be added and gets what it needs to validate its own properties.
        for (auto kind : zmqrpc::all_node_kinds())
            QVERIFY(!doc.addNode(kind, {}).isEmpty());
        for (const auto& p : doc.problems())
            QVERIFY2(p.property.empty() || p.text.find("required") == std::string::npos,
                     p.str().c_str());
    }

    void propertyEditsMerge() {
        EditorDocument doc;
        QVERIFY(doc.load(examplePath(), nullptr));
        const int before = doc.undoStack()->count();
        QVERIFY(doc.setProperty("sampler-1", "rate", 6));
        QVERIFY(doc.setProperty("sampler-1", "rate", 7));
        QVERIFY(doc.setProperty("sampler-1", "rate", 8));
        QCOMPARE(doc.undoStack()->count(), before + 1);
        QCOMPARE(doc.topology().find_node("sampler-1")->property("rate"), nlohmann::json(8));
        doc.undoStack()->undo();
        QCOMPARE(doc.topology().find_node("sampler-1")->property("rate"), nlohmann::json(5));
        // Another property is another step; a refused value never reaches the stack.
        QVERIFY(doc.setProperty("sampler-1", "heartbeat_interval", 2));
        QString error;
        QVERIFY(!doc.setProperty("sampler-1", "rate", "fast", &error));
        QVERIFY(!error.isEmpty());
        QVERIFY(!doc.setProperty("sampler-1", "colour", 1, &error));
        QCOMPARE(doc.undoStack()->count(), before + 1);
        // null: back to the default
        QVERIFY(doc.setProperty("sampler-1", "rate", nullptr));
        QCOMPARE(doc.topology().find_node("sampler-1")->property("rate"), nlohmann::json(1));
    }

    void deleteRestoresLinks() {
        EditorDocument doc;
        QVERIFY(doc.load(examplePath(), nullptr));
        const auto links = doc.topology().links().size();
        doc.removeItems({"site-proxy"}, {});
        QVERIFY(!doc.topology().find_node("site-proxy"));
        QCOMPARE(doc.topology().links().size(), links - 4);
        doc.undoStack()->undo();
        QVERIFY(doc.topology().find_node("site-proxy"));
        QCOMPARE(doc.topology().links().size(), links);
        QVERIFY(doc.problems().empty());
        doc.removeItems({}, {"uplink"});
        QCOMPARE(doc.topology().links().size(), links - 1);
        doc.undoStack()->undo();
        QCOMPARE(doc.topology().links().size(), links);
    }

    void moveIsOneStep() {
        EditorDocument doc;
        QVERIFY(doc.load(examplePath(), nullptr));
        QHash<QString, QPointF> from{{"sampler-1", {0, -150}}, {"sampler-2", {0, 0}}};
        QHash<QString, QPointF> to{{"sampler-1", {40, -150}}, {"sampler-2", {40, 0}}};
        const int before = doc.undoStack()->count();
        doc.moveNodes(from, to);
        QCOMPARE(doc.undoStack()->count(), before + 1);
        QCOMPARE(doc.topology().find_node("sampler-2")->position.x, 40.0);
        doc.undoStack()->undo();
        QCOMPARE(doc.topology().find_node("sampler-2")->position.x, 0.0);
        doc.moveNodes(to, to);  // nothing moved: nothing pushed
        QCOMPARE(doc.undoStack()->count(), before + 1);
    }

    void linksThroughTheModel() {
        EditorDocument doc;
        QString s = doc.addNode(NodeKind::Sampler, {});
        QString t = doc.addNode(NodeKind::Tap, {300, 0});
        QString r = doc.addNode(NodeKind::Rep2Req, {300, 200});
        QString reason;
        QVERIFY(doc.addLink({s.toStdString(), "pub"}, {r.toStdString(), "rep"}, &reason).isEmpty());
        QVERIFY2(reason.contains("SUB"), qPrintable(reason));
        QString id = doc.addLink({s.toStdString(), "pub"}, {t.toStdString(), "sub"}, &reason);
        QCOMPARE(id, QStringLiteral("link-1"));
        // The sampler beats every second: the link is supervised at three beats.
        QCOMPARE(doc.topology().find_link("link-1")->heartbeat_timeout, 3.0);
        doc.setLinkHeartbeatTimeout(id, 10);
        doc.setLinkHeartbeatTimeout(id, 12);
        QCOMPARE(doc.topology().find_link("link-1")->heartbeat_timeout, 12.0);
        doc.undoStack()->undo();
        QCOMPARE(doc.topology().find_link("link-1")->heartbeat_timeout, 3.0);
    }

    void clipboard() {
        EditorDocument doc;
        QVERIFY(doc.load(examplePath(), nullptr));
        QByteArray data = doc.copy({"sampler-1", "site-proxy"});
        QVERIFY(data.contains("sampler-1"));
        QStringList ids = doc.paste(data, QPointF(40, 40));
        QCOMPARE(ids.size(), 2);
        QVERIFY(!ids.contains("sampler-1"));
        // The link between the two came along; ports are free ones; one undo step.
        QCOMPARE(doc.topology().links().size(), std::size_t(6));
        QVERIFY(bindOf(doc, ids[0], "bind") != bindOf(doc, "sampler-1", "bind"));
        QVERIFY(doc.problems().empty() || !zmqrpc::has_errors(doc.problems()) ||
                doc.problems().front().text.find("binds") == std::string::npos);
        doc.undoStack()->undo();
        QCOMPARE(doc.topology().nodes().size(), std::size_t(6));
        QCOMPARE(doc.duplicate({"cloud-tap"}).size(), 1);
        QVERIFY(doc.paste("not a fragment", {}).isEmpty());
    }

    void autoLayoutLeftToRight() {
        EditorDocument doc;
        QVERIFY(doc.load(examplePath(), nullptr));
        for (const auto& n : doc.topology().nodes())
            doc.moveNodes({{QString::fromStdString(n.id), {n.position.x, n.position.y}}},
                          {{QString::fromStdString(n.id), {0, 0}}});
        doc.autoLayout();
        auto x = [&](const char* id) { return doc.topology().find_node(id)->position.x; };
        QVERIFY(x("sampler-1") < x("site-proxy"));
        QVERIFY(x("site-proxy") < x("cloud-bridge"));
        QVERIFY(x("cloud-bridge") < x("cloud-tap"));
        doc.undoStack()->undo();
        QCOMPARE(x("cloud-tap"), 0.0);
    }

    void documentFields() {
        EditorDocument doc;
        QVERIFY(doc.load(examplePath(), nullptr));
        const std::string before = doc.topology().description();
        doc.setDocumentDescription(QStringLiteral("first"));
        doc.setDocumentDescription(QStringLiteral("first draft"));  // merges: one step
        QCOMPARE(doc.topology().description(), std::string("first draft"));
        doc.undoStack()->undo();
        QCOMPARE(doc.topology().description(), before);
        doc.setDocumentName(QStringLiteral("Renamed"));
        QCOMPARE(doc.topology().name(), std::string("Renamed"));
        doc.setHosts({{"site", "10.0.0.1"}});
        doc.setHosts({{"site", "10.0.0.2"}});  // host edits stay separate steps
        doc.undoStack()->undo();
        QCOMPARE(doc.topology().hosts().front().address, std::string("10.0.0.1"));
    }

    void dirtyAndClean() {
        EditorDocument doc;
        QTemporaryDir dir;
        QString error;
        QVERIFY(!doc.save(&error));  // untitled: Save As first
        doc.addNode(NodeKind::Tap, {});
        QVERIFY(doc.isDirty());
        QVERIFY(doc.saveAs(dir.filePath("t.json"), &error));
        QVERIFY(!doc.isDirty());
        doc.undoStack()->undo();
        QVERIFY(doc.isDirty());
        doc.undoStack()->redo();
        QVERIFY(!doc.isDirty());
        doc.reset(doc.topology(), doc.filePath(), true);  // recovered work
        QVERIFY(doc.isDirty());
        QVERIFY(doc.save(&error));
        QVERIFY(!doc.isDirty());
    }

    void problemsFollowEdits() {
        EditorDocument doc;
        QVERIFY(doc.load(examplePath(), nullptr));
        QSignalSpy spy(&doc, &EditorDocument::problemsChanged);
        QVERIFY(doc.setProperty("sampler-2", "bind", "tcp://*:5601"));
        QVERIFY(zmqrpc::has_errors(doc.problems()));
        QTRY_VERIFY(spy.count() >= 1);
        doc.undoStack()->undo();
        QVERIFY(doc.problems().empty());
    }
};

QTEST_MAIN(TestDocument)
#include "tst_document.moc"
