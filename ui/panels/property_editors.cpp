#include "panels/property_editors.hpp"

#include "runtime/secret_store.hpp"

#include <zmqrpc/protocol.hpp>

#include <QCheckBox>
#include <QComboBox>
#include <QDoubleSpinBox>
#include <QEvent>
#include <QFontDatabase>
#include <QFormLayout>
#include <QHBoxLayout>
#include <QKeyEvent>
#include <QLabel>
#include <QLineEdit>
#include <QPlainTextEdit>
#include <QRegularExpression>
#include <QSpinBox>
#include <QStandardItemModel>
#include <QStyle>
#include <QToolButton>
#include <QVBoxLayout>

#include <climits>
#include <cmath>

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
// Credentials: a username, a password (masked, never shown), where the password is kept and
// under which name. The document gets only the reference; the password goes to the SecretStore.

class CredentialsEditor : public PropertyEditor {
  public:
    CredentialsEditor(const PropertySpec& spec, const QString& nodeId, SecretStore* secrets,
                      QWidget* parent)
        : PropertyEditor(spec, parent), nodeId_(nodeId), secrets_(secrets) {
        auto* box = new QWidget(this);
        box->setObjectName(qs(spec.key));
        auto* form = new QFormLayout(box);
        form->setContentsMargins(0, 0, 0, 0);
        form->setFieldGrowthPolicy(QFormLayout::AllNonFixedFieldsGrow);
        form->setLabelAlignment(Qt::AlignRight | Qt::AlignVCenter);
        form->setVerticalSpacing(3);

        user_ = new QLineEdit(box);
        user_->setObjectName(qs(spec.key) + QStringLiteral(".username"));
        user_->setPlaceholderText(tr("none"));
        user_->setToolTip(tr("%1\nEmpty: no credentials").arg(qs(spec.help)));

        password_ = new QLineEdit(box);
        password_->setObjectName(qs(spec.key) + QStringLiteral(".password"));
        password_->setEchoMode(QLineEdit::Password);
        password_->setToolTip(
            tr("Kept in the keychain or the credentials file, never in the "
               "topology"));

        where_ = new QComboBox(box);
        where_->setObjectName(qs(spec.key) + QStringLiteral(".source"));
        where_->addItem(tr("Keychain"), int(CredentialRef::Source::Keychain));
        where_->addItem(tr("Credentials file"), int(CredentialRef::Source::File));
        where_->addItem(tr("Environment variable"), int(CredentialRef::Source::Env));
        where_->setToolTip(tr("Where `zmqrpc run` and the Studio find the password"));
        where_->setSizeAdjustPolicy(QComboBox::AdjustToMinimumContentsLengthWithIcon);
        where_->setMinimumContentsLength(10);

        entry_ = new QLineEdit(box);
        entry_->setObjectName(qs(spec.key) + QStringLiteral(".entry"));

        hint_ = new QLabel(box);
        hint_->setObjectName(qs(spec.key) + QStringLiteral(".hint"));
        hint_->setWordWrap(true);
        hint_->setTextFormat(Qt::RichText);
        hint_->setStyleSheet(QStringLiteral("color: palette(mid);"));
        hint_->setTextInteractionFlags(Qt::TextSelectableByMouse);

        entryLabel_ = new QLabel(tr("Entry"), box);
        // Wide enough for either text ("Entry" / "Variable"), so that switching does not clip.
        entryLabel_->setMinimumWidth(
            qMax(entryLabel_->fontMetrics().horizontalAdvance(tr("Variable")),
                 entryLabel_->fontMetrics().horizontalAdvance(tr("Entry"))));
        labels_ = {new QLabel(tr("User"), box), new QLabel(tr("Password"), box),
                   new QLabel(tr("Kept in"), box), entryLabel_};
        form->addRow(labels_[0], user_);
        form->addRow(labels_[1], password_);
        form->addRow(labels_[2], where_);
        form->addRow(labels_[3], entry_);
        // In the field column: QFormLayout gives spanning rows no height-for-width, and the
        // hint wraps.
        form->addRow(QString(), hint_);
        form_ = form;
        hint_->installEventFilter(this);
        hint_->setAlignment(Qt::AlignLeft | Qt::AlignTop);
        addControl(box);

        where_->setCurrentIndex(where_->findData(int(preferredSource())));
        connect(user_, &QLineEdit::editingFinished, this, [this] { commit(); });
        connect(password_, &QLineEdit::editingFinished, this, [this] { commit(); });
        connect(entry_, &QLineEdit::editingFinished, this, [this] { commit(); });
        connect(where_, &QComboBox::activated, this, [this] {
            const auto source = currentSource();
            if (entry_->text().isEmpty() || entry_->text() == suggestedEntry(lastSource_)) {
                entry_->setText(suggestedEntry(source));
            }
            lastSource_ = source;
            updateHint();
            commit();
        });
        if (secrets_ != nullptr) {
            connect(secrets_, &SecretStore::stored, this,
                    [this](const QString& entry, bool ok, const QString& errorText) {
                        if (entry != entry_->text().trimmed()) return;
                        if (!ok)
                            setError(tr("the password was not stored: %1").arg(errorText),
                                     password_);
                        updateHint();
                    });
            connect(secrets_, &SecretStore::keychainAvailableChanged, this,
                    [this] { updateSources(); });
        }
        updateSources();
        updateHint();
    }

