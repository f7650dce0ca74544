"""``relay chat``: the loop (``repl``), line input (``input``), slash commands (``slash``), the session and
its conversation (``session``, ``conversation``), and what it draws (``render``, ``markdown_stream``,
``blocks``)."""
