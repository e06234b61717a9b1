"""Realtime: Parse LiveQuery over WebSockets (issue 12, docs/realtime.md)."""
