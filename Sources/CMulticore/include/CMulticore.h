// C shims for what Swift's Glibc module does not import: the futex syscall (variadic `syscall`),
// gettid, thread names (GNU extensions), and the main thread's identity captured before `main`.
// Every symbol is prefixed `mc_`.
//
// One error convention: a shim that can fail returns a negative errno (-EINTR, -EMFILE...) on
// failure and a value >= 0 on success. None retries on EINTR: the system layer
// (Sources/MulticoreSystem) wraps each once, and its one policy retries.
#ifndef CMULTICORE_H
#define CMULTICORE_H

#include <stddef.h>
#include <stdint.h>
#include <pthread.h>
#include <sys/types.h>

#ifdef __cplusplus
extern "C" {
#endif

/// Tells the CPU this thread is spinning (x86 `pause`), which frees resources for a hyperthread
/// sibling and avoids a memory-order pipeline flush when the spin ends.
static inline void mc_cpu_relax(void) {
#if defined(__x86_64__) || defined(__i386__)
    __builtin_ia32_pause();
#elif defined(__aarch64__)
    __asm__ __volatile__("yield");
#endif
}

/// Sleeps while `*word == expected`, until woken or until the absolute CLOCK_MONOTONIC deadline
/// `deadline_ns` (negative: no deadline). Returns 0 when woken, or -ETIMEDOUT, -EAGAIN (the word
/// no longer held `expected`) or -EINTR.
int mc_futex_wait(uint32_t *word, uint32_t expected, int64_t deadline_ns);

/// Wakes up to `count` threads sleeping on `word`; returns how many were woken.
int mc_futex_wake(uint32_t *word, int32_t count);

/// CLOCK_MONOTONIC in nanoseconds.
int64_t mc_monotonic_ns(void);

/// The kernel's thread id of the calling thread (gettid), remembered per thread.
int32_t mc_gettid(void);

/// This process's id (getpid), remembered; a forked child asks again.
int32_t mc_getpid(void);

/// Whether the calling thread is the process's main thread (its tid equals the pid).
int mc_is_main_thread(void);

/// The pthread_t of the main thread, captured by a constructor before `main` ran.
pthread_t mc_main_pthread(void);

/// Sets the OS name of `thread` (at most 15 bytes plus NUL; longer names are refused by the kernel).
int mc_thread_setname(pthread_t thread, const char *name);

/// Copies the OS name of `thread` into `buffer` (at least 16 bytes).
int mc_thread_getname(pthread_t thread, char *buffer, size_t size);

/// A new epoll(7) set (close-on-exec): its descriptor.
int mc_epoll_create(void);

/// Adds `fd` to the set `epfd`, for input, reported with `tag`. `mode` 0: level-triggered; 1:
/// also EPOLLEXCLUSIVE (of the sets waiting on `fd` so, an input wakes the first one added that
/// has a thread waiting, and only that one); 2: EPOLLONESHOT (reported once, then disarmed
/// until `mc_epoll_arm`).
int mc_epoll_add(int epfd, int fd, int mode, uint64_t tag);

/// Removes `fd`, still open, from the set `epfd` (EPOLL_CTL_DEL).
int mc_epoll_remove(int epfd, int fd);

/// Arms (`armed` 1) or disarms (0) the one-shot `fd` of the set `epfd` (EPOLL_CTL_MOD); armed
/// with input waiting, it is reported at once.
int mc_epoll_arm(int epfd, int fd, int armed, uint64_t tag);

/// Waits on the set `epfd` up to `timeout_ns` nanoseconds (negative: no limit) for at most
/// `capacity` (up to 8) ready descriptors, whose tags it writes to `tags`; returns how many, 0
/// when the time passed.
int mc_epoll_wait(int epfd, uint64_t *tags, int capacity, int64_t timeout_ns);

/// The number of CPUs in the calling thread's affinity mask (sched_getaffinity), at least 1.
int mc_cpu_count(void);

/// The stack size of the calling thread (pthread_getattr_np).
size_t mc_current_thread_stack_size(void);

/// CRC-32C (Castagnoli) of `length` bytes, continuing from `seed` (0 to start), on the fastest
/// path this CPU has.
uint32_t mc_crc32c(const void *data, size_t length, uint32_t seed);
// The same without the CPU's instruction (slicing by 8): what machines without SSE 4.2 run.
uint32_t mc_crc32c_portable(const void *data, size_t length, uint32_t seed);

/// The ways of taking a CRC-32C, slowest first: tables (slicing by 8); the crc32 instruction
/// (SSE 4.2) in three streams; carry-less multiplication on 256-bit registers (VPCLMULQDQ, AVX2)
/// beside three crc32 streams, which `mc_crc32c` takes from 4 KiB on.
#define MC_CRC32C_TABLE 0
#define MC_CRC32C_THREE_STREAMS 1
#define MC_CRC32C_FOLDING 2
/// The fastest of the paths above this CPU has.
int mc_crc32c_fastest_path(void);
/// `mc_crc32c` on `path` whatever the length (the fastest this CPU has if it lacks `path`): for
/// tests that check every path.
uint32_t mc_crc32c_on_path(int path, const void *data, size_t length, uint32_t seed);

/// pipe2(fds, O_CLOEXEC); returns 0 or -errno.
int mc_pipe_cloexec(int fds[2]);

/// fflush(stdout): what a worker writes before its standard output is redirected.
void mc_flush_stdout(void);

/// Makes stdout line-buffered (a pool worker whose output its pool passes on line by line).
void mc_line_buffer_stdout(void);

/// socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC); returns 0 or -errno.
int mc_socketpair_cloexec(int fds[2]);

/// Asks for `bytes` of send buffer on socket `fd` (SO_SNDBUF; the kernel caps it at
/// net.core.wmem_max): how much one end may write before the other reads. Returns 0 or -errno.
int mc_socket_send_buffer(int fd, int bytes);

/// Asks for `bytes` of capacity on pipe `fd` (F_SETPIPE_SZ; above /proc/sys/fs/pipe-max-size
/// only with CAP_SYS_RESOURCE): how much its writer may write before its reader reads.
/// Returns the capacity set, or -errno.
int mc_pipe_capacity(int fd, int bytes);

/// Ignores SIGPIPE process-wide, so that writing to a closed pipe fails with EPIPE instead of
/// killing the process (what CPython does at start-up).
void mc_ignore_sigpipe(void);

/// Spawns a worker: a copy of this executable (/proc/self/exe) whose `channel` descriptor
/// becomes its descriptor 3, and which runs `multicore_worker_main` before `main`. It inherits
/// no other descriptor but 0, 1 and 2, and starts with SIGINT blocked (see
/// `mc_worker_settle_interrupt`). Returns 0 or -errno; `*pid` receives the child's pid.
int mc_spawn_worker(int channel, pid_t *pid);

/// Settles who takes SIGINT in a worker, which starts with it blocked: with `leave_to_parent`
/// (a pool's worker), SIGINT is ignored (one held pending is discarded) and what this process
/// starts later gets the default disposition back; otherwise the inherited disposition stays
/// (a plain child takes Ctrl-C). Then SIGINT is unblocked.
void mc_worker_settle_interrupt(int leave_to_parent);
/// Whether this process ignores SIGINT because it is a pool's worker.
int mc_interrupt_is_left_to_parent(void);
/// In a child forked from a pool's worker: SIGINT back to its default disposition.
void mc_interrupt_restore_default(void);

/// In a worker spawned with the hand-off (its parent called `enterWorkerIfChild()`): its
/// channel, once (then -1); -1 in any other process.
int mc_take_deferred_worker(void);
/// Whether this process is a worker that `main` has not handed over yet.
int mc_worker_is_deferred(void);
/// From now on, workers spawned by this process run `main` up to `enterWorkerIfChild()` first.
void mc_enable_worker_handoff(void);

/// Sends one byte on the Unix socket `socket`, carrying `count` descriptors (SCM_RIGHTS; at
/// most 253, none when `count` is 0). Returns 0 or -errno (-EIO if the byte did not go).
int mc_send_descriptors(int socket, const int *fds, int count);

/// Receives the one byte `mc_send_descriptors` sent, and the descriptors it carried (CLOEXEC)
/// into `fds` (room for `capacity`); `*count` receives how many. Returns 1, 0 at end-of-file,
/// or -errno (-EMSGSIZE when more descriptors came than the control buffer holds).
int mc_receive_descriptors(int socket, int *fds, int capacity, int *count);

/// fork(). In the child (0 returned), asks the kernel to kill it when its parent (the forking
/// thread) dies, and exits at once if the parent is gone already. Returns the pid, 0 in the
/// child, or -errno.
pid_t mc_fork(void);

/// fork() for the fork server: the child (0 returned) is killed when the server dies, has
/// SIGINT back to the default disposition (the server ignores it) but blocked, until the worker
/// settles who takes it (`mc_worker_settle_interrupt`), and keeps no descriptor but 0, 1, 2 and
/// `keep` (the worker's channel). Returns the pid, 0 in the child, or -errno.
pid_t mc_fork_server_worker(int keep);

/// The number of threads of this process (/proc/self/stat), or -1 if it cannot be read.
int mc_thread_count(void);

/// Exits at once with `code`, after flushing C's stdio buffers (a forked child must not run
/// its parent's atexit handlers).
void mc_exit_now(int code) __attribute__((noreturn));

/// pidfd_open(pid, 0): a descriptor that becomes readable when the process ends; -errno on failure.
int mc_pidfd_open(pid_t pid);

/// waitpid on `pid` (WNOHANG when `nohang`): 1 with `*exited` and `*code` (exit status, or the
/// terminating signal when not exited), 0 if still running, or -errno.
int mc_wait_status(pid_t pid, int *exited, int *code, int nohang);
/// Whether child `pid` has ended, without reaping it (waitid with WNOWAIT): 1 ended, 0 running,
/// or -errno (ECHILD: not a child of this process). For when no pidfd could be had.
int mc_child_ended(pid_t pid);

/// A signal's abbreviation without "SIG" ("SEGV", "KILL").
const char *mc_signal_name(int signal);

/// Like `mc_futex_wait`, for a word in memory shared between processes (no FUTEX_PRIVATE_FLAG).
int mc_shared_futex_wait(uint32_t *word, uint32_t expected, int64_t deadline_ns);

/// Like `mc_futex_wake`, for a word in memory shared between processes.
int mc_shared_futex_wake(uint32_t *word, int32_t count);

/// Opens the POSIX shared memory object `name` ("/..."): created (exclusively when `exclusive`)
/// with `size` bytes when `create`, else attached; returns the descriptor (CLOEXEC) or -errno.
/// With `allocate`, a new object's memory is reserved at once (posix_fallocate): a full
/// /dev/shm is then ENOSPC here, not a SIGBUS at the first write. `*actual_size` receives the
/// object's size.
int mc_shm_open(const char *name, int create, int exclusive, size_t size, int allocate, size_t *actual_size);

/// Makes the pages of [address, address + length) of a shared mapping exist
/// (MADV_POPULATE_WRITE): 0, or -errno (-ENOMEM, -EFAULT) where a write would have raised SIGBUS.
int mc_populate_shared(void *address, size_t length);

/// shm_unlink(name); returns 0 or -errno.
int mc_shm_unlink(const char *name);

/// Maps `size` bytes of `fd` shared, read-write, into `*address`; returns 0 or -errno.
int mc_map_shared(int fd, size_t size, void **address);

/// Gives back the pages of [address, address + length) (MADV_REMOVE: a shared mapping's pages
/// are freed and read as zero again); returns 0 or -errno.
int mc_discard_shared(void *address, size_t length);

/// Makes malloc keep memory that is freed, up to `bytes` (M_TRIM_THRESHOLD), and serve blocks of
/// up to 32 MB from its heap (M_MMAP_THRESHOLD): a process that allocates and frees buffers of
/// megabytes over and over then reuses their pages, where glibc would return them to the
/// kernel and fault them in again, zeroed, at the next allocation.
void mc_malloc_keep_freed(size_t bytes);

/// Whether the process or thread `id` still exists (kill(id, 0) does not fail with ESRCH).
int mc_process_exists(int32_t id);

/// Stops the kernel from killing this process when its parent dies (PR_SET_PDEATHSIG 0).
void mc_clear_parent_death_signal(void);

/// Asks the kernel to send `signal` to this process when its parent (`parent`) dies
/// (PR_SET_PDEATHSIG); 0, or -1 when the parent is already gone (this process was re-parented).
int mc_signal_on_parent_death(int signal, pid_t parent);

/// For a process that must outlive its owner (the shared memory tracker): a session and
/// process group of its own (setsid), so that no signal sent to the owner's group or terminal
/// reaches it, and every signal that would end or stop it ignored (SIGKILL and SIGSTOP cannot
/// be). Returns 0, or setsid's -errno (the signals are ignored all the same).
int mc_outlive_owner_signals(void);

/// Sleeps until the absolute CLOCK_MONOTONIC time `deadline_ns`: 0, or -EINTR when a signal
/// handler ran first.
int mc_sleep_until_ns(int64_t deadline_ns);

// Stream sockets (sockets.c), for Listener and Client: a descriptor, close-on-exec, or -errno.
/// A Unix-domain socket bound to `path` and listening.
int mc_listen_unix(const char *path, int backlog);
/// A Unix-domain socket connected to `path`.
int mc_connect_unix(const char *path);
/// A TCP socket bound to `host`:`port` (0: any free port, written to `*bound_port`) and listening.
int mc_listen_tcp(const char *host, int port, int backlog, int *bound_port);
/// A TCP socket connected to `host`:`port` (TCP_NODELAY).
int mc_connect_tcp(const char *host, int port);
/// The next connection on listening socket `fd`.
int mc_accept(int fd);

// The wire coders running on this thread (wire.c): how a keyed container finds its coder without
// holding a reference to it (a reference would be retained and released on every field).
extern _Thread_local const void *mc_wire_encoder_word;
extern _Thread_local const void *mc_wire_decoder_word;
/// The `_WireEncoder` running on this thread, or NULL.
static inline const void *mc_wire_encoder(void) { return mc_wire_encoder_word; }
/// Makes `encoder` the one running on this thread (NULL: none).
static inline void mc_wire_set_encoder(const void *encoder) { mc_wire_encoder_word = encoder; }
/// The `_WireDecoder` running on this thread, or NULL.
static inline const void *mc_wire_decoder(void) { return mc_wire_decoder_word; }
/// Makes `decoder` the one running on this thread (NULL: none).
static inline void mc_wire_set_decoder(const void *decoder) { mc_wire_decoder_word = decoder; }

// The fault injector (faults.c), for tests: the system layer asks it before each wrapped call.
/// How many kinds of call the injector tells apart (MulticoreSystem's `SystemCall`).
#define MC_FAULT_CALLS 16
extern int mc_fault_armed_word;
/// Whether any fault is planned: one relaxed load, what a wrapped call pays when none is.
static inline int mc_fault_armed(void) { return __atomic_load_n(&mc_fault_armed_word, __ATOMIC_RELAXED); }
/// Arms (1) or disarms (0) the injector.
void mc_fault_arm(int armed);
/// Makes every `every`-th call of kind `call` fail with fault `kind` (0: none).
void mc_fault_plan(int call, int every, int kind);
/// How many calls of kind `call` were counted since its plan was made.
int mc_fault_calls(int call);
/// The fault for this call of kind `call` (0: none), counting it.
int mc_fault_draw(int call);

#ifdef __cplusplus
}
#endif

#endif
