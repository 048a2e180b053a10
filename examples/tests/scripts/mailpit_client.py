"""A harness written against Mailpit's API, run unchanged against smtp-sink --http.

It makes the requests Mailpit's client libraries make (list, fetch a summary, the raw
message and the headers, search, delete by search, delete all) with urllib, and checks
the fields they read. usage: mailpit_client.py BASE_URL; prints "ok" or fails.
"""
import json
import sys
import urllib.request

base = sys.argv[1].rstrip("/")


def call(method, path, body=None):
    data = None if body is None else json.dumps(body).encode()
    req = urllib.request.Request(base + path, data=data, method=method)
    if data is not None:
        req.add_header("Content-Type", "application/json")
    with urllib.request.urlopen(req, timeout=20) as r:
        raw = r.read()
        if r.headers.get_content_type() == "application/json":
            return json.loads(raw)
        return raw


listing = call("GET", "/api/v1/messages?limit=10")
assert listing["total"] == 2 and listing["messages_count"] == 2, listing
first = listing["messages"][0]  # the newest first, as Mailpit lists them
assert first["Subject"] == "second", first
assert first["From"]["Address"] == "sender@example.test", first
assert first["To"][0]["Address"] == "bob@example.test", first
assert first["Snippet"].startswith("body two"), first
msg = call("GET", "/api/v1/message/" + first["ID"])
assert msg["Text"].startswith("body two"), msg
assert msg["ReturnPath"] == "sender@example.test", msg
latest = call("GET", "/api/v1/message/latest")
assert latest["ID"] == first["ID"], latest
raw = call("GET", "/api/v1/message/%s/raw" % first["ID"])
assert b"Subject: second\r\n" in raw, raw
headers = call("GET", "/api/v1/message/%s/headers" % first["ID"])
assert headers["Subject"] == ["second"], headers
found = call("GET", "/api/v1/search?query=subject:first")
assert found["messages_count"] == 1 and found["messages"][0]["Subject"] == "first", found
call("DELETE", "/api/v1/search?query=subject:first")
assert call("GET", "/api/v1/messages")["total"] == 1
call("DELETE", "/api/v1/messages", {"IDs": []})
assert call("GET", "/api/v1/messages")["total"] == 0
assert call("GET", "/api/v1/info")["Messages"] == 0
print("ok")
