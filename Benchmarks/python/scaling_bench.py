"""CPython's side of the scaling panel of `multicore bench --svg`: multiprocessing.Pool (spawn)
throughput against the number of workers, for CPU-bound tasks and for x*2 one task per message.

Usage: python3 scaling_bench.py CPU_TASKS TASK_SECONDS CHUNK1_TASKS WORKERS...
Prints one line per measurement: KIND WORKERS TASKS_PER_SECOND (KIND: cpu or chunk1).
"""
import multiprocessing
import sys
import time

MASK = (1 << 64) - 1


def _spin(arguments):
    seed, iterations = arguments
    state = seed | 1
    for _ in range(iterations):
        state = (state * 6364136223846793005 + 1442695040888963407) & MASK
    return state


def _twice(x):
    return x * 2


def calibrate(task_seconds):
    """Iterations of _spin that take about task_seconds on one core here: the count that takes
    over 5 ms, timed three times (the fastest counts: a preempted run is slower)."""
    def seconds(iterations):
        start = time.perf_counter()
        _spin((7, iterations))
        return time.perf_counter() - start
    iterations = 1000
    while seconds(iterations) <= 0.005:
        iterations *= 4
    fastest = min(seconds(iterations) for _ in range(3))
    return max(1, int(iterations * task_seconds / fastest))


def throughput(tasks, body):
    start = time.perf_counter()
    body()
    return tasks / (time.perf_counter() - start)


if __name__ == "__main__":
    cpu_tasks, task_seconds, chunk1_tasks = int(sys.argv[1]), float(sys.argv[2]), int(sys.argv[3])
    workers_counts = [int(w) for w in sys.argv[4:]]
    iterations = calibrate(task_seconds)
    spins = [(seed, iterations) for seed in range(1, cpu_tasks + 1)]
    context = multiprocessing.get_context("spawn")
    for workers in workers_counts:
        with context.Pool(workers) as pool:
            pool.map(_twice, range(2 * workers), chunksize=1)  # every worker up
            cpu = throughput(cpu_tasks, lambda: pool.map(_spin, spins, chunksize=1))
            chunk1 = throughput(chunk1_tasks, lambda: pool.map(_twice, range(chunk1_tasks), chunksize=1))
        print("cpu", workers, cpu)
        print("chunk1", workers, chunk1)
        sys.stdout.flush()
