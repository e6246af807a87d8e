#define _GNU_SOURCE
#include "CMulticore.h"

// Shared memory: shm objects, mapping, populating and discarding pages.

#include <errno.h>
#include <fcntl.h>
#include <malloc.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include <sys/mman.h>
#include <sys/stat.h>

int mc_shm_open(const char *name, int create, int exclusive, size_t size, int allocate, size_t *actual_size) {
    int flags = O_RDWR | O_CLOEXEC;
    if (create) flags |= O_CREAT | (exclusive ? O_EXCL : 0);
    int fd = shm_open(name, flags, 0600);
    if (fd < 0) return -errno;
    if (create) {
        int error = ftruncate(fd, (off_t)size) == 0 ? 0 : errno;
        if (error == 0 && allocate) error = posix_fallocate(fd, 0, (off_t)size);
        if (error != 0) {
            close(fd);
            shm_unlink(name);
            return -error;
        }
    }
    struct stat st;
    if (fstat(fd, &st) != 0) {
        int error = errno;
        close(fd);
        return -error;
    }
    *actual_size = (size_t)st.st_size;
    return fd;
}

int mc_shm_unlink(const char *name) { return shm_unlink(name) == 0 ? 0 : -errno; }

int mc_map_shared(int fd, size_t size, void **address) {
    void *mapped = mmap(NULL, size, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
    if (mapped == MAP_FAILED) return -errno;
    *address = mapped;
    return 0;
}

#ifndef MADV_POPULATE_WRITE
#define MADV_POPULATE_WRITE 23
#endif

int mc_populate_shared(void *address, size_t length) {
    // madvise works on whole pages: widen the range to its pages (within the same mapping).
    uintptr_t page = (uintptr_t)sysconf(_SC_PAGESIZE);
    uintptr_t start = (uintptr_t)address & ~(page - 1);
    uintptr_t end = ((uintptr_t)address + length + page - 1) & ~(page - 1);
    return madvise((void *)start, end - start, MADV_POPULATE_WRITE) == 0 ? 0 : -errno;
}

int mc_discard_shared(void *address, size_t length) {
    // Only the whole pages inside the range: a page partly outside may hold live data.
    uintptr_t page = (uintptr_t)sysconf(_SC_PAGESIZE);
    uintptr_t start = ((uintptr_t)address + page - 1) & ~(page - 1);
    uintptr_t end = ((uintptr_t)address + length) & ~(page - 1);
    if (end <= start) return 0;
    return madvise((void *)start, end - start, MADV_REMOVE) == 0 ? 0 : -errno;
}

void mc_malloc_keep_freed(size_t bytes) {
    // Setting either threshold turns glibc's dynamic adjustment of both off: set both.
    mallopt(M_MMAP_THRESHOLD, 32 << 20);
    mallopt(M_TRIM_THRESHOLD, (int)(bytes > (size_t)INT32_MAX ? INT32_MAX : bytes));
}
