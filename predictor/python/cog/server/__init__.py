"""cog.server - kept for imports of cog.server.exceptions."""
