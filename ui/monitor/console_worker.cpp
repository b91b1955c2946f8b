#include "monitor/console_worker.hpp"

#include <zmqrpc/endpoint.hpp>
#include <zmqrpc/errors.hpp>
#include <zmqrpc/protocol.hpp>
#include <zmqrpc/rpc_client.hpp>
#include <zmqrpc/rpc_server.hpp>
#include <zmqrpc/sender.hpp>

#include <QElapsedTimer>

#include <cmath>
#include <thread>

namespace studio {

using Clock = std::chrono::steady_clock;
using zmqrpc::json;

namespace {

double msSince(Clock::time_point start) {
    return std::chrono::duration<double, std::milli>(Clock::now() - start).count();
}

json parseParameters(const QString& text) {
    const QByteArray utf8 = text.trimmed().toUtf8();
    if (utf8.isEmpty()) return json::object();
    std::string why;
    auto value = zmqrpc::parse_json_text(std::string_view(utf8.constData(), utf8.size()), &why);
    if (!value) throw std::invalid_argument("invalid JSON: " + why);
    if (!value->is_object()) throw std::invalid_argument("parameters must be a JSON object");
    return std::move(*value);
}

// What tells one client's security from another's (memory only: it holds a password).
QString securityKey(const zmqrpc::Security& security) {
    if (const auto* plain = security.plain()) {
        return QStringLiteral("PLAIN") + QChar(0) + QString::fromStdString(plain->username) +
               QChar(0) + QString::fromStdString(plain->password);
    }
    if (const auto* curve = security.curve()) {
        return QStringLiteral("CURVE") + QChar(0) + QString::fromStdString(curve->server_key) +
               QChar(0) + QString::fromStdString(curve->keys.public_key);
    }
    return QStringLiteral("none");
}

zmqrpc::RpcClientOptions clientOptions(const QString& endpoint, const zmqrpc::Security& security,
                                       std::chrono::milliseconds timeout) {
    zmqrpc::RpcClientOptions options;
    options.name = "studio-console";
    options.req_connect = {endpoint.toStdString()};
    options.security = security;
    options.req_timeout = timeout;
    return options;
}

// Fills `result` from a failure of Sender::request() or decode_response().
void describeFailure(const zmqrpc::RpcError& e, std::chrono::milliseconds timeout,
                     ConsoleCallResult& result) {
    using Kind = zmqrpc::RpcError::Kind;
    using Outcome = ConsoleCallResult::Outcome;
    switch (e.kind()) {
        case Kind::Timeout:
            result.outcome = Outcome::Timeout;
            result.error = QObject::tr("timeout after %1").arg(describeSeconds(timeout));
            break;
        case Kind::Unreachable:
            result.outcome = Outcome::Unreachable;
            result.error = QObject::tr("unreachable: %1").arg(QString::fromStdString(e.what()));
            break;
        case Kind::CredentialsRefused:
            result.outcome = Outcome::CredentialsRefused;
            result.error =
                QObject::tr("credentials refused: %1").arg(QString::fromStdString(e.what()));
            break;
        case Kind::Status:
            result.outcome = Outcome::Status;
            result.status = e.status_code();
            result.statusText = QString::fromStdString(e.status_message());
            result.error =
                QObject::tr("server status %1: %2").arg(e.status_code()).arg(result.statusText);
            break;
        case Kind::Protocol:
            result.outcome = Outcome::Protocol;
            result.error = QObject::tr("protocol: %1").arg(QString::fromStdString(e.what()));
            break;
    }
}

}  // namespace

QString describeSeconds(std::chrono::milliseconds timeout) {
    const double seconds = static_cast<double>(timeout.count()) / 1000.0;
    const bool tenths = std::abs(seconds * 10 - std::round(seconds * 10)) < 1e-6;
    return QStringLiteral("%1 s").arg(seconds, 0, 'f', tenths ? 1 : 2);
}

DescribeResult describeServer(const QString& endpoint, const zmqrpc::Security& security,
                              std::chrono::milliseconds timeout) {
    DescribeResult out;
    try {
        zmqrpc::RpcClient client(clientOptions(endpoint, security, timeout));
        const std::string reply =
            client.sender().request(zmqrpc::encode_request(zmqrpc::kDescribe), timeout);
        const zmqrpc::Response response = zmqrpc::decode_response(reply);
        if (response.status_code != zmqrpc::status::kOk) {
            out.error = QObject::tr("server status %1: %2")
                            .arg(response.status_code)
                            .arg(QString::fromStdString(response.status_message));
            return out;
        }
        const json list = response.response_message.value_or(json());
        if (!list.is_array()) {
            out.error = QObject::tr("protocol: _describe did not answer a list");
            return out;
        }
        for (const auto& item : list) {
            if (!item.is_object() || !item.contains("name") || !item["name"].is_string()) continue;
            FunctionDoc doc;
            doc.name = QString::fromStdString(item["name"].get<std::string>());
            if (item.contains("parameters") && item["parameters"].is_array()) {
                for (const auto& p : item["parameters"]) {
                    if (p.is_string()) doc.parameters.append(QString::fromStdString(p));
                }
            }
            if (item.contains("help") && item["help"].is_string())
                doc.help = QString::fromStdString(item["help"].get<std::string>());
            out.functions.append(doc);
        }
        out.ok = true;
    } catch (const zmqrpc::RpcError& e) {
        ConsoleCallResult r;
        describeFailure(e, timeout, r);
        out.error = r.error;
    } catch (const std::exception& e) {
        out.error = QString::fromStdString(e.what());
    }
    return out;
}

// ---------------------------------------------------------------------------------------------

CallWorker::CallWorker() = default;
CallWorker::~CallWorker() = default;

zmqrpc::RpcClient& CallWorker::clientFor(const ConsoleCall& call) {
    const QString key = call.endpoint + QChar(0) + securityKey(call.security);
    if (!client_ || key != clientKey_) {
        client_.reset();
        client_ = std::make_unique<zmqrpc::RpcClient>(
            clientOptions(call.endpoint, call.security, call.timeout));
        clientKey_ = key;
    }
    return *client_;
}

ConsoleCallResult CallWorker::invoke(const ConsoleCall& call) {
    ConsoleCallResult result;
    Clock::time_point start = Clock::now();
    try {
        const json parameters = parseParameters(call.parameters);
        const std::string request = zmqrpc::encode_request(call.function.toStdString(), parameters);
        zmqrpc::RpcClient& client = clientFor(call);
        start = Clock::now();
        const std::string reply = client.sender().request(request, call.timeout);
        result.roundTripMs = msSince(start);
        const zmqrpc::Response response = zmqrpc::decode_response(reply);
        result.status = response.status_code;
        result.statusText = QString::fromStdString(response.status_message);
        if (response.status_code == zmqrpc::status::kOk) {
            result.outcome = ConsoleCallResult::Outcome::Ok;
            result.response =
                response.response_message
                    ? QString::fromStdString(zmqrpc::dumps(*response.response_message, 2, false))
                    : QString();
        } else {
            result.outcome = ConsoleCallResult::Outcome::Status;
            result.error =
                QObject::tr("server status %1: %2").arg(result.status).arg(result.statusText);
            try {
                result.response =
                    QString::fromStdString(zmqrpc::dumps(zmqrpc::loads(reply), 2, false));
            } catch (const std::exception&) {
                result.response = QString::fromStdString(reply);
            }
        }
    } catch (const zmqrpc::RpcError& e) {
        result.roundTripMs = msSince(start);
        describeFailure(e, call.timeout, result);
    } catch (const std::exception& e) {
        result.roundTripMs = msSince(start);
        result.outcome = ConsoleCallResult::Outcome::Other;
        result.error = QString::fromStdString(e.what());
        client_.reset();  // a configuration problem: start afresh next time
    }
    return result;
}

void CallWorker::call(const ConsoleCall& c) {
    emit callFinished(invoke(c));
}

void CallWorker::repeat(const ConsoleCall& call, int count, double rate,
                        std::shared_ptr<std::atomic<bool>> cancel) {
    RepeatSummary summary;
    summary.requested = count;
    summary.latenciesMs.reserve(static_cast<std::size_t>(std::max(count, 0)));
    const Clock::time_point begin = Clock::now();
    Clock::time_point lastProgress = begin;
    for (int i = 0; i < count; ++i) {
        if (cancel->load()) {
            summary.cancelled = true;
            break;
        }
        if (rate > 0) {
            // Paced from the start, so that slow calls do not lower the rate they are owed.
            const auto due = begin + std::chrono::duration_cast<Clock::duration>(
                                         std::chrono::duration<double>(i / rate));
            while (Clock::now() < due && !cancel->load()) {
                std::this_thread::sleep_for(
                    std::min<Clock::duration>(due - Clock::now(), std::chrono::milliseconds(20)));
            }
            if (cancel->load()) {
                summary.cancelled = true;
                break;
            }
        }
        const ConsoleCallResult r = invoke(call);
        if (r.ok()) {
            ++summary.ok;
        } else {
            ++summary.failed;
            if (summary.firstError.isEmpty()) summary.firstError = r.error;
        }
        if (r.ok() || r.outcome == ConsoleCallResult::Outcome::Status)
            summary.latenciesMs.push_back(r.roundTripMs);
        if (Clock::now() - lastProgress > std::chrono::milliseconds(50) || i + 1 == count) {
            lastProgress = Clock::now();
            emit repeatProgress(i + 1, count);
        }
    }
    summary.elapsedMs = msSince(begin);
    emit repeatFinished(summary);
}

// ---------------------------------------------------------------------------------------------

PublishWorker::PublishWorker() = default;
PublishWorker::~PublishWorker() = default;

void PublishWorker::bind(const QString& endpoint) {
    sender_.reset();
    try {
        zmqrpc::SenderOptions options;
        options.name = "studio-console-pub";
        options.pub_bind = endpoint.trimmed().toStdString();
        sender_ = std::make_unique<zmqrpc::Sender>(std::move(options));
        emit bound(
            QString::fromStdString(zmqrpc::connect_address(sender_->pub_endpoint(), "127.0.0.1")));
    } catch (const std::exception& e) {
        sender_.reset();
        emit bindFailed(QString::fromStdString(e.what()));
    }
}

void PublishWorker::publish(const QString& function, const QString& parameters) {
    if (!sender_) {
        emit sent(tr("no PUB bound"), false);
        return;
    }
    try {
        sender_->publish(
            zmqrpc::encode_request(function.toStdString(), parseParameters(parameters)));
        emit sent(tr("published %1").arg(function), true);
    } catch (const std::exception& e) {
        emit sent(QString::fromStdString(e.what()), false);
    }
}

void PublishWorker::heartbeat() {
    if (!sender_) {
        emit sent(tr("no PUB bound"), false);
        return;
    }
    try {
        sender_->send_heartbeat(false);
        emit sent(tr("heartbeat sent"), true);
    } catch (const std::exception& e) {
        emit sent(QString::fromStdString(e.what()), false);
    }
}

}  // namespace studio
