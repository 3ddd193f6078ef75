/* main.c - cog-fcgi's command line: serve, predict, schema. */
#include <getopt.h>
#include <limits.h>
#include <math.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "alloc.h"
#include "app.h"
#include "check.h"
#include "cli.h"
#include "cli_queue.h"
#include "fetch_policy.h"
#include "listen.h"
#include "log.h"
#include "opt_parse.h"
#include "metrics_http.h"
#include "pool_opts.h"
#include "project.h"
#include "runner.h"
#include "s3.h"
#include "files_dir.h"
#include "server.h"
#include "state.h"
#include "webhook.h"
#include "usage.h"

static void usage(FILE *f)
{
    fprintf(f,
            "cog-fcgi %s - serve a Cog model (cog.yaml + predict.py) over FastCGI\n"
            "\n"
            "usage:\n"
            "  cog-fcgi serve PROJECT_DIR [options]   serve predictions over FastCGI to nginx,\n"
            "                                         Apache, ... (not HTTP)\n"
            "  cog-fcgi predict [PROJECT_DIR] [-i name=value]... [--json JSON|@FILE|@-]\n"
            "                   [-o PATH] [--output-json] [-e KEY=VALUE]... [--setup-timeout S]\n"
            "                   [--venv PATH] [--save-example NAME]\n"
            "                                         one prediction, as cog predict\n"
            "  cog-fcgi schema [PROJECT_DIR]          print the OpenAPI document\n"
            "  cog-fcgi check [PROJECT_DIR] [--json] [--venv PATH]   would it run on this host?\n"
            "  cog-fcgi queue PROJECT_DIR --redis URL --stream NAME [options]\n"
            "                                         take predictions from a Redis Stream\n"
            "  cog-fcgi COMMAND --help                a command's options\n"
            "  cog-fcgi usage STATE_DIR [--by user|day] [--since DATE]   sum the usage log\n"
            "  cog-fcgi --help | --version\n"
            "PROJECT_DIR defaults to the current directory, except for serve.\n"
            "\n"
            "serve options:\n"
            "  --listen unix:PATH | HOST:PORT   where to listen for FastCGI (default: systemd's\n"
            "                                   LISTEN_FDS, else the socket on fd 0, as\n"
            "                                   spawn-fcgi and mod_fcgid pass it); a missing\n"
            "                                   directory of PATH is created\n"
            "  --socket-mode MODE               unix socket permissions (default 0660)\n"
            "  --socket-owner USER, --socket-group GROUP\n"
            "                                   unix socket owner and group (default: the user\n"
            "                                   and group running cog-fcgi); give the group of\n"
            "                                   nginx's `user` (www-data on Debian) so its\n"
            "                                   workers connect: start-up warns when they cannot\n"
            "  --threads N                      FastCGI request threads (default 64)\n"
            "  --queue N                        predictions that may wait for the worker\n"
            "                                   (default 48; 0 = refuse with 409 when busy)\n"
            "  --workers N                      worker processes (model copies), default 1;\n"
            "                                   one FIFO queue feeds every free one\n"
            "  --gpus 0,1,...|all               pin workers to CUDA devices round-robin\n"
            "                                   (CUDA_VISIBLE_DEVICES; several per device ok;\n"
            "                                   default: not pinned)\n"
            "  --idle-timeout DURATION          end workers idle this long (30s, 10m); the\n"
            "                                   next prediction boots one (default never)\n"
            "  --min-workers N                  workers kept up despite --idle-timeout\n"
            "                                   (default 0)\n"
            "  --metrics on|off|HOST:PORT       GET /metrics (Prometheus) through the web\n"
            "                                   server (on, default), or on its own listener\n"
            "  --max-body BYTES                 largest request body (default 100 MiB)\n"
            "  --predict-timeout SECONDS        default deadline of every prediction (default\n"
            "                                   none; a request's Cancel-After header wins)\n"
            "  --setup-timeout SECONDS          limit on import + setup() (default\n"
            "                                   $COG_SETUP_TIMEOUT, else none)\n"
            "  --cancel-grace SECONDS           time a canceled model has to stop before its\n"
            "                                   worker is killed and restarted (default 5)\n"
            "  --state-dir DIR                  where async predictions and undelivered webhooks\n"
            "                                   are kept across crashes and restarts (default\n"
            "                                   $COG_FCGI_STATE_DIR, $STATE_DIRECTORY, else\n"
            "                                   /var/lib/cog-fcgi/NAME or ~/.local/state/...)\n"
            "  --keep-finished SECONDS          how long finished predictions stay pollable\n"
            "                                   (default 86400)\n"
            "  --keep-memory BYTES              memory for finished predictions (default 64M);\n"
            "                                   older ones are read back from files\n"
            "  --venv PATH                      run the model with this virtualenv's packages\n"
            "                                   (default: PROJECT_DIR/.venv when it exists)\n"
            "  --worker-memory BYTES            limit each worker's memory (k, M, G suffixes;\n"
            "                                   default none): a runaway model fails its\n"
            "                                   prediction alone\n"
            "  --upload-url URL                 async predictions' file outputs are PUT to\n"
            "                                   URL/NAME and answered as the storage's Location\n"
            "                                   (default none: data URIs)\n"
            "  --s3-endpoint URL                s3:// file inputs and outputs go to this\n"
            "                                   S3-compatible store (default: AWS, region\n"
            "                                   $AWS_REGION); signed with AWS Signature V4 and\n"
            "                                   $AWS_ACCESS_KEY_ID etc. or ~/.aws/credentials\n"
            "  --s3-path-style                  the bucket in the path (URL/BUCKET/KEY), not\n"
            "                                   in the host name (default BUCKET.HOST)\n"
            "  --s3-presign DURATION            s3:// file outputs answered as presigned https\n"
            "                                   URLs valid this long (at most 7d = 168h;\n"
            "                                   default: s3://BUCKET/KEY)\n"
            "  --files-dir DIR                  file outputs are copied to DIR (unique names)\n"
            "                                   and answered as --files-url URLs (default\n"
            "                                   none: data URIs)\n"
            "  --files-url URL                  where clients GET them (default /files/); such\n"
            "                                   a GET is answered with X-Accel-Redirect for\n"
            "                                   nginx to send the file itself\n"
            "  --files-accel PREFIX             nginx's internal location aliasing DIR (default\n"
            "                                   /cog-fcgi-files/)\n"
            "  --files-sendfile                 answer X-Sendfile: DIR/NAME instead (Apache\n"
            "                                   mod_xsendfile; default X-Accel-Redirect)\n"
            "  --shutdown-grace SECONDS         on SIGTERM, time running predictions have to\n"
            "                                   finish (default 30)\n"
            "  --fetch-deny RULE, --fetch-allow RULE   (repeatable; default: no rules) which\n"
            "                                   URL inputs the front may download. RULE: a\n"
            "                                   network (10.0.0.0/8, fc00::/7), an address\n"
            "                                   (127.0.0.1, ::1) or a host name (example.com,\n"
            "                                   *.example.com). Always\n"
            "                                   denied: link-local 169.254.0.0/16 and fe80::/10\n"
            "                                   (cloud metadata), 0.0.0.0/8, fd00:ec2::254,\n"
            "                                   100.100.100.200, metadata.google.internal.\n"
            "                                   Loopback and private networks are allowed:\n"
            "                                   deny them when users are untrusted\n"
            "                                   (--fetch-deny 127.0.0.0/8 --fetch-deny ::1\n"
            "                                   --fetch-deny 10.0.0.0/8 --fetch-deny\n"
            "                                   172.16.0.0/12 --fetch-deny 192.168.0.0/16\n"
            "                                   --fetch-deny fc00::/7). Any --fetch-allow makes\n"
            "                                   it an allow list: a URL's host name or address\n"
            "                                   must match one. The most specific rule wins\n"
            "                                   (longest prefix; exact name over *.name); on a\n"
            "                                   tie deny beats allow, and allow beats a built-in\n"
            "                                   denial (--fetch-allow 169.254.169.254 lifts it,\n"
            "                                   0.0.0.0/0 does not). Checked on the resolved\n"
            "                                   address before connecting, redirects included\n"
            "  --fetch-max-bytes BYTES          largest URL input (k, M, G suffixes; default\n"
            "                                   2G; 0 = no limit)\n"
            "  --fetch-timeout SECONDS          time limit of one URL input's download\n"
            "                                   (default 300; 0 = none)\n"
            "  --fetch-min-rate BYTES           a URL input's download fails when it stays\n"
            "                                   slower than BYTES/s (k, M suffixes; default 1k;\n"
            "                                   0 = no limit) for --fetch-min-rate-window\n"
            "  --fetch-min-rate-window SECONDS  (default 30)\n"
            "  --webhook-timeout SECONDS        time limit of one webhook attempt (default 30)\n"
            "  --webhook-workers N              webhook sender threads (default 8); each\n"
            "                                   receiver (host:port) has its own queue and uses\n"
            "                                   at most N/4 of them, at least 1 (a hanging\n"
            "                                   receiver delays only its own predictions)\n"
            "  --webhook-secret whsec_BASE64    sign webhooks as Replicate does (webhook-id,\n"
            "                                   webhook-timestamp, webhook-signature); default\n"
            "                                   $COG_FCGI_WEBHOOK_SECRET, else unsigned\n"
            "  --no-playground                  no browser page: / answers JSON always and\n"
            "                                   /docs is 404, an API-only deployment (default:\n"
            "                                   the playground page at / for browsers and /docs)\n"
            "  --log-level debug|info|warn|error   what goes to stderr (default info: the model's\n"
            "                                   own output, failures, start and stop)\n"
            "  -h, --help                       this help\n"
            "  Durations take ms, s, m or h (default s); sizes k, M, G or T.\n"
            "\n"
            "signals: SIGTERM, SIGQUIT finish running predictions (--shutdown-grace) and exit;\n"
            "SIGINT stops at once; SIGHUP reloads the project (no request dropped); SIGUSR1 is\n"
            "only logged: logs go to stderr, nothing to reopen\n",
            CF_VERSION);
}

