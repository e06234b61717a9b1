"""Hangar's benchmark harness: Hangar and Parse Server side by side in one run (see bench/README.md)."""
