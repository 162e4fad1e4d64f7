"""Lượt — the central server: queue rules, storage, API and the real-time hub."""
