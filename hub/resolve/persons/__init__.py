"""Person resolution: gather mentions, link deterministically then with Splink, stable ids, golden records."""
