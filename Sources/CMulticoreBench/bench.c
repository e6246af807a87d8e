#define _GNU_SOURCE
#include "CMulticoreBench.h"

#include <fcntl.h>
#include <pthread.h>
#include <stdlib.h>
#include <time.h>

static double now(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static void *nothing(void *arg) { return arg; }

double mcb_thread_start_join(long iterations) {
    double start = now();
    for (long i = 0; i < iterations; i++) {
        pthread_t thread;
        pthread_create(&thread, NULL, nothing, NULL);
        pthread_join(thread, NULL);
    }
    return (now() - start) / (double)iterations;
}

double mcb_mutex_uncontended(long iterations) {
    pthread_mutex_t mutex = PTHREAD_MUTEX_INITIALIZER;
    double start = now();
    for (long i = 0; i < iterations; i++) {
        pthread_mutex_lock(&mutex);
        pthread_mutex_unlock(&mutex);
    }
    return (now() - start) / (double)iterations;
}

// MARK: notebook cell 2

static pthread_mutex_t cell2_lock = PTHREAD_MUTEX_INITIALIZER;
static long cell2_total;

static void *cell2_update_total(void *arg) {
    long amount = (long)arg;
    pthread_mutex_lock(&cell2_lock);
    for (long i = 0; i < 1000000; i++) cell2_total += amount;
    pthread_mutex_unlock(&cell2_lock);
    return NULL;
}

double mcb_notebook_cell2(long *total) {
    cell2_total = 0;
    double start = now();
    pthread_t threads[10];
    for (int i = 0; i < 10; i++) pthread_create(&threads[i], NULL, cell2_update_total, (void *)1L);
    for (int i = 0; i < 10; i++) pthread_join(threads[i], NULL);
    double elapsed = now() - start;
    *total = cell2_total;
    return elapsed;
}

// MARK: contended mutex

struct contended {
    pthread_mutex_t mutex;
    pthread_barrier_t gate;
    long per_thread;
    long counter;
};

static void *contended_worker(void *arg) {
    struct contended *c = arg;
    pthread_barrier_wait(&c->gate);
    for (long i = 0; i < c->per_thread; i++) {
        pthread_mutex_lock(&c->mutex);
        c->counter++;
        pthread_mutex_unlock(&c->mutex);
    }
    return NULL;
}

double mcb_mutex_contended(int threads, long increments) {
    struct contended c;
    pthread_mutex_init(&c.mutex, NULL);
    pthread_barrier_init(&c.gate, NULL, (unsigned)threads + 1);
    c.per_thread = increments / threads;
    c.counter = 0;
    pthread_t *handles = malloc(sizeof(pthread_t) * (size_t)threads);
    for (int i = 0; i < threads; i++) pthread_create(&handles[i], NULL, contended_worker, &c);
    pthread_barrier_wait(&c.gate);
    double start = now();
    for (int i = 0; i < threads; i++) pthread_join(handles[i], NULL);
    double elapsed = now() - start;
    free(handles);
    pthread_barrier_destroy(&c.gate);
    pthread_mutex_destroy(&c.mutex);
    return elapsed;
}

// MARK: condition hand-off

struct handoff {
    pthread_mutex_t mutex;
    pthread_cond_t cond;
    int turn;
    long rounds;
};

static void handoff_play(struct handoff *h, int me) {
    for (long i = 0; i < h->rounds; i++) {
        pthread_mutex_lock(&h->mutex);
        while (h->turn != me) pthread_cond_wait(&h->cond, &h->mutex);
        h->turn = 1 - me;
        pthread_cond_signal(&h->cond);
        pthread_mutex_unlock(&h->mutex);
    }
}

static void *handoff_other(void *arg) {
    handoff_play(arg, 1);
    return NULL;
}

double mcb_cond_handoff(long round_trips) {
    struct handoff h = {PTHREAD_MUTEX_INITIALIZER, PTHREAD_COND_INITIALIZER, 0, round_trips};
    double start = now();
    pthread_t other;
    pthread_create(&other, NULL, handoff_other, &h);
    handoff_play(&h, 0);
    pthread_join(other, NULL);
    return (now() - start) / (double)round_trips;
}

// MARK: bounded queue, one producer, one consumer

struct ring {
    pthread_mutex_t mutex;
    pthread_cond_t not_empty, not_full;
    long *slots;
    int capacity, head, count;
    long items;
};

static void *ring_consumer(void *arg) {
    struct ring *r = arg;
    long sum = 0;
    for (long i = 0; i < r->items; i++) {
        pthread_mutex_lock(&r->mutex);
        while (r->count == 0) pthread_cond_wait(&r->not_empty, &r->mutex);
        sum += r->slots[r->head];
        r->head = (r->head + 1) % r->capacity;
        r->count--;
        pthread_cond_signal(&r->not_full);
        pthread_mutex_unlock(&r->mutex);
    }
    return (void *)sum;
}

double mcb_queue_spsc(long items, int capacity) {
    struct ring r = {PTHREAD_MUTEX_INITIALIZER, PTHREAD_COND_INITIALIZER, PTHREAD_COND_INITIALIZER,
                     malloc(sizeof(long) * (size_t)capacity), capacity, 0, 0, items};
    double start = now();
    pthread_t consumer;
    pthread_create(&consumer, NULL, ring_consumer, &r);
    for (long i = 0; i < items; i++) {
        pthread_mutex_lock(&r.mutex);
        while (r.count == r.capacity) pthread_cond_wait(&r.not_full, &r.mutex);
        r.slots[(r.head + r.count) % r.capacity] = i;
        r.count++;
        pthread_cond_signal(&r.not_empty);
        pthread_mutex_unlock(&r.mutex);
    }
    pthread_join(consumer, NULL);
    double elapsed = now() - start;
    free(r.slots);
    return elapsed / (double)items;
}

// MARK: running CPython

#include <errno.h>
#include <spawn.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

extern char **environ;

int mcb_run_capture(const char *const argv[], char *output, int capacity) {
    return mcb_run_collect(argv, output, capacity, 0);
}

int mcb_run_collect(const char *const argv[], char *output, int capacity, int with_standard_error) {
    int fds[2];
    // Close-on-exec: the child has the pipe as its output only, so the programs it starts in
    // turn (a server that outlives it) cannot hold the pipe open past its end.
    if (capacity < 1 || pipe2(fds, O_CLOEXEC) != 0) return -1;
    posix_spawn_file_actions_t actions;
    posix_spawn_file_actions_init(&actions);
    posix_spawn_file_actions_adddup2(&actions, fds[1], 1);
    if (with_standard_error) posix_spawn_file_actions_adddup2(&actions, fds[1], 2);
    posix_spawn_file_actions_addclose(&actions, fds[0]);
    pid_t pid;
    int spawned = posix_spawnp(&pid, argv[0], &actions, NULL, (char *const *)argv, environ);
    posix_spawn_file_actions_destroy(&actions);
    close(fds[1]);
    if (spawned != 0) { close(fds[0]); output[0] = 0; return -1; }
    // Everything is read (a program must not block on a full pipe); the last bytes are kept.
    int used = 0;
    char chunk[4096];
    for (;;) {
        ssize_t n = read(fds[0], chunk, sizeof chunk);
        if (n < 0 && errno == EINTR) continue;
        if (n <= 0) break;
        int keep = capacity - 1;
        if ((int)n >= keep) {
            memcpy(output, chunk + n - keep, (size_t)keep);
            used = keep;
        } else {
            int drop = used + (int)n - keep;
            if (drop > 0) {
                memmove(output, output + drop, (size_t)(used - drop));
                used -= drop;
            }
            memcpy(output + used, chunk, (size_t)n);
            used += (int)n;
        }
    }
    output[used] = 0;
    close(fds[0]);
    int status = 0;
    while (waitpid(pid, &status, 0) < 0 && errno == EINTR) {}
    return WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
}

// MARK: Process references

#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/socket.h>

// The copy runs in a fresh child process, as Multicore's does: a process that has just
// started, copying from a prefaulted buffer of its own into a shared mapping it did not touch
// yet, whose memory was reserved when it was made (as a SharedArray's is: posix_fallocate).
double mcb_shared_memcpy(size_t bytes) {
    int fds[2];
    if (pipe(fds) != 0) return -1;
    char name[64];
    snprintf(name, sizeof name, "/mcb-%d", (int)getpid());
    int shm = shm_open(name, O_RDWR | O_CREAT | O_EXCL, 0600);
    if (shm < 0) return -1;
    shm_unlink(name);
    if (ftruncate(shm, (off_t)bytes) != 0 || posix_fallocate(shm, 0, (off_t)bytes) != 0) { close(shm); return -1; }
    void *target = mmap(NULL, bytes, PROT_READ | PROT_WRITE, MAP_SHARED, shm, 0);
    close(shm);
    if (target == MAP_FAILED) return -1;
    pid_t pid = fork();
    if (pid == 0) {
        double elapsed = -1;
        char *source = mmap(NULL, bytes, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
        if (source != MAP_FAILED) {
            memset(source, 1, bytes);
            double start = now();
            memcpy(target, source, bytes);
            elapsed = now() - start;
        }
        if (write(fds[1], &elapsed, sizeof elapsed) != sizeof elapsed) _exit(1);
        _exit(0);
    }
    double elapsed = -1;
    close(fds[1]);
    if (pid > 0) {
        if (read(fds[0], &elapsed, sizeof elapsed) != sizeof elapsed) elapsed = -1;
        int status;
        while (waitpid(pid, &status, 0) < 0 && errno == EINTR) {}
    }
    close(fds[0]);
    if (((char *)target)[bytes - 1] != 1) elapsed = -1;
    munmap(target, bytes);
    return elapsed;
}

double mcb_pipe_roundtrip(long round_trips) {
    int there[2], back[2];
    if (pipe(there) != 0 || pipe(back) != 0) return -1;
    pid_t pid = fork();
    if (pid == 0) {
        char byte;
        for (long i = 0; i < round_trips; i++) {
            if (read(there[0], &byte, 1) != 1) _exit(1);
            if (write(back[1], &byte, 1) != 1) _exit(1);
        }
        _exit(0);
    }
    char byte = 1;
    double start = now();
    for (long i = 0; i < round_trips; i++) {
        if (write(there[1], &byte, 1) != 1) break;
        if (read(back[0], &byte, 1) != 1) break;
    }
    double elapsed = now() - start;
    int status;
    while (waitpid(pid, &status, 0) < 0 && errno == EINTR) {}
    close(there[0]); close(there[1]); close(back[0]); close(back[1]);
    return elapsed / (double)round_trips;
}

// The fair reference of `connection.roundtrip`: a Connection is a socket pair, and an Int travels
// as a 16-byte frame (8 bytes of header, 8 of payload), so the raw side sends 16 bytes each way on
// a socket pair, with send (MSG_NOSIGNAL, as a Connection) and a blocking read.
double mcb_socket_roundtrip(long round_trips, int size) {
    int pair[2];
    char buffer[256] = {1};
    if (size < 1 || size > (int)sizeof buffer) return -1;
    if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, pair) != 0) return -1;
    pid_t pid = fork();
    if (pid == 0) {
        close(pair[0]);
        for (long i = 0; i < round_trips; i++) {
            for (int got = 0; got < size;) {
                ssize_t n = read(pair[1], buffer + got, (size_t)(size - got));
                if (n <= 0) _exit(1);
                got += (int)n;
            }
            if (send(pair[1], buffer, (size_t)size, MSG_NOSIGNAL) != size) _exit(1);
        }
        _exit(0);
    }
    close(pair[1]);
    double elapsed = -1;
    if (pid > 0) {
        double start = now();
        long i = 0;
        for (; i < round_trips; i++) {
            if (send(pair[0], buffer, (size_t)size, MSG_NOSIGNAL) != size) break;
            int got = 0;
            while (got < size) {
                ssize_t n = read(pair[0], buffer + got, (size_t)(size - got));
                if (n <= 0) break;
                got += (int)n;
            }
            if (got < size) break;
        }
        if (i == round_trips) elapsed = (now() - start) / (double)round_trips;
    }
    close(pair[0]); // a child still reading gets end-of-file and exits
    if (pid > 0) {
        int status;
        while (waitpid(pid, &status, 0) < 0 && errno == EINTR) {}
    }
    return elapsed;
}

