#include "panels/property_editors.hpp"

#include "runtime/secret_store.hpp"

#include <zmqrpc/protocol.hpp>
#include <zmqrpc/secrets.hpp>
#include <zmqrpc/security.hpp>

#include <QCheckBox>
#include <QClipboard>
#include <QComboBox>
#include <QDoubleSpinBox>
#include <QEvent>
#include <QFontDatabase>
#include <QFormLayout>
#include <QGuiApplication>
#include <QHBoxLayout>
#include <QKeyEvent>
#include <QLabel>
#include <QLineEdit>
#include <QPlainTextEdit>
#include <QPushButton>
#include <QRegularExpression>
#include <QSpinBox>
#include <QStandardItemModel>
#include <QStyle>
#include <QTimer>
#include <QToolButton>
#include <QVBoxLayout>

#include <climits>
#include <cmath>
#include <filesystem>
#include <optional>

namespace studio {

using nlohmann::json;
using zmqrpc::CredentialRef;
using zmqrpc::PropertySpec;
using zmqrpc::PropertyType;

namespace {

QString qs(const std::string& text) {
    return QString::fromStdString(text);
}

const char* kErrorFrame = "border: 1px solid #d03030; border-radius: 3px;";

// A value for the screen: strings bare, everything else as compact JSON.
QString displayText(const json& value) {
    if (value.is_null()) return {};
    if (value.is_string()) return qs(value.get<std::string>());
    return qs(value.dump());
}

}  // namespace

json numberJson(double value) {
    if (std::isfinite(value) && value == std::floor(value) && std::fabs(value) < 9e15) {
        return json(static_cast<std::int64_t>(value));
    }
    return json(value);
}

// ---------------------------------------------------------------------------------------------
// PropertyEditor

PropertyEditor::PropertyEditor(const PropertySpec& spec, QWidget* parent)
    : QWidget(parent), spec_(spec) {
    setObjectName(QStringLiteral("editor:") + qs(spec.key));
    auto* column = new QVBoxLayout(this);
    column->setContentsMargins(0, 0, 0, 0);
    column->setSpacing(2);
    row_ = new QHBoxLayout;
    row_->setContentsMargins(0, 0, 0, 0);
    row_->setSpacing(4);
    column->addLayout(row_);

    reset_ = new QToolButton(this);
    reset_->setObjectName(QStringLiteral("reset:") + qs(spec.key));
    reset_->setAutoRaise(true);
    reset_->setIcon(style()->standardIcon(QStyle::SP_BrowserReload));
    reset_->setIconSize(QSize(14, 14));
    // Shown only on properties the node sets (a quiet "this differs from the default" mark);
    // its room is kept so that the fields stay aligned.
    QSizePolicy keep = reset_->sizePolicy();
    keep.setRetainSizeWhenHidden(true);
    reset_->setSizePolicy(keep);
    reset_->setFocusPolicy(Qt::NoFocus);
    const QString defaultText =
        spec.default_value.is_null() ? tr("unset") : displayText(spec.default_value);
    reset_->setToolTip(tr("Reset to default (%1)").arg(defaultText));
    reset_->setEnabled(false);
    reset_->setVisible(false);
    row_->addWidget(reset_, 0, Qt::AlignTop);
    connect(reset_, &QToolButton::clicked, this, [this] {
        setError({}, nullptr);
        emit resetRequested();
    });

    errorLabel_ = new QLabel(this);
    errorLabel_->setObjectName(QStringLiteral("error:") + qs(spec.key));
    errorLabel_->setWordWrap(true);
    errorLabel_->setStyleSheet(QStringLiteral("color: #c62828;"));
    errorLabel_->setTextInteractionFlags(Qt::TextSelectableByMouse);
    errorLabel_->hide();
    column->addWidget(errorLabel_);

    setToolTip(qs(spec.help));
}

void PropertyEditor::addControl(QWidget* control, int stretch) {
    row_->insertWidget(row_->count() - 1, control, stretch);
    if (control->toolTip().isEmpty()) control->setToolTip(qs(spec_.help));
}

void PropertyEditor::addSpinBox(QAbstractSpinBox* spin) {
    spin->setKeyboardTracking(false);
    spin->setCorrectionMode(QAbstractSpinBox::CorrectToPreviousValue);
    spin->setGroupSeparatorShown(true);
    spin->setAccelerated(true);
    spin->setMinimumWidth(110);
    addControl(spin);
    row_->insertStretch(row_->count() - 1, 1);
}

void PropertyEditor::setValue(const json& value, bool isSet) {
    const bool same = value == shown_ && !shown_.is_discarded() && isSet == isSet_;
    isSet_ = isSet;
    reset_->setEnabled(isSet_ && !readOnly_);
    reset_->setVisible(isSet_ && !readOnly_);
    if (same) return;
    shown_ = value;
    showing_ = true;
    showValue(value, isSet);
    showing_ = false;
    // What the document holds is what it holds: its problems are listed by the inspector.
    setError({}, nullptr);
}

void PropertyEditor::setReadOnly(bool readOnly) {
    readOnly_ = readOnly;
    reset_->setEnabled(isSet_ && !readOnly_);
    reset_->setVisible(isSet_ && !readOnly_);
    for (QWidget* child : findChildren<QWidget*>(QString(), Qt::FindDirectChildrenOnly)) {
        if (child != errorLabel_ && child != reset_) child->setEnabled(!readOnly);
    }
}

QString PropertyEditor::check(const json& value) const {
    try {
        if (auto problem = zmqrpc::check_property(spec_, value)) return qs(*problem);
    } catch (const std::exception& e) {
        return QString::fromUtf8(e.what());
    }
    return {};
}

void PropertyEditor::setError(const QString& text, QWidget* frameOf) {
    error_ = text;
    errorLabel_->setText(text);
    errorLabel_->setVisible(!text.isEmpty());
    if (frameOf != nullptr) {
        frameOf->setStyleSheet(
            text.isEmpty() ? QString()
                           : QStringLiteral("%1 { %2 }")
                                 .arg(QString::fromLatin1(frameOf->metaObject()->className()),
                                      QString::fromLatin1(kErrorFrame)));
        frameOf->setProperty("invalid", !text.isEmpty());
    } else {
        for (QWidget* w : findChildren<QWidget*>()) {
            if (w->property("invalid").toBool()) {
                w->setStyleSheet({});
                w->setProperty("invalid", false);
            }
        }
    }
}

void PropertyEditor::commitIfChanged(const json& value) {
    if (showing_ || readOnly_) return;
    // Unset and "set to the default" differ in the file: over an unset property, any value the
    // user enters is a change (even the default); over a set one, only a different value.
    if (isSet_ ? value == shown_ : value.is_null()) return;
    emit commitRequested(value);
}

QString PropertyEditor::placeholder() const {
    if (!spec_.default_value.is_null()) return displayText(spec_.default_value);
    return qs(spec_.help);
}

namespace {

// ---------------------------------------------------------------------------------------------
// String, Endpoint: a line edit; endpoints are checked as they are typed.

class LineEditor : public PropertyEditor {
  public:
    LineEditor(const PropertySpec& spec, QWidget* parent) : PropertyEditor(spec, parent) {
        edit_ = new QLineEdit(this);
        edit_->setObjectName(qs(spec.key));
        edit_->setPlaceholderText(placeholder());
        edit_->setClearButtonEnabled(false);
        addControl(edit_);
        connect(edit_, &QLineEdit::textEdited, this, [this] { validate(); });
        connect(edit_, &QLineEdit::editingFinished, this, [this] {
            if (!validate()) return;
            commitIfChanged(typed());
        });
    }

