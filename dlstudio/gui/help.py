"""Help: the user guide (the README and the plugin guide) shown offline in a browser with a contents list.

Nothing is fetched from the network: links to the web are shown, not followed, and images load from the
guide's own folder.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from PySide6.QtCore import Qt, QUrl
from PySide6.QtGui import QTextDocument
from PySide6.QtWidgets import (
    QDialog,
    QDialogButtonBox,
    QLabel,
    QSplitter,
    QTextBrowser,
    QTreeWidget,
    QTreeWidgetItem,
    QVBoxLayout,
    QWidget,
)

#: The source checkout (or an installed tree that ships the docs next to the package).
_ROOT = Path(__file__).resolve().parents[2]
HEADING_ROLE = Qt.ItemDataRole.UserRole
DOC_ROLE = Qt.ItemDataRole.UserRole + 1


@dataclass(frozen=True)
class GuideDocument:
    title: str
    path: Path


def guide_documents(root: Path = _ROOT) -> list[GuideDocument]:
    """The bundled guide's documents that exist here, in reading order."""
    candidates = [GuideDocument("User guide (README)", root / "README.md"),
                  GuideDocument("Writing plugins", root / "docs" / "plugins.md")]
    return [doc for doc in candidates if doc.path.is_file()]


def headings(document: QTextDocument) -> list[tuple[int, str, int]]:
    """The document's headings as (level, text, position of their block)."""
    found = []
    block = document.begin()
    while block.isValid():
        level = block.blockFormat().headingLevel()
        if level > 0 and block.text().strip():
            found.append((level, block.text().strip(), block.position()))
        block = block.next()
    return found


class HelpDialog(QDialog):
    """The guide: a contents tree (documents, then their headings) beside the rendered Markdown."""

    def __init__(self, documents: list[GuideDocument] | None = None, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setWindowTitle("dlstudio help")
        self.resize(1000, 700)
        self.documents = guide_documents() if documents is None else documents
        self.current: GuideDocument | None = None

        self.contents = QTreeWidget()
        self.contents.setObjectName("help_contents")
        self.contents.setHeaderHidden(True)
        self.contents.itemActivated.connect(self._item_chosen)
        self.contents.itemClicked.connect(self._item_chosen)
        self.browser = QTextBrowser()
        self.browser.setObjectName("help_browser")
        self.browser.setOpenLinks(False)  # links are handled here: local guides open, the web is not fetched
        self.browser.anchorClicked.connect(self._link_clicked)
        self.status = QLabel("")
        self.status.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        splitter = QSplitter(Qt.Orientation.Horizontal)
        splitter.addWidget(self.contents)
        splitter.addWidget(self.browser)
        splitter.setStretchFactor(1, 1)
        splitter.setSizes([260, 740])
        buttons = QDialogButtonBox(QDialogButtonBox.StandardButton.Close)
        buttons.rejected.connect(self.reject)
        layout = QVBoxLayout(self)
        layout.addWidget(splitter, 1)
        layout.addWidget(self.status)
        layout.addWidget(buttons)

        if not self.documents:
            self.browser.setPlainText(f"The user guide was not found: no README.md or docs/plugins.md under "
                                      f"{_ROOT}. It ships with the source; see the project's page.")
            return
        for doc in self.documents:
            item = QTreeWidgetItem([doc.title])
            item.setData(0, DOC_ROLE, str(doc.path))
            self.contents.addTopLevelItem(item)
        self.show_document(self.documents[0])

    # -- showing -------------------------------------------------------------------------------------
    def show_document(self, doc: GuideDocument) -> None:
        """Render ``doc`` and list its headings under its entry in the contents."""
        self.current = doc
        self.browser.setSearchPaths([str(doc.path.parent)])
        self.browser.document().setBaseUrl(QUrl.fromLocalFile(str(doc.path.parent) + "/"))
        self.browser.setMarkdown(doc.path.read_text(encoding="utf-8"))
        top = self._top_item(doc)
        top.takeChildren()
        parents: list[tuple[int, QTreeWidgetItem]] = [(0, top)]
        for level, text, position in headings(self.browser.document()):
            while parents[-1][0] >= level:
                parents.pop()
            item = QTreeWidgetItem(parents[-1][1], [text])
            item.setData(0, HEADING_ROLE, position)
            item.setData(0, DOC_ROLE, str(doc.path))
            parents.append((level, item))
        top.setExpanded(True)
        self.browser.verticalScrollBar().setValue(0)

    def scroll_to(self, position: int) -> None:
        """Bring the block at ``position`` to the top of the view."""
        block = self.browser.document().findBlock(position)
        top = self.browser.document().documentLayout().blockBoundingRect(block).top()
        self.browser.verticalScrollBar().setValue(int(top))

    def first_heading(self) -> str:
        found = headings(self.browser.document())
        return found[0][1] if found else ""

    # -- navigation ----------------------------------------------------------------------------------
    def _top_item(self, doc: GuideDocument) -> QTreeWidgetItem:
        for i in range(self.contents.topLevelItemCount()):
            item = self.contents.topLevelItem(i)
            if item.data(0, DOC_ROLE) == str(doc.path):
                return item
        raise KeyError(doc.path)

    def _document(self, path: str) -> GuideDocument | None:
        return next((d for d in self.documents if str(d.path) == path), None)

    def _item_chosen(self, item: QTreeWidgetItem, _column: int = 0) -> None:
        doc = self._document(item.data(0, DOC_ROLE))
        if doc is None:
            return
        if doc != self.current:
            self.show_document(doc)
        position = item.data(0, HEADING_ROLE)
        if position is not None:
            self.scroll_to(int(position))

    def _link_clicked(self, url: QUrl) -> None:
        if url.scheme() in ("", "file"):
            target = Path(url.toLocalFile()) if url.isLocalFile() else (
                self.current.path.parent / url.path() if self.current and url.path() else None)
            doc = self._document(str(target.resolve())) if target is not None else None
            if doc is not None:
                if doc != self.current:
                    self.show_document(doc)
                if url.fragment():
                    self._scroll_to_heading(url.fragment())
                return
            if not url.path() and url.fragment():  # an anchor in this page
                self._scroll_to_heading(url.fragment())
                return
        self.status.setText(f"Not opened (the help works offline): {url.toString()}")

    def _scroll_to_heading(self, fragment: str) -> None:
        """GitHub-style anchors (``#what-the-contract-is``) matched to this document's headings."""
        wanted = fragment.lower()
        for _level, text, position in headings(self.browser.document()):
            slug = "".join(c for c in text.lower() if c.isalnum() or c in " -_").replace(" ", "-")
            if slug == wanted:
                self.scroll_to(position)
                return
        self.status.setText(f"No heading “{fragment}” in this page")