// The reference of `connection.bulk_8mb`: `bytes` bytes through a socket pair (default buffer
// sizes) to a forked child that reads them all into a buffer of its own (allocated and touched
// once, before the timing) and answers with 8 bytes; per transfer, `transfers` of them.
double mcb_socket_bulk(long transfers, size_t bytes) {
    int pair[2];
    if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, pair) != 0) return -1;
    char *data = malloc(bytes);
    if (data == NULL) { close(pair[0]); close(pair[1]); return -1; }
    memset(data, 1, bytes);
    pid_t pid = fork();
    if (pid == 0) {
        close(pair[0]);
        char *target = malloc(bytes);
        if (target == NULL) _exit(1);
        memset(target, 2, bytes);
        char ready = 1;
        if (send(pair[1], &ready, 1, MSG_NOSIGNAL) != 1) _exit(1);
        for (long i = 0; i < transfers; i++) {
            size_t got = 0;
            while (got < bytes) {
                ssize_t n = read(pair[1], target + got, bytes - got);
                if (n <= 0) _exit(1);
                got += (size_t)n;
            }
            long answer = (long)got;
            if (send(pair[1], &answer, sizeof answer, MSG_NOSIGNAL) != (ssize_t)sizeof answer) _exit(1);
        }
        _exit(0);
    }
    close(pair[1]);
    double elapsed = -1;
    char ready = 0;
    if (pid > 0 && read(pair[0], &ready, 1) == 1) {
        double start = now();
        long i = 0;
        for (; i < transfers; i++) {
            size_t sent = 0;
            while (sent < bytes) {
                ssize_t n = send(pair[0], data + sent, bytes - sent, MSG_NOSIGNAL);
                if (n <= 0) break;
                sent += (size_t)n;
            }
            long answer = 0;
            if (sent < bytes || read(pair[0], &answer, sizeof answer) != (ssize_t)sizeof answer || answer != (long)bytes) break;
        }
        if (i == transfers) elapsed = (now() - start) / (double)transfers;
    }
    close(pair[0]); // a child still reading gets end-of-file and exits
    if (pid > 0) {
        int status;
        while (waitpid(pid, &status, 0) < 0 && errno == EINTR) {}
    }
    free(data);
    return elapsed;
}

