/* model_log.h - the model's own output, copied line by line to the server's log, within limits.
 *
 * Cog copies what the model prints to its own stdout/stderr; under journald or
 * an nginx error log that is where an operator looks. The runner passes every
 * chunk the worker writes (setup and predictions) to cf_model_log_write, tagged
 * with the prediction id or "setup"; this module cuts it into lines and logs
 * each as `info CF0330: [ID] line`. Limits keep a model that prints 200 MB from
 * flooding the log: a line longer than CF_MODEL_LOG_LINE_MAX is cut (the number
 * of bytes left out is said), and past CF_MODEL_LOG_BUDGET bytes or
 * CF_MODEL_LOG_LINES lines per id the rest is counted, not copied: a `CF0331`
 * note says so when it happens, another at the end how much was left out. The prediction's own
 * `logs` field keeps everything, as before. A carriage return starts the line
 * over (progress bars log their last state only); other control bytes become
 * '?', so a model cannot forge log lines or escape sequences.
 *
 * cf_model_log_end flushes an id's unterminated line and the note, and logs the
 * failure, if any, with the place the traceback in logs points at (its last
 * `File "...", line N` frame). Thread-safe; state for a few ids at a time
 * (a runner has one prediction and setup at most; an id not seen for a while
 * is flushed when its slot is needed).
 */
#ifndef CF_MODEL_LOG_H
#define CF_MODEL_LOG_H

#include <stddef.h>

#define CF_MODEL_LOG_LINE_MAX 1500
#define CF_MODEL_LOG_BUDGET (256u * 1024)
#define CF_MODEL_LOG_LINES 2000

/* Raw mode (the one-shot `predict` command): chunks go to stderr as they come, unprefixed
 * and unlimited, and cf_model_log_end writes the failure as a plain line. */
void cf_model_log_set_raw(int raw);

/* Copies n bytes the model wrote while id ("setup" or a prediction id) ran. */
void cf_model_log_write(const char *id, const char *buf, size_t n);

/* Ends id's output: its unterminated last line and the note of what was left out. When
 * error is not NULL, logs the failure: `CF0332: [ID] prediction failed: EXC (at FILE:LINE, in
 * FUNC)` with what = "prediction", or for setup (what = NULL) `CF0307: [setup] setup() failed`
 * or `... loading the model (importing it) failed ...`, told apart by the traceback. EXC is
 * the exception line that ends the traceback in logs ("ModuleNotFoundError: No module named
 * 'x'") when it contains error, else error; the place is the traceback's last frame. logs
 * may be NULL. In raw mode the failure is a plain "cog-fcgi: WHAT failed: EXC (at PLACE)"
 * line on stderr. */
void cf_model_log_end(const char *id, const char *what, const char *error, const char *logs);

/* The last `File "PATH", line N` of a Python traceback in logs, as "PATH:N" (with ", in
 * FUNC" when given) in buf. 1 if found, else 0 and buf is "". Pure, for tests. */
int cf_model_log_last_frame(const char *logs, char *buf, size_t len);

#endif
