"""The cryptography of TLS, on the ``cryptography`` package: key exchange groups
(``kx``), signature schemes (``signatures``), cipher suite parameters (``suites``),
the TLS 1.3 key schedule (``keyschedule13``), the TLS 1.2 PRF (``prf12``), the
transcript hash (``transcript``) and injected randomness (``rand``). No I/O, no clock.
"""