  protected:
    void showValue(const json& value, bool isSet) override {
        // Unset: empty, with the default as the placeholder.
        const QString text = isSet && value.is_string() ? qs(value.get<std::string>()) : QString();
        if (edit_->text() == text) return;
        // A refresh while the field has focus keeps the caret where it was.
        const int caret = edit_->cursorPosition();
        edit_->setText(text);
        if (edit_->hasFocus()) edit_->setCursorPosition(qMin(caret, static_cast<int>(text.size())));
    }

  private:
    json typed() const {
        const QString text = edit_->text().trimmed();
        return text.isEmpty() ? json(nullptr) : json(text.toStdString());
    }
    bool validate() {
        const QString problem = check(typed());
        setError(problem, edit_);
        return problem.isEmpty();
    }

    QLineEdit* edit_ = nullptr;
};

// ---------------------------------------------------------------------------------------------
// Integer: a spin box bounded by the spec; out-of-range text reverts instead of committing.

class IntegerEditor : public PropertyEditor {
  public:
    IntegerEditor(const PropertySpec& spec, QWidget* parent) : PropertyEditor(spec, parent) {
        spin_ = new QSpinBox(this);
        spin_->setObjectName(qs(spec.key));
        const bool bounded = spec.minimum != 0 || spec.maximum != 0;
        // QSpinBox holds an int: wider specs are clamped to what it can show.
        const double lo = bounded ? std::max(spec.minimum, double(INT_MIN)) : double(INT_MIN);
        const double hi = bounded ? std::min(spec.maximum, double(INT_MAX)) : double(INT_MAX);
        spin_->setRange(static_cast<int>(std::ceil(lo)), static_cast<int>(std::floor(hi)));
        addSpinBox(spin_);
        connect(spin_, &QSpinBox::valueChanged, this,
                [this](int value) { commitIfChanged(json(static_cast<std::int64_t>(value))); });
    }

  protected:
    void showValue(const json& value, bool /*isSet*/) override {
        if (value.is_number()) spin_->setValue(static_cast<int>(value.get<double>()));
    }

  private:
    QSpinBox* spin_ = nullptr;
};

// An integer wider than a QSpinBox's int (a store's byte limit): a double spin box without
// decimals, exact up to 2^53, committed as an integer.
class WideIntegerEditor : public PropertyEditor {
  public:
    WideIntegerEditor(const PropertySpec& spec, QWidget* parent) : PropertyEditor(spec, parent) {
        spin_ = new QDoubleSpinBox(this);
        spin_->setObjectName(qs(spec.key));
        spin_->setDecimals(0);
        spin_->setRange(std::ceil(spec.minimum), std::floor(spec.maximum));
        spin_->setGroupSeparatorShown(true);
        addSpinBox(spin_);
        connect(spin_, &QDoubleSpinBox::valueChanged, this, [this](double value) {
            commitIfChanged(json(static_cast<std::int64_t>(std::llround(value))));
        });
    }

  protected:
    void showValue(const json& value, bool /*isSet*/) override {
        if (value.is_number()) spin_->setValue(value.get<double>());
    }

  private:
    QDoubleSpinBox* spin_ = nullptr;
};

// ---------------------------------------------------------------------------------------------
// Number, Seconds: a double spin box ("s" suffix for durations).

class NumberEditor : public PropertyEditor {
  public:
    NumberEditor(const PropertySpec& spec, QWidget* parent) : PropertyEditor(spec, parent) {
        spin_ = new QDoubleSpinBox(this);
        spin_->setObjectName(qs(spec.key));
        // Enough decimals for the smallest value the spec allows (0.001 s), at least two.
        int decimals = 2;
        if (spec.minimum > 0) {
            decimals = std::clamp(static_cast<int>(std::ceil(-std::log10(spec.minimum))), 2, 6);
        }
        spin_->setDecimals(decimals);
        const bool bounded = spec.minimum != 0 || spec.maximum != 0;
        spin_->setRange(bounded ? spec.minimum : -1e12, bounded ? spec.maximum : 1e12);
        if (spec.type == PropertyType::Seconds) {
            spin_->setSuffix(QStringLiteral(" s"));
            // Zero disables heartbeats and the like: say so instead of "0.000 s".
            if (spec.minimum == 0) spin_->setSpecialValueText(tr("0 (off)"));
        }
        addSpinBox(spin_);
        connect(spin_, &QDoubleSpinBox::valueChanged, this, [this](double value) {
            // The spin box rounds to its decimals: a shown 0.1 is not a change of 0.1.
            if (shown_.is_number() && std::fabs(shown_.get<double>() - value) <
                                          0.5 * std::pow(10.0, -spin_->decimals())) {
                return;
            }
            commitIfChanged(numberJson(value));
        });
    }

  protected:
    void showValue(const json& value, bool /*isSet*/) override {
        if (value.is_number()) spin_->setValue(value.get<double>());
    }

