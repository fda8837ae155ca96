"""SPICE transport for trio: link handshake, ticket auth, TLS, framing and ACK flow control."""

__version__ = "0.1.0"

__all__ = ["__version__"]
