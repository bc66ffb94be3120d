"""The S3 probe workload with boto3: N ListObjectsV2(max-keys=1) calls, a new client per probe (as a
credential test of new credentials would), half of them with a wrong secret, on C threads.
Prints probes/s, p50/p99 latency, client CPU time and peak RSS."""
import concurrent.futures, resource, sys, time
import boto3, botocore.config, botocore.exceptions

port, key, secret, bucket, n, c = sys.argv[1], sys.argv[2], sys.argv[3], sys.argv[4], int(sys.argv[5]), int(sys.argv[6])
config = botocore.config.Config(retries={"max_attempts": 1}, connect_timeout=5, read_timeout=5)
session = boto3.session.Session()

def probe(i):
    started = time.monotonic()
    client = session.client("s3", endpoint_url=f"http://127.0.0.1:{port}", region_name="us-east-1",
                            aws_access_key_id=key, aws_secret_access_key=secret if i % 2 == 0 else "wrong", config=config)
    try:
        client.list_objects_v2(Bucket=bucket, MaxKeys=1)
        ok = True
    except botocore.exceptions.ClientError:
        ok = False
    return time.monotonic() - started, ok

started = time.monotonic()
with concurrent.futures.ThreadPoolExecutor(max_workers=c) as pool:
    results = list(pool.map(probe, range(n)))
elapsed = time.monotonic() - started
latencies = sorted(r[0] for r in results)
usage = resource.getrusage(resource.RUSAGE_SELF)
print(f"boto3: {n} probes, concurrency {c}: {n / elapsed:.0f} probes/s, p50 {latencies[n // 2] * 1000:.1f} ms, "
      f"p99 {latencies[int(n * 0.99) - 1] * 1000:.1f} ms, client CPU {(usage.ru_utime + usage.ru_stime) / n * 1000:.2f} ms/probe, "
      f"peak RSS {usage.ru_maxrss / 1024:.0f} MiB, valid {sum(1 for r in results if r[1])}")
