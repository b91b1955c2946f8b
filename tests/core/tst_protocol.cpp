// The pyzmqrpc wire protocol: json.dumps() byte-exactness, UTF-8 validation, status texts,
// request/response encoding and decoding. Expected strings were produced with CPython 3.11's
// json.dumps() (see the comments) so that a C++ node writes what a Python node writes.
#include <QtTest>

#include "zmqrpc/diagnostics.hpp"
#include "zmqrpc/errors.hpp"
#include "zmqrpc/protocol.hpp"
#include "zmqrpc/version.hpp"

#include <cmath>
#include <limits>
#include <stdexcept>

using zmqrpc::json;

Q_DECLARE_METATYPE(zmqrpc::json)

namespace {
// The text with each ` made an apostrophe: moc's preprocessor misreads apostrophes in
// string literals inside test macros.
std::string sq(std::string text) {
    for (char& c : text)
        if (c == '`') c = '\'';
    return text;
}

QByteArray bytes(const std::string& s) {
    return QByteArray(s.data(), static_cast<qsizetype>(s.size()));
}
std::string str(const QByteArray& b) {
    return std::string(b.constData(), static_cast<std::size_t>(b.size()));
}

}  // namespace

class TestProtocol : public QObject {
    Q_OBJECT

  private slots:
    void heartbeatAndStatusCodes();
    void statusTexts();
    void rpcErrorKindNames();
    void versionStrings();

    void dumps_data();
    void dumps();
    void dumpsObjectKeysAreEscaped();
    void dumpsInvalidUtf8IsReplaced();

    void isValidUtf8_data();
    void isValidUtf8();

    void jsonNestingExceeds_data();
    void jsonNestingExceeds();
    void parseJsonText();

    void encodeRequest();
    void encodeRequestRejectsNonObjectParameters();
    void encodeResponse();

    void decodeRequest_data();
    void decodeRequest();
    void decodeRequestErrorTexts();
    void decodeRequestAcceptsPythonFloatTokens();
    void decodeRequestParametersNotAMapping();
    void repliesMatchRealPyzmqrpc();
    void loadsLikePython();
    void pythonStr();
    void dumpsIndented();

    void decodeResponse_data();
    void decodeResponse();
    void decodeResponseProtocolErrors_data();
    void decodeResponseProtocolErrors();

    void responseValueOrThrow();
    void roundTrip();
};

void TestProtocol::heartbeatAndStatusCodes() {
    QCOMPARE(std::string(zmqrpc::kHeartbeat), std::string("zmq_sub_heartbeat"));
    QCOMPARE(zmqrpc::status::kOk, 200);
    QCOMPARE(zmqrpc::status::kBadJson, 400);
    QCOMPARE(zmqrpc::status::kNoFunction, 450);
    QCOMPARE(zmqrpc::status::kUnknownFunction, 451);
    QCOMPARE(zmqrpc::status::kFunctionRaised, 463);
    QCOMPARE(zmqrpc::status::kProxyFailed, 482);
}

void TestProtocol::statusTexts() {
    QCOMPARE(zmqrpc::status_text_bad_json("Expecting value: line 1 column 1 (char 0)"),
             std::string("Incorrectly marshalled function. Incoming message is no proper json "
                         "formatted string. Exception: Expecting value: line 1 column 1 (char 0)"));
    QCOMPARE(zmqrpc::status_text_no_function(),
             std::string("Incorrectly marshalled function. No function name provided."));
    QCOMPARE(zmqrpc::status_text_unknown_function("frobnicate"),
             std::string("Function 'frobnicate' is not implemented on server. Check rpc_functions "
                         "on server if it contains the function name"));
    QCOMPARE(zmqrpc::status_text_function_raised("divide", "division by zero"),
             std::string("Exception raised when calling function divide. Exception: division by "
                         "zero "));
    // The trailing space is part of pyzmqrpc's text.
    QVERIFY(zmqrpc::status_text_function_raised("f", "e").ends_with("e "));
}

void TestProtocol::rpcErrorKindNames() {
    using K = zmqrpc::RpcError::Kind;
    QCOMPARE(std::string(zmqrpc::to_string(K::Timeout)), std::string("timeout"));
    QCOMPARE(std::string(zmqrpc::to_string(K::Unreachable)), std::string("unreachable"));
    QCOMPARE(std::string(zmqrpc::to_string(K::CredentialsRefused)),
             std::string("credentials refused"));
    QCOMPARE(std::string(zmqrpc::to_string(K::Status)), std::string("status"));
    QCOMPARE(std::string(zmqrpc::to_string(K::Protocol)), std::string("protocol"));
}

void TestProtocol::versionStrings() {
    QCOMPARE(QString::fromLatin1(zmqrpc::version()), QStringLiteral("0.1.0"));
    const QString zmq = QString::fromLatin1(zmqrpc::libzmq_version());
    QVERIFY2(QRegularExpression(QStringLiteral("^4\\.\\d+\\.\\d+$")).match(zmq).hasMatch(),
             qPrintable(zmq));
    QVERIFY(zmqrpc::libzmq_version() == zmqrpc::libzmq_version());  // one static buffer
}