    void alignFields(int labelWidth, int spacing) override {
        for (QLabel* label : labels_) {
            label->setMinimumWidth(labelWidth);
            label->setAlignment(Qt::AlignRight | Qt::AlignVCenter);
        }
        form_->setHorizontalSpacing(spacing);
    }

    bool eventFilter(QObject* watched, QEvent* event) override {
        // The hint wraps; the form row spanning this editor gets no height-for-width from
        // QFormLayout, so the hint asks for the height its current width needs.
        if (watched == hint_ &&
            (event->type() == QEvent::Resize || event->type() == QEvent::Show)) {
            fitHint();
        }
        return PropertyEditor::eventFilter(watched, event);
    }

  protected:
    void showValue(const json& value, bool /*isSet*/) override {
        CredentialRef ref;
        try {
            ref = CredentialRef::from_json(value);
        } catch (const std::invalid_argument&) {
            // The inspector lists the document's problem; the fields start empty.
        }
        user_->setText(qs(ref.username));
        // Never pre-filled: the placeholder tells whether a password is stored.
        password_->clear();
        where_->setCurrentIndex(where_->findData(
            int(ref.source != CredentialRef::Source::None ? ref.source : preferredSource())));
        updateSources();
        lastSource_ = currentSource();
        entry_->setText(qs(ref.key));
        updateHint();
    }

  private:
    CredentialRef::Source preferredSource() const {
        if (secrets_ == nullptr) return CredentialRef::Source::Env;
        return secrets_->preferredSource();
    }
    CredentialRef::Source currentSource() const {
        return static_cast<CredentialRef::Source>(where_->currentData().toInt());
    }
    QString suggestedEntry(CredentialRef::Source source) const {
        const QString user = user_->text().trimmed();
        if (source == CredentialRef::Source::Env) {
            QString name = user.isEmpty() ? nodeId_ : user;
            name = name.toUpper().replace(QRegularExpression(QStringLiteral("[^A-Z0-9]")),
                                          QStringLiteral("_"));
            return QStringLiteral("ZMQRPC_%1_PASSWORD").arg(name);
        }
        return user.isEmpty() ? nodeId_ : user;
    }
    // Whether a password typed here can be kept where the reference says: the SecretStore
    // writes to its preferred place (the keychain, or the file when there is no keychain).
    bool canStore(CredentialRef::Source source) const {
        return secrets_ != nullptr && source == secrets_->preferredSource();
    }
    void updateSources() {
        auto* model = qobject_cast<QStandardItemModel*>(where_->model());
        const bool keychain = secrets_ != nullptr && secrets_->keychainAvailable();
        if (QStandardItem* item =
                model->item(where_->findData(int(CredentialRef::Source::Keychain)))) {
            // A reference to the keychain still loads and shows; only choosing it is refused.
            item->setEnabled(keychain || currentSource() == CredentialRef::Source::Keychain);
            item->setToolTip(keychain ? QString() : tr("No keychain is running on this machine"));
        }
    }
    void fitHint() {
        const int height = hint_->heightForWidth(hint_->width());
        if (height > 0 && height != hint_->maximumHeight()) hint_->setFixedHeight(height);
    }
    bool hasSecret(const QString& entry) const {
        return secrets_ != nullptr && !entry.isEmpty() && secrets_->has(entry);
    }

    void updateHint() {
        updateHintText();
        fitHint();
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

    void commit() {
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
        if (source == CredentialRef::Source::Env &&
            !QRegularExpression(QStringLiteral("^[A-Za-z_][A-Za-z0-9_]*$"))
                 .match(entry)
                 .hasMatch()) {
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

    QString nodeId_;
    SecretStore* secrets_ = nullptr;
    QLineEdit* user_ = nullptr;
    QLineEdit* password_ = nullptr;
    QComboBox* where_ = nullptr;
    QLineEdit* entry_ = nullptr;
    QLabel* entryLabel_ = nullptr;
    QList<QLabel*> labels_;
    QFormLayout* form_ = nullptr;
    QLabel* hint_ = nullptr;
    CredentialRef::Source lastSource_ = CredentialRef::Source::None;
};

}  // namespace

PropertyEditor* createPropertyEditor(const PropertySpec& spec, const QString& nodeId,
                                     SecretStore* secrets, QWidget* parent) {
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
            return new CredentialsEditor(spec, nodeId, secrets, parent);
    }
    return new LineEditor(spec, parent);
}

}  // namespace studio
