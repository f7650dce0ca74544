"""The team ledger's schema on PostgreSQL as named, ordered migrations, recorded in
``relay_team_migrations``. Append a new migration at the end; never edit one that has shipped.

Rows are compact: no prompt, answer, usage object or price table, only the figures a cost report sums;
names (users, models, profiles, commands, tags) are ids into ``names``. ``hourly`` is the rollup the
reports read: one row per UTC hour, machine, user, profile, models, tag, currency and cost status (and
``hourly_totals``, the same without machine, user and tag, for the reports that group by none of them), kept
current by the push in the same statement that inserts the rows (only rows actually inserted count, so a
row pushed twice is counted once). Money is pico-units (10**-12), as in the local ledger.
"""

from __future__ import annotations

# the sums a group of requests keeps, in the rollup and in a report read from the rows themselves
SUMS = (
    "requests",
    "errors",
    "prompt_tokens",
    "completion_tokens",
    "cached_tokens",
    "cache_write_tokens",
    "prompt_reported",
    "completion_reported",
    "prompt_unknown",
    "completion_unknown",
    "cache_hits",
    "saved_unknown",
    "cost_usd",
    "cost_n",
    "cost_billed",
    "billed_n",
    "saved_usd",
    "saved_usd_n",
    "saved_billed",
    "saved_billed_n",
)
KEYS = (
    "machine_id",
    "user_id",
    "profile_id",
    "model_requested_id",
    "model_answered_id",
    "tag_id",
    "currency",
    "unpriced",
)

# the smaller rollup behind reports that group by neither tag, user nor machine (bench: tagged 'bench')
TOTAL_KEYS = ("profile_id", "model_requested_id", "model_answered_id", "currency", "unpriced", "bench")

MIGRATIONS: tuple[tuple[str, tuple[str, ...]], ...] = (
    (
        "0001_create_requests",
        (
            """
            CREATE TABLE names (
                id serial PRIMARY KEY,
                name text NOT NULL UNIQUE
            )
            """,
            """
            CREATE TABLE machines (
                id serial PRIMARY KEY,
                machine_key text NOT NULL UNIQUE,
                label text NOT NULL,
                pushed_rowid bigint NOT NULL DEFAULT 0,
                pushed_rows bigint NOT NULL DEFAULT 0,
                last_push timestamptz
            )
            """,
            # unpriced: 0 priced (or free), 1 no price, 2 unknown usage; free: a refused failure (bills nothing)
            """
            CREATE TABLE requests (
                machine_id integer NOT NULL,
                row_id uuid NOT NULL,
                ts timestamptz NOT NULL,
                user_id integer NOT NULL,
                command_id integer NOT NULL,
                profile_id integer NOT NULL,
                model_requested_id integer NOT NULL,
                model_answered_id integer NOT NULL,
                tag_id integer NOT NULL,
                currency text NOT NULL,
                outcome smallint NOT NULL,
                unpriced smallint NOT NULL,
                free boolean NOT NULL,
                cached boolean NOT NULL,
                prompt_tokens integer,
                completion_tokens integer,
                cached_tokens integer,
                cache_write_tokens integer,
                cost_usd bigint,
                cost_billed bigint,
                saved_usd bigint,
                saved_billed bigint,
                PRIMARY KEY (machine_id, row_id)
            )
            """,
            "CREATE INDEX requests_ts ON requests (ts)",
            """
            CREATE TABLE hourly (
                hour timestamptz NOT NULL,
                machine_id integer NOT NULL,
                user_id integer NOT NULL,
                profile_id integer NOT NULL,
                model_requested_id integer NOT NULL,
                model_answered_id integer NOT NULL,
                tag_id integer NOT NULL,
                currency text NOT NULL,
                unpriced smallint NOT NULL,
            """
            + ",\n".join(f"    {name} bigint NOT NULL" for name in SUMS)
            + f""",
                PRIMARY KEY (hour, {", ".join(KEYS)})
            )
            """,
            """
            CREATE TABLE hourly_totals (
                hour timestamptz NOT NULL,
                profile_id integer NOT NULL,
                model_requested_id integer NOT NULL,
                model_answered_id integer NOT NULL,
                currency text NOT NULL,
                unpriced smallint NOT NULL,
                bench boolean NOT NULL,
            """
            + ",\n".join(f"    {name} bigint NOT NULL" for name in SUMS)
            + f""",
                PRIMARY KEY (hour, {", ".join(TOTAL_KEYS)})
            )
            """,
        ),
    ),
)
SCHEMA_VERSION = len(MIGRATIONS)
