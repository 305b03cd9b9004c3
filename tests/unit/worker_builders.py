"""Worker-response files in Ground Truth's documented shape (see the Ground Truth reference)."""

from __future__ import annotations

import json
from collections.abc import Sequence
from pathlib import Path
from typing import Any


def answer(
    worker: str,
    submitted: str = "2026-11-20T09:00:00.000Z",
    seconds: Any = 30.0,
    boxes: Sequence[tuple[str, float, float, float, float]] = (),
    size: tuple[int, int] | None = (500, 400),
) -> dict[str, Any]:
    """One entry of `answers`: boxes as (label, left, top, width, height)."""
    content: dict[str, Any] = {
        "boundingBoxes": [
            {"label": label, "left": left, "top": top, "width": width, "height": height}
            for label, left, top, width, height in boxes
        ]
    }
    if size is not None:
        content["inputImageProperties"] = {"width": size[0], "height": size[1]}
    entry = {
        "workerId": worker,
        "acceptanceTime": submitted,
        "submissionTime": submitted,
        "workerMetadata": {"identityData": {"identityProviderType": "Cognito", "sub": worker}},
        "answerContent": {"boundingBox": content},
    }
    if seconds is not None:
        entry["timeSpentInSeconds"] = seconds
    return entry


def response_file(*answers: dict[str, Any]) -> bytes:
    return json.dumps({"answers": list(answers)}).encode()


def write_response(root: Path, object_id: int, name: str, *answers: dict[str, Any]) -> Path:
    """`<root>/annotations/worker-response/iteration-1/<object_id>/<name>.json`."""
    path = root / "annotations/worker-response/iteration-1" / str(object_id) / f"{name}.json"
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(response_file(*answers))
    return path
