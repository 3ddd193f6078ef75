/* cli.c - running one prediction or printing the schema without a server.
 *
 * Both start the same runner and worker the server uses, so a prediction
 * from the command line is validated and run exactly as over HTTP.
 */
#include "cli.h"

#include <errno.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "datauri.h"
#include "examples.h"
#include "files.h"
#include "intake.h"
#include "log.h"
#include "mime.h"
#include "project.h"
#include "runner.h"

static cf_runner *start_runner(cf_project *proj, const char *dir)
{
    cf_error err;
    cf_error_clear(&err);
    if (cf_project_load(proj, dir, &err) != CF_OK) {
        fprintf(stderr, "cog-fcgi: %s\n", err.msg);
        return NULL;
    }
    cf_runner_config cfg = {.spec = proj->spec, .queue_max = 1, .keep_finished = 16,
                            .throttle = 0.5};
    cf_runner *r = cf_runner_new(&cfg, &err);
    if (r == NULL) {
        fprintf(stderr, "cog-fcgi: %s\n", err.msg);
        cf_project_cleanup(proj);
        return NULL;
    }
    cf_runner_wait_ready(r);
    return r;
}

/* Prints setup logs and the reason when setup failed. 1 if it failed. */
static int report_setup(cf_runner *r)
{
    json_t *health = cf_runner_health_json(r);
    const char *status = json_string_value(json_object_get(health, "status"));
    int failed = status && (strcmp(status, "SETUP_FAILED") == 0 || strcmp(status, "DEFUNCT") == 0);
    const char *logs = json_string_value(json_object_get(json_object_get(health, "setup"), "logs"));
    if (logs && *logs)
        fputs(logs, stderr);
    if (failed)
        fprintf(stderr, "cog-fcgi: setup failed (%s)\n", status);
    json_decref(health);
    return failed;
}

/* Reads a file into a data URI string (new reference). */
static json_t *file_as_data_uri(const char *path)
{
    FILE *f = fopen(path, "rb");
    if (f == NULL) {
        fprintf(stderr, "cog-fcgi: %s: %s\n", path, strerror(errno));
        return NULL;
    }
    size_t cap = 65536, n = 0;
    unsigned char *buf = malloc(cap);
    size_t r;
    while (buf && (r = fread(buf + n, 1, cap - n, f)) > 0) {
        n += r;
        if (n == cap) {
            unsigned char *g = realloc(buf, cap *= 2);
            if (g == NULL) {
                free(buf);
                buf = NULL;
            }
            buf = g;
        }
    }
    fclose(f);
    if (buf == NULL)
        return NULL;
    const char *slash = strrchr(path, '/');
    char *uri = cf_datauri_encode(cf_mime_from_name(slash ? slash + 1 : path), buf, n);
    free(buf);
    json_t *s = uri ? json_string(uri) : NULL;
    free(uri);
    return s;
}

static int never_gone(void *ctx)
{
    (void)ctx;
    return 0;
}

static void usage_predict(void)
{
    fprintf(stderr, "usage: cog-fcgi predict PROJECT_DIR [-i name=value]... [-i name=@file] "
                    "[-o OUT] [--json]\n");
    fprintf(stderr, "       --save-example NAME   record the input (and output) in "
                    "PROJECT_DIR/examples.json\n");
}

