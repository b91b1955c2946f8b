// The built-in diagnostic functions and _describe, served for real over REQ/REP.
#include "testutil.hpp"

#include <zmqrpc/zmqrpc.hpp>

#include <QtTest>

#include <limits>

#include <set>
#include <thread>

using namespace zmqrpc;
using namespace std::chrono_literals;

class TestDiagnostics : public QObject {
    Q_OBJECT

  private:
    std::unique_ptr<RpcServer> server_;
    std::unique_ptr<RpcClient> client_;

    std::optional<RpcError> errorOf(const std::string& fn, const json& params) {
        try {
            client_->invoke(fn, params, 2000ms);
        } catch (const RpcError& e) {
            return e;
        }
        return std::nullopt;
    }

  private slots:
    void init() {
        RpcServerOptions options;
        options.rep_bind = "tcp://127.0.0.1:*";
        server_ = std::make_unique<RpcServer>(options, diagnostic_functions());
        server_->start();
        RpcClientOptions c;
        c.req_connect = {server_->rep_endpoint()};
        client_ = std::make_unique<RpcClient>(c);
    }
    void cleanup() {
        client_.reset();
        server_.reset();
    }

    void ping() { QCOMPARE(client_->invoke("ping", json::object(), 2000ms), json("pong")); }

    void echoReturnsParameters() {
        json p = {{"text", "é€𝄞"}, {"n", 3}, {"list", {1, 2}}};
        QCOMPARE(client_->invoke("echo", p, 2000ms), p);
        QCOMPARE(client_->invoke("echo", json::object(), 2000ms), json::object());
    }

    void addFollowsPython_data() {
        QTest::addColumn<QByteArray>("a");
        QTest::addColumn<QByteArray>("b");
        QTest::addColumn<QByteArray>("sum");
        QTest::newRow("ints") << QByteArray("1") << QByteArray("2") << QByteArray("3");
        QTest::newRow("negative") << QByteArray("-5") << QByteArray("2") << QByteArray("-3");
        QTest::newRow("float") << QByteArray("1.5") << QByteArray("2") << QByteArray("3.5");
        QTest::newRow("strings") << QByteArray("\"Hello\"") << QByteArray("\" world\"")
                                 << QByteArray("\"Hello world\"");
        QTest::newRow("lists") << QByteArray("[1]") << QByteArray("[2, 3]")
                               << QByteArray("[1, 2, 3]");
        // Integers add exactly across the 64-bit signed and unsigned ranges.
        QTest::newRow("past int64") << QByteArray("9223372036854775807") << QByteArray("1")
                                    << QByteArray("9223372036854775808");
        QTest::newRow("negative and big unsigned")
            << QByteArray("-5") << QByteArray("18446744073709551615")
            << QByteArray("18446744073709551610");
        QTest::newRow("big unsigned back to negative")
            << QByteArray("9223372036854775808") << QByteArray("-9223372036854775807")
            << QByteArray("1");
        QTest::newRow("int64 min") << QByteArray("-9223372036854775807") << QByteArray("-1")
                                   << QByteArray("-9223372036854775808");
    }
    void addFollowsPython() {
        QFETCH(QByteArray, a);
        QFETCH(QByteArray, b);
        QFETCH(QByteArray, sum);
        json params = {{"a", json::parse(a.toStdString())}, {"b", json::parse(b.toStdString())}};
        QCOMPARE(client_->invoke("add", params, 2000ms), json::parse(sum.toStdString()));
    }

