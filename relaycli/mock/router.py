"""Routing and policy: which endpoint, which options (server's, then ``X-Mock``, then ``[[mock: ...]]``),
the key check, model validation and injected failures, before ``respond`` sends the answer."""

from __future__ import annotations

import hmac
import json
import math
import random
import time
from collections.abc import Callable
from typing import Any

from relaycli.mock import dist, respond
from relaycli.mock.answer import MODEL_IDS, MODELS, answer_tokens
from relaycli.mock.anthropic_wire import ANTHROPIC, anthropic_models
from relaycli.mock.httpio import Request, reason
from relaycli.mock.openai_wire import OPENAI, openai_models
from relaycli.mock.options import MockOptions, canonical, prompt_directives
from relaycli.mock.respond import HTML, JSON, MockCall
from relaycli.mock.wire import HTML_PAGE, Protocol, WireError, directive_text, dumps

CHAT_PATHS: dict[str, Protocol] = {"/v1/chat/completions": OPENAI, "/v1/messages": ANTHROPIC}
COUNT_PATH = "/v1/messages/count_tokens"


class Router:
    """Answers requests with the options ``get_options()`` returns at the time of each request."""

    def __init__(self, get_options: Callable[[], MockOptions]) -> None:
        self._get_options = get_options
        self.fail_counts: dict[str, int] = {}
        """Requests that matched a ``fail_times`` failure, per canonical directive string ("" for the
        server's own options)."""
        self.rngs: dict[int, random.Random] = {}
        """The distributions' random sources, one per ``dist_seed``."""
        self.chat_requests = 0
        self.paused = False
        self.quotas: dict[str, tuple[float, float]] = {}
        """Per API key: the ``rpm`` bucket's tokens and when they were counted (monotonic seconds)."""

    def reset(self) -> None:
        self.fail_counts.clear()
        self.rngs.clear()
        self.quotas.clear()
        self.chat_requests = 0
        self.paused = False

    def _offsets(self, opts: MockOptions, n: int) -> tuple[float, ...]:
        """When each token is due, in seconds after the request arrived (see ``dist.schedule``)."""
        ttft_dist = dist.parse(opts.ttft_dist) if opts.ttft_dist else None
        delay_dist = dist.parse(opts.token_delay_dist) if opts.token_delay_dist else None
        if ttft_dist is None and delay_dist is None:
            return tuple(opts.ttft + k * opts.token_delay for k in range(n + 1))
        rng = self.rngs.get(opts.dist_seed)
        if rng is None:
            rng = self.rngs[opts.dist_seed] = random.Random(opts.dist_seed)
        return dist.schedule(
            n, ttft=opts.ttft, delay=opts.token_delay, ttft_dist=ttft_dist, delay_dist=delay_dist, rng=rng
        )

    def _maybe_pause(self, opts: MockOptions) -> None:
        """The ``pause`` knob: freeze the whole server (this blocks its event loop on purpose), once."""
        self.chat_requests += 1
        if opts.pause_after is not None and not self.paused and self.chat_requests > opts.pause_after:
            self.paused = True
            time.sleep(opts.pause)

    async def handle(self, ex: MockCall) -> bool:
        """Answer one request; whether the connection may carry another."""
        req, rec = ex.req, ex.rec
        path = req.path.rstrip("/") or "/"
        anthropic = path == COUNT_PATH or "anthropic-version" in req.headers
        proto = CHAT_PATHS.get(path) or (ANTHROPIC if anthropic else OPENAI)
        rec.protocol = proto.name
        ex.headers.append((proto.request_id_header, rec.request_id))
        try:
            if path == "/health" and req.method == "GET":
                rec.protocol = None
                return await ex.send(200, JSON, b'{"status":"ok"}')
            is_models = path == "/v1/models" or path.startswith("/v1/models/")
            if path == "/health":
                raise WireError(405, "invalid_request_error", f"{req.method} is not allowed on {req.path}")
            if not is_models and path not in CHAT_PATHS and path != COUNT_PATH:
                err_type = "not_found_error" if proto is ANTHROPIC else "invalid_request_error"
                raise WireError(404, err_type, f"Unknown path: {req.method} {req.path}")
            method = "GET" if is_models else "POST"
            if req.method != method:
                raise WireError(405, "invalid_request_error", f"{req.method} is not allowed on {req.path}")
            if is_models:
                return await self._models(ex, proto, path[len("/v1/models/") :])
            if path == COUNT_PATH:
                return await self._count_tokens(ex)
            return await self._chat(ex, proto)
        except WireError as err:
            rec.outcome = "rejected"
            return await ex.send(err.status, JSON, proto.error(err.status, err.err_type, err.message, err.code))

    def _options(self, req: Request, body: Any) -> tuple[MockOptions, str]:
        """The options for this request, and the canonical string of its own directives."""
        texts = prompt_directives(directive_text(body))
        header = req.headers.get("x-mock")
        if header:
            texts.insert(0, header)
        options = self._get_options()
        if not texts:
            return options, ""
        overrides: dict[str, Any] = {}
        try:
            for text in texts:
                overrides.update(MockOptions.parse_directives(text))
        except ValueError as exc:
            raise WireError(400, "invalid_request_error", str(exc)) from None
        return options.with_overrides(overrides), canonical(overrides)

    @staticmethod
    def _check_key(req: Request, proto: Protocol, opts: MockOptions) -> None:
        if opts.require_key is None:
            return
        if proto is ANTHROPIC:
            given = req.headers.get("x-api-key", "")
        else:
            scheme, _, given = req.headers.get("authorization", "").partition(" ")
            given = given.strip() if scheme.lower() == "bearer" else ""
        if not given:
            raise proto.auth_error(missing=True)
        if not hmac.compare_digest(given.encode(), opts.require_key.encode()):
            raise proto.auth_error(missing=False)

    def _quota(self, ex: MockCall, opts: MockOptions) -> float | None:
        """Take one request from the caller's ``rpm`` bucket and say what is left in the headers; the seconds
        to wait when it is empty."""
        if opts.rpm is None:
            return None
        req = ex.req
        caller = req.headers.get("x-api-key") or req.headers.get("authorization", "")
        rate = opts.rpm / 60.0
        now = time.monotonic()
        tokens, then = self.quotas.get(caller, (opts.rpm, now))
        tokens = min(opts.rpm, tokens + (now - then) * rate)
        wait = None
        if tokens >= 1.0:
            tokens -= 1.0
        else:
            wait = (1.0 - tokens) / rate
        self.quotas[caller] = (tokens, now)
        ex.headers.append(("x-ratelimit-limit-requests", f"{opts.rpm:g}"))
        ex.headers.append(("x-ratelimit-remaining-requests", str(int(tokens))))
        ex.headers.append(("x-ratelimit-reset-requests", f"{(opts.rpm - tokens) / rate:.3f}s"))
        return wait

    @staticmethod
    async def _over_quota(ex: MockCall, proto: Protocol, wait: float) -> bool:
        ex.headers.append(("retry-after", str(max(math.ceil(wait), 1))))
        ex.headers.append(("retry-after-ms", str(math.ceil(wait * 1000))))
        ex.rec.outcome = "failed"
        return await ex.send(
            429, JSON, proto.error(429, "rate_limit_error", f"Rate limit reached: try again in {wait:.3f}s")
        )

    def _should_fail(self, opts: MockOptions, key: str) -> bool:
        if not opts.failing:
            return False
        return self._counted(opts, key)

    def _counted(self, opts: MockOptions, key: str) -> bool:
        """Whether this request is one of the first ``fail_times`` that match ``key`` (always when 0)."""
        if opts.fail_times == 0:
            return True
        count = self.fail_counts.get(key, 0) + 1
        self.fail_counts[key] = count
        return count <= opts.fail_times

    @staticmethod
    async def _fail(ex: MockCall, proto: Protocol, opts: MockOptions) -> bool:
        if opts.retry_after is not None:
            seconds = opts.retry_after
            ex.headers.append(("retry-after", str(int(seconds)) if seconds == int(seconds) else str(seconds)))
        if opts.retry_after_ms is not None:
            ex.headers.append(("retry-after-ms", str(opts.retry_after_ms)))
        if opts.should_retry is not None:
            ex.headers.append(("x-should-retry", "true" if opts.should_retry else "false"))
        if opts.html:
            ex.rec.outcome = "html"
            status = opts.fail or 502
            return await ex.send(status, HTML, HTML_PAGE.format(status=status, reason=reason(status)).encode())
        ex.rec.outcome = "failed"
        status = opts.fail or 500
        return await ex.send(status, JSON, proto.fail_error(status))

    async def _models(self, ex: MockCall, proto: Protocol, model_id: str) -> bool:
        opts, key = self._options(ex.req, None)
        ex.rec.directives = key
        self._check_key(ex.req, proto, opts)
        if self._should_fail(opts, key):
            return await self._fail(ex, proto, opts)
        if not model_id:
            return await ex.send(200, JSON, anthropic_models() if proto is ANTHROPIC else openai_models())
        ex.rec.model = model_id
        model = next((m for m in MODELS if m.id == model_id), None)
        if model is None:
            raise proto.model_not_found(model_id)
        shape: dict[str, Any]
        if proto is ANTHROPIC:
            shape = {
                "type": "model",
                "id": model.id,
                "display_name": model.display_name,
                "created_at": model.created_at,
            }
        else:
            shape = {"id": model.id, "object": "model", "created": model.created, "owned_by": model.owned_by}
        return await ex.send(200, JSON, dumps(shape))

    async def _count_tokens(self, ex: MockCall) -> bool:
        """``POST /v1/messages/count_tokens``: ``{"input_tokens": N}``, N the input tokens a messages request
        with the same body is answered with (keys, directives and ``fail`` apply as to a chat request)."""
        req, rec = ex.req, ex.rec
        try:
            body: Any = json.loads(req.body)
        except (ValueError, UnicodeDecodeError):
            body = None
        opts, key = self._options(req, body)
        rec.directives = key
        self._check_key(req, ANTHROPIC, opts)
        if "anthropic-version" not in req.headers:
            raise WireError(400, "invalid_request_error", "anthropic-version: header is required")
        if body is None:
            raise WireError(400, "invalid_request_error", "The request body is not valid JSON.")
        chat = ANTHROPIC.parse(body, counting=True)
        rec.model = chat.model
        if chat.model not in MODEL_IDS:
            raise ANTHROPIC.model_not_found(chat.model)
        if self._should_fail(opts, key):
            return await self._fail(ex, ANTHROPIC, opts)
        return await ex.send(200, JSON, dumps({"input_tokens": chat.prompt_tokens}))

    async def _chat(self, ex: MockCall, proto: Protocol) -> bool:
        req, rec = ex.req, ex.rec
        body: Any = None
        body_error: WireError | None = None
        try:
            body = json.loads(req.body)
        except (ValueError, UnicodeDecodeError):
            body_error = WireError(400, "invalid_request_error", "The request body is not valid JSON.")
        opts, key = self._options(req, body)
        rec.directives = key
        self._maybe_pause(opts)
        self._check_key(req, proto, opts)
        if proto is ANTHROPIC and "anthropic-version" not in req.headers:
            raise WireError(400, "invalid_request_error", "anthropic-version: header is required")
        if body_error is not None:
            raise body_error
        chat = proto.parse(body)
        rec.model, rec.stream = chat.model, chat.stream
        if chat.model not in MODEL_IDS:
            raise proto.model_not_found(chat.model)
        if opts.reject_stream_options and chat.has_stream_options:
            raise WireError(400, "invalid_request_error", "Unrecognized request argument supplied: stream_options")
        wait = self._quota(ex, opts)
        if wait is not None:
            return await self._over_quota(ex, proto, wait)
        if opts.failing:
            if self._counted(opts, key):
                return await self._fail(ex, proto, opts)
        elif opts.misbehaving and not self._counted(opts, key):
            opts = opts.well_behaved()
        truncated = chat.max_tokens is not None and chat.max_tokens < opts.words
        count = chat.max_tokens if truncated and chat.max_tokens is not None else opts.words
        tokens = answer_tokens(chat.n_messages, chat.prompt, opts.seed, count, complete=not truncated)
        reply = proto.reply(chat, no_usage=opts.no_usage, cache_writes=(opts.cache_write_5m, opts.cache_write_1h))
        offsets = self._offsets(opts, len(tokens))
        rec.planned_ttft_ms = round(offsets[0] * 1e3, 6)
        if chat.stream:
            return await respond.stream(ex, proto, opts, reply, tokens, truncated, offsets)
        return await respond.complete(ex, opts, reply, tokens, truncated, offsets)
