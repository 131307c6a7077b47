#!/usr/bin/env python3
"""Benchmark client for Colabel (standard library only).

  client.py login BASE USER PASSWORD        -> prints the Cookie header; login latency on stderr
  client.py create BASE COOKIE OWNER N      -> creates N datasets, prints the median ms
  client.py logins BASE SECONDS CLIENTS     -> CLIENTS threads logging in (user1..userN) until SECONDS pass
  client.py apikey BASE COOKIE              -> creates an API key on the settings page, prints it
  client.py latency BASE KEY PATH N         -> N sequential API GETs; prints the median ms and the body size
  client.py build BASE MEMBERS DATASETS     -> builds a small database through the forms, as people
                                               would: user1..userMEMBERS sign up, user1 creates bigorg
                                               and adds the others, then creates dataset-1..DATASETS
"""
import http.client, re, statistics, sys, threading, time, urllib.parse

TOKEN = re.compile(r'name="csrf_token" value="([^"]+)"')


class Session:
    def __init__(self, base, cookie=""):
        u = urllib.parse.urlparse(base)
        self.host, self.port = u.hostname, u.port
        self.cookie = cookie
        self.conn = http.client.HTTPConnection(self.host, self.port, timeout=30)

    def request(self, method, path, body=None, headers=None):
        headers = dict(headers or {})
        if self.cookie:
            headers["Cookie"] = self.cookie
        if body is not None:
            headers["Content-Type"] = "application/x-www-form-urlencoded"
            body = urllib.parse.urlencode(body)
        self.conn.request(method, path, body=body, headers=headers)
        res = self.conn.getresponse()
        data = res.read().decode("utf-8", "replace")
        for k, v in res.getheaders():
            if k.lower() == "set-cookie":
                self.cookie = v.split(";", 1)[0]
        return res.status, data

    def token(self, path):
        status, body = self.request("GET", path)
        m = TOKEN.search(body)
        if not m:
            raise SystemExit(f"no csrf token on {path} (status {status})")
        return m.group(1)

    def login(self, user, password):
        token = self.token("/login")
        t = time.perf_counter()
        status, _ = self.request("POST", "/login", {"login": user, "password": password, "csrf_token": token})
        ms = (time.perf_counter() - t) * 1000
        if status != 303:
            raise SystemExit(f"login failed with {status}")
        return ms


def main():
    cmd = sys.argv[1]
    if cmd == "login":
        s = Session(sys.argv[2])
        times = [s.login(sys.argv[3], sys.argv[4]) for _ in range(1)]
        for _ in range(4):
            t = Session(sys.argv[2])
            times.append(t.login(sys.argv[3], sys.argv[4]))
        print(f"{statistics.median(times):.0f}", file=sys.stderr)
        print(s.cookie)
    elif cmd == "create":
        base, cookie, owner, n = sys.argv[2], sys.argv[3], sys.argv[4], int(sys.argv[5])
        s = Session(base, cookie)
        token = s.token(f"/datasets/new?owner={owner}")
        times = []
        for i in range(n):
            body = {"owner": owner, "name": f"bench-{int(time.time() * 1000)}-{i}", "task_type": "bboxes",
                    "visibility": "private", "description": "", "csrf_token": token}
            t = time.perf_counter()
            status, _ = s.request("POST", "/datasets", body)
            times.append((time.perf_counter() - t) * 1000)
            if status != 303:
                raise SystemExit(f"create failed with {status}")
        print(f"{statistics.median(times):.1f}")
    elif cmd == "apikey":
        s = Session(sys.argv[2], sys.argv[3])
        token = s.token("/settings/api-keys")
        status, body = s.request("POST", "/settings/api-keys", {"name": "bench", "csrf_token": token})
        m = re.search(r'<code id="new-key">([A-Za-z0-9_-]+)</code>', body)
        if status != 200 or not m:
            raise SystemExit(f"creating an API key failed with {status}")
        print(m.group(1))
    elif cmd == "latency":
        base, key, path, n = sys.argv[2], sys.argv[3], sys.argv[4], int(sys.argv[5])
        s = Session(base)
        times, size = [], 0
        for _ in range(n):
            t = time.perf_counter()
            status, body = s.request("GET", path, headers={"Authorization": f"APIKey {key}"})
            times.append((time.perf_counter() - t) * 1000)
            size = len(body)
            if status != 200:
                raise SystemExit(f"GET {path} failed with {status}")
        print(f"{statistics.median(times):.1f} {size}")
    elif cmd == "build":
        base, members, datasets = sys.argv[2], int(sys.argv[3]), int(sys.argv[4])
        t0 = time.perf_counter()
        admin = None
        for i in range(1, members + 1):
            s = Session(base)
            token = s.token("/signup")
            status, _ = s.request("POST", "/signup", {"username": f"user{i}", "email": f"user{i}@example.com",
                                                     "password": "colabel-demo", "csrf_token": token})
            if status != 303:
                raise SystemExit(f"signup of user{i} failed with {status}")
            if i == 1:
                admin = s
        token = admin.token("/organizations/new")
        status, _ = admin.request("POST", "/organizations", {"username": "bigorg", "display_name": "Big org",
                                                            "csrf_token": token})
        if status != 303:
            raise SystemExit(f"creating bigorg failed with {status}")
        roles = ["labeler", "reviewer", "viewer", "manager", "none"]
        for i in range(2, members + 1):
            role = "admin" if i == 2 else "member"
            status, _ = admin.request("POST", "/bigorg/settings/members", {
                "username": f"user{i}", "role": role, "default_role": roles[i % len(roles)], "csrf_token": token})
            if status != 303:
                raise SystemExit(f"adding user{i} failed with {status}")
        for i in range(1, datasets + 1):
            status, _ = admin.request("POST", "/datasets", {
                "owner": "bigorg", "name": f"dataset-{i}", "task_type": "bboxes",
                "visibility": "public" if i % 4 == 0 else "private", "description": f"Dataset {i}",
                "csrf_token": token})
            if status != 303:
                raise SystemExit(f"creating dataset-{i} failed with {status}")
        print(f"built {members} users, bigorg with {members} members and {datasets} datasets through the forms "
              f"in {time.perf_counter() - t0:.1f}s")
    elif cmd == "logins":
        base, seconds, clients = sys.argv[2], float(sys.argv[3]), int(sys.argv[4])
        stop = time.time() + seconds
        done = [0]

        def worker(i):
            while time.time() < stop:
                Session(base).login(f"user{i + 1}", "colabel-demo")
                done[0] += 1

        threads = [threading.Thread(target=worker, args=(i,)) for i in range(clients)]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        print(done[0])


if __name__ == "__main__":
    main()
