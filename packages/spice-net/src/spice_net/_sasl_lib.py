"""A thin binding to Cyrus SASL (libsasl2, what QEMU, spice-gtk and libspice-server use).

cffi ABI mode: the library is opened at first use, nothing is compiled.  The mechanisms
are libsasl2's plugins (Debian ``libsasl2-modules``: PLAIN, DIGEST-MD5, SCRAM-*, ...).
Credentials are given through SASL_INTERACT prompts (no C callbacks on the client), a
server's options (``mech_list``, ``sasldb_path``, ...) through one getopt callback that
libsasl2 calls synchronously inside the server calls.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

import cffi

from ._errors import SpiceNetError

__all__ = ["SaslClient", "SaslError", "SaslServer", "SaslUnsupported", "load"]

_CDEF = """
typedef struct sasl_conn sasl_conn_t;
typedef unsigned sasl_ssf_t;
typedef struct sasl_callback { unsigned long id; int (*proc)(void); void *context; } sasl_callback_t;
typedef struct sasl_interact {
    unsigned long id; const char *challenge; const char *prompt; const char *defresult;
    const void *result; unsigned len;
} sasl_interact_t;
typedef struct sasl_security_properties {
    sasl_ssf_t min_ssf; sasl_ssf_t max_ssf; unsigned maxbufsize; unsigned security_flags;
    const char **property_names; const char **property_values;
} sasl_security_properties_t;
typedef int sasl_getopt_t(void *context, const char *plugin_name, const char *option,
                          const char **result, unsigned *len);
typedef int sasl_checkpass_t(sasl_conn_t *conn, void *context, const char *user, const char *pass,
                             unsigned passlen, void *propctx);
int sasl_client_init(const sasl_callback_t *callbacks);
int sasl_server_init(const sasl_callback_t *callbacks, const char *appname);
int sasl_client_new(const char *service, const char *serverFQDN, const char *iplocalport,
                    const char *ipremoteport, const sasl_callback_t *prompt_supp, unsigned flags,
                    sasl_conn_t **pconn);
int sasl_server_new(const char *service, const char *serverFQDN, const char *user_realm,
                    const char *iplocalport, const char *ipremoteport,
                    const sasl_callback_t *callbacks, unsigned flags, sasl_conn_t **pconn);
int sasl_client_start(sasl_conn_t *conn, const char *mechlist, sasl_interact_t **prompt_need,
                      const char **clientout, unsigned *clientoutlen, const char **mech);
int sasl_client_step(sasl_conn_t *conn, const char *serverin, unsigned serverinlen,
                     sasl_interact_t **prompt_need, const char **clientout, unsigned *clientoutlen);
int sasl_listmech(sasl_conn_t *conn, const char *user, const char *prefix, const char *sep,
                  const char *suffix, const char **result, unsigned *plen, int *pcount);
int sasl_server_start(sasl_conn_t *conn, const char *mech, const char *clientin, unsigned clientinlen,
                      const char **serverout, unsigned *serveroutlen);
int sasl_server_step(sasl_conn_t *conn, const char *clientin, unsigned clientinlen,
                     const char **serverout, unsigned *serveroutlen);
int sasl_setprop(sasl_conn_t *conn, int propnum, const void *value);
int sasl_getprop(sasl_conn_t *conn, int propnum, const void **pvalue);
int sasl_encode(sasl_conn_t *conn, const char *input, unsigned inputlen,
                const char **output, unsigned *outputlen);
int sasl_decode(sasl_conn_t *conn, const char *input, unsigned inputlen,
                const char **output, unsigned *outputlen);
