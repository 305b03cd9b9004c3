#!/usr/bin/env python3
"""Entry point of `cdk synth` / `cdk deploy` (see cdk.json): the gt2yolo stack, checked by cdk-nag."""

from stacks.app_factory import build_app

app, _ = build_app()
app.synth()
