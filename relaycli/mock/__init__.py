"""The built-in local relay: a fake OpenAI- and Anthropic-compatible LLM endpoint on a loopback socket.

``relay mock-server``, ``relay demo`` and the integration tests talk to it over real HTTP/1.1. Its
behaviour (latency, failures, truncated or stalled streams, ...) is set by ``MockOptions`` for the whole
server, by an ``X-Mock`` request header, or by a ``[[mock: ...]]`` directive inside the last user message.

Modules: ``options`` (the knobs and their directive syntax), ``httpio`` (HTTP/1.1 framing), ``wire`` (the
two protocols' JSON and SSE shapes, the served models, the deterministic answer) and ``server``
(``MockServer`` and ``serve``). Standard library only.
"""
