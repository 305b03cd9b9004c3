"""No manifest makes gt2yolo fail badly: a seeded mutator over every field and type.

Each case starts from a small valid output manifest (sparse class-maps, confidences, a
background image, a chained verification attribute) and applies one to three mutations: any
JSON value at any depth (keys too) replaced by an awkward value of any type (huge and tiny
numbers, NaN, 401- and 5,000-digit integers, nesting 1,000 deep, odd strings and paths, odd
class-maps), a key deleted or added; or, on the bytes, a line cut, doubled, blanked (after a
byte order mark too), junk bytes inserted, the file saved as UTF-16. Seeds make every case
reproducible: a failure names its seed and keeps the manifest.

Each case runs in-process through the core (json, and orjson where installed: same bytes) and
through `gt2yolo_cli.main.main`. The oracles:
- no exception but ConversionError from the core; no traceback from the CLI, which exits 0 when
  at least one line of every manifest converted, else 1 with one `gt2yolo: error:` line and
  `--out` left as it was;
- report.json's counts equal images.csv rows plus rejected.jsonl lines, which equal the
  non-blank input lines; every label row is `class cx cy w h` inside [0, 1] with a size;
  data.yaml parses, names a mapping; details stay short.
"""

from __future__ import annotations

import codecs
import copy
import json
import math
import random
import shutil
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import yaml
from gt2yolo import ConversionError, ConversionOptions, convert_manifests
from gt2yolo import manifest as manifest_module
from gt2yolo.classes import class_list_from_label_config
from gt2yolo.geometry import MIN_NORMALIZED_SIZE
from gt2yolo.records import LineRejection
from gt2yolo.split import SplitFractions
from gt2yolo.storage import LocalManifest, LocalStorage
from gt2yolo_cli.main import main
from gt2yolo_cli.output import MARKER
from gt_builders import NAMES, box, label_config, record, ref, verification

try:
    import orjson  # noqa: F401

    HAS_ORJSON = True
except ImportError:
    HAS_ORJSON = False

CASES = 1200
BLOCKS = 12  # parametrized blocks: pytest-xdist spreads them over its workers
CASES_PER_BLOCK = CASES // BLOCKS
ORJSON_EVERY = 3  # every third case is also converted with json alone and compared byte for byte

RAW_PREFIX = "@@raw:"
RAW_TEXTS = {
    "deep": "[" * 1000 + "]" * 1000,
    "deep-object": '{"a":' * 400 + "1" + "}" * 400,
    "int5000": "7" * 5000,
    "int401": "9" * 401,
    "neg-int401": "-" + "9" * 401,
    "float-huge": "1e400",
}
AWKWARD: list[Any] = [
    None, True, False, 0, -1, 1, 7, 49, 999, 1000, 2**63, 10**400 // 10**300, 0.5, -0.0, 1e-320,
    5e-324, 1e308, -1e308, float("nan"), float("inf"), float("-inf"), 3.0, 639.9999999,
    "", " ", "x", "0", "07", "1.0", "-1", "\u2028", "a\nb", "\ud800", "é", "x" * 300, "9" * 5000,
    "cat", "dog", "good", "bad", "groundtruth/object-detection",
    [], [None], [{}], [{"width": 0, "height": 0}], {}, {"a": 1}, {"1.0": "dog"}, {"0": None},
    {"0": "cat", "1": "cat"}, {"0": "dog"}, {"01": "cat", "1": "dog"}, {"5000": "x"},
    {"0": "c\nat"}, {"0": "\ud800"},
    ref("../x.jpg"), ref("x.jpg"), ref("a/x.png"), ref("images/x.jpg"), ref("a"),
    ref("f0/img0.txt/x.jpg"), ref("f1/img1.txt"), ref("F0/IMG2.JPG"),  # label path clashes
    "s3://bucket", "https://bucket/x.jpg", "s3://b/" + "d/" * 2100 + "x.jpg",
    ref("n" * 300 + ".jpg"), ref("\u20ac" * 90 + ".jpg"), ref("tab\there.jpg"),
    *(RAW_PREFIX + name for name in RAW_TEXTS),
]  # fmt: skip
JUNK = [b"\x00", b"\xff", b"\xc3", b"{", b"}", b'"', b"\\", b"\r", b"\xef\xbb\xbf", b"\xff\xfe"]
BLANKS = [b"", b"   ", b"\t", b"\r", b"\xef\xbb\xbf", b"\xef\xbb\xbf  \r", b"\x0c"]
FOREIGN_BOMS = (codecs.BOM_UTF32_LE, codecs.BOM_UTF32_BE, codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)
MAX_MESSAGE = 2000


