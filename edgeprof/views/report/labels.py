"""Point labels that neither overlap each other nor the points, and are never clipped (issue 20:
the Pareto and roofline plots printed q8_0, q4_k_m and q4_0 on top of one another, and cut the
label of the right-most point at the figure's edge).

How: after the axes have their final scales and limits, each label tries a fixed list of offsets
around its point — nearest first, then farther out with a leader line — and takes the first whose
text box stays inside the axes and clear of every marker and every label placed before it (the
greedy placement of adjustText and of ggrepel's first pass, without their iterations). Points are
placed in order of how crowded their neighbourhood is, so the crowded ones get the near slots.
"""
from __future__ import annotations

from dataclasses import dataclass

#: offsets in points (dx, dy, horizontal alignment), nearest first; the far ring gets a leader line
NEAR = ((6, 4, "left"), (6, -11, "left"), (-6, 4, "right"), (-6, -11, "right"), (0, 9, "center"),
        (0, -17, "center"))
FAR = tuple((dx * k, dy * k, ha) for k in (2, 3, 4) for dx, dy, ha in
            ((8, 10, "left"), (8, -14, "left"), (-8, 10, "right"), (-8, -14, "right"), (0, 16, "center"),
             (0, -22, "center")))
MARKER_PX = 6.0   # half the side of the box kept clear around each marker


MAX_LABELS = 40   # more labels than this cannot be read on a 6-inch plot: the table names the rest


@dataclass(frozen=True)
class Label:
    x: float
    y: float
    text: str
    color: str = "#212121"
    first: bool = True    # labelled first when there are more than MAX_LABELS (the Pareto front)


class _Taken:
    """The boxes a label must keep clear of (markers, the legend, labels placed so far), as arrays:
    a candidate's overlap with all of them is one vectorised sum, not a Python loop (1,000 points
    made that loop dominate a report, issue 21 item 10). Identical boxes (points drawn on the same
    pixel: repeated cases) are kept once with their count, so the cost is the same sum."""

    def __init__(self, boxes: list) -> None:
        import numpy as np

        counts: dict[tuple, int] = {}
        for b in boxes:
            key = (b.x0, b.y0, b.x1, b.y1)
            counts[key] = counts.get(key, 0) + 1
        self.ext = np.array(list(counts), dtype=float).reshape(-1, 4)
        self.weight = np.array(list(counts.values()), dtype=float)

    def add(self, b) -> None:
        import numpy as np

        self.ext = np.vstack((self.ext, [[b.x0, b.y0, b.x1, b.y1]]))
        self.weight = np.append(self.weight, 1.0)

    def overlap(self, b) -> float:
        import numpy as np

        e = self.ext
        w = np.clip(np.minimum(b.x1, e[:, 2]) - np.maximum(b.x0, e[:, 0]), 0, None)
        h = np.clip(np.minimum(b.y1, e[:, 3]) - np.maximum(b.y0, e[:, 1]), 0, None)
        return float(np.dot(w * h, self.weight))


def place(fig, ax, labels: list[Label], fontsize: float = 7) -> list:
    """Annotate ``labels`` on ``ax`` without overlaps or clipping; returns the Text artists (None
    for a point left unlabelled: beyond ``MAX_LABELS``, the ``first`` ones are labelled)."""
    from matplotlib.text import Text
    from matplotlib.transforms import Bbox

    fig.canvas.draw()  # the final limits and a renderer: boxes are measured, not guessed
    renderer = fig.canvas.get_renderer()
    area = ax.get_window_extent(renderer)
    pts = [tuple(p) for p in ax.transData.transform([(lab.x, lab.y) for lab in labels]).tolist()] if labels else []
    markers = [Bbox.from_extents(px - MARKER_PX, py - MARKER_PX, px + MARKER_PX, py + MARKER_PX) for px, py in pts]
    chosen = sorted(range(len(labels)), key=lambda k: not labels[k].first)[:MAX_LABELS]
    near = [markers[k] for k in _near(pts, chosen)]  # the markers a chosen label could touch
    if ax.get_legend() is not None:  # a label under the legend is as unreadable as one under a label
        near.append(ax.get_legend().get_window_extent(renderer))
    taken = _Taken(near)
    crowd = {k: sum(1 for j in chosen if abs(pts[j][0] - pts[k][0]) < 60 and abs(pts[j][1] - pts[k][1]) < 30)
             for k in chosen}
    out: list = [None] * len(labels)
    for i in sorted(chosen, key=lambda k: -crowd[k]):
        lab, best, best_cost = labels[i], None, float("inf")
        for dx, dy, ha in NEAR + FAR:
            far = (dx, dy, ha) in FAR
            t = ax.annotate(lab.text, (lab.x, lab.y), textcoords="offset points", xytext=(dx, dy), ha=ha,
                            va="bottom" if dy >= 0 else "top", fontsize=fontsize, color=lab.color,
                            annotation_clip=False,
                            arrowprops={"arrowstyle": "-", "color": "#9e9e9e", "lw": 0.6} if far else None)
            t.update_positions(renderer)  # an annotation's text is placed at draw time
            box = Text.get_window_extent(t, renderer)  # the text alone, not its leader line
            cost = taken.overlap(box) + _outside(box, area) * 1000
            if cost < best_cost:
                if best is not None:
                    best.remove()
                best, best_cost = t, cost
            else:
                t.remove()
            if cost == 0:
                break
        taken.add(Text.get_window_extent(best, renderer))
        out[i] = best
    return out


def _near(pts, chosen: list[int], reach_px: float = 160.0) -> list[int]:
    """Indexes of the points within ``reach_px`` of a chosen one (a label is never placed farther)."""
    return [k for k, p in enumerate(pts)
            if any(abs(p[0] - pts[j][0]) <= reach_px and abs(p[1] - pts[j][1]) <= reach_px for j in chosen)]


def boxes(fig, texts: list) -> list:
    """The text boxes (display pixels) of placed labels: what the tests check for overlap."""
    from matplotlib.text import Text

    renderer = fig.canvas.get_renderer()
    texts = [t for t in texts if t is not None]
    for t in texts:
        t.update_positions(renderer)
    return [Text.get_window_extent(t, renderer) for t in texts]


def _outside(box, area) -> float:
    """How far (pixels) a box reaches outside the axes area."""
    return (max(0.0, area.x0 - box.x0) + max(0.0, box.x1 - area.x1) + max(0.0, area.y0 - box.y0)
            + max(0.0, box.y1 - area.y1))