  private:
    QDoubleSpinBox* spin_ = nullptr;
};

// ---------------------------------------------------------------------------------------------
// Boolean, Choice

class BooleanEditor : public PropertyEditor {
  public:
    BooleanEditor(const PropertySpec& spec, QWidget* parent) : PropertyEditor(spec, parent) {
        box_ = new QCheckBox(this);
        box_->setObjectName(qs(spec.key));
        addControl(box_);
        connect(box_, &QCheckBox::toggled, this, [this](bool on) { commitIfChanged(json(on)); });
    }

  protected:
    void showValue(const json& value, bool /*isSet*/) override {
        box_->setChecked(value.is_boolean() && value.get<bool>());
    }

  private:
    QCheckBox* box_ = nullptr;
};

class ChoiceEditor : public PropertyEditor {
  public:
    ChoiceEditor(const PropertySpec& spec, QWidget* parent) : PropertyEditor(spec, parent) {
        combo_ = new QComboBox(this);
        combo_->setObjectName(qs(spec.key));
        for (const std::string& choice : spec.choices)
            combo_->addItem(qs(choice));
        combo_->setSizeAdjustPolicy(QComboBox::AdjustToContents);
        addControl(combo_, 0);
        row_->insertStretch(row_->count() - 1, 1);
        connect(combo_, &QComboBox::activated, this, [this](int index) {
            commitIfChanged(json(combo_->itemText(index).toStdString()));
        });
    }

  protected:
    void showValue(const json& value, bool /*isSet*/) override {
        combo_->setCurrentIndex(value.is_string() ? combo_->findText(qs(value.get<std::string>()))
                                                  : -1);
    }

  private:
    QComboBox* combo_ = nullptr;
};

// ---------------------------------------------------------------------------------------------
// JsonObject: JSON text, checked as it is typed; committed when the field loses focus (or on
// Ctrl+Enter) and only when it is an object.

class JsonEditor : public PropertyEditor {
  public:
    JsonEditor(const PropertySpec& spec, QWidget* parent) : PropertyEditor(spec, parent) {
        text_ = new QPlainTextEdit(this);
        text_->setObjectName(qs(spec.key));
        text_->setFont(QFontDatabase::systemFont(QFontDatabase::FixedFont));
        text_->setTabChangesFocus(true);
        text_->setPlaceholderText(placeholder());
        text_->setLineWrapMode(QPlainTextEdit::WidgetWidth);
        const int lines = 6;
        text_->setFixedHeight(text_->fontMetrics().lineSpacing() * lines + 12);
        text_->installEventFilter(this);
        text_->setToolTip(qs(spec.help) +
                          tr("\n(applied when the field loses focus, or Ctrl+Enter)"));
        addControl(text_);
        connect(text_, &QPlainTextEdit::textChanged, this, [this] {
            if (!showing_) validate();
        });
    }

    bool eventFilter(QObject* watched, QEvent* event) override {
        if (watched == text_) {
            if (event->type() == QEvent::FocusOut) {
                commit();
            } else if (event->type() == QEvent::KeyPress) {
                auto* key = static_cast<QKeyEvent*>(event);
                if ((key->key() == Qt::Key_Return || key->key() == Qt::Key_Enter) &&
                    (key->modifiers() & Qt::ControlModifier)) {
                    commit();
                    return true;
                }
            }
        }
        return PropertyEditor::eventFilter(watched, event);
    }

  protected:
    void showValue(const json& value, bool isSet) override {
        const QString text = !isSet || value.is_null() ? QString() : qs(value.dump(2));
        if (text_->toPlainText() != text) text_->setPlainText(text);
    }

  private:
    // The parsed text, or discarded when it is not a JSON object (error shown).
    json parsed(std::string* error = nullptr) const {
        const std::string text = text_->toPlainText().trimmed().toStdString();
        if (text.empty()) return json(nullptr);
        auto value = zmqrpc::parse_json_text(text, error);
        return value ? json(*value) : json(json::value_t::discarded);
    }
    bool validate() {
        std::string why;
        const json value = parsed(&why);
        QString problem;
        if (value.is_discarded()) {
            problem = tr("not valid JSON: %1").arg(QString::fromStdString(why));
        } else if (!value.is_null() && !value.is_object()) {
            problem = tr("must be a JSON object { ... }");
        } else {
            problem = check(value);
        }
        setError(problem, text_);
        return problem.isEmpty();
    }
    void commit() {
        if (!validate()) return;
        commitIfChanged(parsed());
    }

    QPlainTextEdit* text_ = nullptr;
};

// ---------------------------------------------------------------------------------------------
// Security: one side's mechanism (none, PLAIN or CURVE) and its fields.
//   PLAIN: a username, a password (masked, never shown), where the password is kept and under
//          which name. The document gets only the reference; the password goes to the
//          SecretStore.
//   CURVE: where the secret key comes from (keychain, key file, environment; a connecting side
//          may use a fresh key pair each run), the public key (shown read-only when it can be
//          derived here, else typed), and for a binding side who may connect. "Generate key
//          pair" keeps the secret in the keychain or a key file and writes only the public key
//          into the document.

class SecurityEditor : public PropertyEditor {
  public:
    enum Mode { ModeNone = 0, ModePlain = 1, ModeCurve = 2 };

    SecurityEditor(const PropertySpec& spec, const QString& nodeId, SecretStore* secrets,
                   bool binds, QWidget* parent)
        : PropertyEditor(spec, parent), nodeId_(nodeId), secrets_(secrets), binds_(binds) {
        const QString key = qs(spec.key);
        auto* box = new QWidget(this);
        box->setObjectName(key);
        auto* column = new QVBoxLayout(box);
        column->setContentsMargins(0, 0, 0, 0);
        column->setSpacing(3);

        modeForm_ = makeForm(box);
        mode_ = new QComboBox(box);
        mode_->setObjectName(key + QStringLiteral(".mode"));
        mode_->addItem(tr("None"), int(ModeNone));
        mode_->addItem(tr("PLAIN (user and password)"), int(ModePlain));
        mode_->addItem(tr("CURVE (encrypted, keys)"), int(ModeCurve));
        mode_->setToolTip(
            tr("%1\nNone: no security. PLAIN: a password in clear text. CURVE: encryption "
               "and authentication by key pairs.")
                .arg(qs(spec.help)));
        mode_->setSizeAdjustPolicy(QComboBox::AdjustToMinimumContentsLengthWithIcon);
        mode_->setMinimumContentsLength(10);
        labels_ << new QLabel(tr("Mechanism"), box);
        modeForm_->addRow(labels_.back(), mode_);
        column->addLayout(modeForm_);

        plainBox_ = new QWidget(box);
        plainBox_->setObjectName(key + QStringLiteral(".plain"));
        buildPlain(key);
        column->addWidget(plainBox_);

        curveBox_ = new QWidget(box);
        curveBox_->setObjectName(key + QStringLiteral(".curve"));
        buildCurve(key);
        column->addWidget(curveBox_);
        addControl(box);

        connect(mode_, &QComboBox::activated, this, [this] { modeChosen(); });
        if (secrets_ != nullptr) {
            connect(
                secrets_, &SecretStore::stored, this,
                [this](const QString& entry, bool ok, const QString& errorText) {
                    if (currentMode() == ModePlain && entry == entry_->text().trimmed()) {
                        if (!ok)
                            setError(tr("the password was not stored: %1").arg(errorText),
                                     password_);
                        updateHint();
                    } else if (currentMode() == ModeCurve && entry == keyName_->text().trimmed()) {
                        if (!ok)
                            setError(tr("the secret key was not stored: %1").arg(errorText),
                                     generate_);
                        updateCurve();
                    }
                });
            connect(secrets_, &SecretStore::keychainAvailableChanged, this, [this] {
                updateSources();
                updateCurve();
            });
        }
        updateSources();
        updateHint();
        showMode(ModeNone);
    }

