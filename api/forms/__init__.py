"""The department contacts' emailed forms: the router and the log redaction it needs."""

from api.forms.redact import install_log_redaction
from api.forms.routes import router

__all__ = ["install_log_redaction", "router"]
