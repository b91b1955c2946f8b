// The document the Studio edits: a zmqrpc::Topology, its file, and the undo stack that owns every
// change to it. The model is the truth; the scene, inspector and problems list are views that
// follow its signals. Every mutator pushes an undo command (so every edit, move and structural
// change can be undone); commands change the Topology only through its own API, so its rules hold.
//
// GUI thread only.
#pragma once

#include <zmqrpc/topology.hpp>

#include <QHash>
#include <QObject>
#include <QPointF>
#include <QString>
#include <QStringList>
#include <QUndoStack>

#include <vector>

namespace studio {

class EditorDocument : public QObject {
    Q_OBJECT

  public:
    explicit EditorDocument(QObject* parent = nullptr);
    ~EditorDocument() override;

    const zmqrpc::Topology& topology() const noexcept { return topology_; }
    QUndoStack* undoStack() noexcept { return &undo_; }

    // ---- files
    QString filePath() const { return filePath_; }
    // The file name, or "Untitled".
    QString displayName() const;
    // Unsaved changes: the undo stack is not at its clean index.
    bool isDirty() const;
    // An empty, untitled, clean document.
    void newDocument();
    // Loads a topology file. On failure returns false and sets *error (every located error, one
    // per line); the document is unchanged.
    bool load(const QString& path, QString* error);
    // Saves to filePath() (or `path`, which becomes the file path). Marks clean.
    bool save(QString* error);
    bool saveAs(const QString& path, QString* error);
    // Replaces the whole document (recovery, tests); not undoable; dirty when `dirty`.
    void reset(zmqrpc::Topology topology, const QString& path, bool dirty);

    // ---- edits (each one undoable)
    // Adds a node of `kind` at `position` with default properties and fresh id/name (bind
    // endpoints get free default ports that no other node of the document uses). Returns its id.
    QString addNode(zmqrpc::NodeKind kind, QPointF position);
    // Removes nodes (with their links) and links, as one undo step.
    void removeItems(const QStringList& nodeIds, const QStringList& linkIds);
    // One drag: every moved node from where it was to where it is now (one undo step).
    void moveNodes(const QHash<QString, QPointF>& from, const QHash<QString, QPointF>& to);
    void setNodeName(const QString& id, const QString& name);
    void setNodeHost(const QString& id, const QString& host);
    // Sets one property (null: back to the default). Successive edits of the same property of
    // the same node merge into one undo step. Returns false with *error when the model refuses
    // (unknown key, wrong JSON type).
    bool setProperty(const QString& id, const QString& key, const nlohmann::json& value,
                     QString* error = nullptr);
    // Adds a link, or returns an empty id and sets *reason when the ports cannot be linked.
    QString addLink(const zmqrpc::PortRef& from, const zmqrpc::PortRef& to, QString* reason);
    void setLinkHeartbeatTimeout(const QString& id, double seconds);
    void setDocumentName(const QString& name);
    void setDocumentDescription(const QString& description);
    void setHosts(const std::vector<zmqrpc::Host>& hosts);

    // ---- clipboard
    // The given nodes and the links among them, as JSON text (a topology fragment).
    QByteArray copy(const QStringList& nodeIds) const;
    // Adds what copy() made, with fresh ids and bind ports, shifted by `offset`; one undo step.
    // Returns the new node ids (empty when `data` is not a fragment).
    QStringList paste(const QByteArray& data, QPointF offset);
    QStringList duplicate(const QStringList& nodeIds);  // copy + paste, offset by one grid step

    // Left-to-right layered layout: publishers and binders first, following the links; one
    // undo step.
    void autoLayout();

    // ---- validation (recomputed after every change)
    // Up to date at any time (revalidated at once when read after a change; problemsChanged
    // follows from the event loop, once for a burst of changes).
    const std::vector<zmqrpc::Problem>& problems() const;

    static constexpr double kGrid = 20.0;

  signals:
    void nodeAdded(const QString& id);
    void nodeRemoved(const QString& id);
    void nodeChanged(const QString& id);
    void linkAdded(const QString& id);
    void linkRemoved(const QString& id);
    void linkChanged(const QString& id);
    // Everything may have changed (new, load, reset, document-wide edits).
    void documentReset();
    void problemsChanged();
    void dirtyChanged(bool dirty);
    void filePathChanged(const QString& path);

  private:
    friend class DocumentCommand;
    // Applies a mutation to the model (called by undo commands only).
    zmqrpc::Topology& mutableTopology() noexcept { return topology_; }
    void onModelChange(const zmqrpc::TopologyChange& change);
    void scheduleRevalidate();
    void revalidate();
    void setDirtyState(bool forced);

    zmqrpc::Topology topology_;
    QUndoStack undo_;
    QString filePath_;
    std::vector<zmqrpc::Problem> problems_;
    int observer_ = 0;
    bool wasDirty_ = false;
    bool forcedDirty_ = false;  // reset(..., dirty = true): recovered work not saved yet
    bool resetting_ = false;
    bool problemsStale_ = false;
    bool revalidateQueued_ = false;
};

}  // namespace studio
