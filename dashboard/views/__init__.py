"""Dashboard views, one module per area; each view makes one service or selector call."""
