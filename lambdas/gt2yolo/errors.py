"""Errors that stop a conversion: input the user must fix before any dataset makes sense."""


class ConversionError(Exception):
    """Unusable input. The message is one actionable sentence, shown as-is to users."""
