"""The user's keys: derived from one mnemonic, their indexes kept in an encrypted file."""
