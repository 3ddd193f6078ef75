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

/* Appends p's line to the runner's usage log (cfg.usage_path), with one
 * write(2) of O_APPEND: lines from concurrent ends never interleave. A
 * failure is logged (CF0901), never the prediction's. Lock held; s may be
 * NULL for a prediction that never reached a slot. */
void cf_usage_append(struct cf_runner *r, const struct cf_wslot *s, const cf_prediction *p);

/* `cog-fcgi usage STATE_DIR [--by user|day] [--since DATE]`. Exit status. */
int cf_usage_main(int argc, char **argv);

#endif