    void alignFields(int labelWidth, int spacing) override {
        for (QLabel* label : labels_) {
            label->setMinimumWidth(labelWidth);
            label->setAlignment(Qt::AlignRight | Qt::AlignVCenter);
        }
        for (QFormLayout* form : {modeForm_, form_, curveForm_})
            form->setHorizontalSpacing(spacing);
    }

    bool eventFilter(QObject* watched, QEvent* event) override {
        // The hints wrap; the form row spanning this editor gets no height-for-width from
        // QFormLayout, so a hint asks for the height its current width needs.
        if ((watched == hint_ || watched == curveHint_) &&
            (event->type() == QEvent::Resize || event->type() == QEvent::Show)) {
            fitHint(static_cast<QLabel*>(watched));
        }
        return PropertyEditor::eventFilter(watched, event);
    }

  protected:
    void showValue(const json& value, bool /*isSet*/) override {
        zmqrpc::SecurityRef ref;
        try {
            ref = zmqrpc::SecurityRef::from_json(value);
        } catch (const std::invalid_argument&) {
            // The inspector lists the document's problem; the fields start empty.
        }
        CredentialRef plain;
        if (const auto* p = ref.plain()) plain = *p;
        user_->setText(qs(plain.username));
        // Never pre-filled: the placeholder tells whether a password is stored.
        password_->clear();
        where_->setCurrentIndex(where_->findData(
            int(plain.source != CredentialRef::Source::None ? plain.source : preferredSource())));
        updateSources();
        lastSource_ = currentSource();
        entry_->setText(qs(plain.key));
        updateHint();

        zmqrpc::CurveRef curve;
        if (const auto* c = ref.curve()) curve = *c;
        keySource_->setCurrentIndex(keySource_->findData(
            int(curve.secret_key.source != CredentialRef::Source::None || !binds_
                    ? curve.secret_key.source
                    : defaultKeySource())));
        lastKeySource_ = currentKeySource();
        keyName_->setText(qs(curve.secret_key.key));
        documentPublicKey_ = qs(curve.public_key);
        if (clients_ != nullptr) {
            clients_->setCurrentIndex(
                clients_->findData(int(curve.clients_given || !curve.authorized_keys.empty()
                                           ? curve.clients
                                           : zmqrpc::CurveClients::AnyWithServerKey)));
            authorized_->setText(qs(curve.authorized_keys));
        }
        updateCurve();
        showMode(ref.plain() != nullptr   ? ModePlain
                 : ref.curve() != nullptr ? ModeCurve
                                          : ModeNone);
    }

  private:
    static QFormLayout* makeForm(QWidget* parent) {
        auto* form = new QFormLayout;
        (void)parent;
        form->setContentsMargins(0, 0, 0, 0);
        form->setFieldGrowthPolicy(QFormLayout::AllNonFixedFieldsGrow);
        form->setLabelAlignment(Qt::AlignRight | Qt::AlignVCenter);
        form->setVerticalSpacing(3);
        return form;
    }
    QLabel* makeHint(QWidget* parent, const QString& name) {
        auto* hint = new QLabel(parent);
        hint->setObjectName(name);
        hint->setWordWrap(true);
        hint->setTextFormat(Qt::RichText);
        hint->setStyleSheet(QStringLiteral("color: palette(mid);"));
        hint->setTextInteractionFlags(Qt::TextSelectableByMouse);
        hint->setAlignment(Qt::AlignLeft | Qt::AlignTop);
        hint->installEventFilter(this);
        return hint;
    }

    // ---- PLAIN

    void buildPlain(const QString& key) {
        QWidget* box = plainBox_;
        form_ = makeForm(box);
        box->setLayout(form_);

        user_ = new QLineEdit(box);
        user_->setObjectName(key + QStringLiteral(".username"));
        user_->setPlaceholderText(tr("none"));
        user_->setToolTip(tr("%1\nEmpty: no credentials").arg(qs(spec_.help)));

        password_ = new QLineEdit(box);
        password_->setObjectName(key + QStringLiteral(".password"));
        password_->setEchoMode(QLineEdit::Password);
        password_->setToolTip(
            tr("Kept in the keychain or the credentials file, never in the "
               "topology"));

        where_ = new QComboBox(box);
        where_->setObjectName(key + QStringLiteral(".source"));
        where_->addItem(tr("Keychain"), int(CredentialRef::Source::Keychain));
        where_->addItem(tr("Credentials file"), int(CredentialRef::Source::File));
        where_->addItem(tr("Environment variable"), int(CredentialRef::Source::Env));
        where_->setToolTip(tr("Where `zmqrpc run` and the Studio find the password"));
        where_->setSizeAdjustPolicy(QComboBox::AdjustToMinimumContentsLengthWithIcon);
        where_->setMinimumContentsLength(10);

        entry_ = new QLineEdit(box);
        entry_->setObjectName(key + QStringLiteral(".entry"));

        hint_ = makeHint(box, key + QStringLiteral(".hint"));

        entryLabel_ = new QLabel(tr("Entry"), box);
        // Wide enough for either text ("Entry" / "Variable"), so that switching does not clip.
        entryLabel_->setMinimumWidth(
            qMax(entryLabel_->fontMetrics().horizontalAdvance(tr("Variable")),
                 entryLabel_->fontMetrics().horizontalAdvance(tr("Entry"))));
        const QList<QLabel*> plainLabels = {new QLabel(tr("User"), box),
                                            new QLabel(tr("Password"), box),
                                            new QLabel(tr("Kept in"), box), entryLabel_};
        form_->addRow(plainLabels[0], user_);
        form_->addRow(plainLabels[1], password_);
        form_->addRow(plainLabels[2], where_);
        form_->addRow(plainLabels[3], entry_);
        // In the field column: QFormLayout gives spanning rows no height-for-width, and the
        // hint wraps.
        form_->addRow(QString(), hint_);
        labels_ << plainLabels;

        where_->setCurrentIndex(where_->findData(int(preferredSource())));
        connect(user_, &QLineEdit::editingFinished, this, [this] { commitPlain(); });
        connect(password_, &QLineEdit::editingFinished, this, [this] { commitPlain(); });
        connect(entry_, &QLineEdit::editingFinished, this, [this] { commitPlain(); });
        connect(where_, &QComboBox::activated, this, [this] {
            const auto source = currentSource();
            if (entry_->text().isEmpty() || entry_->text() == suggestedEntry(lastSource_)) {
                entry_->setText(suggestedEntry(source));
            }
            lastSource_ = source;
            updateHint();
            commitPlain();
        });
    }

