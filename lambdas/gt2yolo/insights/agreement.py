"""How well each worker agrees with the consolidated boxes: IoU of matched boxes.

Matching is greedy, per class, highest IoU first, with a 0.5 IoU threshold: the rule of the
PASCAL VOC and COCO evaluations, so the numbers read as labelers expect. On the few boxes of one
image and class, greedy gives the optimal assignment except in contrived overlaps; an optimal
(Hungarian) assignment would need an O(n^3) solver of our own for no visible difference. Pairs
below the threshold are not matches: they count as a missed and an extra box, so the mean IoU
says how tight matched boxes are and the missed/extra counts say how complete a worker is.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

from gt2yolo.insights.workers import Agreement, AnswerBox, WorkerAnswer

MATCH_IOU = 0.5


@dataclass(frozen=True, slots=True)
class Match:
    worker_index: int
    consolidated_index: int
    iou: float


@dataclass(frozen=True)
class Matching:
    matches: tuple[Match, ...]
    extra: tuple[int, ...]  # worker boxes without a partner
    missed: tuple[int, ...]  # consolidated boxes without a partner


def iou(a: AnswerBox, b: AnswerBox) -> float:
    """Intersection over union of two pixel boxes (0 for disjoint or empty boxes)."""
    width = min(a.left + a.width, b.left + b.width) - max(a.left, b.left)
    height = min(a.top + a.height, b.top + b.height) - max(a.top, b.top)
    if width <= 0 or height <= 0:
        return 0.0
    inter = width * height
    union = a.width * a.height + b.width * b.height - inter
    return inter / union if union > 0 else 0.0


def match_boxes(
    worker: Sequence[AnswerBox], consolidated: Sequence[AnswerBox], threshold: float = MATCH_IOU
) -> Matching:
    """Greedy one-to-one matching within each class, highest IoU first (ties: lower index)."""
    candidates = sorted(
        (
            (-overlap, i, j)
            for i, w in enumerate(worker)
            for j, c in enumerate(consolidated)
            if w.label == c.label and (overlap := iou(w, c)) >= threshold
        ),
    )
    used_worker: set[int] = set()
    used_consolidated: set[int] = set()
    matches = []
    for negative, i, j in candidates:
        if i in used_worker or j in used_consolidated:
            continue
        used_worker.add(i)
        used_consolidated.add(j)
        matches.append(Match(i, j, -negative))
    return Matching(
        matches=tuple(matches),
        extra=tuple(i for i in range(len(worker)) if i not in used_worker),
        missed=tuple(j for j in range(len(consolidated)) if j not in used_consolidated),
    )


def answer_agreement(answer: WorkerAnswer, consolidated: Sequence[AnswerBox]) -> Agreement:
    matching = match_boxes(answer.boxes, consolidated)
    return Agreement(
        compared_answers=1,
        matched_boxes=len(matching.matches),
        missed_boxes=len(matching.missed),
        extra_boxes=len(matching.extra),
        iou_sum=sum(m.iou for m in matching.matches),
    )


def worker_agreement(
    by_object: Mapping[str, Sequence[WorkerAnswer]],
    consolidated: Mapping[str, Sequence[AnswerBox]],
) -> dict[str, Agreement]:
    """Per worker, summed over the objects that several workers answered and whose
    consolidated boxes are known (`consolidated` holds only those)."""
    totals: dict[str, Agreement] = defaultdict(Agreement)
    for object_id, boxes in consolidated.items():
        answers = by_object.get(object_id, ())
        if len({a.worker_id for a in answers}) < 2:
            continue  # one worker: the consolidation is that worker's answer
        for answer in answers:
            totals[answer.worker_id] += answer_agreement(answer, boxes)
    return dict(totals)
