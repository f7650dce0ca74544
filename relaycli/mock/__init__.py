"""The built-in local relay: a fake OpenAI- and Anthropic-compatible LLM endpoint on a loopback socket.

``relay mock-server``, ``relay demo`` and the integration tests talk to it over real HTTP/1.1. Its
behaviour (latency, failures, truncated or stalled streams, ...) is set by ``MockOptions`` for the whole
server, by an ``X-Mock`` request header, or by a ``[[mock: ...]]`` directive in the last user message.
Standard library only.

Modules, from the socket inwards:

- ``server``: ``MockServer`` (daemon-thread event loop, connections, the request log) and ``serve``.
- ``httpio``: HTTP/1.1 framing (request head and body, complete and chunked responses).
- ``router``: endpoints, per-request options, the key check, model validation, injected failures.
- ``respond``: ``MockRecord``, complete answers and paced streams with their misbehaviour knobs.
- ``stream``: ``Emitter``, which writes a chunked event stream on schedule and sends keep-alive pings.
- ``wire``, ``openai_wire``, ``anthropic_wire``: the two protocols' JSON and SSE shapes.
- ``answer``: the served models and the deterministic answer words.
- ``options``: ``MockOptions`` and the directive syntax.
"""
