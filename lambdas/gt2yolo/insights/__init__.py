"""Looking at a converted dataset: previews chosen, boxes counted, labelers measured, one page.

Pure like the rest of the core (standard library only). Data flows
dataset files (`dataset`) and worker responses (`workers`) -> numbers (`stats`, `agreement`)
and a preview sample (`sampling`; by sequence for video frames: `video`) -> one
self-contained HTML page (`page`, laying out the task's `*_sections`, which build on `parts`
and `charts`). report.json is read as its typed model (`gt2yolo.report`, each task's `report` module).
Drawing the previews needs Pillow and lives outside the core, in `gt2yolo_report`.
"""
