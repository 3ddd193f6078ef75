/* usage.h - the usage log: one JSON line per finished prediction, and its sums.
 *
 * The runner appends a line for every prediction that ran or waited in
 * the pool (cf_usage_append) to STATE_DIR/usage.jsonl: id, status, the web
 * server's REMOTE_USER, the slot and device, queue, boot and predict
 * seconds, and the input and output bytes. `cog-fcgi usage STATE_DIR`
 * (cf_usage_main) reads it back and sums seconds per user or per day:
 * what a host bills.
 */
#ifndef CF_USAGE_H
#define CF_USAGE_H

#include "prediction.h"

struct cf_runner;
struct cf_wslot;

/* Adds p's line to those waiting for the runner's usage log
 * (cfg.usage_path). Lock held; s may be NULL for a prediction that never
 * reached a slot. No I/O: cf_usage_flush writes them. */
void cf_usage_append(struct cf_runner *r, const struct cf_wslot *s, const cf_prediction *p);
/* Writes the waiting lines with one write(2) of O_APPEND, without the
 * runner's lock (the lines have a mutex of their own): whoever ended predictions calls it
 * once it let go of the lock (a direct run's thread, the runner thread
 * every turn). A failure is logged (CF0901), never the prediction's. */
void cf_usage_flush(struct cf_runner *r);

/* `cog-fcgi usage STATE_DIR [--by user|day] [--since DATE]`. Exit status. */
int cf_usage_main(int argc, char **argv);

#endif