    CredentialRef::Source preferredSource() const {
        if (secrets_ == nullptr) return CredentialRef::Source::Env;
        return secrets_->preferredSource();
    }
    CredentialRef::Source currentSource() const {
        return static_cast<CredentialRef::Source>(where_->currentData().toInt());
    }
    static QString envName(const QString& base, const char* suffix) {
        QString name = base.toUpper().replace(QRegularExpression(QStringLiteral("[^A-Z0-9]")),
                                              QStringLiteral("_"));
        return QStringLiteral("ZMQRPC_%1_%2").arg(name, QLatin1String(suffix));
    }
    QString suggestedEntry(CredentialRef::Source source) const {
        const QString user = user_->text().trimmed();
        if (source == CredentialRef::Source::Env)
            return envName(user.isEmpty() ? nodeId_ : user, "PASSWORD");
        return user.isEmpty() ? nodeId_ : user;
    }
    // Whether a password typed here can be kept where the reference says: the SecretStore
    // writes to its preferred place (the keychain, or the file when there is no keychain).
    bool canStore(CredentialRef::Source source) const {
        return secrets_ != nullptr && source == secrets_->preferredSource();
    }
    static void enableKeychainItem(QComboBox* combo, bool keychain) {
        auto* model = qobject_cast<QStandardItemModel*>(combo->model());
        if (model == nullptr) return;
        if (QStandardItem* item =
                model->item(combo->findData(int(CredentialRef::Source::Keychain)))) {
            // A reference to the keychain still loads and shows; only choosing it is refused.
            item->setEnabled(keychain ||
                             combo->currentData().toInt() == int(CredentialRef::Source::Keychain));
            item->setToolTip(keychain ? QString() : tr("No keychain is running on this machine"));
        }
    }
    void updateSources() {
        const bool keychain = secrets_ != nullptr && secrets_->keychainAvailable();
        enableKeychainItem(where_, keychain);
        enableKeychainItem(keySource_, keychain);
    }
    void fitHint(QLabel* hint) {
        // QLabel's heightForWidth() honours the fixed height set last time: measure without.
        const QSize min = hint->minimumSize(), max = hint->maximumSize();
        hint->setMinimumHeight(0);
        hint->setMaximumHeight(QWIDGETSIZE_MAX);
        const int height = hint->heightForWidth(hint->width());
        hint->setMinimumSize(min);
        hint->setMaximumSize(max);
        if (height > 0 && height != hint->maximumHeight()) hint->setFixedHeight(height);
    }
    bool hasSecret(const QString& entry) const {
        return secrets_ != nullptr && !entry.isEmpty() && secrets_->has(entry);
    }

    void updateHint() {
        updateHintText();
        fitHint(hint_);
    }
    void updateHintText() {
        const auto source = currentSource();
        const QString entry = entry_->text().trimmed();
        const bool env = source == CredentialRef::Source::Env;
        entryLabel_->setText(env ? tr("Variable") : tr("Entry"));
        entry_->setPlaceholderText(suggestedEntry(source));
        password_->setEnabled(!env && !readOnly_);
        if (user_->text().trimmed().isEmpty()) {
            password_->setPlaceholderText(QString());
            hint_->setText(tr("No credentials."));
        } else if (env) {
            password_->setPlaceholderText(tr("read from the environment"));
            hint_->setText(
                tr("Set <code>%1</code> in the environment of <code>zmqrpc run</code> "
                   "(and of the Studio, to run it from here).")
                    .arg((entry.isEmpty() ? suggestedEntry(source) : entry).toHtmlEscaped()));
        } else if (secrets_ == nullptr) {
            password_->setPlaceholderText(QString());
            hint_->setText(tr("No secret store: passwords cannot be kept from here."));
        } else if (!canStore(source)) {
            password_->setEnabled(false);
            password_->setPlaceholderText(tr("set outside the Studio"));
            hint_->setText(source == CredentialRef::Source::File
                               ? tr("Add the entry to <code>%1</code> to set its password.")
                                     .arg(SecretStore::credentialsPath().toHtmlEscaped())
                               : tr("No keychain here: choose the credentials file to keep the "
                                    "password from the Studio."));
        } else if (hasSecret(entry)) {
            password_->setPlaceholderText(tr("stored — type to replace"));
            hint_->setText(source == CredentialRef::Source::Keychain
                               ? tr("Password stored in the keychain.")
                               : tr("Password stored in the credentials file."));
        } else {
            password_->setPlaceholderText(tr("not stored yet"));
            hint_->setText(tr("No password stored under this entry yet."));
        }
    }

