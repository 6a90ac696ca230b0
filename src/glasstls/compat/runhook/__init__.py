"""The start-up hook of ``glasstls run``: this folder goes first on the PYTHONPATH of the
program it starts, so that Python imports its ``sitecustomize`` (site.py, at start-up), which
injects glasstls into ``ssl`` with the options ``glasstls run`` passed in GLASSTLS_RUN."""