int cf_cli_predict(int argc, char **argv)
{
    const char *out_path = NULL;
    int as_json = 0;
    const char *save_example = NULL; /* --save-example NAME */
    json_t *input = json_object();
    static const struct option longopts[] = {
        {"input", required_argument, NULL, 'i'},
        {"output", required_argument, NULL, 'o'},
        {"json", no_argument, NULL, 'j'},
        {"save-example", required_argument, NULL, 'X'},
        {"help", no_argument, NULL, 'h'},
        {NULL, 0, NULL, 0},
    };
    optind = 1;
    int c;
    while ((c = getopt_long(argc, argv, "i:o:h", longopts, NULL)) != -1) {
        if (c == 'i') {
            char *eq = strchr(optarg, '=');
            if (eq == NULL) {
                fprintf(stderr, "cog-fcgi: -i %s: expected name=value\n", optarg);
                json_decref(input);
                return 2;
            }
            *eq = '\0';
            json_t *v = eq[1] == '@' ? file_as_data_uri(eq + 2) : json_string(eq + 1);
            if (v == NULL) {
                json_decref(input);
                return 1;
            }
            /* name=v1 name=v2 builds a list, as cog predict does */
            json_t *prev = json_object_get(input, optarg);
            if (json_is_array(prev)) {
                json_array_append_new(prev, v);
            } else if (prev) {
                json_object_set_new(input, optarg, json_pack("[O,o]", prev, v));
            } else {
                json_object_set_new(input, optarg, v);
            }
        } else if (c == 'o') {
            out_path = optarg;
        } else if (c == 'j') {
            as_json = 1;
        } else if (c == 'X') {
            save_example = optarg;
        } else {
            usage_predict();
            json_decref(input);
            return c == 'h' ? 0 : 2;
        }
    }
    if (optind >= argc) {
        usage_predict();
        json_decref(input);
        return 2;
    }
    cf_project proj;
    cf_runner *r = start_runner(&proj, argv[optind]);
    if (r == NULL) {
        json_decref(input);
        return 1;
    }
    int status = 1;
    json_t *details = json_array();
    json_t *body = json_pack("{s:o}", "input", input);
    json_t *schema = NULL;
    cf_prediction *p = NULL;
    cf_error err;
    cf_error_clear(&err);
    if (report_setup(r))
        goto out;
    int ready;
    schema = cf_runner_schema(r, 0, &ready, &err);
    if (schema == NULL) {
        fprintf(stderr, "cog-fcgi: %s\n", err.msg[0] ? err.msg : "no schema");
        goto out;
    }
    p = cf_intake(schema, body, NULL, details, &err);
    if (p == NULL) {
        if (json_array_size(details) > 0) {
            size_t i;
            json_t *d;
            json_array_foreach(details, i, d) {
                json_t *loc = json_object_get(d, "loc");
                fprintf(stderr, "cog-fcgi: input %s: %s\n",
                        json_string_value(json_array_get(loc, json_array_size(loc) - 1))
                            ?: "(request)",
                        json_string_value(json_object_get(d, "msg")));
            }
        } else {
            fprintf(stderr, "cog-fcgi: %s\n", err.msg);
        }
        goto out;
    }
    p->raw_files = 1;
    if (cf_runner_submit(r, p, NULL, &err) != CF_OK) {
        fprintf(stderr, "cog-fcgi: %s\n", err.msg);
        goto out;
    }
    cf_runner_run_direct(r, p, never_gone, NULL);
    cf_runner_lock(r);
    if (p->logs_len)
        fputs(p->logs, stderr);
    if (p->output) {
        if (cf_files_save_outputs(&p->output, out_path ? out_path : ".", &err) != CF_OK)
            fprintf(stderr, "cog-fcgi: %s\n", err.msg);
    }
    json_t *result = as_json ? cf_prediction_to_json(p)
                             : (p->output ? json_incref(p->output) : json_null());
    int ok = p->status == CF_STATUS_SUCCEEDED;
    json_t *example_out = ok && save_example ? json_incref(p->output) : NULL;
    if (!ok)
        fprintf(stderr, "cog-fcgi: prediction %s: %s\n", cf_status_name(p->status),
                p->error ? p->error : "");
    cf_runner_unlock(r);
    if (ok && save_example) {
        json_t *doc = cf_runner_openapi(r);
        int with_output = 0;
        if (cf_examples_record(proj.dir, save_example, json_object_get(body, "input"), example_out,
                               doc, &with_output, &err) != CF_OK) {
            fprintf(stderr, "cog-fcgi: --save-example: %s\n", err.msg);
            ok = 0;
        } else {
            fprintf(stderr, "cog-fcgi: example \"%s\" saved in %s/examples.json%s\n", save_example,
                    proj.dir, with_output ? "" : " (input only: the output has files)");
        }
        json_decref(doc);
    }
    json_decref(example_out);
    if (ok || as_json) {
        if (json_is_string(result) && !as_json)
            printf("%s\n", json_string_value(result));
        else {
            char *text = json_dumps(result, JSON_INDENT(2) | JSON_ENCODE_ANY);
            if (text)
                printf("%s\n", text);
            free(text);
        }
    }
    json_decref(result);
    status = ok ? 0 : 1;
out:
    cf_prediction_decref(p);
    json_decref(schema);
    json_decref(body);
    json_decref(details);
    cf_runner_free(r);
    cf_project_cleanup(&proj);
    return status;
}

int cf_cli_schema(int argc, char **argv)
{
    if (argc < 2 || strcmp(argv[1], "--help") == 0) {
        fprintf(stderr, "usage: cog-fcgi schema PROJECT_DIR\n");
        return argc < 2 ? 2 : 0;
    }
    cf_project proj;
    cf_runner *r = start_runner(&proj, argv[1]);
    if (r == NULL)
        return 1;
    json_t *doc = cf_runner_openapi(r);
    int status = 0;
    if (doc == NULL) {
        report_setup(r);
        fprintf(stderr, "cog-fcgi: the predictor could not be loaded\n");
        status = 1;
    } else {
        char *text = json_dumps(doc, JSON_INDENT(2));
        if (text)
            printf("%s\n", text);
        free(text);
    }
    json_decref(doc);
    cf_runner_free(r);
    cf_project_cleanup(&proj);
    return status;
}
