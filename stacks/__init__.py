"""AWS CDK app of gt2yolo: the serverless Ground Truth -> YOLO pipeline."""
