"""Sample jobs of the other image tasks: semantic segmentation and image classification.

Like `detection.make_sample_job`, with what a real team's output holds: images in the customer's
own bucket, consolidated masks where Ground Truth writes them (`<job>/annotations/
consolidated-annotation/output/`), masks as palette, RGB and RGBA PNGs, a ring-shaped region
(a hole), a speck below the minimum area, a failed line, a line never labeled, a mask missing
from S3, a mask of the wrong size and a mask with a stray color. Classification jobs hold
classes in a non-alphabetical job order, a class no image has, and the same file name in two
folders.
"""

from __future__ import annotations

import io
import json
import random
from typing import Any

from PIL import Image, ImageDraw

from samples.detection import SampleJob

# Ground Truth's default label colors (its UI palette), and white for unlabeled pixels.
SEGMENT_CLASSES = ("road", "car", "person")
SEGMENT_COLORS = {"road": "#2ca02c", "car": "#1f77b4", "person": "#ff7f0e"}
BACKGROUND_COLOR = "#ffffff"
PHOTO_COLORS = {"road": (90, 90, 95), "car": (200, 30, 40), "person": (240, 200, 160)}
# Lines with something wrong, by their index in the manifest (the rest convert).
MISSING_MASK, WRONG_SIZE, STRAY_COLOR = 4, 7, 9
CLASSIFY_CLASSES = ("dog", "cat", "bird", "fish")  # fish: no image has it


def _rgb(hex_color: str) -> tuple[int, int, int]:
    value = int(hex_color[1:], 16)
    return value >> 16, (value >> 8) & 0xFF, value & 0xFF


def _jpeg(image: Image.Image) -> bytes:
    out = io.BytesIO()
    image.save(out, "JPEG", quality=90)
    return out.getvalue()


def _png(image: Image.Image) -> bytes:
    out = io.BytesIO()
    image.save(out, "PNG")
    return out.getvalue()