    void commitPlain() {
        if (showing_ || readOnly_) return;
        const QString user = user_->text().trimmed();
        const QString password = password_->text();
        const auto source = currentSource();
        if (user.isEmpty()) {
            if (!password.isEmpty()) {
                setError(tr("enter the username first"), user_);
                return;
            }
            setError({}, nullptr);
            commitIfChanged(json(nullptr));
            updateHint();
            return;
        }
        if (entry_->text().trimmed().isEmpty()) entry_->setText(suggestedEntry(source));
        const QString entry = entry_->text().trimmed();
        if (source == CredentialRef::Source::Env && !isEnvName(entry)) {
            setError(tr("'%1' is not an environment variable name").arg(entry), entry_);
            return;
        }
        CredentialRef ref;
        ref.username = user.toStdString();
        ref.source = source;
        ref.key = entry.toStdString();
        const json value = ref.to_json();
        const QString problem = check(value);
        if (!problem.isEmpty()) {
            setError(problem, user_);
            return;
        }
        if (!password.isEmpty() && source != CredentialRef::Source::Env) {
            if (secrets_ == nullptr) {
                setError(tr("no secret store: the password cannot be kept"), password_);
                return;
            }
            if (!canStore(source)) {
                setError(tr("the password cannot be kept there from the Studio"), password_);
                return;
            }
            secrets_->store(entry, password);
            password_->clear();
        }
        setError({}, nullptr);
        commitIfChanged(value);
        updateHint();
    }
    static bool isEnvName(const QString& name) {
        return QRegularExpression(QStringLiteral("^[A-Za-z_][A-Za-z0-9_]*$"))
            .match(name)
            .hasMatch();
    }

    // ---- CURVE

    void buildCurve(const QString& key) {
        QWidget* box = curveBox_;
        curveForm_ = makeForm(box);
        box->setLayout(curveForm_);

        keySource_ = new QComboBox(box);
        keySource_->setObjectName(key + QStringLiteral(".curve.source"));
        if (!binds_) {
            keySource_->addItem(tr("A fresh key pair each run"), int(CredentialRef::Source::None));
        }
        keySource_->addItem(tr("Keychain"), int(CredentialRef::Source::Keychain));
        keySource_->addItem(tr("Key file"), int(CredentialRef::Source::File));
        keySource_->addItem(tr("Environment variable"), int(CredentialRef::Source::Env));
        keySource_->setToolTip(
            binds_ ? tr("Where the server's secret key is kept (never in the topology)")
                   : tr("Where this client's secret key is kept (never in the topology); a "
                        "fresh key pair is accepted by servers that let any client with their "
                        "public key in"));
        keySource_->setSizeAdjustPolicy(QComboBox::AdjustToMinimumContentsLengthWithIcon);
        keySource_->setMinimumContentsLength(10);

        keyName_ = new QLineEdit(box);
        keyName_->setObjectName(key + QStringLiteral(".curve.name"));
        keyName_->setToolTip(
            tr("The keychain entry, the key file's name in the keys directory "
               "(NAME.key_secret) or a path, or the environment variable"));

        publicKey_ = new QLineEdit(box);
        publicKey_->setObjectName(key + QStringLiteral(".curve.public_key"));
        publicKey_->setFont(QFontDatabase::systemFont(QFontDatabase::FixedFont));
        publicKey_->setToolTip(
            tr("The public key (Z85, 40 characters): connecting nodes on other hosts need a "
               "server's public key; a server's authorized_keys lists its clients' keys"));

        generate_ = new QPushButton(tr("Generate key pair"), box);
        generate_->setObjectName(key + QStringLiteral(".curve.generate"));
        copy_ = new QToolButton(box);
        copy_->setObjectName(key + QStringLiteral(".curve.copy"));
        copy_->setText(tr("Copy"));
        copy_->setToolTip(tr("Copy public key"));
        copy_->setAccessibleName(tr("Copy public key"));
        auto* publicRow = new QHBoxLayout;
        publicRow->setContentsMargins(0, 0, 0, 0);
        publicRow->setSpacing(3);
        publicRow->addWidget(publicKey_, 1);
        publicRow->addWidget(copy_);
        auto* buttons = new QHBoxLayout;
        buttons->setContentsMargins(0, 0, 0, 0);
        buttons->addWidget(generate_);
        buttons->addStretch(1);

        curveHint_ = makeHint(box, key + QStringLiteral(".curve.hint"));

        keyNameLabel_ = new QLabel(tr("Name"), box);
        keyNameLabel_->setMinimumWidth(
            qMax(keyNameLabel_->fontMetrics().horizontalAdvance(tr("Variable")),
                 keyNameLabel_->fontMetrics().horizontalAdvance(tr("Name"))));
        labels_ << new QLabel(tr("Secret key"), box) << keyNameLabel_
                << new QLabel(tr("Public key"), box);
        curveForm_->addRow(labels_[labels_.size() - 3], keySource_);
        curveForm_->addRow(keyNameLabel_, keyName_);
        curveForm_->addRow(labels_.back(), publicRow);
        if (binds_) {
            clients_ = new QComboBox(box);
            clients_->setObjectName(key + QStringLiteral(".curve.clients"));
            clients_->addItem(tr("Any client that holds the public key"),
                              int(zmqrpc::CurveClients::AnyWithServerKey));
            clients_->addItem(tr("Only keys in an authorized_keys file"),
                              int(zmqrpc::CurveClients::AuthorizedKeys));
            clients_->setSizeAdjustPolicy(QComboBox::AdjustToMinimumContentsLengthWithIcon);
            clients_->setMinimumContentsLength(10);
            clients_->setToolTip(tr("Who may connect"));
            authorized_ = new QLineEdit(box);
            authorized_->setObjectName(key + QStringLiteral(".curve.authorized_keys"));
            authorized_->setToolTip(
                tr("One client public key per line; a relative path is a file in the keys "
                   "directory; re-read at each connection"));
            labels_ << new QLabel(tr("Clients"), box);
            curveForm_->addRow(labels_.back(), clients_);
            labels_ << new QLabel(tr("Key list"), box);
            curveForm_->addRow(labels_.back(), authorized_);
            connect(clients_, &QComboBox::activated, this, [this] {
                updateCurve();
                commitCurve();
            });
            connect(authorized_, &QLineEdit::editingFinished, this, [this] { commitCurve(); });
        }
        curveForm_->addRow(QString(), buttons);
        curveForm_->addRow(QString(), curveHint_);

        connect(keySource_, &QComboBox::activated, this, [this] {
            const auto source = currentKeySource();
            if (keyName_->text().isEmpty() || keyName_->text() == suggestedKeyName(lastKeySource_))
                keyName_->setText(suggestedKeyName(source));
            lastKeySource_ = source;
            updateCurve();
            commitCurve();
        });
        connect(keyName_, &QLineEdit::editingFinished, this, [this] {
            updateCurve();
            commitCurve();
        });
        connect(publicKey_, &QLineEdit::editingFinished, this, [this] {
            if (publicKey_->isReadOnly()) return;
            commitCurve();
        });
        connect(generate_, &QPushButton::clicked, this, [this] { generateKeyPair(); });
        connect(copy_, &QToolButton::clicked, this, [this] {
            const QString text = publicKey_->text().trimmed();
            if (!text.isEmpty()) QGuiApplication::clipboard()->setText(text);
        });
    }

