"""The disk response cache and the body of ``relay cache``.

``key`` (what makes two requests the same), ``entry`` (what is kept), ``store`` (``cache.db``, SQLite),
``service`` (``DiskCache``, the pipeline's cache stage), ``run`` and ``view`` (``relay cache``). Importing
this package imports nothing else: ``relaycli.pipeline`` reads ``entry`` on every path.
"""