def _base_lines(rng: random.Random) -> list[dict[str, Any]]:
    """A valid manifest of 3 to 6 lines: boxes of 0 to 3 classes, one with a verification."""
    lines = []
    for i in range(rng.randint(3, 6)):
        boxes = [
            box(
                rng.randrange(4), rng.randint(-20, 400), rng.randint(0, 300), 30, rng.randint(1, 90)
            )
            for _ in range(rng.randint(0, 3))
        ]
        entry = record(ref(f"f{i % 2}/img{i}.jpg"), boxes, confidences=[0.9] * len(boxes))
        if i == 1:
            entry.update(verification("check", "good"))
        lines.append(entry)
    return lines


def _nodes(value: Any) -> Iterator[tuple[Any, Any]]:
    """(container, key or index) of every value below `value`, iteratively."""
    pending = [value]
    while pending:
        container = pending.pop()
        keys = list(container) if isinstance(container, dict) else range(len(container))
        for key in keys:
            yield container, key
            if isinstance(container[key], dict | list):
                pending.append(container[key])


def _awkward(rng: random.Random) -> Any:
    return copy.deepcopy(rng.choice(AWKWARD))


def _mutate_value(rng: random.Random, entry: dict[str, Any]) -> None:
    nodes = list(_nodes(entry))
    container, key = rng.choice(nodes)
    action = rng.random()
    if action < 0.6:
        container[key] = _awkward(rng)
    elif action < 0.75 and isinstance(container, dict):
        del container[key]
    elif action < 0.9 and isinstance(container, dict):
        new_key = rng.choice(["", "1.0", "-1", "0", "x" * 300, "source-ref", "\ud800", "boxes"])
        container[new_key] = container.pop(key)
    elif isinstance(container, list):
        container.append(_awkward(rng))
    else:
        container[rng.choice(["extra", "failure-reason", "class-map", "image_size"])] = _awkward(
            rng
        )


def _dump(entry: dict[str, Any]) -> bytes:
    text = json.dumps(entry)
    for name, raw in RAW_TEXTS.items():
        text = text.replace(json.dumps(RAW_PREFIX + name), raw)
    return text.encode("utf-8", "surrogatepass")


def _mutate_bytes(rng: random.Random, lines: list[bytes]) -> None:
    at = rng.randrange(len(lines))
    action = rng.randrange(6)
    if action == 0:
        lines[at] = lines[at][: rng.randrange(len(lines[at]) + 1)]
    elif action == 1:
        lines.insert(at, lines[rng.randrange(len(lines))])
    elif action == 2:
        lines.insert(at, rng.choice(BLANKS))
    elif action == 3:
        cut = rng.randrange(len(lines[at]) + 1)
        lines[at] = lines[at][:cut] + rng.choice(JUNK) + lines[at][cut:]
    elif action == 4:
        lines[at] = b"\xef\xbb\xbf" + lines[at]
    else:
        lines[at] = lines[at].decode("utf-8", "surrogatepass").encode("utf-16-le", "surrogatepass")


def fuzz_case(seed: int) -> bytes:
    """The manifest of case `seed`: a valid one with one to three mutations."""
    rng = random.Random(seed)
    entries = _base_lines(rng)
    mutations = rng.randint(1, 3)
    for _ in range(mutations):
        if rng.random() < 0.75:
            _mutate_value(rng, rng.choice(entries))
    lines = [_dump(entry) for entry in entries]
    for _ in range(mutations):
        if rng.random() < 0.25:
            _mutate_bytes(rng, lines)
    data = b"\n".join(lines) + rng.choice([b"\n", b"", b"\r\n"])
    if rng.random() < 0.02:
        data = "\ufeff".encode("utf-16-le") + data.decode("utf-8", "replace").encode("utf-16-le")
    return data