    CredentialRef::Source defaultKeySource() const {
        return secrets_ != nullptr && secrets_->keychainAvailable()
                   ? CredentialRef::Source::Keychain
                   : CredentialRef::Source::File;
    }
    CredentialRef::Source currentKeySource() const {
        return static_cast<CredentialRef::Source>(keySource_->currentData().toInt());
    }
    QString suggestedKeyName(CredentialRef::Source source) const {
        if (source == CredentialRef::Source::None) return {};
        if (source == CredentialRef::Source::Env) return envName(nodeId_, "CURVE_SECRET");
        return nodeId_;
    }
    QString keyName() const {
        const QString name = keyName_->text().trimmed();
        return name.isEmpty() ? suggestedKeyName(currentKeySource()) : name;
    }
    zmqrpc::KeyRef currentKeyRef() const {
        zmqrpc::KeyRef ref;
        ref.source = currentKeySource();
        if (ref.source != CredentialRef::Source::None) ref.key = keyName().toStdString();
        return ref;
    }
    zmqrpc::Secrets lookupSecrets() const {
        return secrets_ != nullptr ? secrets_->secrets() : zmqrpc::Secrets{};
    }
    // The public key of the secret key reference where it can be read here (the keychain
    // entry, the key file or its NAME.key beside it, the environment), or empty.
    QString derivedPublicKey() const {
        const zmqrpc::KeyRef ref = currentKeyRef();
        if (ref.empty() || ref.key.empty()) return {};
        zmqrpc::CurveRef server;  // as connecting nodes find it: the same lookup
        server.secret_key = ref;
        try {
            return qs(lookupSecrets().server_public_key(server, {}));
        } catch (const std::exception&) {
            // The hint says why (updateCurve); nothing is derived.
        }
        return {};
    }
    // Why the secret key cannot be read here, or empty.
    QString keyProblem() const {
        const zmqrpc::KeyRef ref = currentKeyRef();
        if (ref.empty()) return {};
        try {
            lookupSecrets().resolve_key(ref);
        } catch (const std::exception& e) {
            return QString::fromUtf8(e.what());
        }
        return {};
    }

    void updateCurve() {
        const auto source = currentKeySource();
        const bool fresh = source == CredentialRef::Source::None;
        const bool env = source == CredentialRef::Source::Env;
        keyNameLabel_->setText(env ? tr("Variable") : tr("Name"));
        keyName_->setEnabled(!fresh && !readOnly_);
        keyName_->setPlaceholderText(suggestedKeyName(source));
        const QString derived = derivedPublicKey();
        if (fresh) {
            publicKey_->setText(QString());
            publicKey_->setReadOnly(true);
            publicKey_->setPlaceholderText(tr("a new key each run"));
        } else if (!derived.isEmpty()) {
            if (publicKey_->text() != derived) {
                publicKey_->setText(derived);
                publicKey_->setCursorPosition(0);  // the start of a key is what people compare
            }
            publicKey_->setReadOnly(true);
        } else {
            if (publicKey_->isReadOnly() || publicKey_->text() != documentPublicKey_)
                publicKey_->setText(documentPublicKey_);
            publicKey_->setReadOnly(false);
            publicKey_->setPlaceholderText(tr("unknown here: paste it, or generate a pair"));
        }
        const bool canGenerate = source == CredentialRef::Source::File ||
                                 (source == CredentialRef::Source::Keychain &&
                                  secrets_ != nullptr && secrets_->keychainAvailable());
        generate_->setEnabled(canGenerate && !readOnly_);
        generate_->setToolTip(
            source == CredentialRef::Source::File
                ? tr("Writes %1.key and %1.key_secret (owner-only) into %2")
                      .arg(keyName(), qs(zmqrpc::default_keys_dir().string()))
            : source == CredentialRef::Source::Keychain
                ? tr("Keeps the secret key in the keychain entry '%1'").arg(keyName())
                : tr("Generate a key with `zmqrpc keygen` and put its secret into the "
                     "environment"));
        copy_->setEnabled(!publicKey_->text().trimmed().isEmpty());
        if (authorized_ != nullptr) {
            const bool listed =
                clients_->currentData().toInt() == int(zmqrpc::CurveClients::AuthorizedKeys);
            authorized_->setEnabled(listed && !readOnly_);
            authorized_->setPlaceholderText(listed ? nodeId_ + QStringLiteral(".authorized_keys")
                                                   : QString());
        }

        QString text;
        if (fresh) {
            text =
                tr("A new key pair for each socket; the server must let any client with "
                   "its public key in.");
        } else if (const QString problem = keyProblem(); !problem.isEmpty()) {
            text = problem.toHtmlEscaped();
            if (!derived.isEmpty())
                text += tr("<br>The public key is known (beside the key file).");
        } else {
            text = tr("Secret key found (%1); only its public key is in the topology.")
                       .arg(qs(zmqrpc::key_fingerprint(derived.toStdString())).toHtmlEscaped());
        }
        curveHint_->setText(text);
        fitHint(curveHint_);
        // Again once the layout has settled (the box may just have been shown or resized).
        QTimer::singleShot(0, curveHint_, [this] { fitHint(curveHint_); });
    }