/* The largest size any option takes: 1 TiB. */
#define MAX_SIZE ((size_t)1 << 40)
/* The longest duration any option takes: about 31 years. */
#define MAX_SECONDS 1e9

static int cmd_serve(int argc, char **argv)
{
    cf_listen_opts lopts = {.address = NULL, .socket_mode = 0660};
    int threads = 64;
    long queue = 48;
    size_t max_body = 100u * 1024 * 1024;
    double predict_timeout = 0, setup_timeout = 0, cancel_grace = 5, shutdown_grace = 30;
    double keep_finished = 86400;
    const char *venv = NULL;
    const char *upload_url = NULL;
    size_t worker_memory = 0;
    int no_playground = 0;
    const char *state_dir = getenv("COG_FCGI_STATE_DIR");
    const char *st = getenv("COG_SETUP_TIMEOUT");
    cf_error oerr;
    if (st && *st &&
        cf_opt_seconds("COG_SETUP_TIMEOUT", st, 0, MAX_SECONDS, &setup_timeout, &oerr) != CF_OK) {
        fprintf(stderr, "cog-fcgi: %s\n", oerr.msg);
        return 2;
    }
    double throttle = 0.5;
    const char *t = getenv("COG_THROTTLE_RESPONSE_INTERVAL");
    if (t && *t &&
        cf_opt_seconds("COG_THROTTLE_RESPONSE_INTERVAL", t, 0, 86400, &throttle, &oerr) != CF_OK) {
        fprintf(stderr, "cog-fcgi: %s\n", oerr.msg);
        return 2;
    }
    cf_webhook_config wcfg;
    cf_webhook_config_init(&wcfg);
    const char *secret = getenv("COG_FCGI_WEBHOOK_SECRET");
    const char *secret_from = "COG_FCGI_WEBHOOK_SECRET";
    if (secret && *secret)
        wcfg.secret = secret;
    long lval;
    unsigned mode;
    size_t size;
    /* Long-only options, outside any short option's range. */
    enum { OPT_FETCH_ALLOW = 0x100, OPT_FETCH_DENY, OPT_FETCH_MAX_BYTES, OPT_FETCH_TIMEOUT,
           OPT_WEBHOOK_TIMEOUT, OPT_WEBHOOK_WORKERS, OPT_WEBHOOK_SECRET,
           OPT_NO_PLAYGROUND, OPT_FETCH_MIN_RATE,
           OPT_FETCH_MIN_RATE_WINDOW };
    enum { OPT_KEEP_MEMORY = 0x200 };
    enum { OPT_POOL = 0x700 }; /* the pool's flags (pool_opts.h) */
    cf_pool_opts pool;
    cf_pool_opts_init(&pool);
    size_t keep_memory = 64u * 1024 * 1024;
    /* object storage and large files (s3.h, files_dir.h) */
    enum { OPT_S3_ENDPOINT = 0x300, OPT_S3_PATH_STYLE, OPT_S3_PRESIGN,
           OPT_FILES_DIR, OPT_FILES_URL, OPT_FILES_ACCEL, OPT_FILES_SENDFILE };
    cf_s3_config s3cfg = {0};
    cf_files_dir_config fdcfg = {0};
    cf_fetch_policy fetch;
    cf_fetch_policy_init(&fetch);
    cf_error ferr;
    static const struct option longopts[] = {
        {"listen", required_argument, NULL, 'l'},
        {"socket-mode", required_argument, NULL, 'm'},
        {"socket-owner", required_argument, NULL, 'u'},
        {"socket-group", required_argument, NULL, 'g'},
        {"threads", required_argument, NULL, 't'},
        {"queue", required_argument, NULL, 'q'},
        {"max-body", required_argument, NULL, 'b'},
        {"log-level", required_argument, NULL, 'v'},
        {"predict-timeout", required_argument, NULL, 'P'},
        {"setup-timeout", required_argument, NULL, 'S'},
        {"cancel-grace", required_argument, NULL, 'C'},
        {"shutdown-grace", required_argument, NULL, 'G'},
        {"state-dir", required_argument, NULL, 'D'},
        {"keep-finished", required_argument, NULL, 'K'},
        {"keep-memory", required_argument, NULL, OPT_KEEP_MEMORY},
        {"venv", required_argument, NULL, 'E'},
        {"upload-url", required_argument, NULL, 'U'},
        {"worker-memory", required_argument, NULL, 'W'},
        {"fetch-allow", required_argument, NULL, OPT_FETCH_ALLOW},
        {"fetch-deny", required_argument, NULL, OPT_FETCH_DENY},
        {"fetch-max-bytes", required_argument, NULL, OPT_FETCH_MAX_BYTES},
        {"fetch-timeout", required_argument, NULL, OPT_FETCH_TIMEOUT},
        {"webhook-timeout", required_argument, NULL, OPT_WEBHOOK_TIMEOUT},
        {"webhook-workers", required_argument, NULL, OPT_WEBHOOK_WORKERS},
        {"webhook-secret", required_argument, NULL, OPT_WEBHOOK_SECRET},
        {"no-playground", no_argument, NULL, OPT_NO_PLAYGROUND},
        {"fetch-min-rate", required_argument, NULL, OPT_FETCH_MIN_RATE},
        {"fetch-min-rate-window", required_argument, NULL, OPT_FETCH_MIN_RATE_WINDOW},
        {"s3-endpoint", required_argument, NULL, OPT_S3_ENDPOINT},
        {"s3-path-style", no_argument, NULL, OPT_S3_PATH_STYLE},
        {"s3-presign", required_argument, NULL, OPT_S3_PRESIGN},
        {"files-dir", required_argument, NULL, OPT_FILES_DIR},
        {"files-url", required_argument, NULL, OPT_FILES_URL},
        {"files-accel", required_argument, NULL, OPT_FILES_ACCEL},
        {"files-sendfile", no_argument, NULL, OPT_FILES_SENDFILE},
        {"workers", required_argument, NULL, OPT_POOL},
        {"gpus", required_argument, NULL, OPT_POOL},
        {"idle-timeout", required_argument, NULL, OPT_POOL},
        {"min-workers", required_argument, NULL, OPT_POOL},
        {"metrics", required_argument, NULL, OPT_POOL},
        {"help", no_argument, NULL, 'h'},
        {NULL, 0, NULL, 0},
    };
    optind = 1;
    int c, li = 0;
    /* A value that does not parse ends the command with status 2 and a
     * message naming the option; nothing is silently read as 0. */
#define OPT_CHECK(call)                                                                            \
    do {                                                                                           \
        if ((call) != CF_OK) {                                                                     \
            fprintf(stderr, "cog-fcgi: %s\n", oerr.msg);                                          \
            cf_fetch_policy_cleanup(&fetch);                                                       \
            return 2;                                                                              \
        }                                                                                          \
    } while (0)
    while ((c = getopt_long(argc, argv, "h", longopts, &li)) != -1) {
        /* the option's name as written, for messages */
        char name[64];
        snprintf(name, sizeof name, "--%s", c == '?' || c == 'h' ? "" : longopts[li].name);
        switch (c) {
        case OPT_POOL: OPT_CHECK(cf_pool_opts_set(&pool, name, optarg, &oerr)); break;
        case 'l': lopts.address = optarg; break;
        case 'm':
            OPT_CHECK(cf_opt_mode(name, optarg, &mode, &oerr));
            lopts.socket_mode = (mode_t)mode;
            break;
        case 'u': lopts.owner = optarg; break;
        case 'g': lopts.group = optarg; break;
        case 't':
            OPT_CHECK(cf_opt_long(name, optarg, 2, 4096, &lval, &oerr));
            threads = (int)lval;
            break;
        case 'q': OPT_CHECK(cf_opt_long(name, optarg, 0, 1000000, &queue, &oerr)); break;
        case 'b': OPT_CHECK(cf_opt_size(name, optarg, MAX_SIZE, &max_body, &oerr)); break;
        case 'v':
            if (strcmp(optarg, "debug") == 0)
                cf_log_set_level(CF_LOG_DEBUG);
            else if (strcmp(optarg, "warn") == 0)
                cf_log_set_level(CF_LOG_WARN);
            else if (strcmp(optarg, "error") == 0)
                cf_log_set_level(CF_LOG_ERROR);
            else if (strcmp(optarg, "info") == 0)
                cf_log_set_level(CF_LOG_INFO);
            else {
                fprintf(stderr, "cog-fcgi: --log-level: expected debug, info, warn or error, got \"%s\"\n",
                        optarg);
                cf_fetch_policy_cleanup(&fetch);
                return 2;
            }
            break;
        case 'P': OPT_CHECK(cf_opt_seconds(name, optarg, 0, MAX_SECONDS, &predict_timeout, &oerr)); break;
        case 'S': OPT_CHECK(cf_opt_seconds(name, optarg, 0, MAX_SECONDS, &setup_timeout, &oerr)); break;
        case 'C': OPT_CHECK(cf_opt_seconds(name, optarg, 0, 86400, &cancel_grace, &oerr)); break;
        case 'G': OPT_CHECK(cf_opt_seconds(name, optarg, 0, 86400, &shutdown_grace, &oerr)); break;
        case 'D': state_dir = optarg; break;
        case 'K': OPT_CHECK(cf_opt_seconds(name, optarg, 0, MAX_SECONDS, &keep_finished, &oerr)); break;
        case 'E': venv = optarg; break;
        case 'U': upload_url = optarg; break;
        case 'W': OPT_CHECK(cf_opt_size(name, optarg, MAX_SIZE, &worker_memory, &oerr)); break;
        case OPT_KEEP_MEMORY: OPT_CHECK(cf_opt_size(name, optarg, MAX_SIZE, &keep_memory, &oerr)); break;
        case OPT_FETCH_ALLOW:
        case OPT_FETCH_DENY:
            if (cf_fetch_policy_add(&fetch, c == OPT_FETCH_ALLOW, optarg, &ferr) != CF_OK) {
                fprintf(stderr, "cog-fcgi: %s\n", ferr.msg);
                cf_fetch_policy_cleanup(&fetch);
                return 2;
            }
            break;
        case OPT_FETCH_MAX_BYTES:
            OPT_CHECK(cf_opt_size(name, optarg, MAX_SIZE, &size, &oerr));
            fetch.max_bytes = size;
            break;
        case OPT_FETCH_TIMEOUT:
            OPT_CHECK(cf_opt_seconds(name, optarg, 0, MAX_SECONDS, &fetch.timeout_s, &oerr));
            break;
        case OPT_WEBHOOK_TIMEOUT:
            OPT_CHECK(cf_opt_seconds(name, optarg, 0.001, 86400, &wcfg.timeout_s, &oerr));
            break;
        case OPT_WEBHOOK_WORKERS:
            OPT_CHECK(cf_opt_long(name, optarg, 1, 64, &lval, &oerr));
            wcfg.workers = (int)lval;
            break;
        case OPT_WEBHOOK_SECRET:
            wcfg.secret = optarg;
            secret_from = "--webhook-secret";
            break;
        case OPT_NO_PLAYGROUND: no_playground = 1; break;
        case OPT_S3_ENDPOINT: s3cfg.endpoint = optarg; break;
        case OPT_S3_PATH_STYLE: s3cfg.path_style = 1; break;
        case OPT_S3_PRESIGN: /* S3 allows 7 days at most */
            OPT_CHECK(cf_opt_seconds(name, optarg, 1, 604800, &s3cfg.presign_s, &oerr));
            break;
        case OPT_FILES_DIR: fdcfg.dir = optarg; break;
        case OPT_FILES_URL: fdcfg.url = optarg; break;
        case OPT_FILES_ACCEL: fdcfg.accel_prefix = optarg; break;
        case OPT_FILES_SENDFILE: fdcfg.sendfile = 1; break;
        case OPT_FETCH_MIN_RATE:
            /* libcurl takes a long */
            OPT_CHECK(cf_opt_size(name, optarg, (size_t)LONG_MAX, &size, &oerr));
            fetch.min_rate = size;
            break;
        case OPT_FETCH_MIN_RATE_WINDOW: {
            double window = 0;
            OPT_CHECK(cf_opt_seconds(name, optarg, 1, 86400, &window, &oerr));
            fetch.min_rate_window_s = (long)ceil(window); /* libcurl counts whole seconds */
            break;
        }
        case 'h': cf_fetch_policy_cleanup(&fetch); usage(stdout); return 0;
        default: cf_fetch_policy_cleanup(&fetch); usage(stderr); return 2;
        }
    }
    if (optind >= argc) {
        cf_fetch_policy_cleanup(&fetch);
        usage(stderr);
        return 2;
    }
#undef OPT_CHECK
    /* Set before any thread can download a URL input. */
    cf_fetch_policy_set_default(&fetch);
    cf_s3_configure(&s3cfg);
    if (cf_files_dir_configure(&fdcfg, &oerr) != CF_OK) {
        fprintf(stderr, "cog-fcgi: %s\n", oerr.msg);
        return 2;
    }
    /* and before the runner starts its webhook senders */
    if (cf_webhooks_configure(&wcfg, &oerr) != CF_OK) {
        fprintf(stderr, "cog-fcgi: %s: %s\n", secret_from, oerr.msg);
        return oerr.code == CF_EINVAL ? 2 : 1;
    }
    if (threads < 2 || queue < 0) {
        fprintf(stderr, "cog-fcgi: --threads must be at least 2 and --queue not negative\n");
        return 2;
    }
    cf_alloc_configure();
    cf_server_block_signals();
    cf_error err;
    cf_error_clear(&err);
    cf_project proj;
    if (cf_project_load(&proj, argv[optind], &err) != CF_OK) {
        cf_log_error("CF0001", "%s", err.msg);
        return 1;
    }
    if (venv && cf_project_use_venv(&proj, venv, &err) != CF_OK) {
        cf_log_error("CF0014", "%s", err.msg);
        cf_project_cleanup(&proj);
        return 1;
    }
    proj.spec.memory_limit = worker_memory;
    int fd = cf_listen_open(&lopts, &err);
    if (fd < 0) {
        cf_log_error("CF0002", "%s", err.msg);
        cf_project_cleanup(&proj);
        return 1;
    }
    /* Async predictions are persisted; a state directory that cannot be
     * used makes them 503 (never a silent loss) but sync ones still run. */
    char default_dir[4096];
    if (state_dir == NULL || *state_dir == '\0') {
        cf_state_default_dir(proj.dir, default_dir, sizeof default_dir);
        state_dir = default_dir;
    }
    cf_state *state = cf_state_open(state_dir, &err);
    static char state_error[sizeof err.msg];
    if (state == NULL) {
        snprintf(state_error, sizeof state_error, "%s", err.msg);
        cf_log_error("CF0012", "state directory unusable, async predictions will get 503: %s",
                     err.msg);
    } else {
        cf_log_info("CF0013", "state directory %s", state_dir);
    }
    cf_error_clear(&err);
    cf_runner_config rcfg = {.spec = proj.spec, .queue_max = (size_t)queue,
                             .keep_bytes = keep_memory, .throttle = throttle,
                             .predict_timeout = predict_timeout,
                             .setup_timeout = setup_timeout, .cancel_grace = cancel_grace,
                             .state = state, .state_error = state ? NULL : state_error,
                             .keep_finished_s = keep_finished, .upload_url = upload_url};
    if (cf_pool_opts_apply(&pool, &rcfg, &err) != CF_OK) {
        cf_log_error("CF0017", "%s", err.msg);
        return 2;
    }
    /* finished records that are not persisted spill next to the persisted ones */
    static char spill_dir[4200];
    if (state) {
        snprintf(spill_dir, sizeof spill_dir, "%s/spill", state_dir);
        rcfg.spill_dir = spill_dir;
        static char usage_path[4200];
        snprintf(usage_path, sizeof usage_path, "%s/usage.jsonl", state_dir);
        rcfg.usage_path = usage_path;
    }
    cf_runner *runner = cf_runner_new(&rcfg, &err);
    if (runner == NULL) {
        cf_log_error("CF0003", "%s", err.msg);
        cf_listen_remove(&lopts);
        cf_project_cleanup(&proj);
        return 1;
    }
    cf_app app = {.runner = runner, .has_train = proj.yaml.train != NULL,
                  .max_body = max_body, .request_shutdown = cf_server_request_shutdown,
                  .playground_off = no_playground, .project_dir = proj.dir,
                  .metrics_fcgi = pool.metrics == 1};
    if (pool.metrics == 2 && cf_metrics_listen(pool.metrics_listen, runner, &err) != CF_OK) {
        cf_log_error("CF0018", "%s", err.msg);
        exit(1);
    }
    cf_server_config scfg = {.listen_fd = fd, .threads = threads, .app = &app};
    if (cf_server_start(&scfg, &err) != CF_OK) {
        cf_log_error("CF0005", "%s", err.msg);
        exit(1);
    }
    cf_listen_report(&lopts, fd, proj.dir);
    int sig;
    while ((sig = cf_server_wait_signal()) == SIGHUP || sig == SIGUSR1) {
        if (sig == SIGUSR1) {
            cf_log_info("CF0006", "SIGUSR1: logs go to stderr, nothing to reopen");
            continue;
        }
        /* Reload: the old project's strings stay alive (the runner may still
         * point at them); a reload is rare, the leak is a few hundred bytes. */
        cf_project *next = malloc(sizeof *next);
        if (next == NULL || cf_project_load(next, proj.dir, &err) != CF_OK) {
            cf_log_error("CF0007", "SIGHUP: reload failed, keeping the running project: %s",
                         next ? err.msg : "out of memory");
            free(next);
            continue;
        }
        cf_log_info("CF0008", "SIGHUP: reloading %s", next->dir);
        app.has_train = next->yaml.train != NULL;
        cf_runner_reload(runner, &next->spec);
    }
    cf_server_stop_accepting(&scfg);
    cf_listen_remove(&lopts);
    if (sig == SIGINT) {
        cf_log_info("CF0009", "SIGINT: stopping now");
    } else {
        cf_log_info("CF0010", "signal %d: finishing running predictions (up to %.0f s)", sig,
                    shutdown_grace);
        cf_runner_drain(runner, shutdown_grace);
    }
    /* Stopping the runner ends what is left and wakes every waiting
     * request thread; they get a moment to write their answers. The runner
     * is not freed: those threads may still hold it when the process ends. */
    cf_runner_stop(runner);
    cf_server_wait_idle(2.0);
    cf_log_info("CF0011", "stopped");
    exit(0);
}

