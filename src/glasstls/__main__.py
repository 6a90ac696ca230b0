"""``python -m glasstls``: the same entry point as the ``glasstls`` console script."""

from __future__ import annotations

import sys

from glasstls.cli.main import main

if __name__ == "__main__":
    sys.exit(main())
