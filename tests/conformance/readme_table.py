"""Rewrite README.md's table of the rules (and their count) from RULES.

    .venv/bin/python tests/conformance/readme_table.py

test_conformance.test_readme_lists_every_rule fails until a new rule is in the table.
"""

from __future__ import annotations

import re
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).parent))

from rules import RULES, Rule
from ruletable import WAITING

README = Path(__file__).parent / "README.md"
HEADER = [
    "| # | TLS | rule | section | server | expected | OpenSSL 3.0 |",
    "|---|-----|------|---------|--------|----------|-------------|",
]


def row(number: int, r: Rule) -> str:
    expected = (r.expect if isinstance(r.expect, str) else r.expect.name) + (" (warning)" if r.level == 1 else "")
    openssl = "same" if not r.openssl else "keeps waiting" if r.openssl == WAITING else r.openssl
    return f"| {number} | {r.version} | `{r.name}` | {r.section} | {r.server} | {expected} | {openssl} |"


def main() -> None:
    text = README.read_text()
    head, rest = text.split("## The rules", 1)
    lines = rest.split("\n")
    start = next(i for i, line in enumerate(lines) if line.startswith("| # |"))
    end = start
    while end < len(lines) and lines[end].startswith("|"):
        end += 1
    table = HEADER + [row(i, r) for i, r in enumerate(RULES, 1)]
    rest = "\n".join(lines[:start] + table + lines[end:])
    rest = re.sub(r"\n\d+ rules\.\n", f"\n{len(RULES)} rules.\n", rest, count=1)
    README.write_text(head + "## The rules" + rest)
    print(f"{README}: {len(RULES)} rules")


if __name__ == "__main__":
    main()
