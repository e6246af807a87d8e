"""The Python PostgreSQL task queues beside `multicore-cluster bench` (the `cluster.map.auto` row):
pgqueuer and procrastinate doing its work, x*2 over N Ints, on the same server, with their own
batching at its best.

    cluster_peers_bench.py --versions                 "pgqueuer=1.6.0 procrastinate=3.10.0"
    cluster_peers_bench.py PEER URL SCHEMA N          seconds per task, on one line

Each run installs the peer's schema into a schema of its own (SCHEMA, dropped at the end),
enqueues the N jobs in batches of 1,000, then drains them with 2 worker processes (the cluster
row's 2 nodes on 2 vCPUs): seconds from the first insert until both workers drained the queue,
divided by N. Neither peer stores results (the workers compute x*2 and drop it); Multicore's
figure includes bringing every output back.
"""

import asyncio
import warnings
import multiprocessing
import sys
import time

WORKERS = 2
warnings.filterwarnings("ignore")
INSERT_BATCH = 1000


def versions():
    from importlib.metadata import version

    return f"pgqueuer={version('pgqueuer')} procrastinate={version('procrastinate')}"


# pgqueuer: batch_size 500 (its best measured here), asyncpg, drain mode.


async def _pgqueuer_connect(url, schema):
    import asyncpg

    return await asyncpg.connect(url, server_settings={"search_path": schema})


async def _pgqueuer_prepare(url, schema):
    import asyncpg
    from pgqueuer.db import AsyncpgDriver
    from pgqueuer.queries import Queries

    admin = await asyncpg.connect(url)
    await admin.execute(f"DROP SCHEMA IF EXISTS {schema} CASCADE; CREATE SCHEMA {schema}")
    await admin.close()
    connection = await _pgqueuer_connect(url, schema)
    await Queries(AsyncpgDriver(connection)).install(create_schema=False)
    await connection.close()


async def _pgqueuer_enqueue(url, schema, n):
    from pgqueuer.db import AsyncpgDriver
    from pgqueuer.queries import Queries

    connection = await _pgqueuer_connect(url, schema)
    queries = Queries(AsyncpgDriver(connection))
    for start in range(0, n, INSERT_BATCH):
        count = min(INSERT_BATCH, n - start)
        await queries.enqueue(["double"] * count, [str(x).encode() for x in range(start, start + count)], [0] * count)
    await connection.close()


async def _pgqueuer_drain(url, schema):
    try:
        import uvloop

        uvloop.install()
    except ImportError:
        pass
    from pgqueuer.db import AsyncpgDriver
    from pgqueuer.qm import QueueManager
    from pgqueuer.queries import Queries
    from pgqueuer.types import QueueExecutionMode

    connection = await _pgqueuer_connect(url, schema)
    manager = QueueManager(Queries(AsyncpgDriver(connection)))

    @manager.entrypoint("double")
    async def double(job):
        return int(job.payload) * 2

    await manager.run(batch_size=500, mode=QueueExecutionMode.drain)
    await connection.close()


def _pgqueuer_worker(url, schema):
    asyncio.run(_pgqueuer_drain(url, schema))


# procrastinate: its jobs are fetched one at a time (no batching to tune); concurrency 1 per
# worker process (its tasks are synchronous), listen/notify on.


def _procrastinate_app(url, schema):
    import procrastinate

    connector = procrastinate.PsycopgConnector(conninfo=url, kwargs={"options": f"-c search_path={schema}"})
    app = procrastinate.App(connector=connector)

    @app.task(name="double")
    def double(x):
        return x * 2

    return app, double


async def _procrastinate_prepare(url, schema):
    import psycopg

    async with await psycopg.AsyncConnection.connect(url, autocommit=True) as admin:
        await admin.execute(f"DROP SCHEMA IF EXISTS {schema} CASCADE")
        await admin.execute(f"CREATE SCHEMA {schema}")
    app, _ = _procrastinate_app(url, schema)
    async with app.open_async():
        await app.schema_manager.apply_schema_async()


async def _procrastinate_enqueue(url, schema, n):
    app, double = _procrastinate_app(url, schema)
    async with app.open_async():
        for start in range(0, n, INSERT_BATCH):
            await double.batch_defer_async(*({"x": x} for x in range(start, min(n, start + INSERT_BATCH))))


async def _procrastinate_drain(url, schema):
    app, _ = _procrastinate_app(url, schema)
    async with app.open_async():
        await app.run_worker_async(wait=False, concurrency=1, install_signal_handlers=False)


def _procrastinate_worker(url, schema):
    import logging

    logging.disable(logging.CRITICAL)
    asyncio.run(_procrastinate_drain(url, schema))


async def _drop(url, schema):
    import asyncpg

    admin = await asyncpg.connect(url)
    await admin.execute(f"DROP SCHEMA IF EXISTS {schema} CASCADE")
    await admin.close()


def measure(peer, url, schema, n):
    prepare, enqueue, worker = {
        "pgqueuer": (_pgqueuer_prepare, _pgqueuer_enqueue, _pgqueuer_worker),
        "procrastinate": (_procrastinate_prepare, _procrastinate_enqueue, _procrastinate_worker),
    }[peer]
    asyncio.run(prepare(url, schema))
    try:
        start = time.perf_counter()
        asyncio.run(enqueue(url, schema, n))
        context = multiprocessing.get_context("spawn")
        workers = [context.Process(target=worker, args=(url, schema)) for _ in range(WORKERS)]
        for process in workers:
            process.start()
        for process in workers:
            process.join()
        elapsed = time.perf_counter() - start
        if any(process.exitcode != 0 for process in workers):
            raise RuntimeError(f"a {peer} worker failed")
        return elapsed / n
    finally:
        asyncio.run(_drop(url, schema))


if __name__ == "__main__":
    if sys.argv[1:] == ["--versions"]:
        print(versions())
    elif len(sys.argv) == 5:
        print(measure(sys.argv[1], sys.argv[2], sys.argv[3], int(sys.argv[4])))
    else:
        sys.exit("usage: cluster_peers_bench.py --versions | PEER URL SCHEMA N")
