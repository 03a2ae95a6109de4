"""The lint's report: the findings, then one row per scenario phase (scenario, expected, observed, why), as
text or as JSON, and whether the cluster passes (no error finding, every phase as expected)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from ..core.diagnostics import Severity
from .cluster import Cluster
from .rules import Finding
from .scenarios import GroupOutcome, Outcome, Run


@dataclass(frozen=True)
class Report:
    cluster: Cluster
    findings: tuple[Finding, ...]
    runs: tuple[Run, ...]

    @property
    def ok(self) -> bool:
        failed_rules = any(f.severity is Severity.ERROR for f in self.findings)
        return not failed_rules and all(o.ok for run in self.runs for o in run.outcomes)


def _holders(holders: tuple[str, ...]) -> str:
    return "+".join(holders) if holders else "nobody"


def _shown(outcome: Outcome) -> list[GroupOutcome]:
    """The routers worth a word in a phase: those that failed, or should have moved, or moved."""
    return [g for g in outcome.groups if not g.ok or g.expected != g.before or g.observed != g.before]


def _cell(groups: list[GroupOutcome], which: str) -> str:
    if not groups:
        return "no move"
    return "; ".join(f"{g.name} {_holders(getattr(g, which))}" for g in groups)


def _moved(outcome: Outcome) -> str:
    times = [g.moved_after for g in outcome.groups if g.moved_after is not None]
    return f"{max(times):.2f}s" if times else "-"


def rows(report: Report) -> list[tuple[str, str, str, str, str, str]]:
    """(verdict, scenario, expected, observed, moved after, why) per phase."""
    found = []
    for run in report.runs:
        for outcome in run.outcomes:
            shown = _shown(outcome)
            why = " | ".join(g.why for g in outcome.groups if g.why)
            verdict = "ok" if outcome.ok else "FAIL"
            found.append(
                (verdict, outcome.phase, _cell(shown, "expected"), _cell(shown, "observed"), _moved(outcome), why)
            )
    return found


def text(report: Report) -> list[str]:
    lines: list[str] = []
    nodes = ", ".join(f"{n.name} ({n.path}, {len(n.members)} instances)" for n in report.cluster.nodes)
    lines.append(f"nodes: {nodes}")
    for finding in report.findings:
        lines.append(f"{finding.severity.name.lower()} [{finding.rule}] {finding.message}")
        for node, where, what in finding.where:
            lines.append(f"    {node}: {where}{f'  {what}' if what else ''}")
    table = rows(report)
    headers = ("", "scenario", "expected", "observed", "moved after", "why")
    widths = [min(max(len(r[i]) for r in [headers, *table]), 60) for i in range(5)]
    lines.append("")
    lines.append("  ".join(h.ljust(w) for h, w in zip(headers, widths, strict=False)) + "  why")
    for row in table:
        cells = [c.ljust(w) for c, w in zip(row, widths, strict=False)]
        lines.append(("  ".join(cells) + "  " + row[5]).rstrip())
    phases = [o for run in report.runs for o in run.outcomes]
    failed = [o for o in phases if not o.ok]
    errors = [f for f in report.findings if f.severity is Severity.ERROR]
    lines.append("")
    lines.append(
        f"{len(phases) - len(failed)}/{len(phases)} scenario phases as expected, {len(errors)} errors, "
        f"{len(report.findings) - len(errors)} other findings: {'PASS' if report.ok else 'FAIL'}"
    )
    return lines


def as_json(report: Report) -> dict[str, Any]:
    return {
        "ok": report.ok,
        "nodes": [
            {"name": n.name, "file": n.path, "instances": [m.name for m in n.members]} for n in report.cluster.nodes
        ],
        "findings": [
            {
                "severity": f.severity.name.lower(),
                "rule": f.rule,
                "message": f.message,
                "where": [{"node": node, "file": w.file, "line": w.line, "what": what} for node, w, what in f.where],
            }
            for f in report.findings
        ],
        "scenarios": [
            {
                "scenario": o.scenario,
                "phase": o.phase,
                "ok": o.ok,
                "started": round(o.started, 6),
                "ended": round(o.ended, 6),
                "routers": [
                    {
                        "name": g.name,
                        "vrid": g.key[0],
                        "family": g.key[1],
                        "before": list(g.before),
                        "expected": list(g.expected),
                        "observed": list(g.observed),
                        "moved_after": None if g.moved_after is None else round(g.moved_after, 6),
                        "flapped": g.flapped,
                        "ok": g.ok,
                        "why": g.why,
                    }
                    for g in o.groups
                ],
            }
            for run in report.runs
            for o in run.outcomes
        ],
    }