    // The CURVE side the fields describe, with `publicKey` when given.
    std::optional<zmqrpc::CurveRef> curveFromFields(const QString& publicKeyOverride) {
        zmqrpc::CurveRef ref;
        ref.secret_key = currentKeyRef();
        if (ref.secret_key.source == CredentialRef::Source::Env &&
            !isEnvName(qs(ref.secret_key.key))) {
            setError(tr("'%1' is not an environment variable name").arg(qs(ref.secret_key.key)),
                     keyName_);
            return std::nullopt;
        }
        if (keyName_->text().trimmed().isEmpty() && !ref.secret_key.empty())
            keyName_->setText(qs(ref.secret_key.key));
        QString publicKey = publicKeyOverride;
        if (publicKey.isEmpty() && !ref.secret_key.empty()) {
            publicKey = derivedPublicKey();
            if (publicKey.isEmpty()) publicKey = publicKey_->text().trimmed();
        }
        if (!publicKey.isEmpty()) {
            if (auto problem = zmqrpc::check_curve_key(publicKey.toStdString())) {
                setError(tr("public key: %1").arg(qs(*problem)), publicKey_);
                return std::nullopt;
            }
        }
        ref.public_key = publicKey.toStdString();
        if (binds_) {
            ref.clients_given = true;
            ref.clients = static_cast<zmqrpc::CurveClients>(clients_->currentData().toInt());
            if (ref.clients == zmqrpc::CurveClients::AuthorizedKeys) {
                QString list = authorized_->text().trimmed();
                if (list.isEmpty()) {
                    list = nodeId_ + QStringLiteral(".authorized_keys");
                    authorized_->setText(list);
                }
                ref.authorized_keys = list.toStdString();
            }
        }
        return ref;
    }

    void commitCurve(const QString& publicKeyOverride = {}) {
        if (showing_ || readOnly_) return;
        const auto ref = curveFromFields(publicKeyOverride);
        if (!ref) return;
        const json value = zmqrpc::SecurityRef(*ref).to_json();
        const QString problem = check(value);
        if (!problem.isEmpty()) {
            setError(problem, keySource_);
            return;
        }
        setError({}, nullptr);
        documentPublicKey_ = qs(ref->public_key);
        commitIfChanged(value);
        updateCurve();
    }

    void generateKeyPair() {
        if (readOnly_) return;
        const auto source = currentKeySource();
        const QString name = keyName();
        if (keyName_->text().trimmed().isEmpty()) keyName_->setText(name);
        zmqrpc::CurveKeyPair keys;
        try {
            keys = zmqrpc::generate_curve_key_pair();
            if (source == CredentialRef::Source::File) {
                if (name.contains(QLatin1Char('/'))) {
                    setError(tr("a key pair is generated by name into the keys directory, not "
                                "at a path"),
                             keyName_);
                    return;
                }
                zmqrpc::write_curve_key_pair(zmqrpc::default_keys_dir(), name.toStdString(), keys,
                                             false);
            } else if (source == CredentialRef::Source::Keychain) {
                if (secrets_ == nullptr) {
                    setError(tr("no secret store: the secret key cannot be kept"), generate_);
                    return;
                }
                secrets_->store(name, qs(keys.secret_key));
            } else {
                setError(tr("choose the keychain or a key file to generate a key pair"), generate_);
                return;
            }
        } catch (const std::exception& e) {
            setError(QString::fromUtf8(e.what()), generate_);
            return;
        }
        commitCurve(qs(keys.public_key));
        publicKey_->setText(qs(keys.public_key));
        publicKey_->setCursorPosition(0);
        copy_->setEnabled(true);
    }

    // ---- modes

    Mode currentMode() const { return static_cast<Mode>(mode_->currentData().toInt()); }
    void showMode(Mode mode) {
        mode_->setCurrentIndex(mode_->findData(int(mode)));
        plainBox_->setVisible(mode == ModePlain);
        curveBox_->setVisible(mode == ModeCurve);
    }
    void modeChosen() {
        const Mode mode = currentMode();
        showMode(mode);
        setError({}, nullptr);
        if (showing_ || readOnly_) return;
        switch (mode) {
            case ModeNone:
                commitIfChanged(json(nullptr));
                break;
            case ModePlain:
                // Written once a user name is typed.
                if (!user_->text().trimmed().isEmpty()) commitPlain();
                user_->setFocus();
                break;
            case ModeCurve:
                if (currentKeySource() == CredentialRef::Source::None && binds_)
                    keySource_->setCurrentIndex(keySource_->findData(int(defaultKeySource())));
                updateCurve();
                commitCurve();
                break;
        }
    }

    QString nodeId_;
    SecretStore* secrets_ = nullptr;
    bool binds_ = false;
    QComboBox* mode_ = nullptr;
    QFormLayout* modeForm_ = nullptr;
    QList<QLabel*> labels_;
    // PLAIN
    QWidget* plainBox_ = nullptr;
    QLineEdit* user_ = nullptr;
    QLineEdit* password_ = nullptr;
    QComboBox* where_ = nullptr;
    QLineEdit* entry_ = nullptr;
    QLabel* entryLabel_ = nullptr;
    QFormLayout* form_ = nullptr;
    QLabel* hint_ = nullptr;
    CredentialRef::Source lastSource_ = CredentialRef::Source::None;
    // CURVE
    QWidget* curveBox_ = nullptr;
    QFormLayout* curveForm_ = nullptr;
    QComboBox* keySource_ = nullptr;
    QLabel* keyNameLabel_ = nullptr;
    QLineEdit* keyName_ = nullptr;
    QLineEdit* publicKey_ = nullptr;
    QComboBox* clients_ = nullptr;
    QLineEdit* authorized_ = nullptr;
    QPushButton* generate_ = nullptr;
    QToolButton* copy_ = nullptr;
    QLabel* curveHint_ = nullptr;
    QString documentPublicKey_;
    CredentialRef::Source lastKeySource_ = CredentialRef::Source::None;
};

}  // namespace

PropertyEditor* createPropertyEditor(const PropertySpec& spec, const QString& nodeId,
                                     SecretStore* secrets, QWidget* parent, bool binds) {
    switch (spec.type) {
        case PropertyType::String:
        case PropertyType::Endpoint:
            return new LineEditor(spec, parent);
        case PropertyType::Integer:
            if (spec.maximum > double(INT_MAX) || spec.minimum < double(INT_MIN))
                return new WideIntegerEditor(spec, parent);
            return new IntegerEditor(spec, parent);
        case PropertyType::Number:
        case PropertyType::Seconds:
            return new NumberEditor(spec, parent);
        case PropertyType::Boolean:
            return new BooleanEditor(spec, parent);
        case PropertyType::Choice:
            return new ChoiceEditor(spec, parent);
        case PropertyType::JsonObject:
            return new JsonEditor(spec, parent);
        case PropertyType::Security:
            return new SecurityEditor(spec, nodeId, secrets, binds, parent);
    }
    return new LineEditor(spec, parent);
}

}  // namespace studio
