"""Real SPICE peers (Xspice, QEMU, Xvfb) as test helpers.

Launchers start each peer in its own session on free 127.0.0.1 ports, wait
until it is ready, and stop it by pid.  :mod:`peers.fixtures` wraps them as
pytest fixtures; ``tests/conftest.py`` registers that plugin.
"""
