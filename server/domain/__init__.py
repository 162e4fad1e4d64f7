"""The queue rules. Plain Python over a database session: no Flask, no Socket.IO."""
