"""Video frame object detection and tracking -> a detection dataset of the frames, split by
sequence, and MOT tracks: `reader` reads the lines and the files they name, `yolo` writes the
frames through the bounding-box rules (`gt2yolo.tasks.detect.rules`)."""
