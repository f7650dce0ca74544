"""The ledger's schema as named, ordered migrations. ``PRAGMA user_version`` = how many are applied.

Append a new migration at the end; never edit one that has shipped.
"""

from __future__ import annotations

MIGRATIONS: tuple[tuple[str, tuple[str, ...]], ...] = (
    (
        "0001_create_requests",
        (
            """
            CREATE TABLE schema_migrations (
                version INTEGER PRIMARY KEY,
                name TEXT NOT NULL,
                applied_at TEXT NOT NULL
            )
            """,
            """
            CREATE TABLE requests (
                id TEXT NOT NULL UNIQUE,
                ts TEXT NOT NULL,
                command TEXT NOT NULL,
                profile TEXT NOT NULL,
                host TEXT NOT NULL,
                protocol TEXT NOT NULL,
                model_requested TEXT NOT NULL,
                model_answered TEXT,
                prompt_tokens INTEGER,
                completion_tokens INTEGER,
                cached_tokens INTEGER,
                cache_write_tokens INTEGER,
                usage_raw TEXT,
                price_source TEXT,
                price_json TEXT,
                cost_usd INTEGER,
                cost_billed INTEGER,
                currency TEXT NOT NULL,
                per_usd TEXT NOT NULL,
                latency_ms REAL,
                ttft_ms REAL,
                retries INTEGER NOT NULL DEFAULT 0,
                http_status INTEGER,
                outcome TEXT NOT NULL
                    CHECK (outcome IN ('ok', 'error', 'interrupted', 'truncated')),
                error_class TEXT,
                request_id TEXT,
                finish_reason TEXT,
                tag TEXT
            )
            """,
            "CREATE INDEX requests_ts ON requests (ts)",
        ),
    ),
    (
        "0002_conversations",
        (
            # `relay chat` conversations. Unlike requests, these hold text: continuing needs it
            # (`relay chat --no-store` keeps a conversation out of here).
            """
            CREATE TABLE conversations (
                id INTEGER PRIMARY KEY,
                created TEXT NOT NULL,
                updated TEXT NOT NULL,
                title TEXT NOT NULL,
                profile TEXT NOT NULL,
                model TEXT NOT NULL,
                system TEXT
            )
            """,
            # One row per message. An assistant row carries what its request reported and cost (money in
            # pico-units, as in requests); `request_id` is the endpoint's id, as in requests.request_id.
            # `superseded` marks an answer replaced by /retry: no longer sent, still counted in the cost.
            """
            CREATE TABLE messages (
                conversation_id INTEGER NOT NULL REFERENCES conversations (id),
                seq INTEGER NOT NULL,
                role TEXT NOT NULL CHECK (role IN ('user', 'assistant')),
                content TEXT NOT NULL,
                ts TEXT NOT NULL,
                superseded INTEGER NOT NULL DEFAULT 0,
                profile TEXT,
                model TEXT,
                outcome TEXT,
                request_id TEXT,
                prompt_tokens INTEGER,
                completion_tokens INTEGER,
                cost_usd INTEGER,
                cost_billed INTEGER,
                currency TEXT,
                PRIMARY KEY (conversation_id, seq)
            )
            """,
            "CREATE INDEX conversations_updated ON conversations (updated)",
        ),
    ),
    (
        "0003_cache_write_1h_tokens",
        (
            # The part of cache_write_tokens written to a 1-hour prompt cache (Anthropic bills it at a
            # higher rate than a 5-minute write). NULL on rows recorded before: `relay cost --reprice`
            # reads their count from usage_raw.
            "ALTER TABLE requests ADD COLUMN cache_write_1h_tokens INTEGER",
        ),
    ),
    (
        "0004_cache_hits",
        (
            # A request answered from the disk response cache: nothing was sent, so its cost is 0, and
            # saved_* hold what it would have cost at the price of the day (pico-units, as cost_*; NULL when
            # unknown: an unpriced model or unknown usage). Only cached rows have a saving. Rows recorded
            # before are not cached (0) and saved nothing (NULL).
            "ALTER TABLE requests ADD COLUMN cached INTEGER NOT NULL DEFAULT 0",
            "ALTER TABLE requests ADD COLUMN saved_usd INTEGER",
            "ALTER TABLE requests ADD COLUMN saved_billed INTEGER",
        ),
    ),
)
SCHEMA_VERSION = len(MIGRATIONS)