def _draw_scene(rng: random.Random, size: tuple[int, int], index: int) -> list[tuple[str, Any]]:
    """(class, drawing) pairs in painting order: later ones cover earlier ones."""
    width, height = size
    scene: list[tuple[str, Any]] = [("road", ("rect", (0, height * 2 // 3, width - 1, height - 1)))]
    for _ in range(rng.randint(1, 3)):
        w, h = rng.randint(40, 90), rng.randint(25, 50)
        x, y = rng.randint(0, width - w - 1), rng.randint(height // 3, height - h - 1)
        scene.append(("car", ("rect", (x, y, x + w, y + h))))
    if index % 3 == 0:
        # A person drawn as a ring: one region with a hole.
        r = rng.randint(25, 40)
        cx, cy = rng.randint(r + 1, width - r - 2), rng.randint(r + 1, height // 2)
        scene.append(("person", ("ring", (cx, cy, r, r // 2))))
    else:
        r = rng.randint(10, 25)
        cx, cy = rng.randint(r + 1, width - r - 2), rng.randint(r + 1, height - r - 2)
        scene.append(("person", ("ellipse", (cx - r, cy - r, cx + r, cy + r))))
    if index % 5 == 1:
        scene.append(("car", ("rect", (2, 2, 3, 3))))  # a 2x2 speck: below the minimum area
    return scene


def _paint(size: tuple[int, int], scene: list[tuple[str, Any]], colors: dict[str, Any],
           background: Any) -> Image.Image:  # fmt: skip
    image = Image.new("RGB", size, background)
    pen = ImageDraw.Draw(image)
    for name, (kind, geometry) in scene:
        color = colors[name]
        if kind == "rect":
            pen.rectangle(geometry, fill=color)
        elif kind == "ellipse":
            pen.ellipse(geometry, fill=color)
        else:
            cx, cy, outer, inner = geometry
            pen.ellipse((cx - outer, cy - outer, cx + outer, cy + outer), fill=color)
            # The hole shows what lies under the ring: here the background.
            pen.ellipse((cx - inner, cy - inner, cx + inner, cy + inner), fill=background)
    return image


def _mask_bytes(mask: Image.Image, variant: int) -> bytes:
    """The same colors as a palette, RGB or RGBA PNG (all occur in real jobs)."""
    if variant == 0:
        return _png(mask.convert("P", palette=Image.Palette.ADAPTIVE, colors=8))
    if variant == 1:
        return _png(mask)
    # RGBA with unlabeled pixels fully transparent (alpha 0 reads as background).
    # Only pure white is 255 in grey: every class color is darker.
    alpha = Image.eval(mask.convert("L"), lambda v: 0 if v == 255 else 255)
    rgba = mask.convert("RGBA")
    rgba.putalpha(alpha)
    return _png(rgba)


def make_segmentation_job(bucket: str, job_name: str = "demo-segmentation", images: int = 12,
                          seed: int = 11, dataset: str = "street",
                          image_bucket: str | None = None) -> SampleJob:  # fmt: skip
    """A finished semantic segmentation job; `truth` maps each source-ref to its class mask
    (an RGB PIL image of the mask colors) for the lines that should convert."""
    rng = random.Random(seed)
    job = SampleJob(job_name, bucket, "street", image_bucket=image_bucket,
                    pre_annotation="PRE-SemanticSegmentation",
                    consolidation="ACS-SemanticSegmentation")  # fmt: skip
    images_at = f"{image_bucket}/{dataset}" if image_bucket else f"{bucket}/images/{dataset}"
    image_objects = job.image_objects if image_bucket else job.objects
    masks_prefix = f"{job.output_prefix}annotations/consolidated-annotation/output/"
    color_map = {
        "0": {"class-name": "BACKGROUND", "hex-color": BACKGROUND_COLOR, "confidence": 0.8}
    }
    for i, name in enumerate(SEGMENT_CLASSES, start=1):
        color_map[str(i)] = {
            "class-name": name,
            "hex-color": SEGMENT_COLORS[name],
            "confidence": 0.8,
        }
    mask_colors = {name: _rgb(color) for name, color in SEGMENT_COLORS.items()}
    lines = []
    for index in range(images):
        size = rng.choice([(320, 240), (400, 300)])
        scene = _draw_scene(rng, size, index)
        folder = "cam-a" if index % 2 else "cam-b"
        ref = f"s3://{images_at}/{folder}/frame_{index // 2:04d}.jpg"
        image_objects[ref.split("/", 3)[3]] = _jpeg(
            _paint(size, scene, PHOTO_COLORS, (150, 170, 200))
        )
        mask = _paint(size, scene, mask_colors, _rgb(BACKGROUND_COLOR))
        mask_key = f"{masks_prefix}{index}_2026-11-24T10:00:{index:02d}.000Z.png"
        if index == WRONG_SIZE:
            mask = mask.resize((size[0] // 2, size[1] // 2), Image.Resampling.NEAREST)
        if index == STRAY_COLOR:
            mask.putpixel((size[0] // 2, 1), (1, 2, 3))
        if index != MISSING_MASK:
            job.objects[mask_key] = _mask_bytes(mask, index % 3)
        if index not in (MISSING_MASK, WRONG_SIZE, STRAY_COLOR):
            job.truth[ref] = [mask]  # type: ignore[list-item]
        lines.append(json.dumps({
            "source-ref": ref,
            "street-ref": f"s3://{bucket}/{mask_key}",
            "street-ref-metadata": {
                "internal-color-map": color_map, "type": "groundtruth/semantic-segmentation",
                "human-annotated": "yes", "creation-date": "2026-11-24T10:00:00.000000",
                "job-name": f"labeling-job/{job_name}",
            },
        }))  # fmt: skip
    lines.append(json.dumps({"source-ref": f"s3://{images_at}/cam-a/dark.jpg",
                             "street-ref-metadata": {"failure-reason": "ClientError: task expired",
                                                     "job-name": f"labeling-job/{job_name}"}}))  # fmt: skip
    lines.append(json.dumps({"source-ref": f"s3://{images_at}/cam-b/late.jpg"}))
    job.objects[job.manifest_key] = ("\n".join(lines) + "\n").encode()
    job.objects[job.config_key] = json.dumps(
        {"document-version": "2018-11-28", "labels": [{"label": c} for c in SEGMENT_CLASSES]}
    ).encode()
    return job


def make_classification_job(bucket: str, job_name: str = "demo-classification", images: int = 16,
                            seed: int = 13, dataset: str = "pets", multilabel: bool = False,
                            image_bucket: str | None = None) -> SampleJob:  # fmt: skip
    """A finished image classification job (single-label, or multi-label); `truth` maps each
    convertible source-ref to its class names."""
    rng = random.Random(seed)
    attribute = "tags" if multilabel else "animal"
    kind = "ImageMultiClassMultiLabel" if multilabel else "ImageMultiClass"
    job = SampleJob(job_name, bucket, attribute, image_bucket=image_bucket,
                    pre_annotation=f"PRE-{kind}", consolidation=f"ACS-{kind}")  # fmt: skip
    images_at = f"{image_bucket}/{dataset}" if image_bucket else f"{bucket}/images/{dataset}"
    image_objects = job.image_objects if image_bucket else job.objects
    labeled = CLASSIFY_CLASSES[:3]
    lines = []
    for index in range(images):
        folder = "shelter-1" if index % 2 else "shelter-2"
        ref = f"s3://{images_at}/{folder}/photo_{index // 2:03d}.jpg"
        tint = (rng.randint(0, 255), rng.randint(0, 255), rng.randint(0, 255))
        image_objects[ref.split("/", 3)[3]] = _jpeg(Image.new("RGB", (64, 48), tint))
        metadata: dict[str, Any] = {"type": f"groundtruth/image-classification{'-multilabel' if multilabel else ''}",
                                    "human-annotated": "yes", "job-name": f"labeling-job/{job_name}",
                                    "creation-date": "2026-11-24T10:00:00.000000"}  # fmt: skip
        if multilabel:
            chosen = sorted(rng.sample(range(len(labeled)), rng.randint(0, 2)))
            metadata["class-map"] = {str(i): CLASSIFY_CLASSES[i] for i in chosen}
            metadata["confidence-map"] = {str(i): 0.87 for i in chosen}
            value: Any = chosen
            job.truth[ref] = [CLASSIFY_CLASSES[i] for i in chosen]  # type: ignore[misc]
        else:
            chosen_one = index % len(labeled)
            metadata["class-name"] = CLASSIFY_CLASSES[chosen_one]
            metadata["confidence"] = 0.91
            value = chosen_one
            job.truth[ref] = [CLASSIFY_CLASSES[chosen_one]]  # type: ignore[list-item]
        lines.append(
            json.dumps({"source-ref": ref, attribute: value, f"{attribute}-metadata": metadata})
        )
    lines.append(json.dumps({"source-ref": f"s3://{images_at}/shelter-1/blurry.jpg",
                             f"{attribute}-metadata": {"failure-reason": "ClientError: task expired"}}))  # fmt: skip
    job.objects[job.manifest_key] = ("\n".join(lines) + "\n").encode()
    job.objects[job.config_key] = json.dumps(
        {"document-version": "2018-11-28", "labels": [{"label": c} for c in CLASSIFY_CLASSES]}
    ).encode()
    return job