void TestProtocol::dumps_data() {
    QTest::addColumn<json>("value");
    QTest::addColumn<QByteArray>("expected");
    const double nan = std::numeric_limits<double>::quiet_NaN();
    const double inf = std::numeric_limits<double>::infinity();

    QTest::newRow("null") << json() << QByteArray("null");
    QTest::newRow("true") << json(true) << QByteArray("true");
    QTest::newRow("false") << json(false) << QByteArray("false");
    QTest::newRow("zero") << json(0) << QByteArray("0");
    QTest::newRow("negative") << json(-1) << QByteArray("-1");
    QTest::newRow("int64 max") << json(std::numeric_limits<std::int64_t>::max())
                               << QByteArray("9223372036854775807");
    QTest::newRow("int64 min") << json(std::numeric_limits<std::int64_t>::min())
                               << QByteArray("-9223372036854775808");
    QTest::newRow("uint64 max") << json(std::numeric_limits<std::uint64_t>::max())
                                << QByteArray("18446744073709551615");
    // json.dumps([1.5, 0.1, 1e-05, 1e16, 1e15, 1234567890123456.0, -0.0, 1.5e300, 5e-324, 100.0,
    //             0.0001, 1.234e-05, 3.141592653589793, 2.5e-10, 1e22, 123456789.123])
    QTest::newRow("1.5") << json(1.5) << QByteArray("1.5");
    QTest::newRow("0.1") << json(0.1) << QByteArray("0.1");
    QTest::newRow("1e-05") << json(1e-05) << QByteArray("1e-05");
    QTest::newRow("1e16") << json(1e16) << QByteArray("1e+16");
    QTest::newRow("1e15") << json(1e15) << QByteArray("1000000000000000.0");
    QTest::newRow("16 digits") << json(1234567890123456.0) << QByteArray("1234567890123456.0");
    QTest::newRow("-0.0") << json(-0.0) << QByteArray("-0.0");
    QTest::newRow("1.5e300") << json(1.5e300) << QByteArray("1.5e+300");
    QTest::newRow("denormal") << json(5e-324) << QByteArray("5e-324");
    QTest::newRow("100.0") << json(100.0) << QByteArray("100.0");
    QTest::newRow("0.0001") << json(0.0001) << QByteArray("0.0001");
    QTest::newRow("1.234e-05") << json(1.234e-05) << QByteArray("1.234e-05");
    QTest::newRow("pi") << json(3.141592653589793) << QByteArray("3.141592653589793");
    QTest::newRow("2.5e-10") << json(2.5e-10) << QByteArray("2.5e-10");
    QTest::newRow("1e22") << json(1e22) << QByteArray("1e+22");
    QTest::newRow("123456789.123") << json(123456789.123) << QByteArray("123456789.123");
    QTest::newRow("max double") << json(std::numeric_limits<double>::max())
                                << QByteArray("1.7976931348623157e+308");
    // json.dumps([float("nan"), float("inf"), -float("inf")]) == '[NaN, Infinity, -Infinity]'
    QTest::newRow("nan") << json(nan) << QByteArray("NaN");
    QTest::newRow("inf") << json(inf) << QByteArray("Infinity");
    QTest::newRow("-inf") << json(-inf) << QByteArray("-Infinity");
    QTest::newRow("special floats")
        << json::array({nan, inf, -inf}) << QByteArray("[NaN, Infinity, -Infinity]");
    // json.dumps({"a": "é"}) == '{"a": "\\u00e9"}'
    QTest::newRow("latin-1") << json{{"a", "\xC3\xA9"}} << QByteArray(R"({"a": "\u00e9"})");
    // json.dumps("€") == '"\\u20ac"'
    QTest::newRow("bmp") << json("\xE2\x82\xAC") << QByteArray(R"("\u20ac")");
    // json.dumps("𝄞") == '"\\ud834\\udd1e"'
    QTest::newRow("astral") << json("\xF0\x9D\x84\x9E") << QByteArray(R"("\ud834\udd1e")");
    // json.dumps("😀") == '"\\ud83d\\ude00"'
    QTest::newRow("emoji") << json("\xF0\x9F\x98\x80") << QByteArray(R"("\ud83d\ude00")");
    // json.dumps("\U0010ffff") == '"\\udbff\\udfff"'
    QTest::newRow("max code point") << json("\xF4\x8F\xBF\xBF") << QByteArray(R"("\udbff\udfff")");
    // json.dumps("aé€𝄞z")
    QTest::newRow("mixed") << json("a\xC3\xA9\xE2\x82\xAC\xF0\x9D\x84\x9Ez")
                           << QByteArray(R"("a\u00e9\u20ac\ud834\udd1ez")");
    // json.dumps('tab\there "q" back\\slash /')
    QTest::newRow("short escapes") << json("tab\there \"q\" back\\slash /")
                                   << QByteArray(R"("tab\there \"q\" back\\slash /")");
    // json.dumps("\n\r\b\f")
    QTest::newRow("more short escapes") << json("\n\r\b\f") << QByteArray(R"("\n\r\b\f")");
    // json.dumps("\x00\x01\x1f\x7f\x80") == '"\\u0000\\u0001\\u001f\\u007f\\u0080"'
    QTest::newRow("control and DEL") << json(std::string("\x00\x01\x1f\x7f\xC2\x80", 6))
                                     << QByteArray(R"("\u0000\u0001\u001f\u007f\u0080")");
    QTest::newRow("empty string") << json("") << QByteArray(R"("")");
    QTest::newRow("empty object") << json::object() << QByteArray("{}");
    QTest::newRow("empty array") << json::array() << QByteArray("[]");
    // json.dumps({"a": [1, 2, {"b": None}], "c": True, "d": False})
    QTest::newRow("nested") << json{{"a", {1, 2, {{"b", nullptr}}}}, {"c", true}, {"d", false}}
                            << QByteArray(R"({"a": [1, 2, {"b": null}], "c": true, "d": false})");
    QTest::newRow("nested arrays") << json::array({json::array(), json::array({1, json::array()})})
                                   << QByteArray("[[], [1, []]]");
    // json.dumps({"function": "add", "parameters": {"a": 1, "b": "x"}})
    QTest::newRow("request") << json{{"function", "add"}, {"parameters", {{"a", 1}, {"b", "x"}}}}
                             << QByteArray(
                                    R"({"function": "add", "parameters": {"a": 1, "b": "x"}})");
}

void TestProtocol::dumps() {
    QFETCH(json, value);
    QFETCH(QByteArray, expected);
    QCOMPARE(bytes(zmqrpc::dumps(value)), expected);
}

void TestProtocol::dumpsObjectKeysAreEscaped() {
    // json.dumps({"é": 1, "q\"": 2}) == '{"\\u00e9": 1, "q\\"": 2}': escaped, in their order.
    const json value{{"\xC3\xA9", 1}, {"q\"", 2}};
    QCOMPARE(bytes(zmqrpc::dumps(value)), QByteArray(R"({"\u00e9": 1, "q\"": 2})"));
}

