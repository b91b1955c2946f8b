#include "runtime/runtime_source.hpp"

namespace studio {

QString RuntimeSource::nodeAddress(const QString&) const {
    return QStringLiteral("127.0.0.1");
}

bool RuntimeSource::runsRemotely(const QString&) const {
    return false;
}

bool RuntimeSource::isActive(const QString& nodeId) const {
    const auto* node = snapshot().node(nodeId.toStdString());
    return node != nullptr && (node->state == zmqrpc::NodeState::Running ||
                               node->state == zmqrpc::NodeState::Starting);
}

}  // namespace studio
