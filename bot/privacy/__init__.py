"""Data rights: forget a person or a conversation, export what is held, expire old data, mask personal data."""
