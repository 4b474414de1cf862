"""The integration monitoring: its yearly report and what the Monitoringgruppe checks."""
