"""Infrastructure tests: synthesize the CDK app offline and check the CloudFormation template."""
