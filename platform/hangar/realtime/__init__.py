"""LiveQuery: the Parse realtime protocol over WebSockets, beside the gateway (docs/realtime.md)."""
