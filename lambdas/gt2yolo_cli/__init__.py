"""The `gt2yolo` command line: a thin shell around the core."""