def fuzz_manifests(seed: int) -> list[bytes]:
    """Case `seed` as one manifest, or (every fifth case) cut in two merged manifests."""
    data = fuzz_case(seed)
    if seed % 5 != 2:
        return [data]
    lines = data.split(b"\n")
    cut = random.Random(seed).randrange(1, len(lines))
    return [b"\n".join(lines[:cut]) + b"\n", b"\n".join(lines[cut:])]


def _options(seed: int, folder: Path) -> tuple[ConversionOptions, list[str]]:
    """Core options and the matching CLI arguments: with or without config and attribute."""
    config = folder / "data.json" if seed % 2 == 0 else None
    attribute = "boxes" if seed % 3 != 0 else None
    arguments = ["--val-fraction", "0.25", "--images", "skip", "--no-progress"]
    if config is not None:
        config.write_bytes(label_config(*NAMES))
        arguments += ["--label-config", str(config)]
    if attribute is not None:
        arguments += ["--label-attribute", attribute]
    options = ConversionOptions(
        label_attribute=attribute,
        class_list=None
        if config is None
        else class_list_from_label_config(label_config(*NAMES), str(config)),
        fractions=SplitFractions(val=0.25),
    )
    return options, arguments


def _non_blank_lines(data: bytes) -> int:
    pieces = data.split(b"\n")
    if pieces and not pieces[-1]:
        pieces.pop()
    return sum(
        1
        for p in pieces
        if p and not p.isspace() and not (p.startswith(codecs.BOM_UTF8) and not p[3:].strip())
    )


def _check_dataset(root: Path, manifests: list[bytes], where: str) -> dict[str, Any]:
    """The counting and file oracles; report.json."""
    report = json.loads((root / "report.json").read_text(encoding="utf-8"))
    images = (root / "images.csv").read_text(encoding="utf-8").count("\n") - 1
    rejected = [json.loads(r) for r in (root / "rejected.jsonl").read_text().splitlines()]
    assert report["images"] == images, where
    assert report["rejected_lines"] == sum(report["rejected"].values()) == len(rejected), where
    lines = sum(_non_blank_lines(data) for data in manifests)
    assert report["lines"] == images + len(rejected) == lines, where
    assert [m["lines"] for m in report["manifests"]] == [_non_blank_lines(d) for d in manifests]
    assert {r["reason"] for r in rejected} <= {str(r) for r in LineRejection}, where
    for entry in rejected:
        assert 0 < len(entry["detail"]) <= 500, where
        assert entry["source_ref"] is None or len(entry["source_ref"]) <= 2048, where
    names = yaml.safe_load((root / "data.yaml").read_text(encoding="utf-8"))["names"]
    assert isinstance(names, dict) and len(names) == len(report["classes"]), where
    for label in (root / "labels").rglob("*.txt"):
        for row in label.read_text().splitlines():
            class_id, *values = row.split(" ")
            assert 0 <= int(class_id) < len(names), where
            numbers = [float(v) for v in values]
            assert len(numbers) == 4 and all(0 <= v <= 1 and math.isfinite(v) for v in numbers)
            assert numbers[2] >= MIN_NORMALIZED_SIZE and numbers[3] >= MIN_NORMALIZED_SIZE, where
    return dict(report)


def _convert_core(paths: list[Path], out: Path, options: ConversionOptions) -> str | None:
    """Convert with the core: None on success, the ConversionError's message otherwise."""
    try:
        convert_manifests([LocalManifest(p) for p in paths], LocalStorage(out), options)
    except ConversionError as exc:
        return str(exc)
    return None


def _tree(root: Path) -> dict[str, bytes]:
    return {p.relative_to(root).as_posix(): p.read_bytes() for p in root.rglob("*") if p.is_file()}


