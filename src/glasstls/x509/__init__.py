"""Certificates: trust anchors (``store``), path validation and host names
(``verify``), revocation by CRL and OCSP (``revocation``), a server's OCSP staple
(``stapling``), and the CA behind ``glasstls ca`` (``ca``, ``ca_files``) and the
tests and demo (``mint``).
"""

import warnings

# cryptography warns (a UserWarning, with its caller's line) each time it reads a name attribute
# longer than X.520's upper bound, a commonName of more than 64 characters say. Those names are
# the peer's: the warning told a person nothing they could act on and broke line-oriented output
# (a --trace=json stderr, a server's log) with Python source lines. OpenSSL reads them silently.
warnings.filterwarnings("ignore", message=r"Attribute's length must be >= 1 and <= 64", category=UserWarning)
