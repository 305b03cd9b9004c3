"""Ground Truth output manifests (boxes, masks, classes, video frames) -> YOLO datasets.

The pure core: standard library only, no AWS. Data flows
manifest lines (`manifest`) -> typed records (`records`) -> rules (`classes`, `geometry`,
`paths`, `split`) -> writers (`writers`), orchestrated by `convert.convert_manifests`.
Storage (a local folder or an S3 prefix) is reached only through `storage.Storage`.
"""

from gt2yolo.convert import ConversionOptions, ConversionResult, convert_manifests
from gt2yolo.errors import ConversionError

__all__ = ["ConversionError", "ConversionOptions", "ConversionResult", "convert_manifests"]
