// External nodes of a topology served by the Python pyzmqrpc-protocol peer: the Runtime links
// to them and monitors them, never launches them.
#include "interop_util.hpp"
#include "testutil.hpp"

#include <QtTest>

using namespace zmqrpc;
using namespace testutil;
using interop::PythonPeer;

namespace {

const QString kAnyPort = QStringLiteral("tcp://127.0.0.1:*");
constexpr const char* kUser = "bridge";
constexpr const char* kPassword = "pw-for-interop";

QString readyEndpoint(PythonPeer& peer) {
    if (!peer.started()) return {};
    auto line = peer.waitForLine(QStringLiteral("READY"), 10000);
    return line ? line->trimmed() : QString();
}

Node makeNode(std::string id, NodeKind kind, json properties) {
    Node n;
    n.id = std::move(id);
    n.kind = kind;
    n.properties = std::move(properties);
    return n;
}

Link makeLink(PortRef from, PortRef to, double heartbeatTimeout = 0) {
    Link l;
    l.from = std::move(from);
    l.to = std::move(to);
    l.heartbeat_timeout = heartbeatTimeout;
    return l;
}

RuntimeOptions options() {
    RuntimeOptions o;
    o.sample_interval = 50ms;
    o.secrets.use_environment = false;
    o.secrets.file_entries["bridge"] = kPassword;
    return o;
}

}  // namespace

class TestInteropRuntime : public QObject {
    Q_OBJECT

  private slots:
    void initTestCase() {
        // A Python that cannot run the peer was found before any test (ZMQRPC_INTEROP_MAIN).
        qputenv("PYTHONDONTWRITEBYTECODE", "1");
    }

    // A Python publisher as an external PUB node, heard by a tap of the topology.
    void pythonPublisherIsExternal() {
        PythonPeer publisher(QStringList{
            QStringLiteral("publish"), QStringLiteral("--pub"), kAnyPort,
            QStringLiteral("--function"), QStringLiteral("store_sample"),
            QStringLiteral("--params"), QStringLiteral("{\"sensor\": \"py\"}"),
            QStringLiteral("--count"), QStringLiteral("40"), QStringLiteral("--interval-ms"),
            QStringLiteral("20"), QStringLiteral("--heartbeat"), QStringLiteral("--seq"),
            QStringLiteral("--subscribers"), QStringLiteral("1")});
        const QString ep = readyEndpoint(publisher);
        QVERIFY2(!ep.isEmpty(), publisher.diag());

        Topology t;
        t.add_node(makeNode("python-sampler", NodeKind::External,
                            {{"socket", "pub"}, {"endpoint", ep.toStdString()}}));
        t.add_node(makeNode("tap", NodeKind::Tap, {{"keep", 200}}));
        t.add_link(makeLink({"python-sampler", "pub"}, {"tap", "sub"}));
        Runtime runtime(t, options());
        QCOMPARE(runtime.local_nodes(), std::vector<std::string>{"tap"});
        runtime.start_all();
        QCOMPARE(runtime.status("python-sampler").state, NodeState::External);
        publisher.write("GO\n");
        QVERIFY2(publisher.waitForLine(QStringLiteral("SENT"), 10000), publisher.diag());
        QVERIFY(waitUntil([&] { return runtime.status("tap").metrics.messages_in == 40; }, 5000ms));
        int invocations = 0, heartbeats = 0;
        for (const auto& row : runtime.tap_messages("tap")) {
            if (row.heartbeat) {
                ++heartbeats;
                continue;
            }
            auto decoded = decode_request(row.preview);
            QVERIFY2(decoded.request, row.preview.c_str());
            QCOMPARE(decoded.request->function, std::string("store_sample"));
            QCOMPARE(decoded.request->parameters.at("seq").get<int>(), invocations);
            ++invocations;
        }
        QCOMPARE(invocations, 40);
        QVERIFY(heartbeats >= 40);
        QVERIFY2(runtime.status("python-sampler").reason.find("reached by 1") != std::string::npos,
                 runtime.status("python-sampler").reason.c_str());
    }

    // A Python REP server (with credentials) as an external node behind a Rep2Req proxy.
    void pythonServerIsExternal() {
        PythonPeer server(QStringList{QStringLiteral("server"), QStringLiteral("--rep"), kAnyPort,
                                      QStringLiteral("--user"), QString::fromLatin1(kUser),
                                      QStringLiteral("--password"),
                                      QString::fromLatin1(kPassword)});
        const QString ep = readyEndpoint(server);
        QVERIFY2(!ep.isEmpty(), server.diag());

        json creds = {{"username", kUser}, {"password", {{"file", "bridge"}}}};
        Topology t;
        t.add_node(
            makeNode("front", NodeKind::Rep2Req,
                     {{"rep_bind", kAnyTcp}, {"output_credentials", creds}, {"req_timeout", 3}}));
        t.add_node(
            makeNode("python-server", NodeKind::External,
                     {{"socket", "rep"}, {"endpoint", ep.toStdString()}, {"credentials", creds}}));
        t.add_link(makeLink({"front", "req"}, {"python-server", "rep"}));
        Runtime runtime(t, options());
        runtime.start_all();
        QCOMPARE(runtime.status("front").state, NodeState::Running);

        RpcClient client(
            reqClientOptions({connect_address(runtime.bound_endpoint({"front", "rep"}))}, 5000ms));
        QCOMPARE(client.invoke("test_method", {{"param1", "Hello"}, {"param2", " world"}}),
                 json("Hello world"));
        QVERIFY(waitUntil(
            [&] {
                return runtime.snapshot().link("link-1")->connection == ConnectionState::Connected;
            },
            2000ms));
        QVERIFY(runtime.status("python-server").reason.find("reached by 1") != std::string::npos);
    }
};

ZMQRPC_INTEROP_MAIN(TestInteropRuntime)
#include "tst_interop_runtime.moc"
