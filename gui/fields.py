"""Editors for single config fields, chosen from the field's type and range metadata."""

import math
from typing import Literal, get_args, get_origin

from pydantic.fields import FieldInfo
from PySide6.QtGui import QValidator
from PySide6.QtWidgets import (
    QAbstractSpinBox,
    QCheckBox,
    QComboBox,
    QDoubleSpinBox,
    QLineEdit,
    QPlainTextEdit,
    QSpinBox,
)

from engine.config_rules import sweepable_keys

INT_LIMIT = 2**31 - 1
TINY = 1e-9


def bounds(info: FieldInfo, default_low: float, default_high: float) -> tuple[float, float]:
    """The inclusive range a spin box may allow, from the field's ge/gt/le/lt metadata."""
    low, high = default_low, default_high
    for item in info.metadata:
        if getattr(item, "ge", None) is not None:
            low = item.ge
        if getattr(item, "gt", None) is not None:
            low = item.gt + (1 if info.annotation is int else TINY)
        if getattr(item, "le", None) is not None:
            high = item.le
        if getattr(item, "lt", None) is not None:
            high = item.lt - (1 if info.annotation is int else TINY)
    return low, high


class FloatSpinBox(QDoubleSpinBox):
    """A double spin box that shows values compactly (0.003, 1e-05) and keeps them exactly."""

    def __init__(self):
        super().__init__()
        self.setDecimals(12)
        self.setStepType(QAbstractSpinBox.StepType.AdaptiveDecimalStepType)

    def textFromValue(self, value: float) -> str:  # noqa: N802 (Qt override)
        return f"{value:.10g}"

    def valueFromText(self, text: str) -> float:  # noqa: N802 (Qt override)
        try:
            return float(text)
        except ValueError:
            return self.value()

    def validate(self, text: str, pos: int):
        """Accept any float notation (1e-4, 0.003), not only what `decimals` would show."""
        stripped = text.strip()
        if stripped in ("", "-", ".", "e", "-."):
            return QValidator.State.Intermediate, text, pos
        try:
            value = float(stripped)
        except ValueError:
            tail_ok = stripped[-1] in "eE+-"
            return (QValidator.State.Intermediate if tail_ok else QValidator.State.Invalid), text, pos
        ok = math.isfinite(value) and self.minimum() <= value <= self.maximum()
        return (QValidator.State.Acceptable if ok else QValidator.State.Intermediate), text, pos


def parse_list(text: str, kind) -> list:
    """'4, 8, 16' (brackets optional) → [4.0, 8.0, 16.0]; raises ValueError naming the bad item.

    Where `kind` allows strings (sweep values), a word is a choice's name: 'hard, soft' → ['hard', 'soft'].
    """
    items = [t.strip() for t in text.strip().strip("[]").replace(";", ",").split(",")]
    words = str in (get_args(kind) or (kind,))
    values = []
    for item in items:
        if not item:
            continue
        try:
            number = float(item)
        except ValueError:
            if words:
                values.append(item.strip("'\""))
                continue
            raise ValueError(f"{item!r} is not a number") from None
        if kind is int and number != int(number):
            raise ValueError(f"{item!r} is not a whole number")
        values.append(int(number) if kind is int else number)
    return values


def format_list(values: list) -> str:
    return ", ".join(f"{v:g}" if isinstance(v, float) else str(v) for v in values)


class ListEdit(QLineEdit):
    """A line edit for a list of numbers, e.g. sweep values '4, 8, 16', or of a choice key's names."""

    def __init__(self, kind: type):
        super().__init__()
        self.kind = kind
        self.setPlaceholderText("e.g. 0, 1, 2" if kind is int else "e.g. 4, 8, 16 (or choices: hard, soft)")

    def value(self) -> list:
        return parse_list(self.text(), self.kind)

    def set_value(self, values: list) -> None:
        self.setText(format_list(values))


def make_editor(key: str, info: FieldInfo):
    """A widget editing the config field `key`; read and write it with `get_value` / `set_value`."""
    kind = info.annotation
    if key in ("sweep.axis", "sweep.axis2"):
        editor = QComboBox()
        editor.addItems(["", *sweepable_keys()])
    elif get_origin(kind) is Literal:
        editor = QComboBox()
        editor.addItems([str(c) for c in get_args(kind)])
    elif kind is bool:
        editor = QCheckBox()
    elif kind is int:
        editor = QSpinBox()
        low, high = bounds(info, -INT_LIMIT, INT_LIMIT)
        editor.setRange(int(low), int(min(high, INT_LIMIT)))
    elif kind is float:
        editor = FloatSpinBox()
        editor.setRange(*bounds(info, -1e12, 1e12))
    elif get_origin(kind) is list:
        editor = ListEdit(get_args(kind)[0])
    elif key == "run.description":
        editor = QPlainTextEdit()
        editor.setFixedHeight(70)
    else:
        editor = QLineEdit()
    editor.setToolTip(f"{key}: {info.description}")
    return editor


def get_value(editor):
    """The editor's current value as the config expects it (lists may raise ValueError)."""
    if isinstance(editor, QComboBox):
        return editor.currentText()
    if isinstance(editor, QCheckBox):
        return editor.isChecked()
    if isinstance(editor, QSpinBox | QDoubleSpinBox):
        return editor.value()
    if isinstance(editor, ListEdit):
        return editor.value()
    if isinstance(editor, QPlainTextEdit):
        return editor.toPlainText()
    return editor.text()


def set_value(editor, value) -> None:
    if isinstance(editor, QComboBox):
        editor.setCurrentIndex(editor.findText(str(value)))
    elif isinstance(editor, QCheckBox):
        editor.setChecked(bool(value))
    elif isinstance(editor, QSpinBox | QDoubleSpinBox):
        editor.setValue(value)
    elif isinstance(editor, ListEdit):
        editor.set_value(value)
    elif isinstance(editor, QPlainTextEdit):
        editor.setPlainText(value)
    else:
        editor.setText(value)


def changed_signal(editor):
    """The signal an editor emits when the user edits it."""
    if isinstance(editor, QComboBox):
        return editor.currentTextChanged
    if isinstance(editor, QCheckBox):
        return editor.toggled
    if isinstance(editor, QSpinBox | QDoubleSpinBox):
        return editor.valueChanged
    return editor.textChanged