double mcb_fork_exit_wait(long iterations) {
    double start = now();
    for (long i = 0; i < iterations; i++) {
        pid_t pid = fork();
        if (pid == 0) _exit(0);
        int status;
        while (waitpid(pid, &status, 0) < 0 && errno == EINTR) {}
    }
    return (now() - start) / (double)iterations;
}

// MARK: process.start_join.spawn's reference: the executable's own start-up, and nothing else

#include <stdatomic.h>
#include <sched.h>

// Set (to the parent's pid) by mcb_spawn_self_exit_wait in the processes it starts.
#define MCB_EXIT_VARIABLE "MULTICORE_BENCH_EXIT_AT_START"

// Runs before main, and before Multicore's worker bootstrap and the Swift runtime's registration
// of this executable's metadata (constructors of default priority): a process spawned by
// mcb_spawn_self_exit_wait ends here, having paid for loading the executable and its libraries
// only. The variable must name this process's parent: one inherited by accident does nothing.
__attribute__((constructor(101))) static void mcb_exit_at_start(void) {
    const char *value = getenv(MCB_EXIT_VARIABLE);
    if (value == NULL) return;
    char parent[24];
    snprintf(parent, sizeof parent, "%d", (int)getppid());
    if (strcmp(value, parent) == 0) _exit(0);
}

