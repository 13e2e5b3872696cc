"""The job journal: durable job records in SQLite (writer.py), their stored form (codec.py)."""
