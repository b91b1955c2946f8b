// The undo commands of EditorDocument (<Verb><Noun>Command). Each captures values in its
// constructor and applies them through the Topology's own API in redo()/undo(), so the model's
// rules hold in both directions. The scene and panels follow the document's signals.
//
// GUI thread only.
#pragma once

#include <zmqrpc/topology.hpp>

#include <QHash>
#include <QPointF>
#include <QString>
#include <QUndoCommand>

#include <vector>

namespace studio {

class EditorDocument;

class DocumentCommand : public QUndoCommand {
  public:
    DocumentCommand(EditorDocument* doc, const QString& text);

  protected:
    zmqrpc::Topology& model();
    EditorDocument* doc_;
};

// Adds nodes and links (new nodes, paste, duplicate); undo removes them.
class AddItemsCommand : public DocumentCommand {
  public:
    AddItemsCommand(EditorDocument* doc, std::vector<zmqrpc::Node> nodes,
                    std::vector<zmqrpc::Link> links, const QString& text);
    void redo() override;
    void undo() override;

  private:
    std::vector<zmqrpc::Node> nodes_;
    std::vector<zmqrpc::Link> links_;
};

// Removes nodes (with every link touching them) and links; undo puts all of them back.
class RemoveItemsCommand : public DocumentCommand {
  public:
    RemoveItemsCommand(EditorDocument* doc, const QStringList& nodeIds, const QStringList& linkIds);
    void redo() override;
    void undo() override;

  private:
    std::vector<zmqrpc::Node> nodes_;
    std::vector<zmqrpc::Link> links_;
};

class MoveNodesCommand : public DocumentCommand {
  public:
    MoveNodesCommand(EditorDocument* doc, QHash<QString, QPointF> from, QHash<QString, QPointF> to,
                     const QString& text);
    void redo() override;
    void undo() override;

  private:
    void apply(const QHash<QString, QPointF>& positions);
    QHash<QString, QPointF> from_, to_;
};

// One field of a node, of a link or of the document. Successive edits of the same field merge.
class SetFieldCommand : public DocumentCommand {
  public:
    enum class Field {
        Property,
        NodeName,
        NodeHost,
        LinkHeartbeat,
        DocumentName,
        DocumentDescription,
        Hosts,
    };
    SetFieldCommand(EditorDocument* doc, Field field, QString id, QString key,
                    nlohmann::json before, nlohmann::json after, const QString& text);
    void redo() override;
    void undo() override;
    int id() const override { return 0x7a6d71; }
    bool mergeWith(const QUndoCommand* other) override;

  private:
    void apply(const nlohmann::json& value);
    Field field_;
    QString target_, key_;
    nlohmann::json before_, after_;
};

}  // namespace studio