double mcb_spawn_self_exit_wait(long iterations) {
    size_t count = 0;
    while (environ[count] != NULL) count++;
    char **env = calloc(count + 2, sizeof(char *));
    if (env == NULL) return -1;
    size_t used = 0;
    for (size_t i = 0; i < count; i++) {
        if (strncmp(environ[i], MCB_EXIT_VARIABLE "=", sizeof MCB_EXIT_VARIABLE) != 0) env[used++] = environ[i];
    }
    char variable[64];
    snprintf(variable, sizeof variable, MCB_EXIT_VARIABLE "=%d", (int)getpid());
    env[used++] = variable;
    env[used] = NULL;
    char *argv[] = {"multicore-raw-start", NULL};
    double start = now(), elapsed = -1;
    long done = 0;
    for (; done < iterations; done++) {
        pid_t pid;
        if (posix_spawn(&pid, "/proc/self/exe", NULL, NULL, argv, env) != 0) break;
        int status;
        while (waitpid(pid, &status, 0) < 0 && errno == EINTR) {}
        if (!WIFEXITED(status) || WEXITSTATUS(status) != 0) break;
    }
    if (done == iterations) elapsed = (now() - start) / (double)iterations;
    free(env);
    return elapsed;
}

// MARK: shared.value.locked_increment's reference

