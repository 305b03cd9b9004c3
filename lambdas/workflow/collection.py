"""A member of a collection completed: the collection's next version, from all its members.

A collection (context `collections`) is one dataset fed by many jobs and dropped manifests.
Its state is the current version's `collection.json` (gt2yolo.collection.Membership): who the
members are, when each completed, and the class list so far. A member's completion adds it (or
replaces it, relabeled), members the definition no longer names are left out, and the union of
the members' lines converts as one dataset against the current version: only the files that
changed are written (gt2yolo.incremental), so adding a member writes about its own files.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass, replace

from gt2yolo import ConversionOptions
from gt2yolo.classes import ClassList, class_list_from_label_config
from gt2yolo.collection import (
    CollectionDefinition,
    Member,
    Membership,
    collection_input,
    parse_collections,
)
from gt2yolo.errors import ConversionError
from gt2yolo.manifest import ManifestSource
from gt2yolo.storage import ObjectInfo, ObjectMissing, ObjectStore, ReadDenied, object_at
from gt2yolo.storage import read_or_none, store_manifest
from gt2yolo.versions import read_pointer, version_key

from workflow.models import ConversionRequest
from workflow.ports import StoragePorts

STATE_NAME = "collection.json"  # in versions/<v>/: the members the version was converted from


@dataclass(frozen=True)
class CollectionRun:
    """What a member's completion converts: the collection's members after it, and why."""

    definition: CollectionDefinition
    membership: Membership
    removed: tuple[str, ...]  # members the definition no longer names

    def fingerprint(self, split: tuple[float, float], copy_images: bool) -> str:
        """Same members (same manifests), same definition, same split: same dataset."""
        parts = {
            "collection": self.definition.as_context(),
            "members": [
                [m.name, m.manifest_uri, m.manifest_version, m.completed_at,
                 m.label_attribute, m.label_config_uri, m.task]
                for m in self.membership.members
            ],  # fmt: skip
            "split": list(split),
            "images": copy_images,
        }
        return hashlib.sha256(json.dumps(parts, sort_keys=True).encode()).hexdigest()[:32]


    def after(self, options: ConversionOptions) -> Membership:
        """The state the new version keeps: these members, and the class list it used."""
        names = options.class_list.names if options.class_list else self.membership.classes
        return replace(self.membership, classes=names)


    def new_classes(self, options: ConversionOptions) -> list[str]:
        """Classes the new version appends to the collection's list (ids after the old ones)."""
        known = set(self.membership.classes)
        names = options.class_list.names if options.class_list else ()
        return [name for name in names if name not in known]


def definition_of(request: ConversionRequest) -> CollectionDefinition:
    """The definition Resolve matched the member against (as in cdk.json)."""
    if request.collection is None:
        raise ValueError(f"{request.job_name} is not a member of a collection")
    (definition,) = parse_collections([request.collection])
    return definition


def collection_run(
    request: ConversionRequest, dataset: ObjectStore, manifest: ObjectInfo
) -> CollectionRun:
    """The members after this one's completion: the current version's, this one added."""
    definition = definition_of(request)
    previous = read_membership(dataset) or Membership(definition.name, (), definition.classes)
    member = Member(
        name=request.job_name,
        manifest_uri=request.manifest_uri,
        completed_at=request.completed_at or "",
        label_attribute=request.label_attribute,
        label_config_uri=request.label_config_uri,
        task=request.task,
        source=request.source,
        manifest_version=manifest.version_id or manifest.etag,
    )
    membership, removed = previous.with_member(member).restricted_to(definition)
    return CollectionRun(definition, membership, tuple(removed))


def read_membership(dataset: ObjectStore) -> Membership | None:
    """The current version's members; None for a new collection. A version written before the
    dataset was a collection has no state: the collection starts over from this member."""
    pointer = read_pointer(dataset)
    if pointer is None:
        return None
    raw = read_or_none(dataset, version_key(pointer.version) + STATE_NAME)
    return None if raw is None else Membership.from_json(raw.decode())


def member_sources(
    run: CollectionRun, base: ConversionOptions, ports: StoragePorts
) -> tuple[list[ManifestSource], ConversionOptions]:
    """Every member's lines, read as one dataset's (gt2yolo.collection)."""
    members = [
        (member, _manifest(member, ports), _class_list(member.label_config_uri, ports))
        for member in run.membership.members
    ]
    return collection_input(members, run.membership.classes, run.definition, base)


def write_membership(version_store: ObjectStore, membership: Membership) -> None:
    version_store.write_bytes(STATE_NAME, membership.to_json().encode())


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
