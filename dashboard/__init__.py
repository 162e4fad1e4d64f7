"""The manager pages: live dashboard, history with charts and exports, and the administration."""
