"""A member of a collection completed: the collection's next version, from all its members.

A collection (context `collections`) is one dataset fed by many jobs and dropped manifests.
Its state is the current version's `collection.json` (gt2yolo.collection.Membership): who the
members are, when each completed, their class orders and the class list so far. A member's
completion adds it (or replaces it, relabeled), members the definition no longer names are left
out, and the union of the members' lines converts as one dataset against the current version:
only the files that changed are written (gt2yolo.incremental), so adding a member writes about
its own files.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass, replace

from gt2yolo import ConversionOptions
from gt2yolo.classes import ClassList, class_list_from_label_config
from gt2yolo.collection import (
    CollectionDefinition,
    CollectionInput,
    Member,
    MemberInput,
    Membership,
    MemberSource,
    collection_input,
    parse_collections,
    split_pins,
)
from gt2yolo.errors import ConversionError
from gt2yolo.manifest import ManifestSource
from gt2yolo.split import Split
from gt2yolo.storage import (
    ObjectInfo,
    ObjectMissing,
    ObjectStore,
    ReadDenied,
    S3Uri,
    object_at,
    read_or_none,
    store_manifest,
)
from gt2yolo.survey import survey_manifests
from gt2yolo.task_types import LabelTask
from gt2yolo.versions import read_pointer, version_key
from gt2yolo.writers import IMAGES_CSV

from workflow.models import ConversionRequest
from workflow.ports import StoragePorts

STATE_NAME = "collection.json"  # in versions/<v>/: the members the version was converted from


@dataclass(frozen=True)
class CollectionRun:
    """What a member's completion converts: the collection's members after it."""

    definition: CollectionDefinition
    previous: Membership  # the current version's (empty for a new collection)
    membership: Membership  # after this completion, before conversion
    removed: tuple[str, ...]  # members the definition no longer names
    previous_version: str | None

    def fingerprint(self, split: tuple[float, float], copy_images: bool) -> str:
        """Same members (same manifests), same definition, same split: same dataset."""
        parts = {
            "collection": self.definition.as_context(),
            "members": [_identity(m) for m in self.membership.members],
            "split": list(split),
            "images": copy_images,
        }
        return hashlib.sha256(json.dumps(parts, sort_keys=True).encode()).hexdigest()[:32]


def _identity(member: Member) -> list[str | None]:
    """What makes a member's lines what they are: a re-dropped manifest has a new version."""
    return [
        member.name, member.manifest_uri, member.manifest_version, member.completed_at,
        member.label_attribute, member.label_config_uri, str(member.task),
    ]  # fmt: skip


def definition_of(request: ConversionRequest) -> CollectionDefinition:
    """The definition Resolve matched the member against (as in cdk.json)."""
    if request.collection is None:
        raise ValueError(f"{request.job_name} is not a member of a collection")
    (definition,) = parse_collections([request.collection])
    return definition


def collection_run(
    request: ConversionRequest, dataset: ObjectStore, manifest: ObjectInfo, ports: StoragePorts
) -> CollectionRun:
    """The members after this one's completion: the current version's, this one added."""
    definition = definition_of(request)
    version, previous = read_membership(dataset)
    previous = previous or Membership(definition.name)
    member = _member(request, manifest, ports)
    membership, removed = previous.with_member(member).restricted_to(definition)
    return CollectionRun(definition, previous, membership, removed, version)


def read_membership(dataset: ObjectStore) -> tuple[str | None, Membership | None]:
    """The current version and its members (None for a new collection). A version written
    before the dataset was a collection has no state: the collection starts from this member."""
    pointer = read_pointer(dataset)
    if pointer is None:
        return None, None
    raw = read_or_none(dataset, version_key(pointer.version) + STATE_NAME)
    return pointer.version, None if raw is None else Membership.from_json(raw)


def conversion_input(
    run: CollectionRun, base: ConversionOptions, dataset: ObjectStore, ports: StoragePorts
) -> CollectionInput:
    """Every member's lines, read as one dataset's (gt2yolo.collection), each image in the
    split it had in the current version."""
    members = [
        MemberInput(member, _manifest(member, ports), _class_list(member.label_config_uri, ports))
        for member in run.membership.members
    ]
    pins = _split_pins(dataset, run.previous_version, base)
    return collection_input(
        run.definition, members, replace(base, split_pins=pins),
        previous_classes=run.previous.classes, removed=run.removed,
    )  # fmt: skip


def write_membership(version_store: ObjectStore, membership: Membership) -> None:
    version_store.write_bytes(STATE_NAME, membership.to_json().encode())


def _member(request: ConversionRequest, manifest: ObjectInfo, ports: StoragePorts) -> Member:
    """The completed member as the state keeps it. A dropped manifest's bucket key names it
    (the definition's `manifests` patterns match keys); its attribute and task, when no
    sidecar says, are its lines' (a survey of its manifest alone)."""
    dropped = request.source == "manifest-drop"
    attribute, task = request.label_attribute, request.task
    if attribute is None or task is None:
        survey = survey_manifests(
            [store_manifest(ports.stores, request.manifest_uri)], attribute, None,
            task=LabelTask(task) if task else None,
        )  # fmt: skip
        attribute, task = attribute or survey.label_attribute, task or str(survey.task)
    return Member(
        name=S3Uri.parse(request.manifest_uri).key if dropped else request.job_name,
        manifest_uri=request.manifest_uri,
        completed_at=request.completed_at or "",
        label_attribute=attribute,
        task=LabelTask(task),
        source=MemberSource.MANIFEST_DROP if dropped else MemberSource.LABELING_JOB,
        label_config_uri=request.label_config_uri,
        manifest_version=manifest.version_id or manifest.etag,
    )


def _split_pins(
    dataset: ObjectStore, version: str | None, options: ConversionOptions
) -> dict[str, Split] | None:
    """Where changed split fractions would move images of the current version: kept there."""
    if version is None:
        return None
    raw = read_or_none(dataset, version_key(version) + IMAGES_CSV)
    return None if raw is None else dict(split_pins(raw.decode(), options.fractions)) or None


def _manifest(member: Member, ports: StoragePorts) -> ManifestSource:
    store, key = object_at(ports.stores, member.manifest_uri)
    try:
        store.stat(key)
    except (ObjectMissing, ReadDenied):
        raise ConversionError(
            f"member {member.name} of the collection: its manifest {member.manifest_uri} is gone "
            "(or not readable); restore it, or leave the member out of the collection's "
            "definition"
        ) from None
    return store_manifest(ports.stores, member.manifest_uri)


def _class_list(uri: str | None, ports: StoragePorts) -> ClassList | None:
    if uri is None:
        return None
    store, key = object_at(ports.stores, uri)
    return class_list_from_label_config(store.read_bytes(key), uri)
