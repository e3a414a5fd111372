"""Benchmark of the classification service (issue 4), run by hand:

    .venv/bin/python benchmarks/serving.py [--model DIR] [--precision P]

Prints comments/s in-process at batch sizes 1, 8, 32, 128, 256; then through
HTTP against a real `pingjia serve` process on loopback with 1, 8 and 32
concurrent clients (one comment per request) and with 32 or 128 comments per
request, with p50/p99 latency; then the server's peak resident memory. Comments
are real waimai and helpdesk test comments. The load generator shares the
machine's cores with the server.
"""

from __future__ import annotations

import argparse
import asyncio
import socket
import statistics
import subprocess
import sys
import time
from pathlib import Path

import httpx

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from model.encoder import default_model_dir  # noqa: E402
from model.predict import PRECISIONS, load_model, predict, set_threads  # noqa: E402
from training.corpus import load_corpus  # noqa: E402

PINGJIA = str(Path(sys.executable).with_name("pingjia"))


def real_comments(count: int) -> list[str]:
    corpus = load_corpus(sources=("waimai", "helpdesk"))
    test = corpus.filter(lambda s: s == "test", input_columns="split")
    texts = test.shuffle(seed=0)["text"]
    return [t for t in texts if len(t) <= 200][:count]


def in_process(model_dir: Path, texts: list[str], precision: str) -> None:
    set_threads(None)
    model = load_model(model_dir, precision=precision)
    predict(model, texts[:16])  # warm-up
    print(f"\nin-process ({model.precision}), {len(texts)} comments")
    print(f"{'batch':>6} {'comments/s':>12}")
    for batch in (1, 8, 32, 128, 256):
        n = min(len(texts), 64 if batch == 1 else len(texts))
        started = time.perf_counter()
        for i in range(0, n, batch):
            predict(model, texts[i : i + batch])
        rate = n / (time.perf_counter() - started)
        print(f"{batch:>6} {rate:>12.1f}")


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


async def http_load(
    base: str, texts: list[str], clients: int, per_client: int, batch: int = 1
):
    """Comments/s, p50 and p99 seconds per request; ``batch`` comments each."""
    latencies: list[float] = []

    async def client(offset: int, http: httpx.AsyncClient) -> None:
        for i in range(per_client):
            first = (offset * per_client + i) * batch
            comments = [{"text": texts[(first + j) % len(texts)]} for j in range(batch)]
            started = time.perf_counter()
            reply = await http.post(f"{base}/v1/classify", json={"comments": comments})
            reply.raise_for_status()
            latencies.append(time.perf_counter() - started)

    limits = httpx.Limits(max_connections=clients)
    async with httpx.AsyncClient(timeout=60, limits=limits) as http:
        started = time.perf_counter()
        await asyncio.gather(*(client(c, http) for c in range(clients)))
        elapsed = time.perf_counter() - started
    latencies.sort()
    p99 = latencies[min(len(latencies) - 1, int(0.99 * len(latencies)))]
    return batch * len(latencies) / elapsed, statistics.median(latencies), p99


def peak_rss_mib(pid: int) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) / 1024
    return float("nan")


def through_http(model_dir: Path, texts: list[str], precision: str) -> None:
    port = free_port()
    server = subprocess.Popen(
        [PINGJIA, "serve", "--model", str(model_dir), "--port", str(port)]
        + ["--precision", precision],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    base = f"http://127.0.0.1:{port}"
    try:
        for _ in range(600):
            try:
                if httpx.get(f"{base}/readyz").status_code == 200:
                    break
            except httpx.TransportError:
                pass
            time.sleep(0.2)
        asyncio.run(http_load(base, texts, 1, 10))  # warm-up
        print("\nHTTP, one comment per request")
        print(f"{'clients':>8} {'comments/s':>12} {'p50 ms':>9} {'p99 ms':>9}")
        for clients, per_client in ((1, 100), (8, 40), (32, 20)):
            rate, p50, p99 = asyncio.run(http_load(base, texts, clients, per_client))
            print(f"{clients:>8} {rate:>12.1f} {1000 * p50:>9.1f} {1000 * p99:>9.1f}")
        short = [t for t in texts if len(t) <= 30]
        rate, p50, p99 = asyncio.run(http_load(base, short, 1, 100))
        print(f"short comments (<= 30 characters), 1 client: p50 {1000 * p50:.1f} ms")
        print("\nHTTP, batched requests")
        print(
            f"{'per request':>12} {'clients':>8} {'comments/s':>12} "
            f"{'p50 ms':>9} {'p99 ms':>9}"
        )
        for batch, clients, per_client in ((32, 1, 10), (32, 4, 6), (32, 8, 4)) + (
            (128, 1, 4),
            (128, 2, 4),
        ):
            rate, p50, p99 = asyncio.run(
                http_load(base, texts, clients, per_client, batch=batch)
            )
            print(
                f"{batch:>12} {clients:>8} {rate:>12.1f} "
                f"{1000 * p50:>9.1f} {1000 * p99:>9.1f}"
            )
        print(f"\nserver peak RSS: {peak_rss_mib(server.pid):.0f} MiB")
    finally:
        server.terminate()
        server.wait(timeout=30)


def main() -> None:
    parser = argparse.ArgumentParser(description="pingjia serving benchmark")
    parser.add_argument("--model", type=Path, default=default_model_dir())
    parser.add_argument("--precision", default="auto", choices=("auto", *PRECISIONS))
    args = parser.parse_args()

    texts = real_comments(512)
    in_process(args.model, texts, args.precision)
    through_http(args.model, texts, args.precision)


if __name__ == "__main__":
    main()
