"""A translated message with parameters: plain text as a string, and in a page every parameter escaped."""
from __future__ import annotations

from markupsafe import escape


class WithParameters:
    """`WithParameters(_l("Share it with %(clinic)s"), clinic=name)`: translated when shown. As str() it is
    plain text (a JSON error, an e-mail, the command line); in a template (its __html__) the message is
    escaped and so is each parameter, so a clinic name or a typed value can never become markup.

    Flask-Babel's own lazy string with parameters would not do: its __html__ marks the whole
    interpolated text safe, parameters included."""

    __slots__ = ("message", "parameters")

    def __init__(self, message: object, **parameters: object) -> None:
        self.message = message
        self.parameters = parameters

    def __str__(self) -> str:
        return str(self.message) % {name: str(value) for name, value in self.parameters.items()}

    def __html__(self) -> str:
        return str(escape(str(self.message)) % self.parameters)

    def __repr__(self) -> str:
        return f"WithParameters({str(self.message)!r}, {self.parameters!r})"