void TestProtocol::dumpsInvalidUtf8IsReplaced() {
    // nlohmann::json can hold bytes that are not UTF-8 (e.g. an exception text); dumps() must not
    // fail on them: each bad byte becomes U+FFFD.
    const json value = std::string(
        "a\xFF"
        "b\xC3",
        4);
    QCOMPARE(bytes(zmqrpc::dumps(value)), QByteArray(R"("a\ufffdb\ufffd")"));
    // A lone surrogate in generalised UTF-8 is what loads() makes of "\ud800": written back as it.
    const json surrogate = std::string("\xED\xA0\x80", 3);
    QCOMPARE(bytes(zmqrpc::dumps(surrogate)), QByteArray(R"("\ud800")"));
    const json truncated = std::string("\xED\xA0", 2);
    QCOMPARE(bytes(zmqrpc::dumps(truncated)), QByteArray(R"("\ufffd\ufffd")"));
}

void TestProtocol::isValidUtf8_data() {
    QTest::addColumn<QByteArray>("input");
    QTest::addColumn<bool>("valid");
    QTest::addColumn<int>("offset");

    QTest::newRow("empty") << QByteArray() << true << -1;
    QTest::newRow("ascii") << QByteArray("hello {}") << true << -1;
    QTest::newRow("nul byte") << QByteArray("a\0b", 3) << true << -1;
    QTest::newRow("2-byte") << QByteArray("\xC3\xA9") << true << -1;
    QTest::newRow("3-byte") << QByteArray("\xE2\x82\xAC") << true << -1;
    QTest::newRow("4-byte") << QByteArray("\xF0\x9D\x84\x9E") << true << -1;
    QTest::newRow("U+10FFFF") << QByteArray("\xF4\x8F\xBF\xBF") << true << -1;
    QTest::newRow("U+D7FF") << QByteArray("\xED\x9F\xBF") << true << -1;
    QTest::newRow("U+E000") << QByteArray("\xEE\x80\x80") << true << -1;
    QTest::newRow("overlong 2") << QByteArray("ab\xC0\x80") << false << 2;
    QTest::newRow("overlong C1") << QByteArray("\xC1\xBF") << false << 0;
    QTest::newRow("overlong 3") << QByteArray("\xE0\x80\x80") << false << 0;
    QTest::newRow("overlong 3 (U+7FF)") << QByteArray("\xE0\x9F\xBF") << false << 0;
    QTest::newRow("overlong 4") << QByteArray("\xF0\x80\x80\x80") << false << 0;
    QTest::newRow("overlong 4 (U+FFFF)") << QByteArray("x\xF0\x8F\xBF\xBF") << false << 1;
    QTest::newRow("surrogate D800") << QByteArray("\xED\xA0\x80") << false << 0;
    QTest::newRow("surrogate DFFF") << QByteArray("ok\xED\xBF\xBF") << false << 2;
    QTest::newRow("above U+10FFFF") << QByteArray("\xF4\x90\x80\x80") << false << 0;
    QTest::newRow("F5") << QByteArray("\xF5\x80\x80\x80") << false << 0;
    QTest::newRow("FF") << QByteArray("abc\xFF") << false << 3;
    QTest::newRow("stray continuation") << QByteArray("a\x80") << false << 1;
    QTest::newRow("truncated at end") << QByteArray("\xE2\x82") << false << 0;
    QTest::newRow("truncated 4 at end") << QByteArray("abc\xF0\x9D\x84") << false << 3;
    QTest::newRow("truncated then ascii") << QByteArray(
                                                 "\xE2\x82"
                                                 "A")
                                          << false << 0;
    QTest::newRow("bad after good") << QByteArray("\xC3\xA9\xC3") << false << 2;
}

void TestProtocol::isValidUtf8() {
    QFETCH(QByteArray, input);
    QFETCH(bool, valid);
    QFETCH(int, offset);
    std::size_t bad = 12345;
    const std::string_view view(input.constData(), static_cast<std::size_t>(input.size()));
    QCOMPARE(zmqrpc::is_valid_utf8(view, &bad), valid);
    if (valid) {
        QCOMPARE(bad, std::size_t{12345});  // untouched
    } else {
        QCOMPARE(bad, static_cast<std::size_t>(offset));
    }
    QCOMPARE(zmqrpc::is_valid_utf8(view), valid);  // without an offset pointer
}

void TestProtocol::encodeRequest() {
    QCOMPARE(bytes(zmqrpc::encode_request("add", json{{"a", 1}, {"b", 2}})),
             QByteArray(R"({"function": "add", "parameters": {"a": 1, "b": 2}})"));
    QCOMPARE(bytes(zmqrpc::encode_request("ping")),
             QByteArray(R"({"function": "ping", "parameters": {}})"));
    QCOMPARE(bytes(zmqrpc::encode_request("ping", json())), QByteArray(R"({"function": "ping"})"));
    // json.dumps({"function": "gr\u00fc\u00df", "parameters": {"s": "\u20ac"}})
    QCOMPARE(bytes(zmqrpc::encode_request("gr\xC3\xBC\xC3\x9F", json{{"s", "\xE2\x82\xAC"}})),
             QByteArray(R"({"function": "gr\u00fc\u00df", "parameters": {"s": "\u20ac"}})"));
}

void TestProtocol::encodeRequestRejectsNonObjectParameters() {
    QVERIFY_THROWS_EXCEPTION(std::invalid_argument,
                             zmqrpc::encode_request("f", json::array({1, 2})));
    QVERIFY_THROWS_EXCEPTION(std::invalid_argument, zmqrpc::encode_request("f", json(1)));
    QVERIFY_THROWS_EXCEPTION(std::invalid_argument, zmqrpc::encode_request("f", json("x")));
}

