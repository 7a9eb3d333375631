"""The quality thresholds dialog: the MOS bands and the loss colours (Edit > Quality thresholds…)."""

from __future__ import annotations

from PySide6.QtWidgets import QDialog, QDialogButtonBox, QDoubleSpinBox, QFormLayout, QLabel

from pingmos.gui.quality import Thresholds


class ThresholdsDialog(QDialog):
    """Edit the MOS band and loss thresholds; ``result_thresholds`` after OK."""

    def __init__(self, thresholds: Thresholds, parent=None):
        super().__init__(parent)
        self.setWindowTitle("Quality thresholds")
        form = QFormLayout(self)
        self.spins: dict[str, QDoubleSpinBox] = {}
        rows = (
            ("mos_good", "MOS good from", 1.0, 4.5, 2),
            ("mos_acceptable", "MOS acceptable from", 1.0, 4.5, 2),
            ("mos_poor", "MOS poor from (below: bad)", 1.0, 4.5, 2),
            ("loss_warn_pct", "loss warning above (%)", 0.0, 100.0, 1),
            ("loss_bad_pct", "loss bad above (%)", 0.0, 100.0, 1),
        )
        for key, label, lo, hi, decimals in rows:
            spin = QDoubleSpinBox()
            spin.setRange(lo, hi)
            spin.setDecimals(decimals)
            spin.setSingleStep(0.1)
            spin.setValue(getattr(thresholds, key))
            form.addRow(label, spin)
            self.spins[key] = spin
        self.error = QLabel("")
        self.error.setStyleSheet("color: #b71c1c")
        form.addRow(self.error)
        buttons = QDialogButtonBox(QDialogButtonBox.StandardButton.Ok | QDialogButtonBox.StandardButton.Cancel)
        buttons.accepted.connect(self._accept)
        buttons.rejected.connect(self.reject)
        form.addRow(buttons)
        self.result_thresholds: Thresholds | None = None

    def _accept(self) -> None:
        t = Thresholds(**{k: s.value() for k, s in self.spins.items()})
        try:
            t.validate()
        except ValueError as exc:
            self.error.setText(str(exc))
            return
        self.result_thresholds = t
        self.accept()
