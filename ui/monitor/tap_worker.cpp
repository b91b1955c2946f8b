#include "monitor/tap_worker.hpp"

#include <zmqrpc/endpoint.hpp>
#include <zmqrpc/errors.hpp>
#include <zmqrpc/receiver.hpp>

#include <chrono>

namespace studio {

TapWorker::TapWorker() = default;

TapWorker::~TapWorker() {
    stopWatching();
}

void TapWorker::watch(const QString& endpoint, const zmqrpc::Security& security,
                      std::shared_ptr<TapBuffer> buffer) {
    stopWatching();
    try {
        const std::string ep = endpoint.trimmed().toStdString();
        zmqrpc::parse_endpoint(ep, false);
        zmqrpc::ReceiverOptions options;
        options.name = "studio-tap";
        options.sub_connect = {zmqrpc::SubEndpoint(ep)};
        // A tap only looks: no supervision (libzmq reconnects by itself).
        options.default_heartbeat_timeout = std::chrono::milliseconds(0);
        options.security = security;
        options.tap = [buffer](const std::string& from, std::string_view message, bool heartbeat) {
            TapRow row;
            row.msecs = std::chrono::duration_cast<std::chrono::milliseconds>(
                            std::chrono::system_clock::now().time_since_epoch())
                            .count();
            row.time = TapModel::timeText(row.msecs);
            row.size = message.size();
            row.heartbeat = heartbeat;
            if (!heartbeat) row.preview = TapModel::previewOf(message);
            row.endpoint = QString::fromStdString(from);
            buffer->push(std::move(row));
        };
        auto receiver = std::make_unique<zmqrpc::Receiver>(
            std::move(options), [](std::string_view, zmqrpc::Origin) { return std::string(); });
        receiver->start();
        receiver_ = std::move(receiver);
        emit started(QString::fromStdString(ep));
    } catch (const std::exception& e) {
        emit failed(endpoint, QString::fromStdString(e.what()));
    }
}

void TapWorker::stopWatching() {
    if (!receiver_) return;
    receiver_->stop();
    receiver_->join();
    receiver_.reset();
}

}  // namespace studio
