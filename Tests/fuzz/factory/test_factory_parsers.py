"""Property tests of the factory station's parsers of board output
(board/factory/factory-provision.py). A board is untrusted: whatever it
prints, a parser either returns something that passed every check or raises
BoardError (never another exception), and no message it produces carries a
control character or an unbounded quote of the board's text."""
import base64
import hashlib
import importlib.util
import json
import os
import re
import socket

from hypothesis import HealthCheck, example, given, settings, strategies as st

SCRIPT = os.path.join(os.path.dirname(__file__), "..", "..", "..", "board", "factory", "factory-provision.py")
spec = importlib.util.spec_from_file_location("factory_provision", SCRIPT)
fp = importlib.util.module_from_spec(spec)
spec.loader.exec_module(fp)

settings.register_profile(
    "fuzz", max_examples=int(os.environ.get("HYPOTHESIS_EXAMPLES", "2000")), deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.filter_too_much], database=None)
settings.load_profile("fuzz")

B64 = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_"
device_ids = st.from_regex(fp.DEVICE_ID_RE, fullmatch=True)
b64_32 = st.binary(min_size=32, max_size=32).map(lambda b: base64.urlsafe_b64encode(b).rstrip(b"=").decode())


def thumb(jwk):
    canonical = json.dumps({k: jwk[k] for k in ("crv", "kty", "x", "y")}, separators=(",", ":"), sort_keys=True)
    return base64.urlsafe_b64encode(hashlib.sha256(canonical.encode()).digest()).rstrip(b"=").decode()


@st.composite
def jwks(draw):
    return {"crv": "P-256", "kty": "EC", "x": draw(b64_32), "y": draw(b64_32)}


def assert_clean_message(error):
    text = str(error)
    assert all(c.isprintable() for c in text), repr(text)
    assert len(text) < 600, len(text)


# Lines a board's `status` prints, valid and not, to mix into documents.
@st.composite
def status_texts(draw):
    jwk = draw(jwks())
    good = [
        "vault=/data/camera-agent/vault", "key_source=qemu-fw-cfg:opt/camera/huk", "state=provisioned",
        "device_id=" + draw(device_ids), "generation=3", "slot=1", "identity_key=present",
        "identity_thumbprint=" + thumb(jwk), "identity_jwk=" + json.dumps(jwk, separators=(",", ":")),
        "dpop_key=absent", "skipped=slot 0: older generation 2",
    ]
    noise = st.one_of(
        st.sampled_from(good), st.text(max_size=80),
        st.sampled_from(["state=unprovisioned", "identity_key=absent", "device_id=", "state=provisioned\r",
                         "identity_jwk={}", "identity_thumbprint=" + "A" * 43, "x" * 5000, "\x1b[2J=1"]))
    lines = draw(st.lists(noise, max_size=16))
    if draw(st.booleans()):
        lines = good + lines[:2]
    draw(st.randoms()).shuffle(lines) if draw(st.booleans()) else None
    return "\n".join(lines) + draw(st.sampled_from(["", "\n", "\r\n"]))


@given(status_texts())
@example("state=provisioned\ndevice_id=cam-0001\nidentity_key=present\nidentity_thumbprint=" + "A" * 43
         + "\nidentity_jwk={\"crv\":\"P-256\"}")
def test_status_is_checked_or_refused(text):
    try:
        result = fp.parse_status(text)
    except fp.BoardError as e:
        assert_clean_message(e)
        return
    if not result["provisioned"]:
        assert result == {"provisioned": False}
        return
    assert fp.DEVICE_ID_RE.fullmatch(result["device_id"])
    if result.get("identity_key") == "present":
        # What the station registers with the cloud is a JWK whose thumbprint the board vouched for.
        assert fp.check_public_jwk(result["jwk"]) == result["jwk"]
        assert thumb(result["jwk"]) == result["jkt"]


@given(st.text(max_size=400))
def test_status_any_text(text):
    test_status_is_checked_or_refused.hypothesis.inner_test(text)


