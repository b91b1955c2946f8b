#include "panels/inspector_widget.hpp"

#include "document/editor_document.hpp"
#include "panels/kind_icons.hpp"
#include "panels/property_editors.hpp"
#include "panels/runner_dialog.hpp"
#include "runtime/runtime_source.hpp"
#include "runtime/secret_store.hpp"

#include <zmqrpc/secrets.hpp>
#include <zmqrpc/security.hpp>

#include <QApplication>
#include <QComboBox>
#include <QDoubleSpinBox>
#include <QFormLayout>
#include <QFrame>
#include <QHBoxLayout>
#include <QHeaderView>
#include <QLabel>
#include <QLineEdit>
#include <QPlainTextEdit>
#include <QPushButton>
#include <QScrollArea>
#include <QSignalBlocker>
#include <QTableWidget>
#include <QTimer>
#include <QVBoxLayout>

#include <filesystem>
#include <set>

namespace studio {

using nlohmann::json;

namespace {

// The Hosts table's Runner column: the control endpoint, or nothing.
QString runnerText(const zmqrpc::Host& host) {
    return QString::fromStdString(host.runner.control);
}

QString qs(const std::string& text) {
    return QString::fromStdString(text);
}

// A line edit whose text follows the model without disturbing an edit in progress: the text is
// replaced only when the model's value changed since it was last shown.
void showText(QLineEdit* edit, const QString& value, QString* lastShown) {
    if (value == *lastShown && !lastShown->isNull()) return;
    *lastShown = value;
    if (edit->text() == value) return;
    const int caret = edit->cursorPosition();
    edit->setText(value);
    if (edit->hasFocus()) edit->setCursorPosition(qMin(caret, static_cast<int>(value.size())));
}

QLabel* selectableLabel(const QString& text, QWidget* parent) {
    auto* label = new QLabel(text, parent);
    label->setTextInteractionFlags(Qt::TextSelectableByMouse);
    label->setWordWrap(true);
    return label;
}

bool isPubSub(const zmqrpc::Topology& topology, const zmqrpc::Link& link) {
    const zmqrpc::Node* from = topology.find_node(link.from.node);
    if (from == nullptr) return false;
    for (const zmqrpc::PortSpec& port : zmqrpc::port_specs(from->kind, from->properties)) {
        if (port.name == link.from.port) return port.socket == zmqrpc::SocketType::Pub;
    }
    return false;
}

}  // namespace

InspectorWidget::InspectorWidget(EditorDocument* doc, RuntimeSource* runtime, SecretStore* secrets,
                                 QWidget* parent)
    : QWidget(parent), doc_(doc), runtime_(runtime), secrets_(secrets) {
    setObjectName(QStringLiteral("inspector"));
    auto* layout = new QVBoxLayout(this);
    layout->setContentsMargins(6, 6, 6, 6);
    layout->setSpacing(6);

    auto* header = new QHBoxLayout;
    header->setSpacing(8);
    icon_ = new QLabel(this);
    icon_->setFixedSize(28, 28);
    title_ = new QLabel(this);
    title_->setObjectName(QStringLiteral("inspectorTitle"));
    title_->setTextFormat(Qt::RichText);
    title_->setWordWrap(true);
    header->addWidget(icon_, 0, Qt::AlignVCenter);
    header->addWidget(title_, 1);
    layout->addLayout(header);

    banner_ = new QLabel(tr("Running — stop the node to edit"), this);
    banner_->setObjectName(QStringLiteral("inspectorBanner"));
    banner_->setStyleSheet(QStringLiteral(
        "background: #fff4ce; color: #5c4400; border: 1px solid #e6c35c; border-radius: 3px; "
        "padding: 4px 6px;"));
    banner_->setWordWrap(true);
    banner_->hide();
    layout->addWidget(banner_);

    problems_ = new QLabel(this);
    problems_->setObjectName(QStringLiteral("inspectorProblems"));
    problems_->setTextFormat(Qt::RichText);
    problems_->setWordWrap(true);
    problems_->setTextInteractionFlags(Qt::TextSelectableByMouse);
    problems_->setStyleSheet(QStringLiteral(
        "background: #fdecea; border: 1px solid #f1b0b0; border-radius: 3px; padding: 4px 6px;"));
    problems_->hide();
    layout->addWidget(problems_);

    scroll_ = new QScrollArea(this);
    scroll_->setWidgetResizable(true);
    scroll_->setFrameShape(QFrame::NoFrame);
    scroll_->setHorizontalScrollBarPolicy(Qt::ScrollBarAlwaysOff);
    layout->addWidget(scroll_, 1);

    connect(doc_, &EditorDocument::nodeChanged, this, &InspectorWidget::onNodeChanged);
    connect(doc_, &EditorDocument::nodeRemoved, this, &InspectorWidget::onNodeRemoved);
    connect(doc_, &EditorDocument::linkChanged, this, &InspectorWidget::onLinkChanged);
    connect(doc_, &EditorDocument::linkRemoved, this, &InspectorWidget::onLinkRemoved);
    connect(doc_, &EditorDocument::documentReset, this, &InspectorWidget::onDocumentReset);
    connect(doc_, &EditorDocument::problemsChanged, this, &InspectorWidget::refreshProblems);
    // Any change may change the shown item's problems (a bind another node now uses too): look
    // again once the burst of changes is over.
    for (auto signal :
         {&EditorDocument::nodeAdded, &EditorDocument::nodeRemoved, &EditorDocument::nodeChanged,
          &EditorDocument::linkAdded, &EditorDocument::linkRemoved, &EditorDocument::linkChanged}) {
        connect(doc_, signal, this, &InspectorWidget::scheduleProblemsRefresh);
    }
    connect(doc_, &EditorDocument::documentReset, this, &InspectorWidget::scheduleProblemsRefresh);
    // The document form counts nodes and links.
    connect(doc_, &EditorDocument::nodeAdded, this, [this] {
        if (mode_ == Mode::Document) refreshDocument();
    });
    connect(doc_, &EditorDocument::linkAdded, this, [this] {
        if (mode_ == Mode::Document) refreshDocument();
    });
    if (runtime_ != nullptr) {
        connect(runtime_, &RuntimeSource::snapshotUpdated, this, &InspectorWidget::updateReadOnly);
        connect(runtime_, &RuntimeSource::busyChanged, this, &InspectorWidget::updateReadOnly);
    }
    clear();
}

InspectorWidget::~InspectorWidget() {
    // Tearing the form down moves the focus out of its fields: that must not edit the document
    // (which may be going away too), nor call back into this half-destroyed widget.
    disconnect(doc_, nullptr, this, nullptr);
    if (runtime_ != nullptr) disconnect(runtime_, nullptr, this, nullptr);
    if (QWidget* page = scroll_->takeWidget()) {
        for (QWidget* child : page->findChildren<QWidget*>())
            child->blockSignals(true);
        delete page;
    }
}

// ---------------------------------------------------------------------------------------------
// What is shown

void InspectorWidget::showNode(const QString& id) {
    const zmqrpc::Node* node = doc_->topology().find_node(id.toStdString());
    if (node == nullptr) {
        clear();
        return;
    }
    if (mode_ == Mode::Node && id_ == id && kind_ == node->kind) {
        refresh();
        return;
    }
    mode_ = Mode::Node;
    id_ = id;
    kind_ = node->kind;
    rebuild();
}

void InspectorWidget::showLink(const QString& id) {
    if (doc_->topology().find_link(id.toStdString()) == nullptr) {
        clear();
        return;
    }
    if (mode_ == Mode::Link && id_ == id) {
        refresh();
        return;
    }
    mode_ = Mode::Link;
    id_ = id;
    rebuild();
}

void InspectorWidget::showDocument() {
    if (mode_ == Mode::Document) {
        refresh();
        return;
    }
    mode_ = Mode::Document;
    id_.clear();
    rebuild();
}

void InspectorWidget::showMultiple(int count) {
    mode_ = Mode::Multiple;
    id_.clear();
    multipleCount_ = count;
    rebuild();
}

void InspectorWidget::showSelection(const QStringList& nodeIds, const QStringList& linkIds) {
    const auto count = nodeIds.size() + linkIds.size();
    if (count == 0) {
        showDocument();
    } else if (count > 1) {
        showMultiple(static_cast<int>(count));
    } else if (!nodeIds.isEmpty()) {
        showNode(nodeIds.first());
    } else {
        showLink(linkIds.first());
    }
}

void InspectorWidget::clear() {
    mode_ = Mode::Empty;
    id_.clear();
    rebuild();
}

PropertyEditor* InspectorWidget::editor(const QString& key) const {
    for (PropertyEditor* e : editors_) {
        if (e->key() == key) return e;
    }
    return nullptr;
}

// ---------------------------------------------------------------------------------------------
// Building the forms

QFormLayout* InspectorWidget::newPage() {
    // The old page may be the sender of the signal that got us here: delete it later.
    if (QWidget* old = scroll_->takeWidget()) {
        old->hide();
        old->deleteLater();
    }
    editors_.clear();
    nameEdit_ = nullptr;
    hostCombo_ = nullptr;
    linkEnds_ = nullptr;
    connectAddress_ = nullptr;
    linkSecurity_ = nullptr;
    encrypt_ = nullptr;
    heartbeat_ = nullptr;
    description_ = nullptr;
    descriptionCommit_ = nullptr;
    counts_ = nullptr;
    hosts_ = nullptr;
    removeHost_ = nullptr;
    editRunner_ = nullptr;
    hostsError_ = nullptr;
    shownName_ = QString();

    page_ = new QWidget;
    page_->setObjectName(QStringLiteral("inspectorPage"));
    // The form on top; spare height goes below it, not into tall rows.
    auto* column = new QVBoxLayout(page_);
    column->setContentsMargins(2, 0, 6, 6);
    auto* form = new QFormLayout;
    column->addLayout(form);
    column->addStretch(1);
    form->setContentsMargins(0, 0, 0, 0);
    form->setFieldGrowthPolicy(QFormLayout::AllNonFixedFieldsGrow);
    form->setRowWrapPolicy(QFormLayout::DontWrapRows);
    form->setLabelAlignment(Qt::AlignRight | Qt::AlignTop);
    form->setFormAlignment(Qt::AlignLeft | Qt::AlignTop);
    form->setHorizontalSpacing(10);
    form->setVerticalSpacing(6);
    return form;
}

void InspectorWidget::addSection(QFormLayout* form, const QString& title) {
    auto* label = new QLabel(title, page_);
    QFont font = label->font();
    font.setBold(true);
    label->setFont(font);
    label->setContentsMargins(0, form->rowCount() == 0 ? 0 : 8, 0, 2);
    auto* line = new QFrame(page_);
    line->setFrameShape(QFrame::HLine);
    line->setFrameShadow(QFrame::Sunken);
    auto* box = new QWidget(page_);
    auto* v = new QVBoxLayout(box);
    v->setContentsMargins(0, 0, 0, 0);
    v->setSpacing(2);
    v->addWidget(label);
    v->addWidget(line);
    form->addRow(box);
}

void InspectorWidget::rebuild() {
    readOnly_ = false;
    icon_->clear();
    icon_->setVisible(false);
    switch (mode_) {
        case Mode::Node:
            if (const auto* node = doc_->topology().find_node(id_.toStdString())) {
                buildNodeForm(*node);
            }
            break;
        case Mode::Link:
            if (const auto* link = doc_->topology().find_link(id_.toStdString())) {
                buildLinkForm(*link);
            }
            break;
        case Mode::Document:
            buildDocumentForm();
            break;
        case Mode::Multiple: {
            QFormLayout* form = newPage();
            title_->setText(tr("<b>%n items selected</b>", nullptr, multipleCount_));
            auto* hint = new QLabel(tr("Select a single node or link to edit it."), page_);
            hint->setWordWrap(true);
            hint->setEnabled(false);
            form->addRow(hint);
            break;
        }
        case Mode::Empty: {
            QFormLayout* form = newPage();
            title_->setText(tr("<b>Nothing selected</b>"));
            auto* hint = new QLabel(tr("Select a node or a link to edit it."), page_);
            hint->setWordWrap(true);
            hint->setEnabled(false);
            form->addRow(hint);
            break;
        }
    }
    // Put in place once complete, so that all of it shows at once (children added to a visible
    // widget would only show on a later event-loop turn).
    scroll_->setWidget(page_);
    refresh();
}

void InspectorWidget::buildNodeForm(const zmqrpc::Node& node) {
    QFormLayout* form = newPage();
    icon_->setPixmap(kindIcon(node.kind).pixmap(28, 28));
    icon_->setVisible(true);

    addSection(form, tr("Node"));
    form->addRow(tr("Id"), selectableLabel(id_, page_));

    auto* kindBox = new QWidget(page_);
    auto* kindRow = new QHBoxLayout(kindBox);
    kindRow->setContentsMargins(0, 0, 0, 0);
    kindRow->setSpacing(6);
    auto* kindIconLabel = new QLabel(kindBox);
    kindIconLabel->setPixmap(kindIcon(node.kind).pixmap(16, 16));
    kindRow->addWidget(kindIconLabel);
    auto* kindText = new QLabel(QStringLiteral("%1 <span style='color:gray'>(%2)</span>")
                                    .arg(QString::fromUtf8(zmqrpc::display_name(node.kind)),
                                         QString::fromLatin1(zmqrpc::to_string(node.kind))),
                                kindBox);
    kindText->setToolTip(QString::fromUtf8(zmqrpc::description(node.kind)));
    kindRow->addWidget(kindText, 1);
    form->addRow(tr("Kind"), kindBox);

    nameEdit_ = new QLineEdit(page_);
    nameEdit_->setObjectName(QStringLiteral("node.name"));
    nameEdit_->setPlaceholderText(id_);
    nameEdit_->setToolTip(tr("A name for humans; empty shows the id"));
    form->addRow(tr("Name"), nameEdit_);
    connect(nameEdit_, &QLineEdit::editingFinished, this, [this, edit = nameEdit_, id = id_] {
        const zmqrpc::Node* n = doc_->topology().find_node(id.toStdString());
        if (n == nullptr || !edit->isEnabled()) return;
        const QString name = edit->text().trimmed();
        if (name != qs(n->name)) doc_->setNodeName(id, name);
    });

    hostCombo_ = new QComboBox(page_);
    hostCombo_->setObjectName(QStringLiteral("node.host"));
    hostCombo_->setEditable(true);
    hostCombo_->setInsertPolicy(QComboBox::NoInsert);
    hostCombo_->setSizeAdjustPolicy(QComboBox::AdjustToMinimumContentsLengthWithIcon);
    hostCombo_->setMinimumContentsLength(8);
    hostCombo_->lineEdit()->setPlaceholderText(
        tr("%1 (default)").arg(QString::fromLatin1(zmqrpc::Topology::kDefaultHost)));
    hostCombo_->setToolTip(
        tr("The host it runs on: `zmqrpc run --host NAME` runs this host's "
           "nodes"));
    form->addRow(tr("Host"), hostCombo_);
    auto commitHost = [this, combo = hostCombo_, id = id_] {
        const zmqrpc::Node* n = doc_->topology().find_node(id.toStdString());
        if (n == nullptr || !combo->isEnabled()) return;
        const QString host = combo->currentText().trimmed();
        if (host != qs(n->host)) doc_->setNodeHost(id, host);
    };
    connect(hostCombo_, &QComboBox::activated, this, commitHost);
    connect(hostCombo_->lineEdit(), &QLineEdit::editingFinished, this, commitHost);

    addSection(form, tr("Properties"));
    const int lineHeight = QLineEdit().sizeHint().height();
    QList<PropertyEditor*> spanning;
    for (const zmqrpc::PropertySpec& spec : zmqrpc::property_specs(node.kind)) {
        bool binds = false;
        if (spec.type == zmqrpc::PropertyType::Security) {
            for (const zmqrpc::PortSpec& port : zmqrpc::port_specs(node.kind, node.properties))
                binds |= port.binds && zmqrpc::security_property(node.kind, port.name) == spec.key;
        }
        PropertyEditor* editor = createPropertyEditor(spec, id_, secrets_, page_, binds);
        auto* label =
            new QLabel(qs(spec.label) + (spec.required ? QStringLiteral(" *") : QString()), page_);
        label->setToolTip(qs(spec.help) + (spec.required ? tr("\n(required)") : QString()));
        label->setBuddy(editor->findChild<QWidget*>(qs(spec.key)));
        if (editor->spansRow()) {
            // A group of fields: its title on a row of its own, the fields below, aligned with
            // the form's field column (see alignFields below).
            label->setAlignment(Qt::AlignLeft | Qt::AlignBottom);
            label->setContentsMargins(0, 4, 0, 0);
            form->addRow(label);
            form->addRow(editor);
            spanning << editor;
        } else {
            // Level with the first line of tall editors (JSON), not their middle.
            label->setFixedHeight(lineHeight);
            label->setAlignment(Qt::AlignRight | Qt::AlignVCenter);
            form->addRow(label, editor);
        }
        editors_ << editor;
        const QString key = qs(spec.key);
        connect(editor, &PropertyEditor::commitRequested, this,
                [this, editor, key, id = id_](const json& value) {
                    QString error;
                    if (!doc_->setProperty(id, key, value, &error)) editor->showProblem(error);
                });
        connect(editor, &PropertyEditor::resetRequested, this,
                [this, key, id = id_] { doc_->setProperty(id, key, json(nullptr)); });
    }
    // The label column is as wide as the widest label of the whole form.
    int labelWidth = 0;
    for (int row = 0; row < form->rowCount(); ++row) {
        QLayoutItem* item = form->itemAt(row, QFormLayout::LabelRole);
        if (item != nullptr && item->widget() != nullptr) {
            labelWidth = qMax(labelWidth, item->widget()->sizeHint().width());
        }
    }
    for (PropertyEditor* editor : spanning)
        editor->alignFields(labelWidth, form->horizontalSpacing());
    auto* legend = new QLabel(tr("* required"), page_);
    legend->setEnabled(false);
    form->addRow(QString(), legend);
}

void InspectorWidget::buildLinkForm(const zmqrpc::Link& link) {
    QFormLayout* form = newPage();
    addSection(form, tr("Link"));
    form->addRow(tr("Id"), selectableLabel(id_, page_));
    linkEnds_ = selectableLabel(QString(), page_);
    linkEnds_->setObjectName(QStringLiteral("link.ends"));
    form->addRow(tr("From → to"), linkEnds_);
    connectAddress_ = selectableLabel(QString(), page_);
    connectAddress_->setObjectName(QStringLiteral("link.connectAddress"));
    connectAddress_->setToolTip(
        tr("Where the connecting side connects: derived from the bound "
           "side's endpoint and the hosts"));
    form->addRow(tr("Connect address"), connectAddress_);
    linkSecurity_ = selectableLabel(QString(), page_);
    linkSecurity_->setObjectName(QStringLiteral("link.security"));
    linkSecurity_->setWordWrap(true);
    form->addRow(tr("Security"), linkSecurity_);
    encrypt_ = new QPushButton(tr("Encrypt with CURVE"), page_);
    encrypt_->setObjectName(QStringLiteral("link.encrypt"));
    encrypt_->setToolTip(
        tr("The bound side gets a key pair (generated unless it has one; only its public key "
           "goes into the topology) and lets any client that holds its public key in; the "
           "connecting side uses a fresh key pair each run"));
    {
        auto* box = new QWidget(page_);
        auto* row = new QHBoxLayout(box);
        row->setContentsMargins(0, 0, 0, 0);
        row->addWidget(encrypt_);
        row->addStretch(1);
        form->addRow(QString(), box);
    }
    connect(encrypt_, &QPushButton::clicked, this, [this, id = id_] {
        if (readOnly_) return;
        const QString problem = encryptLink(id);
        refreshLink();
        if (!problem.isEmpty() && linkSecurity_ != nullptr) {
            linkSecurity_->setText(QStringLiteral("<span style=\"color:#c62828\">%1</span>")
                                       .arg(problem.toHtmlEscaped()));
        }
    });

    if (isPubSub(doc_->topology(), link)) {
        heartbeat_ = new QDoubleSpinBox(page_);
        heartbeat_->setObjectName(QStringLiteral("link.heartbeat_timeout"));
        heartbeat_->setRange(0, 86400);
        heartbeat_->setDecimals(1);
        heartbeat_->setSuffix(QStringLiteral(" s"));
        heartbeat_->setSpecialValueText(tr("off"));
        heartbeat_->setKeyboardTracking(false);
        heartbeat_->setMinimumWidth(110);
        heartbeat_->setToolTip(
            tr("Seconds of silence after which the SUB socket is recreated "
               "(late at half of it); 0: not supervised"));
        auto* box = new QWidget(page_);
        auto* row = new QHBoxLayout(box);
        row->setContentsMargins(0, 0, 0, 0);
        row->addWidget(heartbeat_);
        row->addStretch(1);
        form->addRow(tr("Heartbeat timeout"), box);
        connect(heartbeat_, &QDoubleSpinBox::valueChanged, this,
                [this, spin = heartbeat_, id = id_](double value) {
                    const zmqrpc::Link* l = doc_->topology().find_link(id.toStdString());
                    if (l == nullptr || !spin->isEnabled()) return;
                    if (std::abs(l->heartbeat_timeout - value) < 0.05) return;
                    doc_->setLinkHeartbeatTimeout(id, value);
                });
    } else {
        auto* note = new QLabel(tr("REQ → REP: no heartbeat supervision (the requester's "
                                   "request timeout applies)."),
                                page_);
        note->setWordWrap(true);
        note->setEnabled(false);
        form->addRow(QString(), note);
    }
}

QString InspectorWidget::encryptLink(const QString& linkId) {
    const zmqrpc::Topology topology = doc_->topology();
    const zmqrpc::Link* link = topology.find_link(linkId.toStdString());
    if (link == nullptr) return tr("no link '%1'").arg(linkId);
    const zmqrpc::Node* ends[2] = {topology.find_node(link->from.node),
                                   topology.find_node(link->to.node)};
    const zmqrpc::PortRef* ports[2] = {&link->from, &link->to};
    int binder = -1;
    for (int i = 0; i < 2; ++i) {
        if (ends[i] == nullptr)
            return tr("the link's node '%1' is missing").arg(qs(ports[i]->node));
        for (const auto& port : zmqrpc::port_specs(ends[i]->kind, ends[i]->properties)) {
            if (port.name == ports[i]->port && port.binds) binder = i;
        }
    }
    if (binder < 0) return tr("neither end of the link binds");
    const zmqrpc::Node& server = *ends[binder];
    const zmqrpc::Node& client = *ends[1 - binder];
    const QString serverKey = qs(zmqrpc::security_property(server.kind, ports[binder]->port));
    const QString clientKey = qs(zmqrpc::security_property(client.kind, ports[1 - binder]->port));
    const auto current = [](const zmqrpc::Node& n, const QString& key) {
        try {
            return zmqrpc::SecurityRef::from_json(n.property(key.toStdString()));
        } catch (const std::exception&) {
            return zmqrpc::SecurityRef();
        }
    };

    zmqrpc::CurveRef serverCurve;
    const zmqrpc::SecurityRef serverNow = current(server, serverKey);
    if (const auto* have = serverNow.curve()) serverCurve = *have;
    const bool serverHasKey =
        !serverCurve.secret_key.empty() ||
        (server.kind == zmqrpc::NodeKind::External && !serverCurve.public_key.empty());
    if (!serverHasKey) {
        if (server.kind == zmqrpc::NodeKind::External) {
            return tr("%1 runs elsewhere: write its CURVE public key into its security")
                .arg(qs(server.display_name()));
        }
        const std::string name = server.id;
        try {
            if (secrets_ != nullptr && secrets_->keychainAvailable()) {
                const zmqrpc::CurveKeyPair keys = zmqrpc::generate_curve_key_pair();
                secrets_->store(qs(name), qs(keys.secret_key));
                serverCurve.secret_key = {zmqrpc::CredentialRef::Source::Keychain, name};
                serverCurve.public_key = keys.public_key;
            } else {
                const auto dir = zmqrpc::default_keys_dir();
                const auto files = zmqrpc::curve_key_files(dir, name);
                std::error_code ec;
                if (std::filesystem::exists(files.second, ec)) {
                    // A key pair of that name exists already: use it, never replace it.
                    serverCurve.public_key =
                        zmqrpc::load_curve_secret_file(files.second).public_key;
                } else {
                    const zmqrpc::CurveKeyPair keys = zmqrpc::generate_curve_key_pair();
                    zmqrpc::write_curve_key_pair(dir, name, keys, false);
                    serverCurve.public_key = keys.public_key;
                }
                serverCurve.secret_key = {zmqrpc::CredentialRef::Source::File, name};
            }
        } catch (const std::exception& e) {
            return QString::fromUtf8(e.what());
        }
    }
    if (!serverCurve.clients_given && serverCurve.authorized_keys.empty()) {
        serverCurve.clients = zmqrpc::CurveClients::AnyWithServerKey;
        serverCurve.clients_given = true;
    }
    const bool clientIsCurve =
        current(client, clientKey).mechanism() == zmqrpc::Security::Mechanism::Curve;

    QString error;
    doc_->undoStack()->beginMacro(tr("Encrypt link %1 with CURVE").arg(linkId));
    bool ok = doc_->setProperty(qs(server.id), serverKey,
                                zmqrpc::SecurityRef(serverCurve).to_json(), &error);
    if (ok && !clientIsCurve) {
        ok = doc_->setProperty(qs(client.id), clientKey,
                               zmqrpc::SecurityRef(zmqrpc::CurveRef{}).to_json(), &error);
    }
    doc_->undoStack()->endMacro();
    return ok ? QString() : error;
}

void InspectorWidget::buildDocumentForm() {
    QFormLayout* form = newPage();
    addSection(form, tr("Document"));
    nameEdit_ = new QLineEdit(page_);
    nameEdit_->setObjectName(QStringLiteral("document.name"));
    nameEdit_->setPlaceholderText(tr("Untitled"));
    form->addRow(tr("Name"), nameEdit_);
    connect(nameEdit_, &QLineEdit::editingFinished, this, [this, edit = nameEdit_] {
        const QString name = edit->text().trimmed();
        if (name != qs(doc_->topology().name())) doc_->setDocumentName(name);
    });
    description_ = new QPlainTextEdit(page_);
    description_->setObjectName(QStringLiteral("document.description"));
    description_->setPlaceholderText(tr("What this topology is for, how to deploy it"));
    description_->setMaximumHeight(description_->fontMetrics().lineSpacing() * 5 + 12);
    form->addRow(tr("Description"), description_);
    // Typing is committed when it pauses; the document merges the steps into one undo step.
    descriptionCommit_ = new QTimer(description_);
    descriptionCommit_->setSingleShot(true);
    descriptionCommit_->setInterval(500);
    connect(description_, &QPlainTextEdit::textChanged, descriptionCommit_,
            qOverload<>(&QTimer::start));
    connect(descriptionCommit_, &QTimer::timeout, this,
            [this, edit = description_] { doc_->setDocumentDescription(edit->toPlainText()); });
    counts_ = new QLabel(page_);
    form->addRow(tr("Contents"), counts_);

    addSection(form, tr("Hosts"));
    hosts_ = new QTableWidget(0, 3, page_);
    hosts_->setObjectName(QStringLiteral("document.hosts"));
    hosts_->setHorizontalHeaderLabels({tr("Name"), tr("Address"), tr("Runner")});
    hosts_->horizontalHeader()->setSectionResizeMode(0, QHeaderView::Stretch);
    hosts_->horizontalHeader()->setSectionResizeMode(1, QHeaderView::Stretch);
    hosts_->horizontalHeader()->setSectionResizeMode(2, QHeaderView::Stretch);
    hosts_->verticalHeader()->hide();
    hosts_->setSelectionBehavior(QAbstractItemView::SelectRows);
    hosts_->setSelectionMode(QAbstractItemView::SingleSelection);
    hosts_->setMinimumHeight(120);
    hosts_->setToolTip(
        tr("Hosts the nodes run on, the address other hosts reach them at "
           "(empty: the name itself), and the runner that runs their nodes (Runner…; "
           "none: this Studio runs them)"));
    form->addRow(hosts_);
    connect(hosts_, &QTableWidget::itemChanged, this, [this, table = hosts_] {
        if (table == hosts_) commitHosts();
    });

    auto* buttons = new QWidget(page_);
    auto* row = new QHBoxLayout(buttons);
    row->setContentsMargins(0, 0, 0, 0);
    auto* add = new QPushButton(tr("Add host"), buttons);
    add->setObjectName(QStringLiteral("document.addHost"));
    removeHost_ = new QPushButton(tr("Remove"), buttons);
    removeHost_->setObjectName(QStringLiteral("document.removeHost"));
    editRunner_ = new QPushButton(tr("Runner…"), buttons);
    editRunner_->setObjectName(QStringLiteral("document.editRunner"));
    editRunner_->setToolTip(
        tr("The runner of the selected host: its control endpoint, metrics "
           "endpoint and what the Studio presents to it"));
    row->addWidget(add);
    row->addWidget(removeHost_);
    row->addWidget(editRunner_);
    row->addStretch(1);
    form->addRow(buttons);
    hostsError_ = new QLabel(page_);
    hostsError_->setStyleSheet(QStringLiteral("color: #c62828;"));
    hostsError_->setWordWrap(true);
    hostsError_->hide();
    form->addRow(hostsError_);

    connect(add, &QPushButton::clicked, this, [this] {
        std::set<std::string> taken;
        for (const zmqrpc::Host& h : doc_->topology().hosts())
            taken.insert(h.name);
        std::string name;
        for (int n = 1; name.empty() || taken.count(name) != 0; ++n)
            name = "host-" + std::to_string(n);
        std::vector<zmqrpc::Host> hosts = doc_->topology().hosts();
        hosts.push_back({name, {}, {}});
        doc_->setHosts(hosts);
        if (hosts_ != nullptr && hosts_->rowCount() > 0) {
            hosts_->setCurrentCell(hosts_->rowCount() - 1, 0);
            hosts_->editItem(hosts_->item(hosts_->rowCount() - 1, 0));
        }
    });
    connect(removeHost_, &QPushButton::clicked, this, [this] {
        const int current = hosts_->currentRow();
        std::vector<zmqrpc::Host> hosts = doc_->topology().hosts();
        if (current < 0 || current >= static_cast<int>(hosts.size())) return;
        hosts.erase(hosts.begin() + current);
        doc_->setHosts(hosts);
    });
    connect(editRunner_, &QPushButton::clicked, this, [this] {
        const int current = hosts_->currentRow();
        const auto& hosts = doc_->topology().hosts();
        if (current < 0 || current >= static_cast<int>(hosts.size())) return;
        // Not exec(): the GUI keeps running (and tests drive the dialog) while it is open.
        auto* dialog = new RunnerDialog(hosts[static_cast<std::size_t>(current)], secrets_, this);
        dialog->setAttribute(Qt::WA_DeleteOnClose);
        connect(dialog, &QDialog::accepted, this,
                [this, dialog, name = hosts[static_cast<std::size_t>(current)].name] {
                    std::vector<zmqrpc::Host> next = doc_->topology().hosts();
                    for (auto& h : next) {
                        if (h.name == name) h.runner = dialog->runner();
                    }
                    if (next != doc_->topology().hosts()) doc_->setHosts(next);
                });
        dialog->open();
    });
    connect(hosts_, &QTableWidget::currentCellChanged, this, [this](int currentRow) {
        removeHost_->setEnabled(currentRow >= 0);
        editRunner_->setEnabled(currentRow >= 0);
    });
}

void InspectorWidget::commitHosts() {
    std::vector<zmqrpc::Host> hosts;
    std::set<std::string> names;
    QString problem;
    for (int row = 0; row < hosts_->rowCount(); ++row) {
        auto text = [&](int column) {
            const QTableWidgetItem* item = hosts_->item(row, column);
            return item != nullptr ? item->text().trimmed().toStdString() : std::string();
        };
        zmqrpc::Host host{text(0), text(1), {}};
        // The runner is edited in its dialog; a row keeps the one it had.
        if (row < static_cast<int>(doc_->topology().hosts().size()))
            host.runner = doc_->topology().hosts()[static_cast<std::size_t>(row)].runner;
        if (host.name.empty()) {
            problem = tr("Row %1: a host needs a name.").arg(row + 1);
            break;
        }
        if (!names.insert(host.name).second) {
            problem = tr("Host '%1' is listed twice.").arg(qs(host.name));
            break;
        }
        hosts.push_back(std::move(host));
    }
    hostsError_->setText(problem);
    hostsError_->setVisible(!problem.isEmpty());
    if (!problem.isEmpty()) return;
    if (hosts != doc_->topology().hosts()) doc_->setHosts(hosts);
}

// ---------------------------------------------------------------------------------------------
// Following the document

void InspectorWidget::refresh() {
    switch (mode_) {
        case Mode::Node:
            refreshNode();
            break;
        case Mode::Link:
            refreshLink();
            break;
        case Mode::Document:
            refreshDocument();
            break;
        case Mode::Multiple:
        case Mode::Empty:
            break;
    }
    refreshProblems();
    updateReadOnly();
}

void InspectorWidget::refreshNode() {
    const zmqrpc::Topology& topology = doc_->topology();
    const zmqrpc::Node* node = topology.find_node(id_.toStdString());
    if (node == nullptr) return;
    title_->setText(QStringLiteral("<b>%1</b><br><span style='color:gray'>%2</span>")
                        .arg(qs(node->display_name()).toHtmlEscaped(),
                             QString::fromUtf8(zmqrpc::display_name(node->kind))));
    showText(nameEdit_, qs(node->name), &shownName_);

    if (!hostCombo_->hasFocus()) {
        QStringList names;
        for (const std::string& h : topology.host_names())
            names << qs(h);
        QStringList items;
        for (int i = 0; i < hostCombo_->count(); ++i)
            items << hostCombo_->itemText(i);
        const QSignalBlocker block(hostCombo_);
        if (items != names) {
            hostCombo_->clear();
            hostCombo_->addItems(names);
        }
        hostCombo_->setCurrentIndex(hostCombo_->findText(qs(node->host)));
        hostCombo_->setEditText(qs(node->host));
    }

    for (PropertyEditor* editor : editors_) {
        const std::string key = editor->spec().key;
        editor->setValue(node->property(key), node->properties.contains(key));
    }
}

void InspectorWidget::refreshLink() {
    const zmqrpc::Topology& topology = doc_->topology();
    const zmqrpc::Link* link = topology.find_link(id_.toStdString());
    if (link == nullptr) return;
    title_->setText(QStringLiteral("<b>Link %1</b>").arg(id_.toHtmlEscaped()));
    linkEnds_->setText(QStringLiteral("%1 → %2").arg(qs(link->from.str()), qs(link->to.str())));
    const std::string address = topology.connect_address(*link);
    connectAddress_->setText(
        address.empty() ? tr("<i>none yet: the bound side has no endpoint</i>")
                        : QStringLiteral("<code>%1</code>").arg(qs(address).toHtmlEscaped()));
    if (linkSecurity_ != nullptr) {
        const auto mechanism = [&topology](const zmqrpc::PortRef& end) -> QString {
            const zmqrpc::Node* n = topology.find_node(end.node);
            if (n == nullptr) return QStringLiteral("?");
            try {
                return QString::fromLatin1(
                    zmqrpc::to_string(zmqrpc::SecurityRef::from_json(
                                          n->property(zmqrpc::security_property(n->kind, end.port)))
                                          .mechanism()));
            } catch (const std::exception&) {
                return tr("invalid");
            }
        };
        const QString from = mechanism(link->from), to = mechanism(link->to);
        const bool curve = from == QLatin1String("CURVE") && to == QLatin1String("CURVE");
        linkSecurity_->setText(curve        ? tr("CURVE: encrypted")
                               : from == to ? tr("%1: not encrypted").arg(from)
                                            : tr("%1 → %2 (they must match)").arg(from, to));
        encrypt_->setEnabled(!curve && !readOnly_);
    }
    if (heartbeat_ != nullptr && std::abs(heartbeat_->value() - link->heartbeat_timeout) > 1e-9) {
        const QSignalBlocker block(heartbeat_);
        heartbeat_->setValue(link->heartbeat_timeout);
    }
}

void InspectorWidget::refreshDocument() {
    const zmqrpc::Topology& topology = doc_->topology();
    title_->setText(
        QStringLiteral("<b>%1</b><br><span style='color:gray'>%2</span>")
            .arg((topology.name().empty() ? tr("Untitled") : qs(topology.name())).toHtmlEscaped(),
                 tr("Document — %1").arg(doc_->displayName().toHtmlEscaped())));
    showText(nameEdit_, qs(topology.name()), &shownName_);
    // Not while the user types in it (the caret stays where it is).
    if (!description_->hasFocus() && description_->toPlainText() != qs(topology.description())) {
        const QSignalBlocker block(description_);
        description_->setPlainText(qs(topology.description()));
    }
    counts_->setText(tr("%n node(s)", nullptr, static_cast<int>(topology.nodes().size())) +
                     QStringLiteral(", ") +
                     tr("%n link(s)", nullptr, static_cast<int>(topology.links().size())));

    // Leave the table alone while a cell is being edited or when it already shows the list.
    if (QWidget* focus = QApplication::focusWidget();
        focus != nullptr && focus != hosts_ && hosts_->isAncestorOf(focus)) {
        return;
    }
    std::vector<zmqrpc::Host> shown;
    for (int row = 0; row < hosts_->rowCount(); ++row) {
        auto text = [&](int column) {
            const QTableWidgetItem* item = hosts_->item(row, column);
            return item != nullptr ? item->text().trimmed().toStdString() : std::string();
        };
        zmqrpc::Host h{text(0), text(1), {}};
        if (row < static_cast<int>(topology.hosts().size()))
            h.runner = topology.hosts()[static_cast<std::size_t>(row)].runner;
        shown.push_back(std::move(h));
    }
    bool runnersShown = true;
    for (int row = 0; row < hosts_->rowCount() && row < static_cast<int>(topology.hosts().size());
         ++row) {
        const QTableWidgetItem* item = hosts_->item(row, 2);
        runnersShown = runnersShown && item != nullptr &&
                       item->text() == runnerText(topology.hosts()[static_cast<std::size_t>(row)]);
    }
    if (shown == topology.hosts() && runnersShown) return;
    const QSignalBlocker block(hosts_);
    const int current = hosts_->currentRow();
    hosts_->setRowCount(static_cast<int>(topology.hosts().size()));
    int row = 0;
    for (const zmqrpc::Host& host : topology.hosts()) {
        hosts_->setItem(row, 0, new QTableWidgetItem(qs(host.name)));
        auto* address = new QTableWidgetItem(qs(host.address));
        address->setToolTip(tr("Empty: reached by the name %1").arg(qs(host.name)));
        hosts_->setItem(row, 1, address);
        auto* runner = new QTableWidgetItem(runnerText(host));
        runner->setFlags(runner->flags() & ~Qt::ItemIsEditable);
        runner->setToolTip(host.runner.empty()
                               ? tr("No runner: this Studio runs the host's nodes (Runner… to "
                                    "name one)")
                               : tr("Control %1%2, %3")
                                     .arg(qs(host.runner.control),
                                          host.runner.metrics.empty()
                                              ? QString()
                                              : tr(", metrics %1").arg(qs(host.runner.metrics)),
                                          QString::fromLatin1(zmqrpc::to_string(
                                              host.runner.security.mechanism()))));
        hosts_->setItem(row, 2, runner);
        ++row;
    }
    hosts_->setCurrentCell(qMin(current, hosts_->rowCount() - 1), 0);
    removeHost_->setEnabled(hosts_->currentRow() >= 0);
    editRunner_->setEnabled(hosts_->currentRow() >= 0);
    hostsError_->hide();
}

void InspectorWidget::refreshProblems() {
    QStringList lines;
    if (mode_ == Mode::Node || mode_ == Mode::Link || mode_ == Mode::Document) {
        const std::string id = id_.toStdString();
        for (const zmqrpc::Problem& p : doc_->problems()) {
            const bool mine = mode_ == Mode::Node   ? p.node == id
                              : mode_ == Mode::Link ? p.link == id
                                                    : p.node.empty() && p.link.empty();
            if (!mine) continue;
            const bool error = p.severity == zmqrpc::Severity::Error;
            QString where;
            if (!p.property.empty()) {
                where = qs(p.property);
                if (mode_ == Mode::Node) {
                    if (const auto* spec = zmqrpc::find_property_spec(kind_, p.property)) {
                        where = qs(spec->label);
                    }
                }
                where = QStringLiteral("<b>%1</b>: ").arg(where.toHtmlEscaped());
            }
            lines << QStringLiteral("<span style='color:%1'>%2</span> %3%4")
                         .arg(error ? QStringLiteral("#c62828") : QStringLiteral("#b26a00"),
                              error ? QStringLiteral("&#x2716;") : QStringLiteral("&#x26A0;"),
                              where, qs(p.text).toHtmlEscaped());
        }
    }
    problems_->setText(lines.join(QStringLiteral("<br>")));
    problems_->setVisible(!lines.isEmpty());
}

void InspectorWidget::scheduleProblemsRefresh() {
    if (problemsRefreshQueued_) return;
    problemsRefreshQueued_ = true;
    QTimer::singleShot(0, this, [this] {
        problemsRefreshQueued_ = false;
        refreshProblems();
    });
}

void InspectorWidget::updateReadOnly() {
    // A running node here keeps the configuration it started with: editing it is refused. A
    // node a runner runs is edited freely; Deploy takes the edit to it.
    auto locked = [this](const QString& id) {
        return runtime_->isActive(id) && !runtime_->runsRemotely(id);
    };
    bool active = false;
    if (runtime_ != nullptr) {
        if (mode_ == Mode::Node) {
            active = locked(id_);
        } else if (mode_ == Mode::Link) {
            if (const auto* link = doc_->topology().find_link(id_.toStdString())) {
                active = locked(qs(link->from.node)) || locked(qs(link->to.node));
            }
        }
    }
    banner_->setText(mode_ == Mode::Link ? tr("Running — stop its nodes to edit")
                                         : tr("Running — stop the node to edit"));
    banner_->setVisible(active);
    if (active == readOnly_) return;
    readOnly_ = active;
    for (PropertyEditor* editor : editors_)
        editor->setReadOnly(active);
    if (mode_ == Mode::Node) {
        if (nameEdit_ != nullptr) nameEdit_->setEnabled(!active);
        if (hostCombo_ != nullptr) hostCombo_->setEnabled(!active);
    }
    if (heartbeat_ != nullptr) heartbeat_->setEnabled(!active);
    if (encrypt_ != nullptr) refreshLink();
}

void InspectorWidget::onNodeChanged(const QString& id) {
    if (mode_ == Mode::Node && id == id_) {
        refresh();
    } else if (mode_ == Mode::Link) {
        // The connect address follows the bound side's endpoint and host.
        refreshLink();
    }
}

void InspectorWidget::onNodeRemoved(const QString& id) {
    if (mode_ == Mode::Node && id == id_) {
        clear();
    } else if (mode_ == Mode::Document) {
        refreshDocument();
    }
}

void InspectorWidget::onLinkChanged(const QString& id) {
    if (mode_ == Mode::Link && id == id_) refresh();
}

void InspectorWidget::onLinkRemoved(const QString& id) {
    if (mode_ == Mode::Link && id == id_) {
        clear();
    } else if (mode_ == Mode::Document) {
        refreshDocument();
    }
}

void InspectorWidget::onDocumentReset() {
    const zmqrpc::Topology& topology = doc_->topology();
    switch (mode_) {
        case Mode::Node: {
            const zmqrpc::Node* node = topology.find_node(id_.toStdString());
            if (node == nullptr) {
                clear();
            } else if (node->kind != kind_) {
                kind_ = node->kind;
                rebuild();
            } else {
                refresh();
            }
            break;
        }
        case Mode::Link:
            if (topology.find_link(id_.toStdString()) == nullptr) {
                clear();
            } else if ((heartbeat_ != nullptr) !=
                       isPubSub(topology, *topology.find_link(id_.toStdString()))) {
                // PUB->SUB or not changed with the document: another form.
                rebuild();
            } else {
                refresh();
            }
            break;
        case Mode::Document:
            refresh();
            break;
        case Mode::Multiple:
        case Mode::Empty:
            break;
    }
}

}  // namespace studio
