/* worker_logs.h - the worker's stdout and stderr, sent to the front as log frames.
 *
 * Everything the model prints (Python's sys.stdout and sys.stderr, C code,
 * child processes that inherit fds 1 and 2) goes into a pipe inside the
 * worker. A thread reads it and sends {"type":"log","text":...} frames;
 * every other frame goes out through cf_worker_send, which first sends
 * what the pipe holds. So the front gets logs and outputs in the order the
 * model produced them, on one socket, with no flush-and-hope between a pipe
 * and the socket. Bytes that are not UTF-8 become U+FFFD here.
 */
#ifndef CF_WORKER_LOGS_H
#define CF_WORKER_LOGS_H

#include <jansson.h>

#include "error.h"

/* Points fds 1 and 2 at the capture pipe and starts the reader thread,
 * which frames to ipc_fd. Before it, fds 1 and 2 are the front's pipe (what
 * the worker prints before this call still reaches the front that way). */
int cf_worker_logs_start(int ipc_fd, cf_error *err);

/* Sends msg (borrowed) to fd after the logs printed before it (C stdio is
 * flushed here; Python's streams must be flushed by the caller). Any
 * thread, without the GIL. 0 or a negative code, as cf_ipc_send. */
int cf_worker_send(int fd, const json_t *msg, cf_error *err);

/* Sends what was printed so far, also a UTF-8 sequence cut short. For the
 * worker's exit. */
void cf_worker_logs_flush(void);

#endif
