"""Native builds: profiles, the signing vault, the build queue, agents, toolchains and artifacts (docs/builds.md)."""