int main(int argc, char **argv)
{
    if (argc < 2) {
        usage(stderr);
        return 2;
    }
    const char *cmd = argv[1];
    if (strcmp(cmd, "--help") == 0 || strcmp(cmd, "-h") == 0 || strcmp(cmd, "help") == 0) {
        usage(stdout);
        return 0;
    }
    if (strcmp(cmd, "--version") == 0 || strcmp(cmd, "version") == 0) {
        printf("cog-fcgi %s (Cog API 0.15.5)\n", CF_VERSION);
        return 0;
    }
    if (strcmp(cmd, "serve") == 0)
        return cmd_serve(argc - 1, argv + 1);
    if (strcmp(cmd, "predict") == 0)
        return cf_cli_predict(argc - 1, argv + 1);
    if (strcmp(cmd, "schema") == 0)
        return cf_cli_schema(argc - 1, argv + 1);
    if (strcmp(cmd, "check") == 0)
        return cf_cli_check(argc - 1, argv + 1);
    if (strcmp(cmd, "queue") == 0)
        return cf_cli_queue(argc - 1, argv + 1);
    if (strcmp(cmd, "usage") == 0)
        return cf_usage_main(argc, argv);
    fprintf(stderr, "cog-fcgi: unknown command %s (try --help)\n", cmd);
    return 2;
}
