"""The command line: ``glasstls client``, ``server``, ``demo``, ``ca``, ``dissect`` and
``diagram`` (``main.py`` dispatches). Option parsing and the hints a person needs
(``--cacert FILE`` …) live here, above the library; the library's errors carry facts.
"""