void TestProtocol::encodeResponse() {
    QCOMPARE(bytes(zmqrpc::encode_response(200, "OK")),
             QByteArray(R"({"status_code": 200, "status_message": "OK"})"));
    QCOMPARE(bytes(zmqrpc::encode_response(200, "OK", json())),
             QByteArray(R"({"status_code": 200, "status_message": "OK"})"));
    QCOMPARE(bytes(zmqrpc::encode_response(200, "OK", json(3))),
             QByteArray(R"({"status_code": 200, "status_message": "OK", "response_message": 3})"));
    QCOMPARE(bytes(zmqrpc::encode_response(200, "OK", json{{"list", {1.5, "\xC3\xA9"}}})),
             QByteArray(R"({"status_code": 200, "status_message": "OK", )"
                        R"("response_message": {"list": [1.5, "\u00e9"]}})"));
    QCOMPARE(
        bytes(zmqrpc::encode_response(200, "OK", json(false))),
        QByteArray(R"({"status_code": 200, "status_message": "OK", "response_message": false})"));
    QCOMPARE(bytes(zmqrpc::encode_response(
                 463, zmqrpc::status_text_function_raised("div", "division by zero"))),
             QByteArray(R"({"status_code": 463, "status_message": "Exception raised when )"
                        R"(calling function div. Exception: division by zero "})"));
    QCOMPARE(bytes(zmqrpc::encode_response(451, zmqrpc::status_text_unknown_function("x"))),
             QByteArray(R"({"status_code": 451, "status_message": "Function 'x' is not )"
                        R"(implemented on server. Check rpc_functions on server if it contains )"
                        R"(the function name"})"));
}

void TestProtocol::decodeRequest_data() {
    QTest::addColumn<QByteArray>("message");
    QTest::addColumn<int>("status");             // 0: valid
    QTest::addColumn<QByteArray>("function");    // when valid
    QTest::addColumn<QByteArray>("parameters");  // dumps() of the parameters, when valid

    QTest::newRow("valid") << QByteArray(R"({"function": "add", "parameters": {"a": 1, "b": 2}})")
                           << 0 << QByteArray("add") << QByteArray(R"({"a": 1, "b": 2})");
    QTest::newRow("compact") << QByteArray(R"({"parameters":{"x":[1,2]},"function":"f"})") << 0
                             << QByteArray("f") << QByteArray(R"({"x": [1, 2]})");
    QTest::newRow("whitespace") << QByteArray(" \n{\"function\" : \"f\"}\r\n ") << 0
                                << QByteArray("f") << QByteArray("{}");
    QTest::newRow("no parameters")
        << QByteArray(R"({"function": "ping"})") << 0 << QByteArray("ping") << QByteArray("{}");
    QTest::newRow("null parameters") << QByteArray(R"({"function": "ping", "parameters": null})")
                                     << 0 << QByteArray("ping") << QByteArray("{}");
    QTest::newRow("empty parameters") << QByteArray(R"({"function": "ping", "parameters": {}})")
                                      << 0 << QByteArray("ping") << QByteArray("{}");
    QTest::newRow("escaped function name") << QByteArray(R"({"function": "gr\u00fc\u00df"})") << 0
                                           << QByteArray("gr\xC3\xBC\xC3\x9F") << QByteArray("{}");
    QTest::newRow("raw utf-8 function name") << QByteArray("{\"function\": \"\xE2\x82\xAC\"}") << 0
                                             << QByteArray("\xE2\x82\xAC") << QByteArray("{}");
    QTest::newRow("empty function name")
        << QByteArray(R"({"function": ""})") << 0 << QByteArray() << QByteArray("{}");
    QTest::newRow("extra keys") << QByteArray(R"({"function": "f", "id": 7})") << 0
                                << QByteArray("f") << QByteArray("{}");

    QTest::newRow("not JSON") << QByteArray("hello") << 400 << QByteArray() << QByteArray();
    QTest::newRow("truncated JSON")
        << QByteArray(R"({"function": "f")") << 400 << QByteArray() << QByteArray();
    QTest::newRow("empty message") << QByteArray() << 400 << QByteArray() << QByteArray();
    QTest::newRow("trailing garbage")
        << QByteArray(R"({"function": "f"} x)") << 400 << QByteArray() << QByteArray();
    QTest::newRow("heartbeat") << QByteArray("zmq_sub_heartbeat") << 400 << QByteArray()
                               << QByteArray();
    QTest::newRow("invalid UTF-8")
        << QByteArray("{\"function\": \"\xFF\"}") << 400 << QByteArray() << QByteArray();
    // Not an object: no function name (pyzmqrpc answers 450 for some, nothing for the others).
    QTest::newRow("array") << QByteArray(R"(["function", "f"])") << 450 << QByteArray()
                           << QByteArray();
    QTest::newRow("string") << QByteArray(R"("function")") << 450 << QByteArray() << QByteArray();
    QTest::newRow("number") << QByteArray("42") << 450 << QByteArray() << QByteArray();
    QTest::newRow("null") << QByteArray("null") << 450 << QByteArray() << QByteArray();

    QTest::newRow("missing function")
        << QByteArray(R"({"parameters": {}})") << 450 << QByteArray() << QByteArray();
    QTest::newRow("empty object") << QByteArray("{}") << 450 << QByteArray() << QByteArray();
    // A name that is not a string is in no registry: 451.
    QTest::newRow("numeric function")
        << QByteArray(R"({"function": 5})") << 451 << QByteArray() << QByteArray();
    QTest::newRow("null function")
        << QByteArray(R"({"function": null})") << 451 << QByteArray() << QByteArray();
    QTest::newRow("object function")
        << QByteArray(R"({"function": {"name": "f"}})") << 451 << QByteArray() << QByteArray();
}