struct mcb_shared_counter {
    pthread_mutex_t mutex;
    long value;
    atomic_int ready;
    atomic_int go;
};

static void mcb_locked_adder(struct mcb_shared_counter *counter, long increments) {
    atomic_fetch_add(&counter->ready, 1);
    while (!atomic_load(&counter->go)) sched_yield();
    for (long i = 0; i < increments; i++) {
        if (pthread_mutex_lock(&counter->mutex) == EOWNERDEAD) pthread_mutex_consistent(&counter->mutex);
        counter->value += 1;
        pthread_mutex_unlock(&counter->mutex);
    }
    _exit(0);
}

double mcb_shared_locked_increment(long increments_per_process, long *total) {
    struct mcb_shared_counter *counter = mmap(NULL, sizeof *counter, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0);
    if (counter == MAP_FAILED) return -1;
    pthread_mutexattr_t attributes;
    pthread_mutexattr_init(&attributes);
    pthread_mutexattr_setpshared(&attributes, PTHREAD_PROCESS_SHARED);
    pthread_mutexattr_setrobust(&attributes, PTHREAD_MUTEX_ROBUST);
    pthread_mutex_init(&counter->mutex, &attributes);
    pthread_mutexattr_destroy(&attributes);
    counter->value = 0;
    atomic_init(&counter->ready, 0);
    atomic_init(&counter->go, 0);
    pid_t children[2] = {-1, -1};
    for (int i = 0; i < 2; i++) {
        children[i] = fork();
        if (children[i] == 0) mcb_locked_adder(counter, increments_per_process);
    }
    double elapsed = -1;
    if (children[0] > 0 && children[1] > 0) {
        while (atomic_load(&counter->ready) < 2) sched_yield();
        double start = now();
        atomic_store(&counter->go, 1);
        for (int i = 0; i < 2; i++) {
            int status;
            while (waitpid(children[i], &status, 0) < 0 && errno == EINTR) {}
        }
        elapsed = (now() - start) / (double)(2 * increments_per_process);
    } else {
        atomic_store(&counter->go, 1);
        for (int i = 0; i < 2; i++) {
            int status;
            if (children[i] > 0) while (waitpid(children[i], &status, 0) < 0 && errno == EINTR) {}
        }
    }
    *total = counter->value;
    pthread_mutex_destroy(&counter->mutex);
    munmap(counter, sizeof *counter);
    return elapsed;
}
