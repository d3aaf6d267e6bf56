"""Rules of branch life, one module each (organisation, …)."""
