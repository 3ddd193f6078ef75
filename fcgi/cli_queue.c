/* cli_queue.c - `cog-fcgi queue PROJECT_DIR --redis URL --stream NAME`: options, runner, consumer thread, signals. */
#include "cli_queue.h"

#include <errno.h>
#include <getopt.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "app.h"
#include "clock.h"
#include "listen.h"
#include "log.h"
#include "opt_parse.h"
#include "project.h"
#include "queue.h"
#include "runner.h"
#include "server.h"
#include "state.h"
#include "webhook.h"

static void usage_queue(FILE *f)
{
    fprintf(f,
            "usage: cog-fcgi queue PROJECT_DIR --redis redis://HOST:PORT/DB --stream NAME [options]\n"
            "  takes prediction requests from a Redis Stream (XADD NAME * value JSON, Cog's\n"
            "  queue format) through a consumer group, runs them and writes each state to the\n"
            "  request's response_queue (RPUSH), response_key (SET) or response_stream (XADD),\n"
            "  and to its webhook; an entry is acknowledged (XACK + XDEL) once its prediction\n"
            "  has ended and is recorded\n"
            "\n"
            "queue options:\n"
            "  --redis URL                redis://[[USER]:PASSWORD@]HOST[:PORT][/DB] (required)\n"
            "  --stream NAME              the stream of requests (required; created if missing)\n"
            "  --group G                  consumer group (default: the stream's name, as Cog)\n"
            "  --consumer C               this worker's name in the group (default HOSTNAME-PID;\n"
            "                             give a fixed one to take back its entries on restart)\n"
            "  --claim-after SECONDS      an entry idle that long on another consumer (one that\n"
            "                             died) is claimed by this one (default 600)\n"
            "  --workers N                worker processes (model slots) running entries\n"
            "                             (default 1), as serve --workers\n"
            "  --concurrency N            entries taken at once (default: --workers)\n"
            "  --poll-interval SECONDS    how often running predictions are looked at (default\n"
            "                             0.02: 20 ms)\n"
            "  --done-ttl SECONDS         how long STREAM:done:ID markers keep a redelivered\n"
            "                             request from running again (default 604800: 7 days)\n"
            "  --report-interval SECONDS  how often the consumer's lag is logged (default 10;\n"
            "                             0 = never)\n"
            "  --listen unix:PATH | HOST:PORT   also serve the HTTP API over FastCGI there\n"
            "  --socket-mode MODE         unix socket permissions (default 0660)\n"
            "  --threads N                FastCGI request threads with --listen (default 16)\n"
            "  --queue N                  HTTP predictions that may wait (default 48)\n"
            "  --state-dir DIR            with --listen: where async HTTP predictions are kept\n"
            "                             (default as serve)\n"
            "  --venv PATH                run the model with this virtualenv's packages\n"
            "  --predict-timeout SECONDS  deadline of every prediction (default none)\n"
            "  --setup-timeout SECONDS    limit on import + setup() (default none)\n"
            "  --cancel-grace SECONDS     time a canceled model has to stop (default 5)\n"
            "  --shutdown-grace SECONDS   on SIGTERM, time the entries in flight have to finish\n"
            "                             (default 30; the rest stay pending for another worker)\n"
            "  --log-level debug|info|warn|error   what goes to stderr (default info)\n"
            "  -h, --help                 this help\n"
            "  Durations take ms, s, m or h (default s).\n"
            "\n"
            "signals: SIGTERM, SIGQUIT finish the entries in flight (--shutdown-grace) and exit;\n"
            "SIGINT stops at once (its entries are claimed by another worker after --claim-after)\n");
}

#define MAX_SECONDS 1e9

/* The consumer thread and how main waits for it with a limit. */
typedef struct queue_thread {
    cf_queue *q;
    int status;
    int finished;
    pthread_mutex_t mu;
    pthread_cond_t cond;
} queue_thread;

static void *queue_main(void *arg)
{
    queue_thread *t = arg;
    int status = cf_queue_run(t->q);
    pthread_mutex_lock(&t->mu);
    t->status = status;
    t->finished = 1;
    pthread_cond_broadcast(&t->cond);
    pthread_mutex_unlock(&t->mu);
    /* a consumer that gave up (setup failed) ends the process */
    if (status != CF_OK)
        cf_server_request_shutdown();
    return NULL;
}

