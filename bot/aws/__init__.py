"""AWS access: the only package that imports boto3. Read-only APIs only (see deploy/iam-policy.json)."""
