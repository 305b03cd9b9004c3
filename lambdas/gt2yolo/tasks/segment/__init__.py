"""Semantic segmentation (`groundtruth/semantic-segmentation`) -> a YOLO segmentation dataset:
`reader` reads the lines (mask URI, color map), `yolo` traces the masks into polygons and writes
the files, `masks` (OpenCV, numpy) traces.

The pass is imported only when a segmentation job converts, and it imports `masks` only when it
traces: the other tasks, and a fan-out's merge of a segmentation job, never load OpenCV.
"""