void TestProtocol::decodeRequest() {
    QFETCH(QByteArray, message);
    QFETCH(int, status);
    QFETCH(QByteArray, function);
    QFETCH(QByteArray, parameters);

    const zmqrpc::DecodedRequest decoded = zmqrpc::decode_request(str(message));
    if (status == 0) {
        QVERIFY2(decoded.request.has_value(), decoded.error_text.c_str());
        QCOMPARE(decoded.error_status, 0);
        QCOMPARE(bytes(decoded.request->function), function);
        QVERIFY(decoded.request->parameters.is_object());
        QCOMPARE(bytes(zmqrpc::dumps(decoded.request->parameters)), parameters);
        return;
    }
    QVERIFY(!decoded.request.has_value());
    QCOMPARE(decoded.error_status, status);
    QVERIFY(!decoded.error_text.empty());
    if (status == 400) {
        QVERIFY2(decoded.error_text.starts_with(zmqrpc::status_text_bad_json("")),
                 decoded.error_text.c_str());
        QVERIFY(decoded.error_text.size() > zmqrpc::status_text_bad_json("").size());
    } else if (status == 450) {
        QCOMPARE(decoded.error_text, zmqrpc::status_text_no_function());
    }
}

void TestProtocol::decodeRequestErrorTexts() {
    {
        const auto d = zmqrpc::decode_request("{\"function\": \"\xFF\"}");
        QCOMPARE(d.error_text, zmqrpc::status_text_bad_json("invalid UTF-8 at byte 14"));
    }
    {
        const auto d = zmqrpc::decode_request("[1, 2]");
        QCOMPARE(d.error_status, 450);
        QCOMPARE(d.error_text, zmqrpc::status_text_no_function());
    }
    {
        const std::string request = sq("{\"function\": [\"echo\", {\"a\": \"it`s\"}]}");
        const std::string name = sq("[`echo`, {`a`: \"it`s\"}]");
        const auto d = zmqrpc::decode_request(request);
        QCOMPARE(d.error_status, 451);
        QCOMPARE(d.error_text, zmqrpc::status_text_unknown_function(name));
    }
    {
        // Python's json text, positions in characters (é is one).
        const auto d = zmqrpc::decode_request("[\"\xC3\xA9\", 1");
        QCOMPARE(d.error_status, 400);
        QCOMPARE(d.error_text,
                 zmqrpc::status_text_bad_json("Expecting ',' delimiter: line 1 column 8 (char 7)"));
    }
}

void TestProtocol::decodeRequestParametersNotAMapping() {
    // Decoded, with Python's type name: the registry answers 463 for a function it has, 451
    // for one it has not (pyzmqrpc looks the function up before it calls f(**parameters)).
    const std::pair<const char*, const char*> cases[] = {
        {R"({"function": "f", "parameters": [1, 2]})", "list"},
        {R"({"function": "f", "parameters": "a=1"})", "str"},
        {R"({"function": "f", "parameters": 1})", "int"},
        {R"({"function": "f", "parameters": 1.5})", "float"},
        {R"({"function": "f", "parameters": false})", "bool"},
        {R"({"function": "f", "parameters": 123456789012345678901234567890})", "int"},
    };
    for (const auto& [message, type] : cases) {
        const auto d = zmqrpc::decode_request(message);
        QVERIFY2(d.request.has_value(), message);
        QVERIFY2(d.request->not_a_mapping != nullptr, message);
        QCOMPARE(std::string(d.request->not_a_mapping), std::string(type));
        QVERIFY(d.request->parameters.is_object() && d.request->parameters.empty());
    }
    const auto null_parameters = zmqrpc::decode_request(R"({"function": "f", "parameters": null})");
    QVERIFY(null_parameters.request && !null_parameters.request->not_a_mapping);
    QCOMPARE(zmqrpc::status_text_not_a_mapping("echo", "list"),
             std::string("Exception raised when calling function echo. Exception: echo() "
                         "argument after ** must be a mapping, not list "));
}

// The committed replies of the real pyzmqrpc 3.0 (tests/interop/pyzmqrpc_golden.py, which the
// interop suite reruns against the package) to its corpus: ours must be the same bytes wherever
// pyzmqrpc answers, and where it sends nothing (null), we answer the status docs/PROTOCOL.md
// gives.
void TestProtocol::repliesMatchRealPyzmqrpc() {
    // ZMQRPC_PYZMQRPC_REPLIES: another file of the same form, such as the seeded random
    // requests the interop suite has the real package answer (tests/CMakeLists.txt).
    const QString other = qEnvironmentVariable("ZMQRPC_PYZMQRPC_REPLIES");
    QFile file(other.isEmpty() ? QStringLiteral(ZMQRPC_TEST_DATA_DIR "/pyzmqrpc_replies.jsonl")
                               : other);
    QVERIFY2(file.open(QIODevice::ReadOnly), qPrintable(file.fileName()));
    const zmqrpc::FunctionRegistry registry = zmqrpc::diagnostic_functions();
    int compared = 0, unanswered = 0, line_number = 0;
    while (!file.atEnd()) {
        const QByteArray line = file.readLine();
        ++line_number;
        const auto entry = nlohmann::json::parse(line.toStdString());
        const std::string request = entry.at(0).get<std::string>();
        if (request == zmqrpc::kHeartbeat) continue;  // the Receiver answers those, not a registry
        int code = 0;
        const std::string ours = registry.dispatch(request, code);
        if (!entry.at(1).is_null()) {
            const std::string theirs = entry.at(1).get<std::string>();
            QVERIFY2(ours == theirs,
                     qPrintable(QStringLiteral("line %1: %2\n  pyzmqrpc: %3\n  ours:     %4")
                                    .arg(line_number)
                                    .arg(QString::fromStdString(request.substr(0, 200)),
                                         QString::fromStdString(theirs.substr(0, 300)),
                                         QString::fromStdString(ours.substr(0, 300)))));
            ++compared;
            continue;
        }
        // pyzmqrpc sends nothing: we answer 450 for what is not an object, 451 for a name that
        // is not a string.
        const auto value = zmqrpc::loads(request);
        const int expected = value.is_object() ? 451 : 450;
        QVERIFY2(code == expected, qPrintable(QStringLiteral("line %1: %2 answered %3")
                                                  .arg(line_number)
                                                  .arg(QString::fromStdString(request))
                                                  .arg(code)));
        ++unanswered;
    }
    qInfo("%d replies byte-identical, %d requests pyzmqrpc leaves unanswered", compared,
          unanswered);
    if (!other.isEmpty()) {
        QVERIFY(compared > 0);
        return;
    }
    QVERIFY2(compared >= 100, qPrintable(QString::number(compared)));
    QCOMPARE(unanswered, 8);
}