@st.composite
def provision_outputs(draw):
    did = draw(device_ids)
    jwk = draw(jwks())
    doc = {"device_id": did, "jwk": jwk, "thumbprint": thumb(jwk)}
    choice = draw(st.integers(0, 5))
    if choice == 1:
        doc["thumbprint"] = draw(st.text(max_size=50))
    elif choice == 2:
        doc["jwk"] = draw(st.one_of(st.none(), st.text(max_size=20), st.dictionaries(st.text(max_size=4), st.text(max_size=60), max_size=5)))
    elif choice == 3:
        doc["device_id"] = draw(st.text(max_size=300))
    elif choice == 4:
        doc[draw(st.text(max_size=10))] = 1
    text = json.dumps(doc) if choice != 5 else draw(st.text(max_size=300))
    return did, text + draw(st.sampled_from(["", "\n", "\nextra"]))


@given(provision_outputs())
def test_provision_output_is_checked_or_refused(case):
    device_id, text = case
    try:
        jwk, thumbprint = fp.parse_provision(text, device_id)
    except fp.BoardError as e:
        assert_clean_message(e)
        return
    assert fp.check_public_jwk(jwk) == jwk
    assert thumb(jwk) == thumbprint


@given(st.one_of(
    st.text(max_size=300),
    st.lists(st.text(alphabet=B64, min_size=1, max_size=40), min_size=1, max_size=4).map(".".join),
    st.text(alphabet=B64 + ".\n\r", max_size=5000)))
def test_attest_output_is_a_compact_jws_or_refused(text):
    try:
        jws = fp.parse_attest(text)
    except fp.BoardError as e:
        assert_clean_message(e)
        return
    parts = jws.split(".")
    assert len(parts) == 3 and all(re.fullmatch(r"[A-Za-z0-9_-]+", p) for p in parts)
    assert len(jws) <= 4096 and "\n" not in jws and "\r" not in jws


@given(st.one_of(st.none(), st.integers(), st.text(max_size=20),
                 st.dictionaries(st.sampled_from(["crv", "kty", "x", "y", "d", ""]),
                                 st.one_of(st.text(alphabet=B64 + "=+/", max_size=50), b64_32, st.integers()), max_size=5),
                 jwks()))
def test_jwk_check(value):
    try:
        jwk = fp.check_public_jwk(value)
    except fp.BoardError as e:
        assert_clean_message(e)
        return
    assert set(jwk) == {"crv", "kty", "x", "y"}
    for c in ("x", "y"):
        assert len(base64.urlsafe_b64decode(jwk[c] + "=")) == 32


@given(st.text(), st.integers(1, 400))
def test_clean_is_one_bounded_printable_line(text, limit):
    out = fp.clean(text, limit)
    assert all(c.isprintable() for c in out)
    assert len(out) <= limit + 3


# The serial console: whatever the board prints around and inside a framed
# command (echo, prompts, CR, noise that is not a marker), the station gets
# back exactly the command's stdout, stderr and status.
marker_free = st.binary(max_size=300).filter(lambda b: b"__FP" not in b)


@given(noise=marker_free, out=marker_free, err=marker_free, rc=st.integers(0, 255),
       cr=st.sampled_from([b"\n", b"\r\n", b"\r\r\n"]))
def test_serial_framing(noise, out, err, rc, cr):
    r = "0123456789abcdef"
    ours, board = socket.socketpair()
    try:
        serial = object.__new__(fp.SerialBoard)
        serial.board, serial.timeout, serial.buf, serial.sock = {"socket": "x"}, 5.0, b"", ours
        ours.setblocking(False)
        # What a console shows: the echoed command line (markers inside quotes), noise, then the frames.
        echoed = f'echo __FPB_"{r}"__; ( eval true ) </dev/null\r\n'.encode()
        body = out if out.endswith(b"\n") or not out else out + b"\n"
        stream = (echoed + noise + b"\n__FPB_" + r.encode() + b"__" + cr + body
                  + b"__FPE_" + r.encode() + b"__ " + str(rc).encode() + cr + err + b"__FPX_" + r.encode() + b"__" + cr)
        board.sendall(stream)
        original = fp.secrets.token_hex
        fp.secrets.token_hex = lambda n: r
        try:
            result = serial._framed("true", "test")
        finally:
            fp.secrets.token_hex = original
        assert result.rc == rc
        fix = lambda b: b.decode("utf-8", errors="replace").replace("\r\n", "\n").replace("\r", "")  # noqa: E731
        assert result.out == fix(body)
        assert result.err == fix(err)
        assert_clean_message(fp.BoardError(result.why()))
    finally:
        ours.close()
        board.close()
