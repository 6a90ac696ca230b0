"""The conformance rules: one hostile probe per RFC rule, and the answer the RFC and
OpenSSL/tlsfuzzer expect from a server (see ruletable.py and README.md).

Importing the rules_*.py modules registers their rules in :data:`RULES`, in this order.
"""

from __future__ import annotations

import rules_after13
import rules_client_auth
import rules_early13
import rules_hello13
import rules_record13
import rules_retry13
import rules_tls12
import rules_types
from ruletable import CLOSED, RULES, SERVED, Rule

MODULES = (
    rules_record13,
    rules_hello13,
    rules_retry13,
    rules_after13,
    rules_early13,
    rules_tls12,
    rules_client_auth,
    rules_types,
)
# Registered in import order (alphabetical); listed in the order of the RFCs' sections.
RULES.sort(key=lambda r: [m.__name__ for m in MODULES].index(r.probe.__module__))
__all__ = ["CLOSED", "MODULES", "RULES", "SERVED", "Rule"]