void TestProtocol::loadsLikePython() {
    using zmqrpc::loads;
    // Big integers stay exact, and only those beyond 64 bits are big.
    const json big = loads("-123456789012345678901234567890");
    QVERIFY(zmqrpc::is_big_integer(big));
    QCOMPARE(zmqrpc::big_integer_digits(big), std::string("-123456789012345678901234567890"));
    QCOMPARE(bytes(zmqrpc::dumps(big)), QByteArray("-123456789012345678901234567890"));
    QVERIFY(loads("18446744073709551615").is_number_unsigned());
    QVERIFY(loads("-9223372036854775808").is_number_integer());
    QVERIFY(zmqrpc::is_big_integer(loads("18446744073709551616")));
    QCOMPARE(zmqrpc::big_integer("42"), json(42));
    QVERIFY_THROWS_EXCEPTION(std::invalid_argument, zmqrpc::big_integer("007"));
    QVERIFY_THROWS_EXCEPTION(std::invalid_argument, zmqrpc::big_integer("1.5"));
    // Floats beyond a double: infinity or (signed) zero, as float() gives.
    QCOMPARE(bytes(zmqrpc::dumps(loads("[1e400, -1e400, 1e-400, -1e-400, 0.0001e-320]"))),
             QByteArray("[Infinity, -Infinity, 0.0, -0.0, 0.0]"));
    QCOMPARE(bytes(zmqrpc::dumps(loads("[-0, -0.0, 1E2]"))), QByteArray("[0, -0.0, 100.0]"));
    // Order kept, a repeated key keeps its place and takes the last value, also past the size
    // at which keys are indexed.
    QCOMPARE(bytes(zmqrpc::dumps(loads(R"({"b": 1, "a": 2, "b": 3})"))),
             QByteArray(R"({"b": 3, "a": 2})"));
    std::string many = "{";
    for (int i = 0; i < 40; ++i)
        many += "\"k" + std::to_string(i) + "\": " + std::to_string(i) + ", ";
    many += R"("k3": "again"})";
    const json object = loads(many);
    QCOMPARE(object.size(), std::size_t(40));
    const auto& members = object.get_ref<const json::object_t&>();
    QCOMPARE((members.begin() + 3)->first, std::string("k3"));
    QCOMPARE((members.begin() + 3)->second, json("again"));
    // The errors, with Python's texts.
    const std::pair<const char*, const char*> errors[] = {
        {"", "Expecting value: line 1 column 1 (char 0)"},
        {"[1,]", "Expecting value: line 1 column 4 (char 3)"},
        {"{\"a\":1,}",
         "Expecting property name enclosed in double quotes: line 1 column 8 (char 7)"},
        {"\"\\x\"", "Invalid \\escape: line 1 column 2 (char 1)"},
        {"\"a\tb\"", "Invalid control character at: line 1 column 3 (char 2)"},
        {"[\n\n  \"abc", "Unterminated string starting at: line 3 column 3 (char 5)"},
        {"1 2", "Extra data: line 1 column 3 (char 2)"},
        {"\xEF\xBB\xBF{}",
         "Unexpected UTF-8 BOM (decode using utf-8-sig): line 1 column 1 (char 0)"},
    };
    for (const auto& [text, message] : errors) {
        try {
            loads(text);
            QFAIL(text);
        } catch (const zmqrpc::JsonDecodeError& e) {
            QCOMPARE(std::string(e.what()), std::string(message));
        }
    }
    QVERIFY_THROWS_EXCEPTION(zmqrpc::JsonDecodeError, loads(std::string(4301, '7')));
    QCOMPARE(zmqrpc::big_integer_digits(loads(std::string(4300, '7'))), std::string(4300, '7'));
}

void TestProtocol::pythonStr() {
    using zmqrpc::loads;
    using zmqrpc::python_str;
    QCOMPARE(python_str(loads("null")), std::string("None"));
    QCOMPARE(python_str(loads("[true, false, null]")), std::string("[True, False, None]"));
    QCOMPARE(python_str(loads("[1e16, 1.5, NaN, -Infinity, 1e-05]")),
             std::string("[1e+16, 1.5, nan, -inf, 1e-05]"));
    // repr() inside containers: the quote Python picks, its escapes (` is the apostrophe).
    const std::pair<std::string, std::string> reprs[] = {
        {"\"it`s\"", "it`s"},
        {"[\"it`s\", \"a\\\"b\", \"c`d\\\"\", \"\\\\\"]", "[\"it`s\", `a\"b`, `c\\`d\"`, `\\\\`]"},
        {"[\"\\n\\u0001\\u00e9\\u00a0\"]", "[`\\n\\x01\xC3\xA9\\xa0`]"},
        {"{\"a\": {\"b\": []}, \"c\": 123456789012345678901234567890}",
         "{`a`: {`b`: []}, `c`: 123456789012345678901234567890}"},
    };
    for (const auto& [text, expected] : reprs)
        QCOMPARE(python_str(loads(sq(text))), sq(expected));
}

void TestProtocol::dumpsIndented() {
    // json.dumps(value, indent=2)
    const json value = zmqrpc::loads(R"({"b": [1, {"c": []}], "a": {}})");
    QCOMPARE(
        bytes(zmqrpc::dumps(value, 2)),
        QByteArray("{\n  \"b\": [\n    1,\n    {\n      \"c\": []\n    }\n  ],\n  \"a\": {}\n}"));
    QCOMPARE(bytes(zmqrpc::dumps(json::array(), 2)), QByteArray("[]"));
}

