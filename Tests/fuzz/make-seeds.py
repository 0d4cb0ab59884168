#!/usr/bin/env python3
"""Writes the committed seed corpora (Tests/fuzz/corpus/<target>/) from the
formats the tests use and the reference cloud's real responses. Run once when
a format changes; libFuzzer grows its own corpus from these. Python because
it writes binary formats (frames, records, TLV, U-Boot images) more plainly
than bash."""
import binascii
import json
import os
import struct
import subprocess
import sys

HERE = os.path.dirname(os.path.abspath(__file__))
OUT = os.path.join(HERE, "corpus")


def put(target, name, data):
    folder = os.path.join(OUT, target)
    os.makedirs(folder, exist_ok=True)
    if isinstance(data, str):
        data = data.encode()
    with open(os.path.join(folder, name), "wb") as f:
        f.write(data)


def main():
    if len(sys.argv) != 1:
        print("usage: Tests/fuzz/make-seeds.py", file=sys.stderr)
        sys.exit(64)
    issuer = "https://cloud.example"
    metadata = {  # Tests/refcloud/oauth.py build_metadata, as served
        "issuer": issuer,
        "device_authorization_endpoint": issuer + "/oauth/device_authorization",
        "token_endpoint": issuer + "/oauth/token",
        "revocation_endpoint": issuer + "/oauth/revoke",
        "grant_types_supported": ["urn:ietf:params:oauth:grant-type:device_code", "refresh_token"],
        "token_endpoint_auth_methods_supported": ["private_key_jwt"],
        "token_endpoint_auth_signing_alg_values_supported": ["ES256"],
        "dpop_signing_alg_values_supported": ["ES256"],
        "camera_report_endpoint": issuer + "/v1/devices/",
    }
    put("server-metadata", "refcloud", b"\x00" + json.dumps(metadata).encode())
    put("server-metadata", "minimal", b"\x00" + json.dumps({k: metadata[k] for k in
        ("issuer", "token_endpoint", "device_authorization_endpoint")}).encode())
    device = {"device_code": "GmRhmhcxhwAzkoEqiMEg_DnyEysNkuNhszIySk9eS", "user_code": "WDJB-MJHT",
              "verification_uri": "https://cloud.example/device",
              "verification_uri_complete": "https://cloud.example/device?user_code=WDJB-MJHT",
              "expires_in": 1800, "interval": 5}
    put("device-authorization", "rfc8628", b"\x00" + json.dumps(device).encode())
    put("device-authorization", "plain-http", b"\x01" + json.dumps(dict(device,
        verification_uri="http://127.0.0.1:8080/device")).encode())
    token = {"access_token": "eyJhbGciOiJFUzI1NiIsInR5cCI6ImF0K2p3dCJ9.eyJzdWIiOiJjYW0tMDAwMSJ9.c2ln",
             "token_type": "DPoP", "expires_in": 300, "refresh_token": "8xLOxBtZp8"}
    put("token-response", "refcloud", json.dumps(token))
    put("token-response", "no-refresh", json.dumps({"access_token": "at", "token_type": "dpop"}))
    put("oauth-error", "nonce", json.dumps({"error": "use_dpop_nonce",
        "error_description": "Authorization server requires nonce in DPoP proof"}))
    put("oauth-error", "pending", '{"error":"authorization_pending"}')
    put("oauth-error", "hostile", '{"error":"x\\r\\nFAKE: log line\\u001b[2J","error_description":"line1\\nline2\\u0007 \\u00e9"}')
    put("json", "metadata", json.dumps(metadata))
    put("json", "nested", '{"a":[1,-2.5e3,true,false,null,{"b":"\\u00e9\\ud83d\\ude00\\n"}],"c":{}}')
    put("json", "numbers", "[0,-0,1e400,9223372036854775807,9223372036854775808,-9223372036854775808,3600.0]")
    put("www-authenticate", "dpop-nonce",
        'DPoP error="use_dpop_nonce", error_description="Resource server requires nonce in DPoP proof", algs="ES256"')
    put("www-authenticate", "two", 'Bearer realm="x", DPoP algs="ES256 PS256", error="invalid_token"')
    put("www-authenticate", "token68", "Basic dXNlcjpwYXNz, Negotiate abc==")
    put("http-date", "imf", "Sun, 06 Nov 1994 08:49:37 GMT")
    put("http-date", "now", "Tue, 01 Dec 2026 20:16:24 GMT")
    put("retry-after", "seconds", b"\x00\x00\x00\x00\x69\x00\x00\x00\x01\x10" + b"120")
    put("retry-after", "date", b"\x00\x00\x00\x00\x69\x00\x00\x00\x01\x10" + b"Tue, 01 Dec 2026 20:16:24 GMT")
    put("endpoint-url", "https", b"\x00https://cloud.example/oauth/token")
    put("endpoint-url", "http-port", b"\x01http://127.0.0.1:4443/oauth/device_authorization?x=1")
    put("base64url", "jwt-part", "eyJhbGciOiJFUzI1NiJ9")
    put("base64url", "bytes", bytes(range(0, 256, 7)))
    # Keys: two fresh P-256 keys as RFC 5915 DER (what the vault holds), and
    # their public JWK.
    for index in range(2):
        pem = subprocess.run(["openssl", "ecparam", "-name", "prime256v1", "-genkey", "-noout"],
                             check=True, capture_output=True).stdout
        der = subprocess.run(["openssl", "ec", "-outform", "DER"], input=pem, check=True,
                             capture_output=True).stdout
        put("key-import", "der-%d" % index, b"\x00" + der)
        x, y = der[-64:-32], der[-32:]
        b64 = lambda b: binascii.b2a_base64(b, newline=False).decode().replace("+", "-").replace("/", "_").rstrip("=")
        put("key-import", "jwk-%d" % index, b"\x01" + json.dumps({"crv": "P-256", "kty": "EC",
            "x": b64(x), "y": b64(y)}).encode())
    # Flash formats (Storage/SlotFrame.swift, Vault/VaultRecord.swift, Vault/VaultContents.swift).
    def tlv(tag, value):
        return bytes([tag]) + struct.pack("<H", len(value)) + value
    contents = (tlv(1, b"cam-hs-0001") + tlv(2, b"\x30" * 121) + tlv(3, b"\x30" * 121) + tlv(4, b"at" * 20)
                + tlv(5, struct.pack("<q", 1_800_000_300)) + tlv(6, b"rt" * 16)
                + tlv(7, struct.pack("<q", 1_800_000_000)) + tlv(8, struct.pack("<q", 1_700_000_000)))
    put("vault-contents", "full", contents)
    put("vault-contents", "fresh", tlv(1, b"cam-hs-0001") + tlv(8, struct.pack("<q", 1_700_000_000)))
    def record(generation, device_id, ciphertext, slot=0):
        return (b"CAVR" + bytes([1, slot, 0, 0]) + struct.pack("<Q", generation) + bytes([len(device_id)])
                + device_id + b"\x5a" * 12 + struct.pack("<I", len(ciphertext)) + ciphertext + b"\xa5" * 16)
    put("vault-record", "gen1", b"\x00" + record(1, b"cam-hs-0001", b"\x11" * 300))
    put("vault-record", "gen-max", b"\x00" + record(2**64 - 1, b"CAM-0001", b"\x22" * 40, slot=1))
    def frame(payload, alignment=1):
        body = b"CASF" + struct.pack("<II", len(payload), binascii.crc32(payload)) + payload
        body += b"\xff" * (-len(body) % alignment)
        marker = b"\x5a\xc3\x3c\xa5" + b"\xff" * (-4 % alignment)
        return body + marker
    payload = record(7, b"cam-hs-0001", b"\x33" * 64)
    put("slot-frame", "file", b"\x08" + frame(payload))
    put("slot-frame", "nor-aligned-16", b"\x04" + frame(payload, 16) + b"\xff" * 64)
    put("slot-frame", "torn", b"\x00" + frame(payload)[:-3] + b"\xff" * 3)
    put("slot-frame", "erased", b"\x00" + b"\xff" * 128)
    conf = ("# camera-agent.conf\nserver = https://cloud.example\nvault = /data/camera-agent/vault\n"
            "vault_backend = file\nkey_source = qemu-fw-cfg:opt/camera/huk\n"
            "firmware_version_source = os-release:/etc/os-release\nlog_level = info\n"
            "report_interval_seconds = 3600\nhook = /usr/libexec/camera-agent-hook\n")
    put("config-file", "example", conf)
    put("config-file", "bad-key", "server = https://cloud.example\nserv\x1b]0;x\x07er = 1\n")
    put("firmware-version", "os-release", b"\x00" + b'NAME="Camera OS"\nVERSION_ID="4.2.1-rc1+build.7"\nID=camos\n')
    put("firmware-version", "keyvalue", b"\x01" + b"model=c1\r\nfirmware_version=2026.11.3\n")
    env = b"bootcmd=run boot\x00ver=U-Boot 2024.01 cam-4.2\x00\x00" + b"\xff" * 32
    put("firmware-version", "uboot-env", b"\x82" + struct.pack("<I", binascii.crc32(env)) + env)
    put("log-mask", "jwt", "refresh failed for eyJhbGciOiJFUzI1NiIsInR5cCI6ImF0K2p3dCJ9.eyJzdWIiOiJjYW0tMDAwMSJ9 today")
    put("log-mask", "query", "GET https://cloud.example/cb?code=SplxlOBeZQQYbYS6WxSbIA&state=xyz")
    put("log-mask", "json-body", '{"access_token": "tok", "n":1, "refresh_token":"8xLOxBtZp8"}')
    put("log-mask", "headers", "Authorization: DPoP abc.def\r\nDPoP: eyJ0eXAiOiJkcG9wK2p3dCJ9.e30.sig")
    # A value opened by a percent-escaped quote (the oracle once misread it).
    put("log-mask", "percent-quote", "GET https://cloud.example/cb?code=%22SplxlOBeZQQYbYS6WxSbIA%22&state=xyz")
    put("log-mask", "ordinary", "waiting for the owner to approve code WDJB-MJHT at https://127.0.0.1:4443/device")


if __name__ == "__main__":
    main()
