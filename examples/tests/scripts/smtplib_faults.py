"""Python's smtplib (and a raw socket) as the client of smtp-sink's fault rules.

usage: smtplib_faults.py MODE PORT CAFILE [ARG...]; prints one JSON object.

  send TO...        one message with smtplib (STARTTLS when offered, verified against
                    CAFILE for the name localhost), to each TO
  plain TO...       the same without STARTTLS
  raw COMMAND...    a raw socket: the greeting, then each command (a literal \\r\\n is
                    added) and what arrives within 1 s of it, up to 1 MiB
"""
import json
import smtplib
import socket
import ssl
import sys
import time


def send(port, cafile, to, starttls=True):
    out = {"ok": False, "tls": False, "extensions": [], "code": None, "error": None}
    try:
        s = smtplib.SMTP("127.0.0.1", port, timeout=20)
        s.ehlo("python.test")
        out["extensions"] = sorted(s.esmtp_features)
        if starttls and s.has_extn("starttls"):
            ctx = ssl.create_default_context(cafile=cafile)
            s._host = "localhost"
            s.starttls(context=ctx)
            out["tls"] = True
            s.ehlo("python.test")
        refused = s.sendmail("a@example.test", to, b"Subject: py\r\n\r\nhello\r\n")
        out["refused"] = {k: v[0] for k, v in refused.items()}
        out["ok"] = True
        s.quit()
    except smtplib.SMTPRecipientsRefused as e:
        out["error"] = type(e).__name__
        out["code"] = list(e.recipients.values())[0][0]
    except smtplib.SMTPResponseException as e:
        out["error"] = type(e).__name__
        out["code"] = e.smtp_code
        out["message"] = e.smtp_error.decode("utf-8", "replace")
    except ssl.SSLCertVerificationError as e:
        out["error"] = "SSLCertVerificationError"
        out["message"] = e.verify_message
    except Exception as e:  # disconnections, TLS errors: the class says which
        out["error"] = type(e).__name__
        out["message"] = str(e)
    return out


def raw(port, commands):
    sock = socket.create_connection(("127.0.0.1", port), timeout=20)
    got = []

    def drain():
        data = b""
        deadline = time.monotonic() + 1.0
        sock.settimeout(0.2)
        while time.monotonic() < deadline and len(data) < (1 << 20):
            try:
                chunk = sock.recv(65536)
            except socket.timeout:
                continue
            if not chunk:
                break
            data += chunk
        return data.decode("utf-8", "replace")

    got.append(drain())
    for c in commands:
        sock.sendall(c.encode() + b"\r\n")
        got.append(drain())
    sock.close()
    return {"replies": got}


def main():
    mode, port, cafile, rest = sys.argv[1], int(sys.argv[2]), sys.argv[3], sys.argv[4:]
    if mode == "send":
        print(json.dumps(send(port, cafile, rest)))
    elif mode == "plain":
        print(json.dumps(send(port, cafile, rest, starttls=False)))
    elif mode == "raw":
        print(json.dumps(raw(port, rest)))
    else:
        sys.exit("unknown mode " + mode)


main()