void TestProtocol::decodeRequestAcceptsPythonFloatTokens() {
    // json.dumps({"function": "f", "parameters": {"x": float("nan"), "y": [float("inf"),
    // -float("inf")]}}) -- Python writes these bare tokens and its json.loads() reads them.
    const auto d = zmqrpc::decode_request(
        R"({"function": "f", "parameters": {"x": NaN, "y": [Infinity, -Infinity], )"
        R"("s": "NaN Infinity \" -Infinity"}})");
    QVERIFY2(d.request.has_value(), d.error_text.c_str());
    const json& p = d.request->parameters;
    QVERIFY(p["x"].is_number_float() && std::isnan(p["x"].get<double>()));
    QCOMPARE(p["y"][0].get<double>(), std::numeric_limits<double>::infinity());
    QCOMPARE(p["y"][1].get<double>(), -std::numeric_limits<double>::infinity());
    QCOMPARE(p["s"].get<std::string>(), std::string("NaN Infinity \" -Infinity"));  // untouched
    // Still an error when the text is bad for another reason.
    QCOMPARE(zmqrpc::decode_request(R"({"function": "f", "parameters": {"x": NaN,}})").error_status,
             400);
    QCOMPARE(zmqrpc::decode_request(R"({"function": "f", "parameters": {"x": nan}})").error_status,
             400);
}

void TestProtocol::decodeResponse_data() {
    QTest::addColumn<QByteArray>("message");
    QTest::addColumn<int>("code");
    QTest::addColumn<QByteArray>("statusMessage");
    QTest::addColumn<bool>("hasValue");
    QTest::addColumn<QByteArray>("value");  // dumps() of response_message

    QTest::newRow("ok with value")
        << QByteArray(R"({"status_code": 200, "status_message": "OK", "response_message": 3})")
        << 200 << QByteArray("OK") << true << QByteArray("3");
    QTest::newRow("ok without value")
        << QByteArray(R"({"status_code": 200, "status_message": "OK"})") << 200 << QByteArray("OK")
        << false << QByteArray();
    QTest::newRow("ok null value")
        << QByteArray(R"({"status_code": 200, "status_message": "OK", "response_message": null})")
        << 200 << QByteArray("OK") << true << QByteArray("null");
    QTest::newRow("ok object value")
        << QByteArray(R"({"response_message": {"a": [1, "\u00e9"]}, "status_code": 200})") << 200
        << QByteArray() << true << QByteArray(R"({"a": [1, "\u00e9"]})");
    QTest::newRow("ok python floats")
        << QByteArray(R"({"status_code": 200, "response_message": [NaN, Infinity, -Infinity]})")
        << 200 << QByteArray() << true << QByteArray("[NaN, Infinity, -Infinity]");
    QTest::newRow("unknown function")
        << QByteArray(R"({"status_code": 451, "status_message": "Function 'x' is not here"})")
        << 451 << QByteArray("Function 'x' is not here") << false << QByteArray();
    QTest::newRow("integral float code")
        << QByteArray(R"({"status_code": 200.0, "status_message": "OK"})") << 200
        << QByteArray("OK") << false << QByteArray();
    QTest::newRow("no status message")
        << QByteArray(R"({"status_code": 500})") << 500 << QByteArray() << false << QByteArray();
}

void TestProtocol::decodeResponse() {
    QFETCH(QByteArray, message);
    QFETCH(int, code);
    QFETCH(QByteArray, statusMessage);
    QFETCH(bool, hasValue);
    QFETCH(QByteArray, value);

    const zmqrpc::Response response = zmqrpc::decode_response(str(message));
    QCOMPARE(response.status_code, code);
    QCOMPARE(bytes(response.status_message), statusMessage);
    QCOMPARE(response.response_message.has_value(), hasValue);
    if (hasValue) QCOMPARE(bytes(zmqrpc::dumps(*response.response_message)), value);
}

void TestProtocol::decodeResponseProtocolErrors_data() {
    QTest::addColumn<QByteArray>("message");
    QTest::addColumn<QByteArray>("what");  // exact what(), or empty to skip

    QTest::newRow("no status_code")
        << QByteArray(R"({"status_message": "OK"})") << QByteArray("No status_code in response");
    QTest::newRow("empty object") << QByteArray("{}") << QByteArray("No status_code in response");
    QTest::newRow("not JSON") << QByteArray("zmq_sub_heartbeat") << QByteArray();
    QTest::newRow("empty") << QByteArray() << QByteArray();
    QTest::newRow("array") << QByteArray("[200]") << QByteArray();
    QTest::newRow("string code") << QByteArray(R"({"status_code": "200"})") << QByteArray();
    QTest::newRow("fractional code") << QByteArray(R"({"status_code": 200.5})") << QByteArray();
    QTest::newRow("huge code") << QByteArray(R"({"status_code": 99999999999})") << QByteArray();
    QTest::newRow("invalid UTF-8")
        << QByteArray("{\"status_code\": 200, \"x\": \"\xFF\"}") << QByteArray();
}

void TestProtocol::decodeResponseProtocolErrors() {
    QFETCH(QByteArray, message);
    QFETCH(QByteArray, what);
    try {
        (void)zmqrpc::decode_response(str(message));
        QFAIL("no exception");
    } catch (const zmqrpc::RpcError& e) {
        QCOMPARE(e.kind(), zmqrpc::RpcError::Kind::Protocol);
        QVERIFY(std::string_view(e.what()).size() > 0);
        if (!what.isEmpty()) QCOMPARE(QByteArray(e.what()), what);
    }
}

