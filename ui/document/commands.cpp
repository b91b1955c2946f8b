#include "document/commands.hpp"

#include "document/editor_document.hpp"

#include <algorithm>
#include <set>

namespace studio {

DocumentCommand::DocumentCommand(EditorDocument* doc, const QString& text)
    : QUndoCommand(text), doc_(doc) {}

zmqrpc::Topology& DocumentCommand::model() {
    return doc_->mutableTopology();
}

// ---------------------------------------------------------------------------------------------

AddItemsCommand::AddItemsCommand(EditorDocument* doc, std::vector<zmqrpc::Node> nodes,
                                 std::vector<zmqrpc::Link> links, const QString& text)
    : DocumentCommand(doc, text), nodes_(std::move(nodes)), links_(std::move(links)) {}

void AddItemsCommand::redo() {
    for (const auto& node : nodes_)
        model().add_node(node);
    for (const auto& link : links_)
        model().add_link(link);
}

void AddItemsCommand::undo() {
    for (auto it = links_.rbegin(); it != links_.rend(); ++it) {
        if (model().find_link(it->id)) model().remove_link(it->id);
    }
    for (auto it = nodes_.rbegin(); it != nodes_.rend(); ++it)
        model().remove_node(it->id);
}

// ---------------------------------------------------------------------------------------------

RemoveItemsCommand::RemoveItemsCommand(EditorDocument* doc, const QStringList& nodeIds,
                                       const QStringList& linkIds)
    : DocumentCommand(doc, QString()) {
    const auto& t = doc->topology();
    std::set<std::string> nodes, links;
    for (const auto& id : nodeIds)
        nodes.insert(id.toStdString());
    for (const auto& id : linkIds)
        links.insert(id.toStdString());
    // Document order, so that undo puts everything back in a stable order.
    for (const auto& node : t.nodes()) {
        if (nodes.count(node.id)) nodes_.push_back(node);
    }
    for (const auto& link : t.links()) {
        if (links.count(link.id) || nodes.count(link.from.node) || nodes.count(link.to.node))
            links_.push_back(link);
    }
    if (nodes_.size() + links_.size() == 1) {
        setText(nodes_.empty() ? QObject::tr("Delete link") : QObject::tr("Delete node"));
    } else {
        setText(QObject::tr("Delete %1 items").arg(nodes_.size() + links_.size()));
    }
}

void RemoveItemsCommand::redo() {
    for (const auto& link : links_) {
        if (model().find_link(link.id)) model().remove_link(link.id);
    }
    for (const auto& node : nodes_)
        model().remove_node(node.id);
}

void RemoveItemsCommand::undo() {
    for (const auto& node : nodes_)
        model().add_node(node);
    for (const auto& link : links_)
        model().add_link(link);
}

// ---------------------------------------------------------------------------------------------

MoveNodesCommand::MoveNodesCommand(EditorDocument* doc, QHash<QString, QPointF> from,
                                   QHash<QString, QPointF> to, const QString& text)
    : DocumentCommand(doc, text), from_(std::move(from)), to_(std::move(to)) {}

void MoveNodesCommand::apply(const QHash<QString, QPointF>& positions) {
    for (auto it = positions.begin(); it != positions.end(); ++it) {
        const std::string id = it.key().toStdString();
        if (model().find_node(id)) model().set_node_position(id, {it.value().x(), it.value().y()});
    }
}

void MoveNodesCommand::redo() {
    apply(to_);
}

void MoveNodesCommand::undo() {
    apply(from_);
}

// ---------------------------------------------------------------------------------------------

SetFieldCommand::SetFieldCommand(EditorDocument* doc, Field field, QString id, QString key,
                                 nlohmann::json before, nlohmann::json after, const QString& text)
    : DocumentCommand(doc, text),
      field_(field),
      target_(std::move(id)),
      key_(std::move(key)),
      before_(std::move(before)),
      after_(std::move(after)) {}

void SetFieldCommand::apply(const nlohmann::json& value) {
    auto& t = model();
    const std::string id = target_.toStdString();
    switch (field_) {
        case Field::Property:
            t.set_property(id, key_.toStdString(), value);
            break;
        case Field::NodeName:
            t.set_node_name(id, value.get<std::string>());
            break;
        case Field::NodeHost:
            t.set_node_host(id, value.get<std::string>());
            break;
        case Field::LinkHeartbeat:
            t.set_link_heartbeat_timeout(id, value.get<double>());
            break;
        case Field::DocumentName:
            t.set_name(value.get<std::string>());
            break;
        case Field::DocumentDescription:
            t.set_description(value.get<std::string>());
            break;
        case Field::Hosts: {
            std::vector<zmqrpc::Host> hosts;
            for (const auto& h : value) {
                zmqrpc::Host host{
                    h.at("name").get<std::string>(), h.at("address").get<std::string>(), {}};
                const auto& r = h.at("runner");
                host.runner.control = r.at("control").get<std::string>();
                host.runner.metrics = r.at("metrics").get<std::string>();
                host.runner.server_key = r.at("server_key").get<std::string>();
                host.runner.security = zmqrpc::SecurityRef::from_json(r.at("security"));
                hosts.push_back(std::move(host));
            }
            t.set_hosts(std::move(hosts));
            break;
        }
    }
}

void SetFieldCommand::redo() {
    apply(after_);
}

void SetFieldCommand::undo() {
    apply(before_);
}

bool SetFieldCommand::mergeWith(const QUndoCommand* other) {
    auto* o = dynamic_cast<const SetFieldCommand*>(other);
    // Typing into one field is one step; host list edits (add, remove) stay separate steps.
    if (!o || o->field_ != field_ || o->target_ != target_ || o->key_ != key_ ||
        field_ == Field::Hosts)
        return false;
    after_ = o->after_;
    return true;
}

}  // namespace studio
