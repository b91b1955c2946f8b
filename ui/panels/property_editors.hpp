// Editors for node properties, built generically from a zmqrpc::PropertySpec: one widget per
// PropertyType (line edit, spin box, check box, combo box, JSON text, security: none, PLAIN or
// CURVE). An editor shows a value and asks for a commit (commitRequested) only with a value its
// spec accepts; it never writes to the document itself — the inspector routes every commit through
// EditorDocument so that each edit is undoable. Passwords and CURVE secret keys are the exception:
// they go straight to the SecretStore or a key file and never into a signal that reaches the
// document (only a CURVE public key does).
//
// GUI thread only.
#pragma once

#include <zmqrpc/topology.hpp>

#include <nlohmann/json.hpp>

#include <QString>
#include <QWidget>

class QLabel;
class QToolButton;
class QAbstractSpinBox;
class QHBoxLayout;

namespace studio {

class SecretStore;

class PropertyEditor : public QWidget {
    Q_OBJECT

  public:
    PropertyEditor(const zmqrpc::PropertySpec& spec, QWidget* parent);

    const zmqrpc::PropertySpec& spec() const noexcept { return spec_; }
    QString key() const { return QString::fromStdString(spec_.key); }

    // Shows the node's value (`value`: its own or the default; `isSet`: whether the node sets
    // it). Leaves the widget alone when the value is the one already shown, so that refreshes
    // caused by other edits never move the caret of the field being typed in.
    void setValue(const nlohmann::json& value, bool isSet);
    const nlohmann::json& shownValue() const noexcept { return shown_; }
    bool isSet() const noexcept { return isSet_; }

    // Whether the editor takes a row of its own under its label (several labelled fields).
    bool spansRow() const noexcept { return spec_.type == zmqrpc::PropertyType::Security; }
    // For spanning editors: lines their inner fields up with the form's field column.
    virtual void alignFields(int labelWidth, int spacing) {
        (void)labelWidth;
        (void)spacing;
    }

    // Disables every control (a running node's properties are read-only).
    virtual void setReadOnly(bool readOnly);
    bool isReadOnly() const noexcept { return readOnly_; }

    // The problem with what is typed right now, or empty.
    QString errorText() const { return error_; }
    QLabel* errorLabel() const { return errorLabel_; }
    // Shows a problem the document reported for a commit (the model refused the value).
    void showProblem(const QString& text) { setError(text, nullptr); }
    QToolButton* resetButton() const { return reset_; }

  signals:
    // A valid value the user entered (null: back to the default).
    void commitRequested(const nlohmann::json& value);
    // "Reset to default": the inspector sets the property to null.
    void resetRequested();

  protected:
    // Puts `value` into the control(s) (`isSet`: the node sets it, else it is the default).
    // Commits are suppressed meanwhile.
    virtual void showValue(const nlohmann::json& value, bool isSet) = 0;
    // Adds the main control in front of the reset button.
    void addControl(QWidget* control, int stretch = 1);
    // A spin box the way every numeric editor has it: commits on Enter or focus-out (not per
    // keystroke), reverts text out of range, a fixed width with the row's slack after it.
    void addSpinBox(QAbstractSpinBox* spin);
    // The spec's verdict on `value` (empty when fine).
    QString check(const nlohmann::json& value) const;
    // Shows or clears a problem: a red frame on `frameOf` and the text under the field.
    void setError(const QString& text, QWidget* frameOf);
    // Asks for a commit if `value` differs from what the document holds.
    void commitIfChanged(const nlohmann::json& value);
    // The placeholder for text fields: the default when unset, else the help text.
    QString placeholder() const;

    zmqrpc::PropertySpec spec_;
    // Discarded until the first setValue(), so that the first value is always shown.
    nlohmann::json shown_ = nlohmann::json(nlohmann::json::value_t::discarded);
    bool isSet_ = false;
    bool readOnly_ = false;
    bool showing_ = false;
    QString error_;
    QHBoxLayout* row_ = nullptr;
    QToolButton* reset_ = nullptr;
    QLabel* errorLabel_ = nullptr;
};

// The editor for `spec` (one per PropertyType). `nodeId` names default secret entries;
// `secrets` may be null (then passwords cannot be stored, and the editor says so). `binds`:
// a Security property of a binding port (a server: its key pair and who may connect).
PropertyEditor* createPropertyEditor(const zmqrpc::PropertySpec& spec, const QString& nodeId,
                                     SecretStore* secrets, QWidget* parent, bool binds = false);

// Makes a numeric JSON value tidy: whole numbers as integers (5, not 5.0).
nlohmann::json numberJson(double value);

}  // namespace studio
