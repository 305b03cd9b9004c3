"""Sample data with known content: finished Ground Truth jobs in their real layouts.

Shared by the unit and end-to-end tests, the demo and the benchmarks: `detection` (bounding
boxes, the base `SampleJob`), `image_tasks` (semantic segmentation, image classification) and
`video` (video frame tracking and detection). Not part of any Lambda asset.
"""
