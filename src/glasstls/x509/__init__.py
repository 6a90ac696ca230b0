"""Certificates: trust anchors (``store``), path validation and host names
(``verify``), revocation by CRL and OCSP (``revocation``), a server's OCSP staple
(``stapling``), and the CA behind ``glasstls ca`` (``ca``, ``ca_files``) and the
tests and demo (``mint``).
"""
