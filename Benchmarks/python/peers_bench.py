"""The Python peers' side of `multicore bench --peers`: loky, pebble and joblib doing the same
work as the Multicore benchmark of the same name, where the peer has such work.

Each peer runs as it is configured by default, so that the best peer is at its best: pebble's
ProcessPool with multiprocessing's default start method (fork on Linux with Python 3.11; with
spawn, its timeouts were reported several times later here), loky's and joblib's own (loky).

Run with the virtual environment's python (`multicore bench --peers` makes it under .build).

Usage:
  python peers_bench.py --list              one line per (benchmark, peer) pair measured here
  python peers_bench.py --versions          one line: each peer and its version
  python peers_bench.py NAME PEER ITERATIONS
Prints one number: seconds per operation, as threading_bench.py does for CPython (ITERATIONS
is CPython's count: a slow peer runs a fraction of it, see DIVISORS).
"""
import os
import signal
import sys
import tempfile
import time


def _twice(x):
    return x * 2


def _nap(seconds):
    time.sleep(seconds)
    return seconds


def _nap_reporting(path, seconds):
    """Writes this worker's pid to `path` (whole or not at all), then sleeps."""
    with open(path + ".tmp", "w") as f:
        f.write(str(os.getpid()))
    os.rename(path + ".tmp", path)
    time.sleep(seconds)
    return seconds


# executor.processes.submit: submit + result of x*2 on 2 workers, started and warm first.

def pebble_submit(n):
    from pebble import ProcessPool
    with ProcessPool(max_workers=2) as pool:
        pool.schedule(_twice, args=(0,)).result()
        start = time.perf_counter()
        futures = [pool.schedule(_twice, args=(i,)) for i in range(n)]
        for f in futures:
            f.result()
        elapsed = time.perf_counter() - start
    return elapsed / n


def loky_submit(n):
    from loky import get_reusable_executor
    executor = get_reusable_executor(max_workers=2)
    executor.submit(_twice, 0).result()
    start = time.perf_counter()
    futures = [executor.submit(_twice, i) for i in range(n)]
    for f in futures:
        f.result()
    elapsed = time.perf_counter() - start
    executor.shutdown(wait=True)
    return elapsed / n


# pool.map.chunk1: map of x*2 over n Ints, one task per message, 2 workers.

def pebble_map_chunk1(n):
    from pebble import ProcessPool
    with ProcessPool(max_workers=2) as pool:
        list(pool.map(_twice, range(4), chunksize=1).result())
        start = time.perf_counter()
        outputs = list(pool.map(_twice, range(n), chunksize=1).result())
        elapsed = time.perf_counter() - start
    assert len(outputs) == n
    return elapsed / n


def loky_map_chunk1(n):
    from loky import get_reusable_executor
    executor = get_reusable_executor(max_workers=2)
    list(executor.map(_twice, range(4), chunksize=1))
    start = time.perf_counter()
    outputs = list(executor.map(_twice, range(n), chunksize=1))
    elapsed = time.perf_counter() - start
    executor.shutdown(wait=True)
    assert len(outputs) == n
    return elapsed / n


def joblib_map(n, batch_size):
    from joblib import Parallel, delayed
    with Parallel(n_jobs=2, batch_size=batch_size) as parallel:
        parallel(delayed(_twice)(i) for i in range(4))
        start = time.perf_counter()
        outputs = parallel(delayed(_twice)(i) for i in range(n))
        elapsed = time.perf_counter() - start
    assert len(outputs) == n
    return elapsed / n


# pool.timeout_overshoot: seconds past a task's 0.2 s timeout until it has failed.

def pebble_timeout_overshoot(n):
    from concurrent.futures import TimeoutError as FutureTimeout
    from pebble import ProcessPool
    total = 0.0
    with ProcessPool(max_workers=1) as pool:
        pool.schedule(_twice, args=(0,)).result()
        for _ in range(n):
            start = time.perf_counter()
            future = pool.schedule(_nap, args=(30,), timeout=0.2)
            try:
                future.result()
                raise RuntimeError("the task did not time out")
            except FutureTimeout:
                pass
            total += time.perf_counter() - start - 0.2
    return total / n


# pool.worker_death_detect: seconds from a worker's SIGKILL until its task has failed.

def _death_detect(n, submit):
    total = 0.0
    with tempfile.TemporaryDirectory() as folder:
        for index in range(n):
            path = os.path.join(folder, "pid%d" % index)
            future = submit(path)
            limit = time.monotonic() + 30
            while not os.path.exists(path):
                if time.monotonic() > limit:
                    raise RuntimeError("the task did not start")
                time.sleep(0.001)
            time.sleep(0.02)  # let the worker enter the task, as the Swift side does
            with open(path) as f:
                pid = int(f.read())
            start = time.perf_counter()
            os.kill(pid, signal.SIGKILL)
            if future.exception(timeout=30) is None:
                raise RuntimeError("the task did not fail")
            total += time.perf_counter() - start
    return total / n


def pebble_death_detect(n):
    from pebble import ProcessPool
    with ProcessPool(max_workers=1) as pool:
        return _death_detect(n, lambda path: pool.schedule(_nap_reporting, args=(path, 30)))


def loky_death_detect(n):
    from loky import get_reusable_executor
    # A worker's death breaks the executor: get_reusable_executor makes a new one each time.
    result = _death_detect(n, lambda path: get_reusable_executor(max_workers=1).submit(_nap_reporting, path, 30))
    get_reusable_executor(max_workers=1).shutdown(wait=True)
    return result


PEERS = ("loky", "pebble", "joblib")

# ITERATIONS is CPython's count for the benchmark; a slower peer runs a fraction of it, so that
# each measurement stays within a second or two (its figure is per operation all the same).
DIVISORS = {
    ("executor.processes.submit", "loky"): 2,
    ("pool.map.chunk1", "pebble"): 2,
    ("pool.map.chunk1", "loky"): 5,
    ("pool.map.chunk1", "joblib"): 10,
    ("pool.map.auto", "joblib"): 10,
}

BENCHMARKS = {
    ("executor.processes.submit", "pebble"): pebble_submit,
    ("executor.processes.submit", "loky"): loky_submit,
    ("pool.map.chunk1", "pebble"): pebble_map_chunk1,
    ("pool.map.chunk1", "loky"): loky_map_chunk1,
    ("pool.map.chunk1", "joblib"): lambda n: joblib_map(n, 1),
    ("pool.map.auto", "joblib"): lambda n: joblib_map(n, "auto"),
    ("pool.timeout_overshoot", "pebble"): pebble_timeout_overshoot,
    ("pool.worker_death_detect", "pebble"): pebble_death_detect,
    ("pool.worker_death_detect", "loky"): loky_death_detect,
}


def versions():
    from importlib.metadata import version
    return " ".join("%s=%s" % (peer, version(peer)) for peer in PEERS)


if __name__ == "__main__":
    if sys.argv[1:] == ["--list"]:
        for name, peer in BENCHMARKS:
            print(name, peer)
    elif sys.argv[1:] == ["--versions"]:
        print(versions())
    else:
        name, peer, iterations = sys.argv[1], sys.argv[2], int(sys.argv[3])
        iterations = max(1, iterations // DIVISORS.get((name, peer), 1))
        print(repr(BENCHMARKS[(name, peer)](iterations)))
