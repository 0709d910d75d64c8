"""The demo's one error type: a single line that says what is wrong and how to fix it."""


class DemoError(Exception):
    """Raised for any condition the user can fix; printed as one line, never a traceback."""
