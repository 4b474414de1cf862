"""Reports (Status-Quo-Bericht, Jahresbericht, Sitzungsunterlage) as HTML and PDF, and exports.

``build`` is the one entry point of the CLI and the API; it reads, never writes.
"""
