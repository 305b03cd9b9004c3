"""Image classification, single-label and multi-label -> an Ultralytics classification dataset
(class folders) or, multi-label, images with labels.csv: `reader` reads the lines, `yolo`
places and writes the images."""
