"""The client core: wire protocols, SSE decoding, retries, timeouts, timing. The only user of httpx."""