/* Waits up to seconds for the consumer thread to return. 1 if it did. */
static int wait_finished(queue_thread *t, double seconds)
{
    struct timespec ts = cf_realtime_after(seconds);
    pthread_mutex_lock(&t->mu);
    while (!t->finished) {
        if (pthread_cond_timedwait(&t->cond, &t->mu, &ts) == ETIMEDOUT)
            break;
    }
    int done = t->finished;
    pthread_mutex_unlock(&t->mu);
    return done;
}

int cf_cli_queue(int argc, char **argv)
{
    cf_queue_config qcfg;
    cf_queue_config_init(&qcfg);
    cf_listen_opts lopts = {.address = NULL, .socket_mode = 0660};
    long threads = 16, queue = 48, lval, workers = 1;
    int concurrency_given = 0;
    double predict_timeout = 0, setup_timeout = 0, cancel_grace = 5, shutdown_grace = 30;
    const char *venv = NULL, *state_dir = getenv("COG_FCGI_STATE_DIR");
    unsigned mode;
    cf_error oerr;
    enum { OPT_REDIS = 0x100, OPT_STREAM, OPT_GROUP, OPT_CONSUMER, OPT_CLAIM_AFTER,
           OPT_CONCURRENCY, OPT_POLL, OPT_DONE_TTL, OPT_REPORT, OPT_WORKERS };
    static const struct option longopts[] = {
        {"redis", required_argument, NULL, OPT_REDIS},
        {"stream", required_argument, NULL, OPT_STREAM},
        {"group", required_argument, NULL, OPT_GROUP},
        {"consumer", required_argument, NULL, OPT_CONSUMER},
        {"claim-after", required_argument, NULL, OPT_CLAIM_AFTER},
        {"concurrency", required_argument, NULL, OPT_CONCURRENCY},
        {"workers", required_argument, NULL, OPT_WORKERS},
        {"poll-interval", required_argument, NULL, OPT_POLL},
        {"done-ttl", required_argument, NULL, OPT_DONE_TTL},
        {"report-interval", required_argument, NULL, OPT_REPORT},
        {"listen", required_argument, NULL, 'l'},
        {"socket-mode", required_argument, NULL, 'm'},
        {"threads", required_argument, NULL, 't'},
        {"queue", required_argument, NULL, 'q'},
        {"state-dir", required_argument, NULL, 'D'},
        {"venv", required_argument, NULL, 'E'},
        {"predict-timeout", required_argument, NULL, 'P'},
        {"setup-timeout", required_argument, NULL, 'S'},
        {"cancel-grace", required_argument, NULL, 'C'},
        {"shutdown-grace", required_argument, NULL, 'G'},
        {"log-level", required_argument, NULL, 'v'},
        {"help", no_argument, NULL, 'h'},
        {NULL, 0, NULL, 0},
    };
#define OPT_CHECK(call)                                                                            \
    do {                                                                                           \
        if ((call) != CF_OK) {                                                                     \
            fprintf(stderr, "cog-fcgi: %s\n", oerr.msg);                                          \
            return 2;                                                                              \
        }                                                                                          \
    } while (0)
    optind = 1;
    int c, li = 0;
    while ((c = getopt_long(argc, argv, "h", longopts, &li)) != -1) {
        char name[64];
        snprintf(name, sizeof name, "--%s", c == '?' || c == 'h' ? "" : longopts[li].name);
        switch (c) {
        case OPT_REDIS: qcfg.redis_url = optarg; break;
        case OPT_STREAM: qcfg.stream = optarg; break;
        case OPT_GROUP: qcfg.group = optarg; break;
        case OPT_CONSUMER: qcfg.consumer = optarg; break;
        case OPT_CLAIM_AFTER:
            OPT_CHECK(cf_opt_seconds(name, optarg, 0.001, MAX_SECONDS, &qcfg.claim_after, &oerr));
            break;
        case OPT_WORKERS:
            OPT_CHECK(cf_opt_long(name, optarg, 1, CF_MAX_WORKERS, &workers, &oerr));
            break;
        case OPT_CONCURRENCY:
            OPT_CHECK(cf_opt_long(name, optarg, 1, 256, &lval, &oerr));
            qcfg.concurrency = (int)lval;
            concurrency_given = 1;
            break;
        case OPT_POLL: OPT_CHECK(cf_opt_seconds(name, optarg, 0.001, 10, &qcfg.poll_interval, &oerr)); break;
        case OPT_DONE_TTL: OPT_CHECK(cf_opt_seconds(name, optarg, 1, MAX_SECONDS, &qcfg.done_ttl, &oerr)); break;
        case OPT_REPORT: OPT_CHECK(cf_opt_seconds(name, optarg, 0, 86400, &qcfg.report_interval, &oerr)); break;
        case 'l': lopts.address = optarg; break;
        case 'm':
            OPT_CHECK(cf_opt_mode(name, optarg, &mode, &oerr));
            lopts.socket_mode = (mode_t)mode;
            break;
        case 't': OPT_CHECK(cf_opt_long(name, optarg, 2, 4096, &threads, &oerr)); break;
        case 'q': OPT_CHECK(cf_opt_long(name, optarg, 0, 1000000, &queue, &oerr)); break;
        case 'D': state_dir = optarg; break;
        case 'E': venv = optarg; break;
        case 'P': OPT_CHECK(cf_opt_seconds(name, optarg, 0, MAX_SECONDS, &predict_timeout, &oerr)); break;
        case 'S': OPT_CHECK(cf_opt_seconds(name, optarg, 0, MAX_SECONDS, &setup_timeout, &oerr)); break;
        case 'C': OPT_CHECK(cf_opt_seconds(name, optarg, 0, 86400, &cancel_grace, &oerr)); break;
        case 'G': OPT_CHECK(cf_opt_seconds(name, optarg, 0, 86400, &shutdown_grace, &oerr)); break;
        case 'v':
            if (strcmp(optarg, "debug") == 0)
                cf_log_set_level(CF_LOG_DEBUG);
            else if (strcmp(optarg, "info") == 0)
                cf_log_set_level(CF_LOG_INFO);
            else if (strcmp(optarg, "warn") == 0)
                cf_log_set_level(CF_LOG_WARN);
            else if (strcmp(optarg, "error") == 0)
                cf_log_set_level(CF_LOG_ERROR);
            else {
                fprintf(stderr, "cog-fcgi: --log-level: expected debug, info, warn or error, got \"%s\"\n",
                        optarg);
                return 2;
            }
            break;
        case 'h': usage_queue(stdout); return 0;
        default: usage_queue(stderr); return 2;
        }
    }
#undef OPT_CHECK
    if (optind >= argc) {
        fprintf(stderr, "cog-fcgi: queue: PROJECT_DIR is required\n");
        usage_queue(stderr);
        return 2;
    }
    if (qcfg.redis_url == NULL || qcfg.stream == NULL) {
        fprintf(stderr, "cog-fcgi: queue: --redis and --stream are required\n");
        return 2;
    }
    if (!concurrency_given) /* one entry per slot unless told otherwise */
        qcfg.concurrency = (int)workers;
    cf_error err;
    cf_error_clear(&err);
    /* the runner is not needed to check the options: a bad URL is 2 at once */
    cf_queue *q = cf_queue_new(&qcfg, NULL, &err);
    if (q == NULL) {
        fprintf(stderr, "cog-fcgi: %s\n", err.msg);
        return err.code == CF_EINVAL ? 2 : 1;
    }
    cf_queue_free(q);

    cf_server_block_signals();
    cf_project proj;
    if (cf_project_load(&proj, argv[optind], &err) != CF_OK) {
        cf_log_error("CF1220", "%s", err.msg);
        return 1;
    }
    if (venv && cf_project_use_venv(&proj, venv, &err) != CF_OK) {
        cf_log_error("CF1220", "%s", err.msg);
        cf_project_cleanup(&proj);
        return 1;
    }
    /* Queue predictions need no state directory (Redis keeps them); HTTP
     * async predictions do, as with serve. One that cannot be opened is an
     * error here: the queue's predictions would be refused with it. */
    cf_state *state = NULL;
    int fd = -1;
    if (lopts.address) {
        char default_dir[4096];
        if (state_dir == NULL || *state_dir == '\0') {
            cf_state_default_dir(proj.dir, default_dir, sizeof default_dir);
            state_dir = default_dir;
        }
        state = cf_state_open(state_dir, &err);
        if (state == NULL) {
            cf_log_error("CF1222", "state directory unusable: %s", err.msg);
            cf_project_cleanup(&proj);
            return 1;
        }
        fd = cf_listen_open(&lopts, &err);
        if (fd < 0) {
            cf_log_error("CF1221", "%s", err.msg);
            cf_project_cleanup(&proj);
            return 1;
        }
    }
    cf_webhook_config wcfg;
    cf_webhook_config_init(&wcfg);
    const char *secret = getenv("COG_FCGI_WEBHOOK_SECRET");
    if (secret && *secret)
        wcfg.secret = secret;
    if (cf_webhooks_configure(&wcfg, &err) != CF_OK) {
        fprintf(stderr, "cog-fcgi: COG_FCGI_WEBHOOK_SECRET: %s\n", err.msg);
        return 1;
    }
    cf_runner_config rcfg = {.spec = proj.spec,
                             .queue_max = (size_t)queue + (size_t)qcfg.concurrency,
                             .keep_bytes = 64u << 20, .throttle = 0.5,
                             .predict_timeout = predict_timeout, .setup_timeout = setup_timeout,
                             .cancel_grace = cancel_grace, .state = state,
                             .keep_finished_s = 86400, .metrics = 1, .workers = (int)workers};
    cf_runner *runner = cf_runner_new(&rcfg, &err);
    if (runner == NULL) {
        cf_log_error("CF1223", "%s", err.msg);
        cf_listen_remove(&lopts);
        cf_project_cleanup(&proj);
        return 1;
    }
    q = cf_queue_new(&qcfg, runner, &err);
    if (q == NULL) {
        cf_log_error("CF1214", "queue: %s", err.msg);
        return 1;
    }
    static cf_app app;
    static cf_server_config scfg;
    if (fd >= 0) {
        app = (cf_app){.runner = runner, .has_train = proj.yaml.train != NULL,
                       .max_body = 100u * 1024 * 1024,
                       .request_shutdown = cf_server_request_shutdown, .project_dir = proj.dir,
                       .metrics_fcgi = 1, .queue = q};
        scfg = (cf_server_config){.listen_fd = fd, .threads = (int)threads, .app = &app};
        if (cf_server_start(&scfg, &err) != CF_OK) {
            cf_log_error("CF1224", "%s", err.msg);
            exit(1);
        }
        cf_listen_report(&lopts, fd, proj.dir);
    }
    queue_thread qt = {.q = q};
    pthread_mutex_init(&qt.mu, NULL);
    pthread_cond_init(&qt.cond, NULL);
    pthread_t tid;
    if (pthread_create(&tid, NULL, queue_main, &qt) != 0) {
        cf_log_error("CF1214", "queue: cannot start the consumer thread");
        exit(1);
    }
    int sig;
    while ((sig = cf_server_wait_signal()) == SIGHUP || sig == SIGUSR1)
        cf_log_info("CF1213", "signal %d ignored by the queue worker", sig);
    if (fd >= 0) {
        cf_server_stop_accepting(&scfg);
        cf_listen_remove(&lopts);
    }
    int status = 0;
    if (sig == SIGINT) {
        cf_log_info("CF1225", "SIGINT: stopping now");
        cf_queue_stop(q, 1);
    } else {
        cf_log_info("CF1226", "signal %d: finishing running predictions (up to %.0f s)", sig,
                    shutdown_grace);
        cf_queue_stop(q, 0);
        if (!wait_finished(&qt, shutdown_grace))
            cf_queue_stop(q, 1);
    }
    pthread_join(tid, NULL);
    if (qt.status != CF_OK)
        status = 1;
    cf_queue_free(q);
    cf_runner_stop(runner);
    if (fd >= 0)
        cf_server_wait_idle(2.0);
    cf_log_info("CF1227", "stopped");
    exit(status);
}
