"""Personal data (Law 91/2025/QH15 on personal data protection, in force 1 Jan 2026): what is purged and when
(`purge.py`, run daily by `luot serve` and by `luot privacy purge`), and an admin's search and deletion of one
citizen's data (`person.py`, `routes.py`). The README's "Personal data" section lists every column."""
