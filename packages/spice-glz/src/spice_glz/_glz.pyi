"""Type stub of the cffi-compiled core."""

from typing import Any

ffi: Any
lib: Any
