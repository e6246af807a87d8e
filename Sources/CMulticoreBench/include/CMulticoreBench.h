// The raw references of `multicore bench`: the same work as each Multicore benchmark, written
// directly on pthreads, timed on CLOCK_MONOTONIC. Each returns seconds per operation (or per run).
#ifndef CMULTICOREBENCH_H
#define CMULTICOREBENCH_H

#include <stddef.h>

#ifdef __cplusplus
extern "C" {
#endif

/// pthread_create + pthread_join of a thread that does nothing; per thread.
double mcb_thread_start_join(long iterations);

/// pthread_mutex_lock + pthread_mutex_unlock, uncontended; per pair.
double mcb_mutex_uncontended(long iterations);

/// The notebook's cell 2: 10 threads each add 1 to a global 1,000,000 times while holding one
/// mutex; per run. Writes the final total to `*total`.
double mcb_notebook_cell2(long *total);

/// `threads` threads share `increments` increments of a global, taking the mutex for each one;
/// per run (the threads meet at a barrier before the clock starts).
double mcb_mutex_contended(int threads, long increments);

/// Two threads pass a turn back and forth through a mutex and a condition variable; per round trip.
double mcb_cond_handoff(long round_trips);

/// One producer and one consumer pass `items` integers through a bounded ring buffer guarded by
/// a mutex and two condition variables; per item.
double mcb_queue_spsc(long items, int capacity);

/// Seconds a forked child takes to memcpy `bytes` (from a prefaulted buffer of its own) into a
/// fresh MAP_SHARED mapping of reserved (fallocated) shared memory, page faults included; -1 on failure.
double mcb_shared_memcpy(size_t bytes);

/// Seconds per 1-byte round trip through two pipes between this process and a forked child.
/// Forks: call it only from the benchmark, never from a process that must stay fork-safe.
double mcb_pipe_roundtrip(long round_trips);

/// Seconds per round trip of `size` bytes each way (send, then a blocking read of all of them)
/// on a Unix socket pair between this process and a forked child: what a `Connection` is, with
/// its frame's size (16 bytes for an Int). Forks, as `mcb_pipe_roundtrip`.
double mcb_socket_roundtrip(long round_trips, int size);

/// Seconds per transfer of `bytes` bytes over a Unix socket pair (default buffer sizes) to a forked
/// child that reads all of them into a buffer of its own and answers with 8 bytes. Forks.
double mcb_socket_bulk(long transfers, size_t bytes);

/// Seconds per fork + _exit(0) in the child + waitpid.
double mcb_fork_exit_wait(long iterations);

/// Runs `argv` (searched in PATH) with its standard output captured into `output` (NUL-ended,
/// at most `capacity - 1` bytes); returns its exit status, or -1 if it could not start.
int mcb_run_capture(const char *const argv[], char *output, int capacity);

/// Runs `argv` (searched in PATH), reading all its standard output (and its standard error,
/// when `with_standard_error` is not 0, so that nothing reaches the terminal); keeps the last
/// `capacity - 1` bytes in `output` (NUL-ended). Returns its exit status, or -1 if it could not start.
int mcb_run_collect(const char *const argv[], char *output, int capacity, int with_standard_error);

/// Seconds per posix_spawn of this executable (/proc/self/exe) that exits at once from a C
/// constructor, before the Swift runtime registers the program and before `main`, + waitpid:
/// what starting a copy of this program costs at the least. -1 on failure.
double mcb_spawn_self_exit_wait(long iterations);

/// Two forked processes each add 1 to a long in shared memory `increments_per_process` times,
/// taking a robust process-shared pthread mutex for each; seconds per increment, from the
/// moment both may start until both have exited. Writes the final value to `*total`; -1 on failure.
double mcb_shared_locked_increment(long increments_per_process, long *total);

#ifdef __cplusplus
}
#endif

#endif
