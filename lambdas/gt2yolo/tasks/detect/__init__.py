"""Bounding boxes (`groundtruth/object-detection`) -> a YOLO detection dataset (and Darknet's
obj.data): `reader` reads the lines, `rules` applies the box rules, `yolo` writes the files,
`task_pass` feeds one to the other."""
