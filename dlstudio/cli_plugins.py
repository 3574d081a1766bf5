"""``dlstudio plugins``: list the plugins; install, update, uninstall, enable and disable them.

Install and update run pip for dlstudio's own interpreter with the constraints file of
:mod:`dlstudio.plugin_install` (nothing dlstudio runs on can change); pip's log streams to stderr as it
comes, the result goes to stdout (one JSON object with ``--json``). These sub-commands load no plugin, so
one that crashes dlstudio at start-up can still be disabled or uninstalled.
"""

from __future__ import annotations

import argparse
import json
import sys
from typing import Any

from dlstudio.plugin_install import (
    INSTALL,
    UNINSTALL,
    UPDATE,
    PipOptions,
    PluginInstallError,
    Snapshot,
    constraints_file,
    core_pins,
    load_into,
    parse_target,
    pip_command,
    plugin_distribution,
    plugin_entry_points,
    removal_summary,
    run_pip,
)

#: The sub-commands that run without loading any plugin.
WITHOUT_PLUGINS = frozenset({INSTALL, UPDATE, UNINSTALL, "enable", "disable"})


def add_parser(sub: Any) -> None:
    """``dlstudio plugins`` and its sub-commands, on the top-level parser's sub-parsers ``sub``."""
    p = sub.add_parser("plugins", help="list plugins with version, source and status (exit status 1 if one failed); "
                                       "install, update, uninstall, enable, disable")
    p.add_argument("--verbose", "-v", action="store_true",
                   help="show tracebacks of failed plugins, what each registered and its load time")
    p.add_argument("--json", action="store_true", help="one JSON list of the plugins")
    p.set_defaults(handler=list_plugins)
    actions = p.add_subparsers(title="actions", metavar="ACTION")

    q = actions.add_parser(INSTALL, help="install plugins with pip: a name (name==1.2), a wheel or sdist, a "
                                         "project folder or a VCS URL; dlstudio and what it runs on stay pinned")
    q.add_argument("targets", nargs="+", metavar="NAME|PATH|URL")
    _pip_options(q)
    q.set_defaults(handler=_install)

    q = actions.add_parser(UPDATE, help="update installed third-party plugins (by plugin or distribution name)")
    q.add_argument("targets", nargs="+", metavar="NAME")
    _pip_options(q)
    q.set_defaults(handler=_update)

    q = actions.add_parser(UNINSTALL, help="uninstall third-party plugins (built-in ones can only be disabled)")
    q.add_argument("targets", nargs="+", metavar="NAME")
    q.add_argument("--yes", "-y", action="store_true", help="do not ask (needed when not run from a terminal)")
    q.add_argument("--json", action="store_true", help="print the result as one JSON object")
    q.set_defaults(handler=_uninstall)

    for verb in ("enable", "disable"):
        q = actions.add_parser(verb, help=f"{verb} a plugin from the next start on")
        q.add_argument("names", nargs="+", metavar="NAME")
        q.add_argument("--json", action="store_true", help="print the disabled plugins as one JSON object")
        q.set_defaults(handler=_enable if verb == "enable" else _disable)


