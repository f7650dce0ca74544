"""The team ledger: every machine's usage rows in one PostgreSQL database (``relay team``, ``relay cost
--team``). The only package that imports psycopg, and only inside its store (``store.py``), so no other
command ever loads it.

``dsn`` resolves and hides the database address, ``machine`` names this machine, ``migrations`` and
``store`` hold the server's schema and connection, ``push`` sends rows, ``source`` answers cost reports,
``status`` and ``auto`` are what ``relay team status`` and the automatic push after a command do.
"""
