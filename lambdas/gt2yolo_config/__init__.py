"""The configuration contract of the pipeline, shared by the CDK app and the Lambda functions.

`defaults`: the bucket layout and the pipeline's defaults (referencing the core's where the core
owns them). `environment`: each function's environment variables, with their types and
defaults. Standard library and the pure core only: the CDK app imports it without the
functions' packages, and it ships in every function's code asset (all of `lambdas/`).
"""