def _pip_options(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--json", action="store_true", help="print the result as one JSON object (pip's log on "
                                                            "stderr)")
    parser.add_argument("--no-index", action="store_true", help="do not look at any package index")
    parser.add_argument("--find-links", action="append", default=[], metavar="DIR|URL",
                        help="also look for packages here (pip's --find-links)")
    parser.add_argument("--index-url", default="", metavar="URL", help="the package index to use")
    parser.add_argument("--no-build-isolation", action="store_true",
                        help="build a project folder with what is installed (offline)")
    parser.add_argument("--pre", action="store_true", help="allow pre-releases")


def _options(args: argparse.Namespace) -> PipOptions:
    return PipOptions(no_index=args.no_index, find_links=tuple(args.find_links), index_url=args.index_url,
                      no_build_isolation=args.no_build_isolation, pre=args.pre)


def _guarded(handler):
    """Refusals (a bad target, a built-in plugin) are one ``dlstudio: ...`` line and exit status 2."""
    def run(args: argparse.Namespace, studio: Any) -> int:
        try:
            return handler(args, studio)
        except PluginInstallError as exc:
            if getattr(args, "json", False):
                print(json.dumps({"ok": False, "error": str(exc)}))
            print(f"dlstudio: {exc}", file=sys.stderr)
            return 2
    return run


def _run(action: str, targets: list[str], command: list[str], args: argparse.Namespace, studio: Any) -> int:
    before = Snapshot.take()
    print("$ " + " ".join(command), file=sys.stderr, flush=True)
    code, log = run_pip(command, lambda line: print(line, file=sys.stderr, flush=True))
    outcome = before.outcome(action, targets, code, log)
    loaded = load_into(studio, outcome.new_plugins) if outcome.ok and outcome.new_plugins else []
    broken = [r for r in loaded if r.status == "failed"]
    if args.json:
        result = outcome.to_json()
        result["plugins"] = [{"name": r.name, "status": r.status, "error": r.error} for r in loaded]
        print(json.dumps(result))
    else:
        print(outcome.summary())
        if outcome.error and not sys.stderr.isatty():  # on a terminal, pip's reason was just shown above
            print(outcome.error)
        if outcome.hint:
            print(outcome.hint)
        for r in loaded:
            print(f"plugin {r.name}: {r.status}" + (f" ({r.error})" if r.error else ""))
        if outcome.ok and action != UNINSTALL and outcome.new_plugins:
            print("the window loads it at its next start, or at once from Plugins… > Install")
    return 0 if outcome.ok and not broken else 1


@_guarded
def _install(args: argparse.Namespace, studio: Any) -> int:
    pins = core_pins()
    targets = [parse_target(t, pins).value for t in args.targets]
    with constraints_file(pins) as constraints:
        return _run(INSTALL, targets, pip_command(INSTALL, targets, constraints, _options(args)), args, studio)


@_guarded
def _update(args: argparse.Namespace, studio: Any) -> int:
    names = [plugin_distribution(t).metadata["Name"] for t in args.targets]
    with constraints_file() as constraints:
        return _run(UPDATE, names, pip_command(UPDATE, names, constraints, _options(args)), args, studio)


@_guarded
def _uninstall(args: argparse.Namespace, studio: Any) -> int:
    dists = [plugin_distribution(t) for t in args.targets]
    names = [d.metadata["Name"] for d in dists]
    if not args.yes:
        if not sys.stdin.isatty():
            raise PluginInstallError("uninstalling asks first: add --yes to uninstall without being asked")
        for dist in dists:
            print(f"{dist.metadata['Name']} {dist.version} will be removed:")
            for line in removal_summary(dist):
                print(f"    {line}")
        if input("Proceed (y/N)? ").strip().lower() not in {"y", "yes"}:
            print("nothing was uninstalled")
            return 1
    return _run(UNINSTALL, names, pip_command(UNINSTALL, names), args, studio)


@_guarded
def _enable(args: argparse.Namespace, studio: Any) -> int:
    return _switch(args, studio, enabled=True)


@_guarded
def _disable(args: argparse.Namespace, studio: Any) -> int:
    return _switch(args, studio, enabled=False)


def _switch(args: argparse.Namespace, studio: Any, enabled: bool) -> int:
    from dlstudio.home import DISABLED_ENV

    known = set(plugin_entry_points())
    stored = studio.settings.disabled_plugins()
    for name in args.names:
        if name == "core":
            raise PluginInstallError("the core cannot be disabled")
        if name not in known and not (enabled and name in stored):
            raise PluginInstallError(f"no plugin is called {name!r}; installed plugins: {', '.join(sorted(known))}")
    for name in args.names:
        studio.settings.set_plugin_enabled(name, enabled)
    disabled = studio.settings.disabled_plugins()
    still = sorted(set(args.names) & disabled) if enabled else []
    if args.json:
        print(json.dumps({"ok": not still, "disabled": sorted(disabled)}))
    else:
        verb = "enabled" if enabled else "disabled"
        print(f"{verb} {', '.join(args.names)} from the next start on")
        for name in still:
            print(f"dlstudio: {name} stays disabled in this shell: ${DISABLED_ENV} names it", file=sys.stderr)
    return 1 if still else 0


def list_plugins(args: argparse.Namespace, studio: Any) -> int:
    """List the plugins; the exit status is 1 when one of them failed (a script or CI can check it)."""
    from dlstudio.plugins import FAILED

    if args.json:
        print(json.dumps([_as_json(rec, studio) for rec in studio.plugins], indent=2))
        return 1 if any(rec.status == FAILED for rec in studio.plugins) else 0
    for rec in studio.plugins:
        print(f"{rec.name:<16} {rec.version or '-':<9} {rec.status:<9} {rec.source}")
        if rec.error:
            print(f"    error: {rec.error}")
        if rec.note:
            print(f"    note: {rec.note}")
        for warning in rec.warnings:
            print(f"    warning: {warning}")
        if rec.slow:
            print(f"    slow: took {rec.load_seconds:.1f} s to load, at every start")
        if args.verbose and rec.traceback:
            print("    " + rec.traceback.replace("\n", "\n    "))
        if args.verbose and rec.load_seconds and not rec.slow:
            print(f"    loaded in {rec.load_seconds:.2f} s")
        if args.verbose and not rec.name_taken:  # a refused namesake registered nothing: the items are the other's
            for kind, ids in studio.registry.items_of(rec.name).items():
                print(f"    {kind}: {', '.join(ids)}")
    return 1 if any(rec.status == FAILED for rec in studio.plugins) else 0


def _as_json(rec: Any, studio: Any) -> dict:
    return {"name": rec.name, "version": rec.version, "status": rec.status, "source": rec.source,
            "distribution": rec.distribution, "builtin": rec.builtin, "error": rec.error, "note": rec.note,
            "warnings": rec.warnings, "traceback": rec.traceback, "load_seconds": round(rec.load_seconds, 4),
            "contract": rec.contract, "registered": {} if rec.name_taken else studio.registry.items_of(rec.name)}


def report_crashes() -> None:
    """Say, before any plugin loads, which plugin was loading when a previous dlstudio died."""
    from dlstudio.home import studio_home
    from dlstudio.plugin_safety import take_crash_reports

    for report in take_crash_reports(studio_home()):
        print(f"dlstudio: {report.message()}", file=sys.stderr, flush=True)
