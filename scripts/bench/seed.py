"""Creates N connectors through the API (16 keep-alive connections) and writes their ids, one per line."""
import http.client, json, sys, threading, time

port, token, count, ids_file = int(sys.argv[1]), sys.argv[2], int(sys.argv[3]), sys.argv[4]
ids, lock, errors = [], threading.Lock(), []

def worker(start, step):
    conn = http.client.HTTPConnection("127.0.0.1", port)
    for i in range(start, count, step):
        body = json.dumps({
            "connector_id": "postgresql|6db35f45-be11-4fd5-80c5-85c48183afbb", "connector_name": f"seed-{i:05d}",
            "connector_metadata": {"host": "db.example", "port": "5432", "database": "app", "user": "app",
                                   "password": f"seed-secret-{i}"}})
        conn.request("POST", "/api/v1/unstract/default/connector/", body,
                     {"Authorization": f"Bearer {token}", "Content-Type": "application/json"})
        response = conn.getresponse()
        data = response.read()
        if response.status != 201:
            errors.append(response.status)
            continue
        with lock:
            ids.append(json.loads(data)["id"])

started = time.monotonic()
threads = [threading.Thread(target=worker, args=(k, 16)) for k in range(16)]
for t in threads: t.start()
for t in threads: t.join()
elapsed = time.monotonic() - started
with open(ids_file, "w") as f:
    f.write("\n".join(ids) + "\n")
print(f"seeded {len(ids)} connectors in {elapsed:.2f} s ({len(ids) / elapsed:.0f}/s from a Python client), errors: {len(errors)}")
sys.exit(1 if errors else 0)
