"""Object storage (MinIO / S3) for the storage panel.

Core modules here know the minio SDK and the file system but nothing of jupyter-server; only
:mod:`.handlers` and :mod:`.upload_handler` do, and they stay thin.
"""
