/* alloc.c - the front's memory allocator and its settings.
 *
 * The front is built with jemalloc (-ljemalloc, before libc, so every
 * malloc in the process is jemalloc's: ours, jansson's, libfcgi's), except
 * in the ASan build, which brings its own. glibc's malloc made a third of
 * the front's CPU in steady state: each finished record is freed by the
 * saver thread into the arena of the thread that built it (arena locks taken
 * against the request threads), and libfcgi's two 8 KiB stream buffers per
 * request send glibc through malloc_consolidate of those small chunks every
 * time. jemalloc's per-thread caches and size-class slabs do neither: front
 * CPU per no-op prediction at 8 connections went from ~78 to ~53 µs
 * (notes in DESIGN.md, "The allocator"). Redis ships jemalloc for the same
 * reasons.
 */
#include "alloc.h"

#ifdef CF_JEMALLOC

/* Read by jemalloc when it starts. The byte budget (--keep-memory) bounds
 * the RSS only if freed pages go back to the kernel: a background thread
 * (its signals blocked by jemalloc) returns pages unused for a second, idle
 * front or not, instead of jemalloc's default 10 s decay, which runs only
 * when something allocates. Two arenas, as the glibc build has: the request
 * threads mostly wait, and each thread's cache takes the hot path. */
const char *malloc_conf = "background_thread:true,dirty_decay_ms:1000,muzzy_decay_ms:0,narenas:2";

void cf_alloc_configure(void)
{
}

#else

#include <malloc.h>

void cf_alloc_configure(void)
{
    /* glibc gives each thread its own malloc arena; with 64 request threads
     * that alone made the front's RSS grow to ~30 MB under load. Two arenas
     * are plenty for a process whose threads mostly wait. */
    mallopt(M_ARENA_MAX, 2);
    /* The byte budget (--keep-memory) bounds the RSS only if freed large
     * blocks go back to the kernel: a fixed mmap threshold stops glibc from
     * raising it (up to 32 MiB) after the first large free, which would keep
     * them in the heap. */
    mallopt(M_MMAP_THRESHOLD, 256 * 1024);
}

#endif
