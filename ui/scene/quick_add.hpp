// The quick-add popup: a filter line over the list of node kinds; Enter adds the selected kind
// where the popup was opened, Esc closes. Opened by GraphView::quickAdd().
//
// GUI thread only.
#pragma once

#include <QFrame>
#include <QString>

class QLineEdit;
class QListWidget;

namespace studio {

class QuickAddPopup : public QFrame {
    Q_OBJECT

  public:
    explicit QuickAddPopup(QWidget* parent);

    // Shows the popup at `globalPos` with an empty filter and the focus in the line.
    void open(QPoint globalPos);
    QLineEdit* lineEdit() const noexcept { return edit_; }
    QListWidget* list() const noexcept { return list_; }
    // The kinds shown for the filter, as to_string() names, in order.
    QStringList visibleKinds() const;

  signals:
    // The user chose a kind (its to_string() name, "sub2req").
    void kindChosen(const QString& kind);

  protected:
    bool eventFilter(QObject* watched, QEvent* event) override;

  private:
    void applyFilter(const QString& text);
    void accept();

    QLineEdit* edit_;
    QListWidget* list_;
};

}  // namespace studio
