"""Per-app OpenAPI documents and typed client SDKs (Python, TypeScript, Java) generated from the app's schema."""