def _check_case(
    seed: int, folder: Path, capsys: pytest.CaptureFixture[str], prior: Path | None = None
) -> None:
    """One case through the core and the CLI; `prior`: a dataset --out holds before the run."""
    manifests = fuzz_manifests(seed)
    where = f"fuzz case {seed} (manifests kept in {folder})"
    paths = [folder / f"job{i}.manifest" for i in range(len(manifests))]
    for path, data in zip(paths, manifests, strict=True):
        path.write_bytes(data)
    options, arguments = _options(seed, folder)

    # The core: only ConversionError, and the oracles on whatever it wrote
    core_out = folder / "core"
    error = _convert_core(paths, core_out, options)
    if error is None:
        report = _check_dataset(core_out, manifests, where)
        assert all(m["images"] >= 1 for m in report["manifests"]), where
    else:
        assert "\n" not in error and len(error) < MAX_MESSAGE, where
        if any(data.startswith(FOREIGN_BOMS) for data in manifests):
            assert "UTF-16" in error or "UTF-32" in error, where
        if (core_out / "report.json").is_file():
            report = _check_dataset(core_out, manifests, where)
            converted = [m["images"] for m in report["manifests"]]
            assert 0 in converted, where

    # json alone writes the same bytes as with orjson
    if HAS_ORJSON and seed % ORJSON_EVERY == 0:
        with pytest.MonkeyPatch.context() as patch:
            patch.setattr(manifest_module, "_fast_loads", None)
            assert _convert_core(paths, folder / "json", options) == error, where
        assert _tree(folder / "json") == _tree(core_out), where

    # The CLI, in-process: exit 0 with the core's dataset (replacing any earlier one whole),
    # or 1 with one line and --out as it was
    cli_out = folder / "cli"
    if prior is not None:
        shutil.copytree(prior, cli_out)
    before = _tree(cli_out) if prior is not None else None
    status = main(["convert", *map(str, paths), "--out", str(cli_out), *arguments])
    captured = capsys.readouterr()
    if error is None:
        assert (status, captured.err) == (0, ""), where
        for key in ("report.json", "rejected.jsonl", "images.csv", "annot.csv", "classes.txt"):
            assert (cli_out / key).read_bytes() == (core_out / key).read_bytes(), where
        assert set(_tree(cli_out)) == {*_tree(core_out), MARKER}, where
    else:
        assert status == 1, where
        assert captured.err.startswith("gt2yolo: error: "), where
        assert captured.err.count("\n") == 1 and len(captured.err) < MAX_MESSAGE, where
        assert (_tree(cli_out) if cli_out.exists() else None) == before, where


def _prior_dataset(folder: Path, capsys: pytest.CaptureFixture[str]) -> Path:
    """A dataset of the CLI from a valid manifest (other image names than the cases')."""
    manifest = folder / "prior.manifest"
    manifest.write_text(json.dumps(record(ref("old/prior.jpg"), [box(1)])) + "\n")
    out = folder / "prior"
    assert main(["convert", str(manifest), "--out", str(out), "--images", "skip"]) == 0
    capsys.readouterr()
    return out


@pytest.mark.parametrize("block", range(BLOCKS))
def test_no_mutated_manifest_gives_a_traceback_and_every_line_is_accounted_for(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], block: int
) -> None:
    prior = _prior_dataset(tmp_path, capsys)
    for seed in range(block * CASES_PER_BLOCK, (block + 1) * CASES_PER_BLOCK):
        folder = tmp_path / f"case{seed}"
        folder.mkdir()
        # Every fourth case converts into a folder already holding one of our datasets.
        _check_case(seed, folder, capsys, prior if seed % 4 == 1 else None)
        shutil.rmtree(folder)  # kept only when the case fails


def test_the_fuzzer_reaches_every_outcome() -> None:
    # Given the cases' manifests
    manifests = [fuzz_case(seed) for seed in range(CASES)]

    # Then they include each awkward input the mutator is there to produce
    joined = b"\n".join(manifests)
    for raw in RAW_TEXTS.values():
        assert raw.encode() in joined
    assert any(m.startswith(FOREIGN_BOMS) for m in manifests)
    assert b'"1.0": "dog"' in joined and b"1e-320" in joined and b"\\ud800" in joined
    assert b"\n\xef\xbb\xbf\n" in joined or b"\n\xef\xbb\xbf  \r\n" in joined
    assert ref("f0/img0.txt/x.jpg").encode() in joined and b"d/" * 2100 in joined
    assert sum(len(fuzz_manifests(seed)) == 2 for seed in range(CASES)) == CASES // 5
