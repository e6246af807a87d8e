/// A task whose process ignores SIGINT: a pool's worker, whose parent decides what a Ctrl-C
/// does to the pool (a terminal sends SIGINT to its whole foreground process group, workers
/// included).
///
/// Every worker starts with SIGINT blocked and settles once its request names its task
/// (`mc_worker_settle_interrupt`): a task of this kind ignores SIGINT, discarding one that came
/// in the meantime, so there is no moment at which a Ctrl-C kills it; any other task takes
/// SIGINT as its process inherited it (a plain `ChildProcess` gets Ctrl-C, as Python's
/// `Process` does). Processes such a task starts through Multicore get the default back.
///
/// Why ignore rather than a process group of its own: the worker stays in its parent's job, so
/// Ctrl-Z stops it with its parent, Ctrl-\\ and a hang-up still reach it, `kill -- -PGID` ends
/// the whole job, and it never becomes a background process that is stopped for reading or
/// writing the terminal (SIGTTIN, SIGTTOU).
package protocol InterruptIgnoringTask: ProcessTask {}
