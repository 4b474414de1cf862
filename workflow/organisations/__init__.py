"""Managing the installation's organisations (the platform operator's work, issue 15)."""