void TestProtocol::responseValueOrThrow() {
    using zmqrpc::Response;
    using zmqrpc::RpcError;
    QCOMPARE(zmqrpc::response_value_or_throw(Response{200, "OK", json(3)}), json(3));
    QCOMPARE(zmqrpc::response_value_or_throw(Response{200, "OK", std::nullopt}), json());
    QCOMPARE(zmqrpc::response_value_or_throw(Response{200, "", json{{"a", 1}}}), json({{"a", 1}}));

    const std::string raised = zmqrpc::status_text_function_raised("div", "division by zero");
    try {
        (void)zmqrpc::response_value_or_throw(Response{463, raised, std::nullopt});
        QFAIL("no exception");
    } catch (const RpcError& e) {
        QCOMPARE(e.kind(), RpcError::Kind::Status);
        QCOMPARE(std::string(e.what()), raised);
        QCOMPARE(e.status_code(), 463);
        QCOMPARE(e.status_message(), raised);
    }
    try {
        (void)zmqrpc::response_value_or_throw(Response{500, "", json(1)});
        QFAIL("no exception");
    } catch (const RpcError& e) {
        QCOMPARE(e.kind(), RpcError::Kind::Status);
        QCOMPARE(std::string(e.what()), std::string("Error occurred with code 500"));
        QCOMPARE(e.status_code(), 500);
        QCOMPARE(e.status_message(), std::string());
    }
    // From the wire: a 451 answer.
    try {
        (void)zmqrpc::response_value_or_throw(zmqrpc::decode_response(
            zmqrpc::encode_response(451, zmqrpc::status_text_unknown_function("nope"))));
        QFAIL("no exception");
    } catch (const RpcError& e) {
        QCOMPARE(e.status_code(), 451);
        QCOMPARE(std::string(e.what()), zmqrpc::status_text_unknown_function("nope"));
    }
}

void TestProtocol::roundTrip() {
    const json parameters{{"text", "a\xC3\xA9\xF0\x9D\x84\x9E\n\"q\""},
                          {"n", -12},
                          {"f", 0.25},
                          {"list", {true, nullptr, json::object()}}};
    const auto decoded = zmqrpc::decode_request(zmqrpc::encode_request("echo", parameters));
    QVERIFY(decoded.request.has_value());
    QCOMPARE(decoded.request->function, std::string("echo"));
    QCOMPARE(decoded.request->parameters, parameters);

    const auto response =
        zmqrpc::decode_response(zmqrpc::encode_response(200, "OK", parameters["text"]));
    QCOMPARE(response.status_code, 200);
    QCOMPARE(response.status_message, std::string("OK"));
    QVERIFY(response.response_message.has_value());
    QCOMPARE(*response.response_message, parameters["text"]);
}

void TestProtocol::jsonNestingExceeds_data() {
    QTest::addColumn<QByteArray>("text");
    QTest::addColumn<int>("limit");
    QTest::addColumn<bool>("exceeds");
    QTest::newRow("flat") << QByteArray(R"({"a": 1, "b": [1, 2]})") << 2 << false;
    QTest::newRow("one too deep") << QByteArray(R"({"a": [[1]]})") << 2 << true;
    QTest::newRow("siblings do not add up") << QByteArray("[[1], [2], {}, {}]") << 2 << false;
    QTest::newRow("brackets in strings") << QByteArray(R"({"a": "[[[[{{{{"})") << 1 << false;
    QTest::newRow("escaped quote") << QByteArray(R"({"a": "\"[[[["})") << 1 << false;
    QTest::newRow("escaped backslash") << QByteArray(R"({"a": "\\", "b": [[1]]})") << 2 << true;
    QTest::newRow("unbalanced closers") << QByteArray("]]]]}}}}[[") << 2 << false;
    QTest::newRow("not json") << QByteArray("[[[[[[") << 5 << true;
    QTest::newRow("empty") << QByteArray() << 0 << false;
}

void TestProtocol::jsonNestingExceeds() {
    QFETCH(QByteArray, text);
    QFETCH(int, limit);
    QFETCH(bool, exceeds);
    QCOMPARE(zmqrpc::json_nesting_exceeds(std::string_view(text.constData(), text.size()),
                                          static_cast<std::size_t>(limit)),
             exceeds);
}

void TestProtocol::parseJsonText() {
    std::string error;
    QCOMPARE(*zmqrpc::parse_json_text(R"({"a": [1, 2]})", &error), json({{"a", {1, 2}}}));
    QVERIFY(!zmqrpc::parse_json_text("{\"a\": ", &error));
    QCOMPARE(error, std::string("Expecting value: line 1 column 7 (char 6)"));
    QCOMPARE(
        bytes(zmqrpc::dumps(*zmqrpc::parse_json_text("[1e400, 123456789012345678901234567890]"))),
        QByteArray("[Infinity, 123456789012345678901234567890]"));
    QVERIFY(!zmqrpc::parse_json_text("\"\xFF\"", &error));
    QCOMPARE(error, std::string("invalid UTF-8 at byte 1"));
    // CPython's recursion limit inside pyzmqrpc's server thread: 991 levels read, 992 not, in
    // Python's words, naming the container that went too deep (kPythonJsonDepth).
    QVERIFY(!zmqrpc::parse_json_text(std::string(992, '[') + std::string(992, ']'), &error));
    QCOMPARE(
        error,
        std::string(
            "maximum recursion depth exceeded while decoding a JSON array from a unicode string"));
    QVERIFY(zmqrpc::parse_json_text(std::string(991, '[') + std::string(991, ']')));
    std::string objects;
    for (int i = 0; i < 991; ++i)
        objects += "{\"a\": ";
    QVERIFY(zmqrpc::parse_json_text(objects + "1" + std::string(991, '}')));
    QVERIFY(!zmqrpc::parse_json_text("[" + objects + "1" + std::string(991, '}') + "]", &error));
    QCOMPARE(error, std::string("maximum recursion depth exceeded while decoding a JSON object "
                                "from a unicode string"));
    // A syntax error before that depth is reported as Python reports it, not the depth.
    QVERIFY(!zmqrpc::parse_json_text("[1 " + std::string(5000, '['), &error));
    QCOMPARE(error, std::string("Expecting ',' delimiter: line 1 column 4 (char 3)"));
    QVERIFY(!zmqrpc::parse_json_text(""));  // no error pointer: fine
}

QTEST_GUILESS_MAIN(TestProtocol)
#include "tst_protocol.moc"