void sasl_dispose(sasl_conn_t **pconn);
const char *sasl_errstring(int saslerr, const char *langlist, const char **outlang);
const char *sasl_errdetail(sasl_conn_t *conn);
"""

# result codes, callback ids, properties and flags (sasl/sasl.h)
OK, CONTINUE, INTERACT = 0, 1, 2
_CB_LIST_END, _CB_GETOPT, _CB_CHECKPASS = 0, 1, 0x8005
_FAIL, _BADAUTH = -1, -13
_CB_USER, _CB_AUTHNAME, _CB_PASS, _CB_GETREALM = 0x4001, 0x4002, 0x4004, 0x4008
_PROP_USERNAME, _PROP_SSF, _PROP_MAXOUTBUF, _PROP_MECHNAME = 0, 1, 2, 15
_PROP_SSF_EXTERNAL, _PROP_SEC_PROPS = 100, 101
_SEC_NOPLAINTEXT, _SEC_NOANONYMOUS = 0x0001, 0x0010
_SUCCESS_DATA = 0x0004

#: The smallest security layer strength accepted without TLS (libspice-server's and spice-gtk's).
MIN_SSF = 56
#: The largest security-layer record we accept from the peer (the decoder's buffer bound).
MAX_BUFFER = 65536

_LIBRARY = "libsasl2.so.2"
_DEBIAN = "Debian: apt-get install libsasl2-2 libsasl2-modules"


class SaslUnsupported(SpiceNetError):
    """SASL cannot be used here: libsasl2 is missing, or no mechanism fits the connection."""


class SaslError(SpiceNetError):
    """libsasl2 refused a step (the message carries its error text)."""


class _Lib:
    def __init__(self) -> None:
        self.ffi = cffi.FFI()
        self.ffi.cdef(_CDEF)
        try:
            self.lib: Any = self.ffi.dlopen(_LIBRARY)
        except OSError as exc:
            raise SaslUnsupported(
                f"SASL needs the Cyrus SASL library {_LIBRARY} ({_DEBIAN}): {exc}"
            ) from None
        self.client_ready = False
        self.server_ready = False
        # one C trampoline per kind, made once; each connection passes itself as the context
        # whatever escapes a callback (cffi then returns ``error``) must fail, never be SASL_OK
        self.getopt = self.ffi.callback("sasl_getopt_t", _get_option, error=_FAIL)
        self.checkpass = self.ffi.callback("sasl_checkpass_t", _check_password, error=_BADAUTH)


_LOADED: list[_Lib] = []


def load() -> _Lib:
    """The opened library (raises :class:`SaslUnsupported` naming the Debian package if absent)."""
    if not _LOADED:
        _LOADED.append(_Lib())
    return _LOADED[0]


def _text(ffi: cffi.FFI, ptr: Any) -> str:
    return "" if ptr == ffi.NULL else ffi.string(ptr).decode("utf-8", "replace")


class _Conn:
    """What client and server connections share: properties, the security layer, disposal."""

    def __init__(self, lib: _Lib) -> None:
        self._l = lib
        self._pconn = lib.ffi.new("sasl_conn_t **")
        self._keep: list[Any] = []  # C strings libsasl2 points at until the next call

    @property
    def _conn(self) -> Any:
        if self._pconn[0] == self._l.ffi.NULL:
            raise SaslError("SASL connection already disposed")
        return self._pconn[0]

    def _error(self, rc: int, what: str) -> SaslError:
        ffi, lib = self._l.ffi, self._l.lib
        detail = _text(ffi, lib.sasl_errdetail(self._pconn[0])) if self._pconn[0] != ffi.NULL else ""
        return SaslError(f"SASL {what}: {detail or _text(ffi, lib.sasl_errstring(rc, ffi.NULL, ffi.NULL))}")

    def _check(self, rc: int, what: str) -> int:
        if rc not in (OK, CONTINUE, INTERACT):
            raise self._error(rc, what)
        return rc

    def _created(self, rc: int, side: str, external_ssf: int | None) -> None:
        if rc != OK:
            raise self._error(rc, f"{side} context")
        self._secprops(external_ssf)

    def _secprops(self, external_ssf: int | None) -> None:
        """TLS (``external_ssf`` its cipher bits): no layer wanted; else a layer of 56+ bits and
        no plain-text or anonymous mechanism, as spice-gtk and libspice-server ask."""
        ffi, lib = self._l.ffi, self._l.lib
        if external_ssf is not None:
            ssf = ffi.new("sasl_ssf_t *", external_ssf)
            self._check(lib.sasl_setprop(self._conn, _PROP_SSF_EXTERNAL, ssf), "external SSF")
        props = ffi.new("sasl_security_properties_t *")
        props.min_ssf = 0 if external_ssf is not None else MIN_SSF
        props.max_ssf = 0 if external_ssf is not None else 100000
        props.maxbufsize = MAX_BUFFER
        props.security_flags = 0 if external_ssf is not None else _SEC_NOPLAINTEXT | _SEC_NOANONYMOUS
        self._check(lib.sasl_setprop(self._conn, _PROP_SEC_PROPS, props), "security properties")

    def _prop_unsigned(self, prop: int) -> int:
        ffi = self._l.ffi
        value = ffi.new("const void **")
        self._check(self._l.lib.sasl_getprop(self._conn, prop, value), "property")
        return int(ffi.cast("const unsigned *", value[0])[0])

    @property
    def ssf(self) -> int:
        """The negotiated security-layer strength (0: no layer)."""
        return self._prop_unsigned(_PROP_SSF)

    @property
    def max_out(self) -> int:
        """The largest plaintext :meth:`encode` takes at once."""
        return self._prop_unsigned(_PROP_MAXOUTBUF)

    @property
    def mechanism(self) -> str:
        ffi = self._l.ffi
        value = ffi.new("const void **")
        self._check(self._l.lib.sasl_getprop(self._conn, _PROP_MECHNAME, value), "mechanism name")
        return _text(ffi, ffi.cast("const char *", value[0]))

    def _transform(self, func: Any, data: bytes, what: str) -> bytes:
        ffi = self._l.ffi
        out, out_len = ffi.new("const char **"), ffi.new("unsigned *")
        rc = func(self._conn, data, len(data), out, out_len)
        if rc != OK:  # (errdetail may still hold an older step's text)
            raise SaslError(f"SASL {what}: {_text(ffi, self._l.lib.sasl_errstring(rc, ffi.NULL, ffi.NULL))}")
        return bytes(ffi.buffer(out[0], out_len[0])) if out_len[0] else b""

    def encode(self, data: bytes) -> bytes:
        """``data`` (at most :attr:`max_out` bytes) wrapped by the security layer."""
        return self._transform(self._l.lib.sasl_encode, data, "encode")

    def decode(self, data: bytes) -> bytes:
        """The plaintext of wrapped bytes (partial records are kept until complete)."""
        return self._transform(self._l.lib.sasl_decode, data, "decode")

    def close(self) -> None:
        if self._pconn[0] != self._l.ffi.NULL:
            self._l.lib.sasl_dispose(self._pconn)
        self._keep.clear()


def _server_of(context: Any) -> SaslServer:
    server = load().ffi.from_handle(context)
    assert isinstance(server, SaslServer)
    return server


def _get_option(context: Any, plugin: Any, option: Any, result: Any, length: Any) -> int:
    """libsasl2 asks a server connection's option ``option``."""
    server = _server_of(context)
    ffi = server._l.ffi
    value = server._options.get(_text(ffi, option))
    if value is None:
        return _FAIL  # not set here
    result[0] = value
    if length != ffi.NULL:
        length[0] = len(ffi.string(value))
    return OK


