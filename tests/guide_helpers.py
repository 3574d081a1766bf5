"""Reading the plugin guide's code blocks, for the guide's test modules."""

from __future__ import annotations

import re
import textwrap
import types
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
GUIDE = ROOT / "docs" / "plugins.md"
EXAMPLE = ROOT / "examples" / "dlstudio-hello-plugin"

FENCE = re.compile(
    r"^(?:<!-- quote: (?P<quote>\S+) -->\n)?(?P<indent> *)```(?P<lang>[\w-]*)\n(?P<body>.*?)^(?P=indent)```[ \t]*$",
    re.MULTILINE | re.DOTALL,
)
SIGNATURE_LINE = re.compile(r"^def (dlstudio_\w+)\(.*\)(?: -> .+)?$")
ANY_HOOK_DEF = re.compile(r"^\s*def (dlstudio_\w+)\(", re.MULTILINE)


class Block:
    """A fenced code block of the guide."""

    def __init__(self, match: re.Match, text: str) -> None:
        self.lang = match["lang"]
        self.quote = match["quote"]
        self.raw = match["body"]
        #: Dedented: a list item's block, or a method quoted from a class.
        self.code = textwrap.dedent(self.raw)
        self.line = text.count("\n", 0, match.start()) + 1

    def is_signature(self) -> bool:
        lines = self.code.strip().splitlines()
        return len(lines) == 1 and bool(SIGNATURE_LINE.match(lines[0]))


def blocks(text: str) -> list[Block]:
    return [Block(m, text) for m in FENCE.finditer(text)]


def guide_module(defines: str) -> types.ModuleType:
    """Run the guide's Python block that defines ``defines`` (a class or a function) and return it as a module."""
    text = GUIDE.read_text(encoding="utf-8")
    found = [b for b in blocks(text)
             if b.lang == "python" and re.search(rf"^(?:class|def) {defines}\b", b.code, re.M)]
    assert len(found) == 1, f"docs/plugins.md should hold one block defining {defines}, found {len(found)}"
    module = types.ModuleType(f"guide_{defines.lower()}")
    exec(compile(found[0].code, f"docs/plugins.md:{found[0].line}", "exec"), module.__dict__)
    return module
