"""What the Plugins dialog says about one plugin: its distribution's metadata, what it registered, its state."""

from __future__ import annotations

import importlib.metadata
from typing import TYPE_CHECKING

from dlstudio import CONTRACT_VERSION

if TYPE_CHECKING:
    from dlstudio.plugins import PluginRecord, Registry


def distribution_metadata(name: str) -> dict[str, str]:
    """Summary, author and home page of the installed distribution ``name`` ({} when it is not installed)."""
    if not name or name == "?":
        return {}
    try:
        meta = importlib.metadata.distribution(name).metadata
    except (importlib.metadata.PackageNotFoundError, ValueError):
        return {}
    urls = meta.get_all("Project-URL") or []
    home = meta.get("Home-page") or next((u.split(",", 1)[1].strip() for u in urls if "," in u), "")
    author = meta.get("Author") or meta.get("Author-email") or ""
    return {"summary": meta.get("Summary") or "", "author": author, "home page": home}


def installed_by(record: PluginRecord) -> str:
    """"dlstudio" for what comes with it, "you" for what the user installed (they can uninstall it)."""
    if record.builtin:
        return "dlstudio (built in)"
    return "you" if record.distribution else "given directly"


def describe(record: PluginRecord, registry: Registry | None) -> str:
    """The details pane's text for ``record``."""
    name = f"{record.name} {record.version}" if record.version else record.name
    lines = [f"{name} — {record.status}"]
    meta = distribution_metadata(record.distribution)
    if meta.get("summary"):
        lines.append(meta["summary"])
    lines.append("")
    if record.builtin:
        lines.append("installed by: dlstudio (built in: it can be disabled, not uninstalled)")
    elif record.distribution:
        lines.append(f"installed by: you, as the distribution {record.distribution}")
    for key in ("author", "home page"):
        if meta.get(key):
            lines.append(f"{key}: {meta[key]}")
    lines.append(f"source: {record.source}")
    if record.contract is not None:
        lines.append(f"contract: written for {record.contract} (this dlstudio provides "
                     f"{'.'.join(map(str, CONTRACT_VERSION))})")
    if record.load_seconds:
        slow = " — slows down every start" if record.slow else ""
        seconds = f"{record.load_seconds:.2f} s" if record.load_seconds >= 0.005 else "< 0.01 s"
        lines.append(f"load time: {seconds}{slow}")
    if record.note:
        lines.append(f"note: {record.note}")
    items = registry.items_of(record.name) if registry is not None and not record.name_taken else {}
    if items:
        lines += ["", "registered:"] + [f"  {kind}: {', '.join(ids)}" for kind, ids in items.items()]
    if record.error:
        lines += ["", f"error: {record.error}"]
    if record.warnings:
        lines += ["", "warnings:"] + [f"  • {w}" for w in record.warnings]
    if record.traceback:
        lines += ["", record.traceback]
    return "\n".join(lines)
