"""CPython's side of `multicore bench` (threads, and processes as they arrive): the same work as each Multicore benchmark.

Usage: python3 threading_bench.py NAME ITERATIONS
Prints one number: seconds per operation (or per run, for the whole-run benchmarks).
"""
import queue
import sys
import threading
import time
from concurrent.futures import ThreadPoolExecutor


def thread_start_join(n):
    def nothing():
        pass
    start = time.perf_counter()
    for _ in range(n):
        t = threading.Thread(target=nothing)
        t.start()
        t.join()
    return (time.perf_counter() - start) / n


def lock_uncontended(n):
    lock = threading.Lock()
    acquire, release = lock.acquire, lock.release
    start = time.perf_counter()
    for _ in range(n):
        acquire()
        release()
    return (time.perf_counter() - start) / n


total = 0


def notebook_cell2(_):
    # The notebook's cell 2 as written there (a global total), without its prints.
    global total
    total = 0
    lock = threading.Lock()

    def update_total(amount):
        global total
        with lock:
            for _ in range(1000000):
                total += amount

    start = time.perf_counter()
    threads = [threading.Thread(target=update_total, args=(1,)) for _ in range(10)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    elapsed = time.perf_counter() - start
    assert total == 10000000
    return elapsed


def lock_contended(n):
    # 4 threads share n increments, taking the lock for each one.
    lock = threading.Lock()
    state = {"counter": 0}
    gate = threading.Barrier(5)
    per_thread = n // 4

    def work():
        gate.wait()
        for _ in range(per_thread):
            with lock:
                state["counter"] += 1

    threads = [threading.Thread(target=work) for _ in range(4)]
    for t in threads:
        t.start()
    gate.wait()
    start = time.perf_counter()
    for t in threads:
        t.join()
    return time.perf_counter() - start


def condition_handoff(n):
    cond = threading.Condition(threading.Lock())
    state = {"turn": 0}

    def play(me):
        for _ in range(n):
            with cond:
                while state["turn"] != me:
                    cond.wait()
                state["turn"] = 1 - me
                cond.notify()

    start = time.perf_counter()
    other = threading.Thread(target=play, args=(1,))
    other.start()
    play(0)
    other.join()
    return (time.perf_counter() - start) / n


def queue_spsc(n):
    q = queue.Queue(maxsize=1024)

    def consume():
        get = q.get
        for _ in range(n):
            get()

    start = time.perf_counter()
    consumer = threading.Thread(target=consume)
    consumer.start()
    put = q.put
    for i in range(n):
        put(i)
    consumer.join()
    return (time.perf_counter() - start) / n


def executor_threads_submit(n):
    with ThreadPoolExecutor(max_workers=2) as pool:
        pool.submit(int).result()  # start the workers outside the clock
        start = time.perf_counter()
        futures = [pool.submit(int) for _ in range(n)]
        for f in futures:
            f.result()
        return (time.perf_counter() - start) / n


def _nothing():
    pass


def process_start_join_spawn(n, method="spawn"):
    import multiprocessing
    context = multiprocessing.get_context(method)
    if method == "forkserver":  # the server starts once, before the timing
        p = context.Process(target=_nothing)
        p.start()
        p.join()
    start = time.perf_counter()
    for _ in range(n):
        p = context.Process(target=_nothing)
        p.start()
        p.join()
    return (time.perf_counter() - start) / n


def _echo(conn):
    try:
        while True:
            conn.send(conn.recv())
    except EOFError:
        pass


def _timed_with_child(target, warmup, message, n):
    """Seconds per exchange of `message` with a spawned child running `target` on a Pipe."""
    import multiprocessing
    context = multiprocessing.get_context("spawn")
    mine, theirs = context.Pipe()
    p = context.Process(target=target, args=(theirs,))
    p.start()
    theirs.close()
    mine.send(warmup)
    mine.recv()
    start = time.perf_counter()
    for i in range(n):
        mine.send(message if message is not None else i)
        mine.recv()
    elapsed = time.perf_counter() - start
    mine.close()
    p.join()
    return elapsed / n


def connection_roundtrip(n):
    return _timed_with_child(_echo, -1, None, n)


def _sink(conn):
    try:
        while True:
            conn.send(len(conn.recv()))
    except EOFError:
        pass


def connection_bulk_8mb(n):
    return _timed_with_child(_sink, [], [i * 0.5 for i in range(1_000_000)], n)


def _drain(queue, n, ready, done):
    ready.set()
    for _ in range(n):
        queue.get()
    done.set()


def queue_processes(n):
    import multiprocessing
    context = multiprocessing.get_context("spawn")
    queue, ready, done = context.Queue(), context.Event(), context.Event()
    p = context.Process(target=_drain, args=(queue, n, ready, done))
    p.start()
    ready.wait()
    start = time.perf_counter()
    for i in range(n):
        queue.put(i)
    done.wait()
    elapsed = time.perf_counter() - start
    p.join()
    return elapsed / n


def shared_array_write(n):
    from multiprocessing import shared_memory
    size = 256 << 20
    source = b"\x01" * size
    total = 0.0
    for _ in range(n):
        shm = shared_memory.SharedMemory(create=True, size=size)
        start = time.perf_counter()
        shm.buf[:size] = source
        total += time.perf_counter() - start
        shm.close()
        shm.unlink()
    return total / n


def _twice(x):
    return x * 2


def executor_processes_submit(n):
    import concurrent.futures
    import multiprocessing
    with concurrent.futures.ProcessPoolExecutor(max_workers=2, mp_context=multiprocessing.get_context("spawn")) as pool:
        pool.submit(_twice, 0).result()
        start = time.perf_counter()
        futures = [pool.submit(_twice, i) for i in range(n)]
        for f in futures:
            f.result()
        return (time.perf_counter() - start) / n


def pool_map(n, chunksize):
    import multiprocessing
    with multiprocessing.get_context("spawn").Pool(2) as pool:
        pool.map(_twice, range(4))
        start = time.perf_counter()
        pool.map(_twice, range(n), chunksize=chunksize)
        return (time.perf_counter() - start) / n


def _twice_optional(x):
    return (x or 0) * 2


def pool_map_optional(n):
    import multiprocessing
    with multiprocessing.get_context("spawn").Pool(2) as pool:
        pool.map(_twice_optional, range(4))
        values = [None if i % 10 == 0 else i for i in range(n)]
        start = time.perf_counter()
        pool.map(_twice_optional, values)
        return (time.perf_counter() - start) / n


def _string_len(s):
    return len(s.encode())


def _point_sum(point):
    return point[0] + point[1]


def pool_map_values(n, function, make):
    import multiprocessing
    with multiprocessing.get_context("spawn").Pool(2) as pool:
        pool.map(function, [make(i) for i in range(4)])
        values = [make(i) for i in range(n)]
        start = time.perf_counter()
        pool.map(function, values)
        return (time.perf_counter() - start) / n


def pool_imap(n, ordered=True):
    import multiprocessing
    with multiprocessing.get_context("spawn").Pool(2) as pool:
        pool.map(_twice, range(4), chunksize=1)
        start = time.perf_counter()
        iterate = pool.imap if ordered else pool.imap_unordered
        count, total = 0, 0
        for x in iterate(_twice, range(n), chunksize=1000):
            total += x
            count += 1
        elapsed = time.perf_counter() - start
        assert count == n and total == n * (n - 1)
        return elapsed / n


def pool_map_lazy(n):
    import multiprocessing
    with multiprocessing.get_context("spawn").Pool(2) as pool:
        pool.map(_twice, range(4), chunksize=1)
        start = time.perf_counter()
        pool.map(_twice, (i for i in range(n)))
        return (time.perf_counter() - start) / n


def executor_map(n):
    import concurrent.futures
    import multiprocessing
    with concurrent.futures.ProcessPoolExecutor(max_workers=2, mp_context=multiprocessing.get_context("spawn")) as pool:
        pool.submit(_twice, 0).result()
        pool.submit(_twice, 1).result()
        start = time.perf_counter()
        count = 0
        for x in pool.map(_twice, range(n), chunksize=1000):
            count += 1
        elapsed = time.perf_counter() - start
        assert count == n
        return elapsed / n


def _idle(ready, release):
    ready.set()
    release.wait(60)


def _rss_kb(pid):
    with open("/proc/%d/status" % pid) as f:
        for line in f:
            if line.startswith("VmRSS:"):
                return int(line.split()[1])


def process_worker_rss(n):
    import multiprocessing
    context = multiprocessing.get_context("spawn")
    total = 0
    for _ in range(n):
        ready, release = context.Event(), context.Event()
        p = context.Process(target=_idle, args=(ready, release))
        p.start()
        ready.wait()
        total += _rss_kb(p.pid)
        release.set()
        p.join()
    return total / n


def _pss_kb(pid):
    """Proportional set size: the sum of Pss in /proc/PID/smaps_rollup (shared pages split
    between the processes that map them)."""
    with open("/proc/%d/smaps_rollup" % pid) as f:
        return sum(int(line.split()[1]) for line in f if line.startswith("Pss:"))


def process_worker_pss(workers):
    # `workers` idle spawned workers at once, as Multicore's are measured: their average.
    import multiprocessing
    context = multiprocessing.get_context("spawn")
    release = context.Event()
    started = []
    for _ in range(workers):
        ready = context.Event()
        p = context.Process(target=_idle, args=(ready, release))
        p.start()
        started.append((p, ready))
    for _, ready in started:
        ready.wait()
    total = sum(_pss_kb(p.pid) for p, _ in started)
    release.set()
    for p, _ in started:
        p.join()
    return total / workers


def _locked_adder(value, count, start, done):
    start.wait()
    lock = value.get_lock()
    for _ in range(count):
        with lock:
            value.value += 1
    done.set()


def _timed_run(workers, start, finished):
    """Starts `workers` (threads or processes), lets them go at the barrier `start`, and
    returns the seconds until `finished()` returns; joins them."""
    for w in workers:
        w.start()
    start.wait()
    begin = time.perf_counter()
    finished()
    elapsed = time.perf_counter() - begin
    for w in workers:
        w.join()
    return elapsed


def shared_value_locked_increment(n):
    # Two spawned processes each add 1 to a shared Value n/2 times under its lock; per increment.
    import multiprocessing
    context = multiprocessing.get_context("spawn")
    value = context.Value("q", 0)
    start = context.Barrier(3)
    done = [context.Event(), context.Event()]
    processes = [context.Process(target=_locked_adder, args=(value, n // 2, start, d)) for d in done]
    elapsed = _timed_run(processes, start, lambda: [d.wait() for d in done])
    assert value.value == 2 * (n // 2)
    return elapsed / (2 * (n // 2))


class _ManagedCounter:
    """The object a Manager holds for actor.call: Multicore's Counter actor."""

    def __init__(self):
        self.value = 0

    def add(self, n):
        self.value += n
        return self.value


def _counter_manager():
    from multiprocessing.managers import BaseManager

    class CounterManager(BaseManager):
        pass

    CounterManager.register("Counter", _ManagedCounter)
    return CounterManager


def actor_call(n):
    """A Manager proxy call taking and returning an int (Python's counterpart of a distributed
    actor's call in a host process), the manager started beforehand."""
    with _counter_manager()() as manager:
        counter = manager.Counter()
        counter.add(1)
        start = time.perf_counter()
        for _ in range(n):
            counter.add(1)
        elapsed = time.perf_counter() - start
        assert counter.add(0) == n + 1
    return elapsed / n


def actor_call_throughput(n, managers=1):
    """8 threads calling one managed object at once (with 2 managers, 4 threads on each one's
    object): seconds per call, the inverse of the calls per second (actor.call.throughput)."""
    started = [_counter_manager()() for _ in range(managers)]
    for manager in started:
        manager.start()
    counters = [manager.Counter() for manager in started]
    callers, each = 8, max(1, n // 8)
    gate = threading.Barrier(callers + 1)

    def call(counter):
        counter.add(0)  # each thread's proxy opens its own connection first
        gate.wait()
        for _ in range(each):
            counter.add(1)

    threads = [threading.Thread(target=call, args=(counters[i % managers],)) for i in range(callers)]
    elapsed = _timed_run(threads, gate, lambda: [t.join() for t in threads])
    assert sum(counter.add(0) for counter in counters) == callers * each
    for manager in started:
        manager.shutdown()
    return elapsed / (callers * each)


BENCHMARKS = {
    "thread.start_join": thread_start_join,
    "lock.uncontended": lock_uncontended,
    "notebook.cell2": notebook_cell2,
    "lock.contended": lock_contended,
    "condition.handoff": condition_handoff,
    "queue.spsc": queue_spsc,
    "executor.threads.submit": executor_threads_submit,
    "process.start_join.spawn": process_start_join_spawn,
    "process.start_join.forkserver": lambda n: process_start_join_spawn(n, "forkserver"),
    "process.start_join.fork": lambda n: process_start_join_spawn(n, "fork"),
    "connection.roundtrip": connection_roundtrip,
    "actor.call": actor_call,
    "actor.call.direct": actor_call,
    "actor.call.throughput": actor_call_throughput,
    "actor.call.throughput.2hosts": lambda n: actor_call_throughput(n, 2),
    "connection.bulk_8mb": connection_bulk_8mb,
    "queue.processes": queue_processes,
    "shared.array_write": shared_array_write,
    "executor.processes.submit": executor_processes_submit,
    "pool.map.chunk1": lambda n: pool_map(n, 1),
    "pool.map.auto": lambda n: pool_map(n, None),
    "pool.map.optional_field": pool_map_optional,
    "pool.map.optional_plain": pool_map_optional,
    "pool.map.string_field": lambda n: pool_map_values(n, _string_len, lambda i: "item%d" % i),
    "pool.map.nested_field": lambda n: pool_map_values(n, _point_sum, lambda i: (i, 1)),
    "process.worker_rss": process_worker_rss,
    "process.worker_pss": process_worker_pss,
    "shared.value.locked_increment": shared_value_locked_increment,
    "pool.imap": pool_imap,
    "pool.imap_unordered": lambda n: pool_imap(n, ordered=False),
    "pool.results.async": pool_imap,
    "pool.map.lazy": pool_map_lazy,
    "executor.map": executor_map,
}

if __name__ == "__main__":
    name, iterations = sys.argv[1], int(sys.argv[2])
    print(repr(BENCHMARKS[name](iterations)))
