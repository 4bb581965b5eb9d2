"""The Python SDK (clients/python) against a real gateway and its emulator."""
