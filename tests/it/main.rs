//! Integration tests: the real Rocket app against a real database.
