#include "document/editor_document.hpp"

#include "document/commands.hpp"

#include <zmqrpc/endpoint.hpp>
#include <zmqrpc/errors.hpp>

#include <QFileInfo>
#include <QTimer>

#include <algorithm>
#include <cmath>
#include <map>
#include <set>

namespace studio {

using zmqrpc::Link;
using zmqrpc::Node;
using zmqrpc::NodeKind;
using zmqrpc::Topology;
using zmqrpc::TopologyChange;

namespace {

constexpr int kFirstPort = 5600;

QPointF snapped(QPointF p) {
    const double g = EditorDocument::kGrid;
    return {std::round(p.x() / g) * g, std::round(p.y() / g) * g};
}

// TCP ports bound by any node of `t` (fixed ones), to hand out free defaults.
std::set<int> used_ports(const Topology& t) {
    std::set<int> ports;
    for (const auto& node : t.nodes()) {
        for (const auto& port : zmqrpc::port_specs(node.kind, node.properties)) {
            if (!port.binds) continue;
            auto value = node.property(port.endpoint_property);
            if (!value.is_string()) continue;
            try {
                auto ep = zmqrpc::parse_endpoint(value.get<std::string>(), true);
                if (ep.transport == zmqrpc::Endpoint::Transport::Tcp && ep.port != 0)
                    ports.insert(ep.port);
            } catch (const zmqrpc::ConfigError&) {
            }
        }
    }
    return ports;
}

int next_free(std::set<int>& used) {
    int port = kFirstPort;
    while (used.count(port))
        ++port;
    used.insert(port);
    return port;
}

// Gives every binding endpoint of `node` with a fixed TCP port in `used` a free one instead.
void move_to_free_ports(Node& node, std::set<int>& used) {
    for (const auto& port : zmqrpc::port_specs(node.kind, node.properties)) {
        if (!port.binds) continue;
        auto it = node.properties.find(port.endpoint_property);
        if (it == node.properties.end() || !it->is_string()) continue;
        try {
            auto ep = zmqrpc::parse_endpoint(it->get<std::string>(), true);
            if (ep.transport != zmqrpc::Endpoint::Transport::Tcp || ep.port == 0) continue;
            if (!used.count(ep.port)) {
                used.insert(ep.port);
                continue;
            }
            ep.port = next_free(used);
            *it = ep.str();
        } catch (const zmqrpc::ConfigError&) {
        }
    }
}

}  // namespace

EditorDocument::EditorDocument(QObject* parent) : QObject(parent) {
    observer_ = topology_.observe([this](const TopologyChange& c) { onModelChange(c); });
    connect(&undo_, &QUndoStack::cleanChanged, this, [this] {
        bool dirty = isDirty();
        if (dirty != wasDirty_) {
            wasDirty_ = dirty;
            emit dirtyChanged(dirty);
        }
    });
    revalidate();
}

EditorDocument::~EditorDocument() {
    topology_.unobserve(observer_);
}

QString EditorDocument::displayName() const {
    return filePath_.isEmpty() ? tr("Untitled") : QFileInfo(filePath_).fileName();
}

bool EditorDocument::isDirty() const {
    return forcedDirty_ || !undo_.isClean();
}

void EditorDocument::setDirtyState(bool forced) {
    forcedDirty_ = forced;
    bool dirty = isDirty();
    if (dirty != wasDirty_) {
        wasDirty_ = dirty;
        emit dirtyChanged(dirty);
    }
}

void EditorDocument::newDocument() {
    reset(Topology(), QString(), false);
}

bool EditorDocument::load(const QString& path, QString* error) {
    try {
        Topology loaded = zmqrpc::load_topology_file(path.toStdString());
        reset(std::move(loaded), path, false);
        return true;
    } catch (const std::exception& e) {
        if (error) *error = QString::fromStdString(e.what());
        return false;
    }
}

bool EditorDocument::save(QString* error) {
    if (filePath_.isEmpty()) {
        if (error) *error = tr("the document has no file yet: use Save As");
        return false;
    }
    return saveAs(filePath_, error);
}

bool EditorDocument::saveAs(const QString& path, QString* error) {
    try {
        zmqrpc::save_topology_file(topology_, path.toStdString());
    } catch (const std::exception& e) {
        if (error) *error = QString::fromStdString(e.what());
        return false;
    }
    if (path != filePath_) {
        filePath_ = path;
        emit filePathChanged(filePath_);
    }
    undo_.setClean();
    setDirtyState(false);
    return true;
}

void EditorDocument::reset(Topology topology, const QString& path, bool dirty) {
    undo_.clear();
    resetting_ = true;
    topology_ = std::move(topology);  // keeps our observer; notifies DocumentChanged
    resetting_ = false;
    if (path != filePath_) {
        filePath_ = path;
        emit filePathChanged(filePath_);
    }
    emit documentReset();
    undo_.setClean();
    setDirtyState(dirty);
    revalidate();
}

// ---------------------------------------------------------------------------------------------
// Model notifications -> signals

void EditorDocument::onModelChange(const TopologyChange& change) {
    const QString id = QString::fromStdString(change.id);
    switch (change.what) {
        case TopologyChange::What::NodeAdded:
            emit nodeAdded(id);
            break;
        case TopologyChange::What::NodeRemoved:
            emit nodeRemoved(id);
            break;
        case TopologyChange::What::NodeChanged:
            emit nodeChanged(id);
            break;
        case TopologyChange::What::LinkAdded:
            emit linkAdded(id);
            break;
        case TopologyChange::What::LinkRemoved:
            emit linkRemoved(id);
            break;
        case TopologyChange::What::LinkChanged:
            emit linkChanged(id);
            break;
        case TopologyChange::What::DocumentChanged:
            if (!resetting_) emit documentReset();
            break;
    }
    scheduleRevalidate();
}

void EditorDocument::scheduleRevalidate() {
    problemsStale_ = true;
    if (revalidateQueued_) return;
    revalidateQueued_ = true;
    // Many changes in one go (paste, undo of a delete) validate once.
    QTimer::singleShot(0, this, [this] {
        revalidateQueued_ = false;
        // problems() may have brought them up to date meanwhile; the views still need to hear.
        if (problemsStale_)
            revalidate();
        else
            emit problemsChanged();
    });
}

void EditorDocument::revalidate() {
    problems_ = zmqrpc::validate(topology_);
    problemsStale_ = false;
    emit problemsChanged();
}

const std::vector<zmqrpc::Problem>& EditorDocument::problems() const {
    if (problemsStale_) {
        auto* self = const_cast<EditorDocument*>(this);
        self->problems_ = zmqrpc::validate(topology_);
        self->problemsStale_ = false;
    }
    return problems_;
}

// ---------------------------------------------------------------------------------------------
// Edits

QString EditorDocument::addNode(NodeKind kind, QPointF position) {
    Node node;
    node.kind = kind;
    node.id = topology_.unique_node_id(zmqrpc::to_string(kind));
    // "Sampler 2" for "sampler-2": the number of the id keeps names unique too.
    auto dash = node.id.rfind('-');
    node.name = zmqrpc::display_name(kind);
    if (dash != std::string::npos) node.name.append(" ").append(node.id, dash + 1);
    QPointF p = snapped(position);
    node.position = {p.x(), p.y()};
    std::set<int> used = used_ports(topology_);
    auto endpoint = [&] { return "tcp://*:" + std::to_string(next_free(used)); };
    switch (kind) {
        case NodeKind::Sampler:
            node.properties["bind"] = endpoint();
            break;
        case NodeKind::RpcServer:
        case NodeKind::Rep2Req:
        case NodeKind::BufferedRep2Req:
            node.properties["rep_bind"] = endpoint();
            break;
        case NodeKind::Sub2Pub:
            node.properties["pub_bind"] = endpoint();
            break;
        case NodeKind::Rep2Pub:
            node.properties["rep_bind"] = endpoint();
            node.properties["pub_bind"] = endpoint();
            break;
        case NodeKind::External:
            node.properties["socket"] = "pub";
            node.properties["endpoint"] = "tcp://127.0.0.1:" + std::to_string(next_free(used));
            break;
        case NodeKind::Sub2Req:
        case NodeKind::Tap:
            break;
    }
    const QString id = QString::fromStdString(node.id);
    undo_.push(new AddItemsCommand(
        this, {node}, {}, tr("Add %1").arg(QString::fromLatin1(zmqrpc::display_name(kind)))));
    return id;
}

void EditorDocument::removeItems(const QStringList& nodeIds, const QStringList& linkIds) {
    QStringList nodes, links;
    for (const auto& id : nodeIds) {
        if (topology_.find_node(id.toStdString())) nodes << id;
    }
    for (const auto& id : linkIds) {
        if (topology_.find_link(id.toStdString())) links << id;
    }
    if (nodes.isEmpty() && links.isEmpty()) return;
    undo_.push(new RemoveItemsCommand(this, nodes, links));
}

void EditorDocument::moveNodes(const QHash<QString, QPointF>& from,
                               const QHash<QString, QPointF>& to) {
    QHash<QString, QPointF> before, after;
    for (auto it = to.begin(); it != to.end(); ++it) {
        if (!topology_.find_node(it.key().toStdString())) continue;
        QPointF old = from.value(it.key(), it.value());
        if (old == it.value()) continue;
        before.insert(it.key(), old);
        after.insert(it.key(), it.value());
    }
    if (after.isEmpty()) return;
    undo_.push(new MoveNodesCommand(
        this, before, after,
        after.size() == 1 ? tr("Move node") : tr("Move %1 nodes").arg(after.size())));
}

void EditorDocument::setNodeName(const QString& id, const QString& name) {
    const Node* node = topology_.find_node(id.toStdString());
    if (!node || node->name == name.toStdString()) return;
    undo_.push(new SetFieldCommand(this, SetFieldCommand::Field::NodeName, id, {}, node->name,
                                   name.toStdString(), tr("Rename %1").arg(id)));
}

void EditorDocument::setNodeHost(const QString& id, const QString& host) {
    const Node* node = topology_.find_node(id.toStdString());
    if (!node || node->host == host.toStdString()) return;
    undo_.push(new SetFieldCommand(this, SetFieldCommand::Field::NodeHost, id, {}, node->host,
                                   host.toStdString(), tr("Set host of %1").arg(id)));
}

bool EditorDocument::setProperty(const QString& id, const QString& key, const nlohmann::json& value,
                                 QString* error) {
    const Node* node = topology_.find_node(id.toStdString());
    if (!node) {
        if (error) *error = tr("no node '%1'").arg(id);
        return false;
    }
    auto current = node->properties.find(key.toStdString());
    nlohmann::json before =
        current == node->properties.end() ? nlohmann::json() : nlohmann::json(*current);
    if (before == value) return true;
    // Let the model judge first, on a copy, so a refused value never reaches the undo stack.
    try {
        Topology probe = topology_;
        probe.set_property(id.toStdString(), key.toStdString(), value);
    } catch (const std::exception& e) {
        if (error) *error = QString::fromStdString(e.what());
        return false;
    }
    undo_.push(new SetFieldCommand(this, SetFieldCommand::Field::Property, id, key, before, value,
                                   tr("Set %1 of %2").arg(key, id)));
    return true;
}

QString EditorDocument::addLink(const zmqrpc::PortRef& from, const zmqrpc::PortRef& to,
                                QString* reason) {
    if (auto why = topology_.can_link(from, to)) {
        if (reason) *reason = QString::fromStdString(*why);
        return {};
    }
    Link link;
    link.id = topology_.unique_link_id();
    link.from = from;
    link.to = to;
    // A PUB->SUB link from a publisher that sends heartbeats is supervised by default: three
    // beats missed and the SUB socket is recreated.
    const Node* publisher = topology_.find_node(from.node);
    if (publisher && from.port == "pub") {
        auto interval = publisher->property("heartbeat_interval");
        if (interval.is_number() && interval.get<double>() > 0)
            link.heartbeat_timeout = std::max(1.0, 3.0 * interval.get<double>());
    }
    undo_.push(new AddItemsCommand(
        this, {}, {link},
        tr("Link %1 to %2")
            .arg(QString::fromStdString(from.str()), QString::fromStdString(to.str()))));
    return QString::fromStdString(link.id);
}

void EditorDocument::setLinkHeartbeatTimeout(const QString& id, double seconds) {
    const Link* link = topology_.find_link(id.toStdString());
    if (!link || link->heartbeat_timeout == seconds) return;
    undo_.push(new SetFieldCommand(this, SetFieldCommand::Field::LinkHeartbeat, id, {},
                                   link->heartbeat_timeout, seconds,
                                   tr("Set heartbeat timeout of %1").arg(id)));
}

void EditorDocument::setDocumentName(const QString& name) {
    if (topology_.name() == name.toStdString()) return;
    undo_.push(new SetFieldCommand(this, SetFieldCommand::Field::DocumentName, {}, {},
                                   topology_.name(), name.toStdString(), tr("Rename document")));
}

void EditorDocument::setDocumentDescription(const QString& description) {
    if (topology_.description() == description.toStdString()) return;
    undo_.push(new SetFieldCommand(this, SetFieldCommand::Field::DocumentDescription, {}, {},
                                   topology_.description(), description.toStdString(),
                                   tr("Edit description")));
}

void EditorDocument::setHosts(const std::vector<zmqrpc::Host>& hosts) {
    if (hosts == topology_.hosts()) return;
    auto toJson = [](const std::vector<zmqrpc::Host>& list) {
        nlohmann::json j = nlohmann::json::array();
        for (const auto& h : list)
            j.push_back({{"name", h.name},
                         {"address", h.address},
                         {"runner",
                          {{"control", h.runner.control},
                           {"metrics", h.runner.metrics},
                           {"server_key", h.runner.server_key},
                           {"security", h.runner.security.to_json()}}}});
        return j;
    };
    // Refuse what the model would refuse (duplicate or empty names) before it is on the stack.
    Topology probe = topology_;
    probe.set_hosts(hosts);
    undo_.push(new SetFieldCommand(this, SetFieldCommand::Field::Hosts, {}, {},
                                   toJson(topology_.hosts()), toJson(hosts), tr("Edit hosts")));
}

// ---------------------------------------------------------------------------------------------
// Clipboard

QByteArray EditorDocument::copy(const QStringList& nodeIds) const {
    Topology fragment;
    std::set<std::string> ids;
    for (const auto& id : nodeIds) {
        const Node* node = topology_.find_node(id.toStdString());
        if (!node || ids.count(node->id)) continue;
        fragment.add_node(*node);
        ids.insert(node->id);
    }
    if (ids.empty()) return {};
    for (const auto& link : topology_.links()) {
        if (ids.count(link.from.node) && ids.count(link.to.node)) fragment.add_link(link);
    }
    return QByteArray::fromStdString(zmqrpc::save_topology(fragment));
}

QStringList EditorDocument::paste(const QByteArray& data, QPointF offset) {
    Topology fragment;
    try {
        fragment = zmqrpc::load_topology(data.toStdString());
    } catch (const std::exception&) {
        return {};
    }
    if (fragment.nodes().empty()) return {};
    // Fresh ids (against the document and each other), free ports, shifted positions.
    Topology scratch = topology_;
    std::set<int> used = used_ports(topology_);
    std::map<std::string, std::string> renamed;
    std::vector<Node> nodes;
    for (Node node : fragment.nodes()) {
        std::string base = node.id;
        auto dash = base.rfind('-');
        if (dash != std::string::npos &&
            std::all_of(base.begin() + static_cast<long>(dash) + 1, base.end(), ::isdigit) &&
            dash + 1 < base.size())
            base = base.substr(0, dash);
        std::string fresh = scratch.find_node(node.id) ? scratch.unique_node_id(base) : node.id;
        renamed[node.id] = fresh;
        node.id = fresh;
        QPointF p = snapped(QPointF(node.position.x, node.position.y) + offset);
        node.position = {p.x(), p.y()};
        move_to_free_ports(node, used);
        scratch.add_node(node);
        nodes.push_back(std::move(node));
    }
    std::vector<Link> links;
    for (Link link : fragment.links()) {
        link.from.node = renamed[link.from.node];
        link.to.node = renamed[link.to.node];
        link.id = scratch.unique_link_id();
        scratch.add_link(link);
        links.push_back(std::move(link));
    }
    QStringList ids;
    for (const auto& node : nodes)
        ids << QString::fromStdString(node.id);
    undo_.push(new AddItemsCommand(
        this, std::move(nodes), std::move(links),
        ids.size() == 1 ? tr("Paste node") : tr("Paste %1 nodes").arg(ids.size())));
    return ids;
}

QStringList EditorDocument::duplicate(const QStringList& nodeIds) {
    return paste(copy(nodeIds), QPointF(2 * kGrid, 2 * kGrid));
}

// ---------------------------------------------------------------------------------------------
// Layout

void EditorDocument::autoLayout() {
    // Layer = longest path from a node without inputs, following the data (from -> to). Nodes in
    // a cycle keep the layer they reached when the iteration bound stops them.
    std::map<std::string, int> layer;
    for (const auto& node : topology_.nodes())
        layer[node.id] = 0;
    const std::size_t n = topology_.nodes().size();
    for (std::size_t round = 0; round < n; ++round) {
        bool changed = false;
        for (const auto& link : topology_.links()) {
            int want = layer[link.from.node] + 1;
            if (layer[link.to.node] < want) {
                layer[link.to.node] = want;
                changed = true;
            }
        }
        if (!changed) break;
    }
    std::map<int, std::vector<std::string>> columns;
    for (const auto& node : topology_.nodes())
        columns[layer[node.id]].push_back(node.id);
    constexpr double kColumn = 320, kRow = 180;
    QHash<QString, QPointF> from, to;
    for (const auto& [column, ids] : columns) {
        double top = -0.5 * kRow * static_cast<double>(ids.size() - 1);
        for (std::size_t i = 0; i < ids.size(); ++i) {
            const Node* node = topology_.find_node(ids[i]);
            const QString id = QString::fromStdString(ids[i]);
            from.insert(id, QPointF(node->position.x, node->position.y));
            to.insert(id, snapped(QPointF(column * kColumn, top + static_cast<double>(i) * kRow)));
        }
    }
    QHash<QString, QPointF> before, after;
    for (auto it = to.begin(); it != to.end(); ++it) {
        if (from.value(it.key()) == it.value()) continue;
        before.insert(it.key(), from.value(it.key()));
        after.insert(it.key(), it.value());
    }
    if (after.isEmpty()) return;
    undo_.push(new MoveNodesCommand(this, before, after, tr("Automatic layout")));
}

}  // namespace studio
