/* ipc.h - length-prefixed JSON messages between the front and a worker.
 *
 * A frame is a 4-byte big-endian length followed by that many bytes of one
 * JSON object (UTF-8, no trailing newline). Every message has a "type".
 *
 * worker -> front
 *   {"type":"ready","ok":true|false,"error":STR|null,
 *    "predict":SCHEMA|null,"train":SCHEMA|null,"concurrency":N,
 *    "python_version":"3.11.2"}
 *      sent once, after the project was imported and setup() ran (or failed).
 *      SCHEMA = {"input":  <components.schemas.Input object>,
 *                "output": <components.schemas.Output object>,
 *                "components": {<name>: <schema>, ...},  (choices enums, named models)
 *                "kinds": {<input name>: "path"|"file"|"secret", ...}}
 *      "kinds" names the inputs whose values need care in the front: files
 *      to materialise (also for List[Path]) and secrets to mask. ok=false
 *      with predict=null means the predictor could not be loaded or typed.
 *   {"type":"schema","predict":SCHEMA|null,"train":SCHEMA|null}
 *      sent once before the ready frame, as soon as the schemas are known (read
 *      from the predictor's declarations, before the module is imported for
 *      real and setup() runs): the front serves /openapi.json and validates
 *      inputs from it during setup. Not sent when the predictor cannot be typed.
 *      With COG_FCGI_SCHEMA_ONLY=1 in the worker's environment (`cog-fcgi
 *      schema`) the ready frame follows at once and nothing of the model runs
 *      but its declarations; with COG_FCGI_SCHEMA_ONLY=import the module is
 *      imported and the predictor checked, and ready says what failed, but
 *      setup() does not run.
 *   {"type":"log","text":STR}   what the model printed (stdout and stderr),
 *      valid UTF-8 (U+FFFD for bytes that were not), in order with the
 *      output, metric and done frames (worker_logs.h).
 *   {"type":"output","item":JSON}      one yielded item of an iterator output
 *   {"type":"metric","name":STR,"value":JSON}   current_scope().record_metric
 *   {"type":"done","status":"succeeded"|"failed"|"canceled",
 *    "output":JSON,"error":STR|null}
 *      the end of a prediction. For iterators "output" is null: the front
 *      has the items. Files anywhere in an output are {"$cogfile":"/abs/path"}.
 *
 * front -> worker
 *   {"type":"predict","id":STR,"mode":"predict"|"train","input":{...},
 *    "context":{...}}
 *      input is validated, defaults filled in, files already local paths.
 *   {"type":"shutdown"}
 *
 * Cancel is SIGUSR1 to the worker. Before the worker captures its own fds 1
 * and 2 (and if it cannot), what it prints reaches the front through a
 * pipe instead; the front reads that as logs too.
 */
#ifndef CF_IPC_H
#define CF_IPC_H

#include <jansson.h>
#include <stddef.h>

#include "error.h"

/* Largest frame accepted: a larger length prefix is a protocol error. */
#define CF_IPC_MAX_FRAME (512u * 1024u * 1024u)

/* Writes msg (borrowed) as one frame to fd, retrying short writes and EINTR.
 * Returns 0 or CF_EIO / CF_ENOMEM with err set. */
int cf_ipc_send(int fd, const json_t *msg, cf_error *err);

/* Reads one frame from fd (blocking). Returns a new reference the caller
 * owns, or NULL: err->code is CF_EIO with msg "eof" on a clean EOF at a frame
 * boundary, CF_EPROTO for a torn frame or bad JSON. */
json_t *cf_ipc_recv(int fd, cf_error *err);

/* Frame encoding without I/O, for tests and for callers with their own
 * buffers: returns a malloc'd buffer (caller frees) holding prefix+payload. */
char *cf_ipc_encode(const json_t *msg, size_t *len_out, cf_error *err);

/* Decodes a complete frame payload of len bytes. New reference or NULL. */
json_t *cf_ipc_decode(const char *payload, size_t len, cf_error *err);

#endif
