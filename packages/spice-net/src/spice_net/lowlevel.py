"""What only someone building another transport or a test peer needs: the channel base
class, cheap timed wake-ups, HTTP CONNECT tunnels, the ticket cryptography, the SPICE
host-subject check and the exception-group helpers the other packages use to report one
error out of a nursery."""

# Grouped by purpose, not by module name:
# isort: skip_file

# --- Channels
from ._channel import BaseChannel as BaseChannel

# --- Cheap wake-ups (no cancellation per timed wake-up)
from ._alarm import Alarm as Alarm, clock_reader as clock_reader, nap as nap

# --- HTTP CONNECT tunnels
from ._proxy import DEFAULT_PROXY_PORT as DEFAULT_PROXY_PORT, open_tunnel as open_tunnel

# --- Tickets and TLS subjects
from ._ticket import TicketKey as TicketKey, encrypt_ticket as encrypt_ticket
from ._tls import subject_matches as subject_matches

# --- Traffic capture files
from ._capture import (
    CAPTURE_PORT as CAPTURE_PORT,
    Segment as Segment,
    channel_of as channel_of,
    tap_stream as tap_stream,
)

# --- SASL
from ._sasl import sasl_users as sasl_users

# --- Exception groups
from ._groups import error_leaves as error_leaves, single_error as single_error

from spice_proto.lowlevel import publish as _publish

__all__ = _publish(__name__, globals())
