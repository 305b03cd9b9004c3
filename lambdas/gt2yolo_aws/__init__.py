"""AWS adapters of the core's small interfaces (S3 storage, S3 manifests, S3 image copies)."""
