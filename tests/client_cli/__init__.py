"""The `mediagate` client commands, run as a user runs them, against a real server process."""