    void wrongCallsGetPythonTexts() {
        auto e = errorOf("add", {{"a", 1}});
        QVERIFY(e && e->status_code() == status::kFunctionRaised);
        QCOMPARE(QString::fromStdString(e->status_message()),
                 QStringLiteral("Exception raised when calling function add. Exception: add() "
                                "missing 1 required positional argument: 'b' "));
        e = errorOf("add", json::object());
        QVERIFY(e && e->status_message().find("missing 2 required positional arguments: 'a' "
                                              "and 'b'") != std::string::npos);
        e = errorOf("add", {{"a", 1}, {"b", 2}, {"c", 3}});
        QVERIFY(e &&
                e->status_message().find("unexpected keyword argument 'c'") != std::string::npos);
        e = errorOf("add", {{"a", 1}, {"b", "x"}});
        QVERIFY(e &&
                e->status_message().find("unsupported operand type(s) for +: 'int' and 'str'") !=
                    std::string::npos);
        // Beyond 64 bits: exact, as Python's integers add (big integers travel as digits).
        QCOMPARE(dumps(client_->invoke("add", {{"a", 18446744073709551615ULL}, {"b", 1}}, 2000ms)),
                 std::string("18446744073709551616"));
        QCOMPARE(dumps(client_->invoke(
                     "add", {{"a", std::numeric_limits<std::int64_t>::min()}, {"b", -1}}, 2000ms)),
                 std::string("-9223372036854775809"));
        QCOMPARE(client_->invoke("add",
                                 {{"a", big_integer("-123456789012345678901234567890")},
                                  {"b", big_integer("123456789012345678901234567891")}},
                                 2000ms),
                 json(1));
        e = errorOf("sleep", {{"seconds", "soon"}});
        QVERIFY(e && e->status_code() == status::kFunctionRaised);
        e = errorOf("sleep", {{"seconds", -1}});
        QVERIFY(e && e->status_code() == status::kFunctionRaised);
    }

    void failRaises463WithTheMessage() {
        auto e = errorOf("fail", {{"message", "boom"}});
        QVERIFY(e && e->kind() == RpcError::Kind::Status);
        QCOMPARE(QString::fromStdString(e->status_message()),
                 QStringLiteral("Exception raised when calling function fail. Exception: boom "));
        // The server keeps serving.
        QCOMPARE(client_->invoke("ping", json::object(), 2000ms), json("pong"));
    }

    void sleepSleeps() {
        testutil::Clock::time_point start = testutil::Clock::now();
        QCOMPARE(client_->invoke("sleep", {{"seconds", 0.2}}, 2000ms), json(0.2));
        QVERIFY(testutil::msSince(start) >= 199);
    }

    void stopInterruptsALongSleep() {
        // A client thread calls sleep(30); stopping the server must still be quick.
        std::thread caller([endpoint = server_->rep_endpoint()] {
            RpcClientOptions c;
            c.req_connect = {endpoint};
            RpcClient client(c);
            try {
                client.invoke("sleep", {{"seconds", 30}}, 3000ms);
            } catch (const RpcError&) {
            }
        });
        QVERIFY(testutil::waitUntil([&] { return server_->metrics().messages_in >= 1; }));
        const auto start = testutil::Clock::now();
        server_->stop();
        QVERIFY2(static_cast<double>(testutil::msSince(start)) < testutil::kStopBudgetMs,
                 "stop waited for the sleeping function");
        caller.join();
    }

    void describeListsEveryFunction() {
        json listing = client_->invoke("_describe", json::object(), 2000ms);
        QVERIFY(listing.is_array());
        std::set<std::string> names;
        for (const auto& f : listing) {
            names.insert(f.at("name").get<std::string>());
            QVERIFY(f.at("parameters").is_array());
            QVERIFY(f.at("help").is_string());
        }
        for (const char* n : {"ping", "echo", "add", "sleep", "fail", "_describe"}) {
            QVERIFY2(names.count(n), n);
        }
        for (const auto& f : listing) {
            if (f["name"] == "add") QCOMPARE(f["parameters"], json({"a", "b"}));
        }
    }

    void everyRegistryAnswersDescribe() {
        FunctionRegistry r;
        r.add(
            "only", [](const json&) { return json(1); }, {"x"}, "one function");
        json reply = json::parse(r.dispatch(encode_request("_describe")));
        QCOMPARE(reply["status_code"], json(200));
        QCOMPARE(reply["response_message"].size(), std::size_t{2});
    }
};

QTEST_GUILESS_MAIN(TestDiagnostics)
#include "tst_diagnostics.moc"
