"""COCO: one `exports/coco/<split>.json` per split, streamed (no split is held in memory).

    {"info": {...}, "licenses": [], "categories": [...],
    "images": [
    {"id":1,"file_name":"images/train/a.jpg","width":640,"height":480},
    ...],
    "annotations": [
    {"id":1,"image_id":1,"category_id":1,"bbox":[x,y,w,h],"area":a,"iscrowd":0},
    ...]}

One image or annotation per line, so a published version's copy can name each image where
that version stores it without parsing the whole file (`gt2yolo.exports.published`).
Category ids are the dataset's class ids + 1 (COCO's ids start at 1; 0 is background to several
readers), in the dataset's class order; image and annotation ids count from 1 in each file.
Video frames (the TAO / COCO-VID convention): each image has `video_id` and `frame_id` (0-based
over the kept frames), each annotation a `track_id` unique in the file, with `videos` and
`tracks` lists.
"""

from __future__ import annotations

import shutil
import tempfile
from dataclasses import dataclass, field
from typing import IO, Any, TextIO

from gt2yolo.exports.formats import ExportFormat
from gt2yolo.exports.writer import ExportWriter, json_text
from gt2yolo.split import Split

# Annotations wait in memory up to this size, then on local disk (/tmp in Lambda).
SPOOL_BYTES = 16 * 1024 * 1024
SUPERCATEGORY = "none"  # Ground Truth's class lists have no hierarchy


def coco_name(split: Split) -> str:
    return f"{split}.json"


def category_id(class_id: int) -> int:
    return class_id + 1


@dataclass
class _SplitFile:
    stream: TextIO
    annotations: IO[str]
    images: int = 0
    annotated: int = 0
    videos: dict[str, int] = field(default_factory=dict)
    tracks: dict[tuple[int, int], tuple[int, int]] = field(default_factory=dict)  # -> id, cat


def _polygon(points: list[int]) -> str:
    return "[" + ",".join(map(str, points)) + "]"


class CocoWriter(ExportWriter):
    """The COCO files of any task's rows (a task's subclass makes the rows)."""

    format = ExportFormat.COCO

    def open_files(self) -> None:
        self._files: dict[Split, _SplitFile] = {}
        head = self._head()
        for split in self.splits:
            stream = self.open_stream(coco_name(split))
            stream.write(head + '"images":[')
            spool = self._stack.enter_context(
                tempfile.SpooledTemporaryFile(  # noqa: SIM115 (closed by the writer's stack)
                    SPOOL_BYTES, "w+", encoding="utf-8", newline="\n"
                )
            )
            self._files[split] = _SplitFile(stream, spool)

    def _head(self) -> str:
        context = self.context
        info: dict[str, Any] = {
            "description": f"gt2yolo export ({context.task})",
            "version": context.version or "",
            "contributor": "gt2yolo",
            "url": "",
        }
        if context.version:
            info["year"] = int(context.version[:4])
            info["date_created"] = context.created
        categories = [
            {"id": category_id(i), "name": name, "supercategory": SUPERCATEGORY}
            for i, name in enumerate(context.classes)
        ]
        return (
            f'{{"info":{json_text(info)},\n"licenses":[],\n"categories":{json_text(categories)},\n'
        )

    def consume(self, split: Split, row: dict[str, Any]) -> None:
        """The image's line and its annotations' lines, formatted here rather than by
        json.dumps (most of an export's time otherwise): the same text json_text gives, as
        numbers are ints and finite floats (repr is JSON's) and only names need escaping."""
        file = self._files[split]
        file.images += 1
        image_id = file.images
        video = row.get("video")
        video_id = 0
        extra = ""
        if video is not None:
            video_id = file.videos.setdefault(video, len(file.videos) + 1)
            extra = f',"video_id":{video_id},"frame_id":{row["frame_id"]!r}'
        file.stream.write(
            f'{"" if image_id == 1 else ","}\n{{"id":{image_id},"file_name":'
            f'{json_text(row["file_name"])},"width":{row["width"]!r},'
            f'"height":{row["height"]!r}{extra}}}'
        )
        lines = []
        for annotation in row["annotations"]:
            file.annotated += 1
            category = category_id(annotation["class_id"])
            x, y, w, h = annotation["bbox"]
            text = (
                f'{{"id":{file.annotated},"image_id":{image_id},"category_id":{category},'
                f'"bbox":[{x!r},{y!r},{w!r},{h!r}],"area":{annotation["area"]!r},"iscrowd":0'
            )
            polygons = annotation.get("segmentation")
            if polygons is not None:
                text += ',"segmentation":[' + ",".join(_polygon(p) for p in polygons) + "]"
            track = annotation.get("track")
            if video is not None and track is not None:
                key = (video_id, int(track))
                found = file.tracks.setdefault(key, (len(file.tracks) + 1, category))
                text += f',"track_id":{found[0]}'
            lines.append(("\n" if file.annotated == 1 else ",\n") + text + "}")
        file.annotations.write("".join(lines))

    def close_files(self) -> None:
        video = self.context.task.video
        for split, file in self._files.items():
            stream = file.stream
            stream.write('],\n"annotations":[')
            file.annotations.seek(0)
            shutil.copyfileobj(file.annotations, stream)
            stream.write("]")
            if video:
                videos = [{"id": i, "name": name} for name, i in file.videos.items()]
                tracks = [
                    {"id": track, "category_id": category, "video_id": video_id}
                    for (video_id, _), (track, category) in file.tracks.items()
                ]
                stream.write(f',\n"videos":{json_text(videos)},\n"tracks":{json_text(tracks)}')
            stream.write("}\n")
            counts = {"images": file.images, "annotations": file.annotated}
            if video:
                counts["videos"] = len(file.videos)
                counts["tracks"] = len(file.tracks)
            self.summary.files[self.key(coco_name(split))] = counts
