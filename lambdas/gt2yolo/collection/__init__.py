"""Collections: one dataset fed by many labeling jobs (and dropped manifests).

definition   the cdk.json context `collections`: which jobs and manifests feed a dataset
membership   the members a version holds (`versions/<v>/collection.json`)
lines        a member's manifest read under the collection's attribute and class names
conversion   the members -> the sources and options of one conversion of the dataset
"""

from gt2yolo.collection.conversion import (
    CollectionInput,
    MemberInput,
    collection_classes,
    collection_input,
    split_pins,
)
from gt2yolo.collection.definition import (
    CollectionDefinition,
    CollectionError,
    OnOverlap,
    collection_of_job,
    collection_of_manifest,
    parse_collections,
)
from gt2yolo.collection.lines import LineRewrite, MemberManifest
from gt2yolo.collection.membership import Member, Membership, MemberSource

__all__ = [
    "CollectionDefinition",
    "CollectionError",
    "CollectionInput",
    "LineRewrite",
    "Member",
    "MemberInput",
    "MemberManifest",
    "MemberSource",
    "Membership",
    "OnOverlap",
    "collection_classes",
    "collection_input",
    "collection_of_job",
    "collection_of_manifest",
    "parse_collections",
    "split_pins",
]
