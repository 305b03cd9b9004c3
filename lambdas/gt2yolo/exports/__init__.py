"""Exports: the dataset in the formats users train with beyond YOLO, written beside it.

Each export is one more writer over the same typed records a task's pass produces (its YOLO
writer first): COCO (`exports/coco/<split>.json`), Rekognition Custom Labels
(`exports/rekognition/{train,test}.manifest`) and SageMaker augmented manifests
(`exports/sagemaker/{train,validation}.manifest`). Formats live here; which records a format can
hold is each task package's (`gt2yolo.tasks.<task>.exports`).
"""
