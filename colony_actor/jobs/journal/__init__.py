"""The job journal: JobJournal (store.py), its SQLite database (database.py), the stored
form of a job (codec.py)."""