def _check_password(conn: Any, context: Any, user: Any, password: Any, length: int, props: Any) -> int:
    """libsasl2 asks a server connection to verify a plain-text password (PLAIN)."""
    try:
        server = _server_of(context)
        ffi = server._l.ffi
        given = bytes(ffi.buffer(password, length)).decode("utf-8")
        ok = server._checkpass is not None and server._checkpass(_text(ffi, user), given)
    except Exception:  # nothing may escape into C: a failure refuses
        ok = False
    return OK if ok else _BADAUTH


def _addr(ffi: cffi.FFI, end: str | None) -> Any:
    """An ``IP;PORT`` for libsasl2, or NULL (mechanisms that need addresses are then off)."""
    return end.encode("ascii") if end else ffi.NULL


def _out(ffi: cffi.FFI, out: Any, out_len: Any) -> bytes | None:
    return None if out[0] == ffi.NULL else bytes(ffi.buffer(out[0], out_len[0]))


class SaslClient(_Conn):
    """The client half of one SASL login (service ``spice``).

    ``external_ssf`` is the TLS cipher's bits when the link runs inside TLS (no security
    layer then), ``None`` on plain TCP or a Unix socket (a layer of 56+ bits is required).
    """

    def __init__(
        self,
        username: str,
        password: str,
        *,
        host: str,
        local: str | None = None,
        remote: str | None = None,
        external_ssf: int | None = None,
        realm: str | None = None,
    ) -> None:
        lib = load()
        super().__init__(lib)
        ffi = lib.ffi
        if not lib.client_ready:
            rc = lib.lib.sasl_client_init(ffi.NULL)
            if rc != OK:
                raise SaslUnsupported(f"libsasl2 client init failed ({rc}); {_DEBIAN}")
            lib.client_ready = True
        self._answers = {
            _CB_USER: username.encode("utf-8"),
            _CB_AUTHNAME: username.encode("utf-8"),
            _CB_PASS: password.encode("utf-8"),
        }
        self._realm = realm
        callbacks = ffi.new("sasl_callback_t[5]")
        for i, cb in enumerate((_CB_USER, _CB_AUTHNAME, _CB_PASS, _CB_GETREALM)):
            callbacks[i].id = cb  # NULL proc: answered through SASL_INTERACT
        self._callbacks = callbacks
        ends = (_addr(ffi, local), _addr(ffi, remote))
        rc = lib.lib.sasl_client_new(
            b"spice", host.encode("utf-8"), *ends, callbacks, _SUCCESS_DATA, self._pconn
        )
        self._created(rc, "client", external_ssf)

    def _interact(self, prompts: Any) -> None:
        ffi = self._l.ffi
        self._keep.clear()
        i = 0
        while prompts[i].id != _CB_LIST_END:
            prompt = prompts[i]
            if prompt.id == _CB_GETREALM:
                value = (self._realm or _text(ffi, prompt.defresult)).encode("utf-8")
            elif prompt.id in self._answers:
                value = self._answers[prompt.id]
            else:
                raise SaslError(f"SASL asks for something we cannot answer (callback {prompt.id:#x})")
            buf = ffi.new("char[]", value)
            self._keep.append(buf)
            prompt.result = buf
            prompt.len = len(value)
            i += 1

    def start(self, mechanisms: str) -> tuple[str, bytes | None]:
        """Choose among the server's ``mechanisms``: the name and the initial response
        (``None``: the mechanism has none)."""
        ffi, lib = self._l.ffi, self._l.lib
        prompts = ffi.new("sasl_interact_t **")
        out, out_len, mech = ffi.new("const char **"), ffi.new("unsigned *"), ffi.new("const char **")
        offered = mechanisms.encode("ascii", "replace")
        while True:
            rc = lib.sasl_client_start(self._conn, offered, prompts, out, out_len, mech)
            if rc != INTERACT:
                break
            self._interact(prompts[0])
        if rc not in (OK, CONTINUE):
            if rc == -4:  # SASL_NOMECH
                raise SaslUnsupported(f"SASL: no usable mechanism among {mechanisms or 'nothing'}")
            raise self._error(rc, "start")
        self._continue = rc == CONTINUE
        return _text(ffi, mech[0]), _out(ffi, out, out_len)

    @property
    def done(self) -> bool:
        """Whether our side of the exchange is complete."""
        return not self._continue

    def step(self, data: bytes | None) -> bytes | None:
        """Our answer to the server's ``data`` (``None``: an empty answer)."""
        ffi, lib = self._l.ffi, self._l.lib
        prompts = ffi.new("sasl_interact_t **")
        out, out_len = ffi.new("const char **"), ffi.new("unsigned *")
        serverin = ffi.NULL if data is None else ffi.new("char[]", data)  # NUL sentinel included
        while True:
            rc = lib.sasl_client_step(self._conn, serverin, len(data or b""), prompts, out, out_len)
            if rc != INTERACT:
                break
            self._interact(prompts[0])
        if rc not in (OK, CONTINUE):
            raise self._error(rc, "step")
        self._continue = rc == CONTINUE
        return _out(ffi, out, out_len)


