"""``python -m relaycli``."""

from relaycli.entry import main

main()
