/* cli_queue.h - `cog-fcgi queue`: a Redis Stream queue worker (and optionally a FastCGI server). */
#ifndef CF_CLI_QUEUE_H
#define CF_CLI_QUEUE_H

/* argv[0] is "queue". Returns the exit status. */
int cf_cli_queue(int argc, char **argv);

#endif