class SaslServer(_Conn):
    """The server half of one SASL login (service ``spice``).

    ``options`` answer libsasl2's configuration queries (``mech_list``, ``sasldb_path``,
    ``pwcheck_method``, ...) for this connection; without them libsasl2 reads
    ``APPNAME.conf`` from ``SASL_CONF_PATH`` as QEMU does.  ``checkpass(user, password)``
    verifies plain-text passwords (PLAIN) instead of the sasldb.
    """

    def __init__(
        self,
        *,
        options: Mapping[str, str] | None = None,
        local: str | None = None,
        remote: str | None = None,
        external_ssf: int | None = None,
        appname: str = "spice",
        checkpass: Callable[[str, str], bool] | None = None,
    ) -> None:
        lib = load()
        super().__init__(lib)
        ffi = lib.ffi
        if not lib.server_ready:
            rc = lib.lib.sasl_server_init(ffi.NULL, appname.encode("utf-8"))
            if rc != OK:
                raise SaslUnsupported(f"libsasl2 server init failed ({rc}); {_DEBIAN}")
            lib.server_ready = True
        self._options = {k: ffi.new("char[]", v.encode("utf-8")) for k, v in (options or {}).items()}
        self._checkpass = checkpass
        self._handle = ffi.new_handle(self)  # the callbacks' context: lives as long as we do
        callbacks = ffi.new("sasl_callback_t[3]")
        used = [
            (cb, proc)
            for cb, proc, on in [
                (_CB_GETOPT, lib.getopt, self._options),
                (_CB_CHECKPASS, lib.checkpass, checkpass),
            ]
            if on
        ]
        for i, (cb, proc) in enumerate(used):
            callbacks[i].id = cb
            callbacks[i].proc = ffi.cast("int (*)(void)", proc)
            callbacks[i].context = self._handle
        self._callbacks = callbacks
        ends = (_addr(ffi, local), _addr(ffi, remote))
        rc = lib.lib.sasl_server_new(
            b"spice", ffi.NULL, ffi.NULL, *ends, callbacks, _SUCCESS_DATA, self._pconn
        )
        self._created(rc, "server", external_ssf)

    def mechanisms(self) -> list[str]:
        """The mechanisms this connection may use."""
        ffi = self._l.ffi
        out = ffi.new("const char **")
        rc = self._l.lib.sasl_listmech(self._conn, ffi.NULL, b"", b",", b"", out, ffi.NULL, ffi.NULL)
        if rc != OK:
            raise self._error(rc, "mechanism list")
        return [name for name in _text(ffi, out[0]).split(",") if name]

    def start(self, mechanism: str, data: bytes | None) -> tuple[bytes | None, bool]:
        """The client's choice and initial data: our reply and whether the exchange is complete.
        Raises :class:`SaslError` when the login fails."""
        ffi = self._l.ffi
        out, out_len = ffi.new("const char **"), ffi.new("unsigned *")
        clientin = ffi.NULL if data is None else ffi.new("char[]", data)
        rc = self._l.lib.sasl_server_start(
            self._conn, mechanism.encode("ascii", "replace"), clientin, len(data or b""), out, out_len
        )
        self._check(rc, "login")
        return _out(ffi, out, out_len), rc == OK

    def step(self, data: bytes | None) -> tuple[bytes | None, bool]:
        """The client's next data: our reply and whether the exchange is complete."""
        ffi = self._l.ffi
        out, out_len = ffi.new("const char **"), ffi.new("unsigned *")
        clientin = ffi.NULL if data is None else ffi.new("char[]", data)
        rc = self._l.lib.sasl_server_step(self._conn, clientin, len(data or b""), out, out_len)
        self._check(rc, "login")
        return _out(ffi, out, out_len), rc == OK

    @property
    def username(self) -> str:
        ffi = self._l.ffi
        value = ffi.new("const void **")
        self._check(self._l.lib.sasl_getprop(self._conn, _PROP_USERNAME, value), "user name")
        return _text(ffi, ffi.cast("const char *", value[0]))
