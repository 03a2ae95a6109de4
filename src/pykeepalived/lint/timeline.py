"""A scenario's timeline as a picture: for each instance on each node, its state over virtual time (MASTER
filled), with the phases marked."""

from __future__ import annotations

from ..vrrp.instance import State
from .scenarios import Run

COLOURS = {State.MASTER: "tab:green", State.BACKUP: "lightgrey", State.FAULT: "tab:red"}


def spans(run: Run) -> dict[tuple[str, str], list[tuple[float, float, State]]]:
    """(node, instance) -> (start, end, state) for every state it was in, up to the end of the scenario."""
    end = run.outcomes[-1].ended
    current: dict[tuple[str, str], tuple[float, State]] = {}
    found: dict[tuple[str, str], list[tuple[float, float, State]]] = {}
    for change in run.history:
        key = (change.node, change.instance)
        if key in current:
            since, state = current[key]
            found.setdefault(key, []).append((since, change.at, state))
        current[key] = (change.at, change.state)
    for key, (since, state) in current.items():
        found.setdefault(key, []).append((since, end, state))
    return found


def write_png(run: Run, path: str) -> None:
    # matplotlib only for this picture: the lint itself does not need it.
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    from matplotlib.patches import Patch

    lanes = sorted(spans(run).items(), key=lambda item: (item[0][1], item[0][0]))
    figure, axes = plt.subplots(figsize=(12, 1 + 0.4 * max(len(lanes), 1)))
    for row, (_, pieces) in enumerate(lanes):
        for start, end, state in pieces:
            if state in COLOURS and end > start:
                axes.broken_barh([(start, end - start)], (row - 0.4, 0.8), facecolors=COLOURS[state])
    axes.set_yticks(range(len(lanes)), [f"{instance} @ {node}" for (node, instance), _ in lanes])
    axes.invert_yaxis()
    for outcome in run.outcomes:
        axes.axvline(outcome.started, color="black", linewidth=0.8, linestyle="--")
        axes.annotate(outcome.phase, (outcome.started, -0.6), fontsize=8, annotation_clip=False)
    axes.set_xlabel("virtual seconds")
    axes.set_title(f"{run.scenario}: {'as expected' if all(o.ok for o in run.outcomes) else 'NOT as expected'}", pad=18)
    axes.legend(handles=[Patch(color=c, label=s.value) for s, c in COLOURS.items()], loc="lower right", fontsize=8)
    figure.tight_layout()
    figure.savefig(path, dpi=100)
    plt.close(figure)
