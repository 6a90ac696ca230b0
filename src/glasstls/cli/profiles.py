"""``glasstls profiles``: the security profiles, each one table (profiles.py), as text."""

from __future__ import annotations

import argparse

from ..profiles import DEFAULT_PROFILE, PROFILES, describe


def add_parser(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    p = sub.add_parser(
        "profiles",
        help="list the security profiles (modern, intermediate, legacy) and what each allows",
        description="The security profiles --profile chooses from, after Mozilla's Server Side TLS "
        f"recommendations. The default is {DEFAULT_PROFILE}. No profile allows TLS 1.0 or 1.1 (RFC 8996).",
    )
    p.add_argument("name", nargs="?", choices=tuple(PROFILES), help="show only this profile")
    p.set_defaults(run=run)


def run(args: argparse.Namespace) -> int:
    names = [args.name] if args.name else list(PROFILES)
    blocks = ["\n".join(describe(PROFILES[name])) for name in names]
    print("\n\n".join(blocks))
    return 0
