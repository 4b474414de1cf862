"""The department contacts' forms: emailed links, drafts and submitted answers."""
