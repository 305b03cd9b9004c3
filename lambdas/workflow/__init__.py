"""The pipeline's steps as plain functions over small ports: resolve -> convert -> publish.

No Powertools here and no boto3 client construction: handlers wire adapters in, tests wire fakes
or moto-backed clients.
"""
