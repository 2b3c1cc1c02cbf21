"""The quality gate: contract-driven normalisation and checks; failing rows go to quarantine."""
