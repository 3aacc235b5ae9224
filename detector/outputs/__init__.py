"""What a finished run, or a stored one, becomes: JSON, the HTML report, CSV and block lists, notifications.

The session hands over a finished ScanResult (detector/session/); nothing here
changes it, and nothing below this folder imports it.
"""


class OutputError(Exception):
    """An output could not be made (unwritable file, unknown database); one line for the user."""
