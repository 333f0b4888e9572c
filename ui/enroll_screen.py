"""First start: enroll this counter with the central server on the touchscreen.

Shown by ``madoguchi run`` before the counter app while the counter has no pinned server key
(or no server URL). The clerk or the installer types the server URL and the one-time code on
an on-screen keyboard; 登録 (Enroll) runs the enrollment off the GUI thread; each failure says
what happened and what to do, ja first and en second, and the screen stays up for a retry. On
success the key fingerprints are shown and 開始 (Start) continues into the counter app.

The enrollment itself is injected (``EnrollFn``, see ``ui.enroll_text``). The code is never
logged: the job is named "enroll", and no message shows it.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from functools import partial
from typing import Final

from ui import theme
from ui.enroll_text import (
    CODE_ALPHABET,
    CODE_LENGTH,
    Enrolled,
    EnrollFacts,
    EnrollFn,
    InvalidInput,
    StartChoice,
    both,
    check_code,
    check_server_url,
    failure_text,
    grouped,
    normalize_code,
)
from ui.qt import (
    QCloseEvent,
    QFrame,
    QGridLayout,
    QGuiApplication,
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QScrollArea,
    QStackedWidget,
    Qt,
    QTimer,
    QVBoxLayout,
    QWidget,
    Signal,
)
from ui.widgets.buttons import BigButton, message_label, set_level, title_label
from ui.workers import Runner

KEY_ROWS: Final = ("1234567890", "qwertyuiop", "asdfghjkl-", "zxcvbnm.:/")


class TouchField(QLineEdit):
    """A text field that tells when it is touched (it becomes the keyboard's target)."""

    touched = Signal()

    def focusInEvent(self, event: object) -> None:
        super().focusInEvent(event)  # type: ignore[arg-type]
        self.touched.emit()

    def mousePressEvent(self, event: object) -> None:
        super().mousePressEvent(event)  # type: ignore[arg-type]
        self.touched.emit()


class OnScreenKeyboard(QWidget):
    """Letters, digits and URL signs as touch keys. In code mode it shows upper case and
    enables only the code alphabet (A-Z, 2-7)."""

    typed = Signal(str)
    erased = Signal()
    cleared = Signal()

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.code_mode = False
        self.keys: dict[str, BigButton] = {}
        grid = QGridLayout(self)
        grid.setContentsMargins(0, 0, 0, 0)
        grid.setSpacing(4)
        for row, chars in enumerate(KEY_ROWS):
            for column, char in enumerate(chars):
                self.keys[char] = self._key(char, partial(self.press, char))
                grid.addWidget(self.keys[char], row, column)
        self.https_key = self._key("https://", partial(self.press, "https://"))
        self.keys["_"] = self._key("_", partial(self.press, "_"))
        self.back_key = self._key(both("back", " "), self.erased.emit)
        self.clear_key = self._key(both("clear", " "), self.cleared.emit)
        for column, (key, span) in enumerate(((self.https_key, 3), (self.keys["_"], 1),
                                              (self.back_key, 3), (self.clear_key, 3))):
            grid.addWidget(key, len(KEY_ROWS), (0, 3, 4, 7)[column], 1, span)
        self.set_code_mode(False)

    def _key(self, text: str, on_click: Callable[[], None]) -> BigButton:
        key = BigButton(text, on_click=on_click)
        key.setFocusPolicy(Qt.FocusPolicy.NoFocus)  # the field keeps the focus and cursor
        return key

    def set_code_mode(self, code: bool) -> None:
        self.code_mode = code
        for char, key in self.keys.items():
            key.setText(char.upper() if code else char)
            key.setEnabled(not code or char.upper() in CODE_ALPHABET)
        self.https_key.setEnabled(not code)

    def press(self, text: str) -> None:
        self.typed.emit(text.upper() if self.code_mode else text)

    def type_text(self, text: str) -> None:
        """Tap the key of each character in turn (what a finger does)."""
        for char in text:
            self.keys[char.lower()].click()


class EnrollScreen(QWidget):
    """The first-start window: facts, URL and code fields, the keyboard, 登録, then 開始.
    Emits ``chosen(StartChoice)`` on 開始 or on the offline choice; ``closed`` when closed."""

    chosen = Signal(object)
    closed = Signal()

    def __init__(self, facts: EnrollFacts, enroll: EnrollFn,
                 parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.facts, self._enroll = facts, enroll
        self.runner = Runner(self)
        self.result: Enrolled | None = None
        self._url_in_flight = ""
        self._started_at = 0.0
        self._ticker = QTimer(self)
        self._ticker.setInterval(500)
        self._ticker.timeout.connect(self._show_progress)
        self.setWindowTitle(both("title", " — "))
        self.message = message_label()
        self.url_field, self.code_field = TouchField(facts.server_url or ""), TouchField()
        self.url_field.setPlaceholderText("https://madoguchi.example.jp")
        self.code_field.setPlaceholderText("XXXX-XXXX-XXXX-XXXX")
        self.code_field.setMaxLength(CODE_LENGTH + 8)  # room for hyphens and stray spaces
        self.keyboard = OnScreenKeyboard()
        self.enroll_button = BigButton(both("enroll", " "), "primary", on_click=self.submit)
        self.offline_button = (BigButton(both("offline"), on_click=self.run_offline)
                               if facts.offline_allowed else None)
        self.keys_label = QLabel()
        self.keys_label.setWordWrap(True)
        self.keys_label.setStyleSheet("font-size: 18pt;")  # read aloud to compare with the server
        self.keys_label.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        self.start_button = BigButton(both("start", " "), "ok", on_click=self.start)
        self.facts_label = QLabel(f"{both('terminal', ' / ')}: {facts.terminal}　　"
                                  f"{both('facility', ' / ')}: {facts.facility}")
        self.pages = QStackedWidget()
        self.pages.addWidget(self._form_page())
        self.pages.addWidget(self._done_page())
        self._lay_out()
        self._wire()
        self.choose_target("code" if facts.server_url else "url")
        set_level(self.message, "info", both("intro"))

    def _lay_out(self) -> None:
        content = QWidget()
        column = QVBoxLayout(content)
        column.addWidget(title_label(both("title", " / ")))
        column.addWidget(self.facts_label)
        column.addWidget(self.message)
        column.addWidget(self.pages, 1)
        scroll = QScrollArea()  # a safety net: long errors must not push the keys off screen
        scroll.setWidgetResizable(True)
        scroll.setFrameShape(QFrame.Shape.NoFrame)
        scroll.setWidget(content)
        outer = QVBoxLayout(self)
        outer.setContentsMargins(0, 0, 0, 0)
        outer.addWidget(scroll)

    def _form_page(self) -> QWidget:
        page = QWidget()
        fields = QGridLayout()
        fields.addWidget(QLabel(both("url", "\n")), 0, 0)
        fields.addWidget(self.url_field, 0, 1)
        fields.addWidget(QLabel(both("code", "\n")), 1, 0)
        fields.addWidget(self.code_field, 1, 1)
        fields.setColumnStretch(1, 1)
        buttons = QHBoxLayout()
        if self.offline_button is not None:
            buttons.addWidget(self.offline_button, 1)
        buttons.addWidget(self.enroll_button, 1)
        column = QVBoxLayout(page)
        column.setContentsMargins(0, 0, 0, 0)
        column.addLayout(fields)
        column.addWidget(self.keyboard, 1)
        column.addLayout(buttons)
        return page

    def _done_page(self) -> QWidget:
        page = QWidget()
        column = QVBoxLayout(page)
        column.setContentsMargins(0, 0, 0, 0)
        column.addWidget(self.keys_label)
        column.addStretch(1)
        column.addWidget(self.start_button)
        return page

    def _wire(self) -> None:
        self.url_field.touched.connect(partial(self.choose_target, "url"))
        self.code_field.touched.connect(partial(self.choose_target, "code"))
        self.code_field.textEdited.connect(lambda text: self._set_code(normalize_code(text)))
        self.url_field.returnPressed.connect(partial(self.choose_target, "code"))
        self.code_field.returnPressed.connect(self.submit)
        self.keyboard.typed.connect(self._typed)
        self.keyboard.erased.connect(self._erase)
        self.keyboard.cleared.connect(self._clear)

    # -- typing --------------------------------------------------------------------------
    @property
    def target(self) -> TouchField:
        return self.code_field if self.keyboard.code_mode else self.url_field

    def choose_target(self, name: str) -> None:
        """Make the URL (``url``) or the code (``code``) field the keyboard's target."""
        code = name == "code"
        self.keyboard.set_code_mode(code)
        for field, active in ((self.url_field, not code), (self.code_field, code)):
            field.setStyleSheet(f"border: 4px solid {theme.PRIMARY};" if active else "")

    def _set_code(self, code: str) -> None:
        self.code_field.setText(grouped(code[:CODE_LENGTH]))

    def _typed(self, text: str) -> None:
        if self.keyboard.code_mode:
            self._set_code(normalize_code(self.code_field.text()) + text)
        else:
            self.url_field.insert(text)

    def _erase(self) -> None:
        if self.keyboard.code_mode:
            self._set_code(normalize_code(self.code_field.text())[:-1])
        else:
            self.url_field.backspace()

    def _clear(self) -> None:
        self.target.clear()

    # -- enrolling -----------------------------------------------------------------------
    def submit(self) -> None:
        """Check the URL and the code, then enroll on a worker thread."""
        if self.runner.busy or self.result is not None:
            return
        try:
            url = check_server_url(self.url_field.text())
            code = check_code(self.code_field.text())
        except InvalidInput as exc:
            set_level(self.message, "error", str(exc))
            return
        self._url_in_flight, self._started_at = url, time.monotonic()
        self._set_busy(True)
        enroll = self._enroll
        self.runner.submit(lambda: enroll(url, code), self._enrolled, self._failed,
                           name="enroll")  # the job's name is logged, the code never

    def _set_busy(self, busy: bool) -> None:
        for widget in (self.url_field, self.code_field, self.keyboard, self.enroll_button,
                       self.offline_button):
            if widget is not None:
                widget.setEnabled(not busy)
        if busy:
            self._show_progress()
            self._ticker.start()
        else:
            self._ticker.stop()

    def _show_progress(self) -> None:
        seconds = int(time.monotonic() - self._started_at)
        set_level(self.message, "info", both("working", seconds=seconds,
                                             url=self._url_in_flight))

    def _enrolled(self, result: object) -> None:
        self._set_busy(False)
        if not isinstance(result, Enrolled):
            self._failed(TypeError(f"enroll returned {type(result).__name__}"))
            return
        self.result = result
        self.code_field.clear()  # a used code has no further use on screen
        text = both("keys", terminal=result.terminal_fingerprint,
                    server=result.server_fingerprint, url=result.server_url)
        self.keys_label.setText(text + ("\n\n" + both("replaced")
                                        if result.replaced_server_key else ""))
        self.pages.setCurrentIndex(1)
        set_level(self.message, "ok", both("done"))

    def _failed(self, exc: BaseException) -> None:
        self._set_busy(False)
        set_level(self.message, "error", failure_text(exc, self.facts, self._url_in_flight))

    def start(self) -> None:
        if self.result is not None:
            self.chosen.emit(StartChoice(self.result.server_url))

    def run_offline(self) -> None:
        if self.facts.offline_allowed and not self.runner.busy and self.result is None:
            self.chosen.emit(StartChoice(None))

    def closeEvent(self, event: QCloseEvent) -> None:
        self._ticker.stop()
        self.runner.close()
        self.closed.emit()
        super().closeEvent(event)



def run_enrollment(facts: EnrollFacts, enroll: EnrollFn) -> StartChoice | None:
    """Show the enrollment window on the first screen until the clerk starts the counter
    (or chooses to run offline); None when the window was closed without a choice."""
    from ui.app import application

    qapp = application()
    theme.apply(qapp)
    screen = EnrollScreen(facts, enroll)
    choices: list[StartChoice] = []

    def chosen(choice: object) -> None:
        if isinstance(choice, StartChoice) and not choices:
            choices.append(choice)
            screen.close()

    screen.chosen.connect(chosen)
    screen.closed.connect(qapp.quit)
    quit_on_last = qapp.quitOnLastWindowClosed()
    qapp.setQuitOnLastWindowClosed(False)  # one quit only: a second one left pending would
    # end the counter app's event loops that follow
    first = QGuiApplication.screens()[0].availableGeometry()
    screen.move(first.topLeft())
    screen.resize(max(1024, min(first.width(), 1920)), max(768, min(first.height(), 1080)))
    screen.show()
    try:
        qapp.exec()
    finally:
        qapp.setQuitOnLastWindowClosed(quit_on_last)
    screen.deleteLater()
    return choices[0] if choices else None
