/* cli.c - running one prediction or printing the schema without a server.
 *
 * Both start the same runner and worker the server uses, so a prediction
 * from the command line is validated and run exactly as over HTTP. `predict`
 * behaves as `cog predict` does: the project is the current directory unless
 * named, `-i name=value` / `-i name=@file` or `--json '{...}'|@file|@-` give
 * the inputs, the model's output streams to stderr while it runs, file
 * outputs are written as output.<ext> (output.0.<ext>, ... for lists) or
 * where -o says, and the exit status says whether the prediction succeeded.
 */
#include "cli.h"

#include <errno.h>
#include <getopt.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "cli_output.h"
#include "datauri.h"
#include "examples.h"
#include "intake.h"
#include "log.h"
#include "mime.h"
#include "model_log.h"
#include "project.h"
#include "runner.h"

/* Loads the project (with venv when given) and starts a runner for it; blocks until the
 * worker is ready or setup failed. NULL after printing why. */
static cf_runner *start_runner(cf_project *proj, const char *dir, const char *venv,
                               double setup_timeout)
{
    cf_error err;
    cf_error_clear(&err);
    if (cf_project_load(proj, dir, &err) != CF_OK) {
        fprintf(stderr, "cog-fcgi: %s\n", err.msg);
        return NULL;
    }
    if (venv && cf_project_use_venv(proj, venv, &err) != CF_OK) {
        fprintf(stderr, "cog-fcgi: %s\n", err.msg);
        cf_project_cleanup(proj);
        return NULL;
    }
    cf_runner_config cfg = {.spec = proj->spec, .queue_max = 1, .keep_bytes = 16u << 20,
                            .throttle = 0.5, .setup_timeout = setup_timeout};
    cf_runner *r = cf_runner_new(&cfg, &err);
    if (r == NULL) {
        fprintf(stderr, "cog-fcgi: %s\n", err.msg);
        cf_project_cleanup(proj);
        return NULL;
    }
    cf_runner_wait_ready(r);
    return r;
}

/* Stopping the runner kills its worker, which the runner logs as an error (CF0304): for a
 * one-shot command that is the normal end, not news. Nothing is logged from here on. */
static void quiet_teardown(void)
{
    cf_log_set_level((enum cf_log_level)(CF_LOG_ERROR + 1));
}

/* 1 (after saying so) when setup failed; the model's output and the error line with its
 * file:line were written to stderr while it ran. */
static int setup_failed(cf_runner *r)
{
    json_t *health = cf_runner_health_json(r);
    const char *status = json_string_value(json_object_get(health, "status"));
    int failed = status && (strcmp(status, "SETUP_FAILED") == 0 || strcmp(status, "DEFUNCT") == 0);
    if (failed)
        fprintf(stderr, "cog-fcgi: the model is not ready (%s): nothing was predicted\n", status);
    json_decref(health);
    return failed;
}

/* Reads a whole file ("-" is stdin) into a NUL-terminated buffer (caller frees). NULL after
 * printing why. */
static char *read_all(const char *path, size_t *len)
{
    FILE *f = strcmp(path, "-") == 0 ? stdin : fopen(path, "rb");
    if (f == NULL) {
        fprintf(stderr, "cog-fcgi: %s: %s\n", path, strerror(errno));
        return NULL;
    }
    size_t cap = 65536, n = 0, got;
    char *buf = malloc(cap);
    while (buf && (got = fread(buf + n, 1, cap - n - 1, f)) > 0) {
        n += got;
        if (n + 1 == cap) {
            char *g = realloc(buf, cap *= 2);
            if (g == NULL)
                free(buf);
            buf = g;
        }
    }
    int bad = ferror(f);
    if (f != stdin)
        fclose(f);
    if (buf == NULL || bad) {
        fprintf(stderr, "cog-fcgi: cannot read %s\n", path);
        free(buf);
        return NULL;
    }
    buf[n] = '\0';
    *len = n;
    return buf;
}

/* A file as a data URI string (new reference), as `-i name=@file` sends it. */
static json_t *file_as_data_uri(const char *path)
{
    size_t n = 0;
    char *buf = read_all(path, &n);
    if (buf == NULL)
        return NULL;
    const char *slash = strrchr(path, '/');
    char *uri = cf_datauri_encode(cf_mime_from_name(slash ? slash + 1 : path),
                                  (const unsigned char *)buf, n);
    free(buf);
    json_t *s = uri ? json_string(uri) : NULL;
    free(uri);
    return s;
}

/* ---- inputs -------------------------------------------------------------------------- */

/* The Input component's properties of the OpenAPI document (borrowed). */
static json_t *input_properties(json_t *doc)
{
    return json_object_get(
        json_object_get(json_object_get(json_object_get(doc, "components"), "schemas"), "Input"),
        "properties");
}

static int is_uri_schema(const json_t *s)
{
    const char *f = json_string_value(json_object_get(s, "format"));
    return f && strcmp(f, "uri") == 0;
}

/* Prints "unknown input NAME" with the names the model takes. Returns 1. */
static int unknown_input(const char *name, json_t *props)
{
    fprintf(stderr, "cog-fcgi: unknown input '%s'; %s takes:", name, "the model");
    const char *key;
    json_t *v;
    int any = 0;
    json_object_foreach(props, key, v) {
        fprintf(stderr, "%s %s", any ? "," : "", key);
        any = 1;
    }
    fprintf(stderr, "%s\n", any ? "" : " no inputs");
    return 1;
}

/* 1 when a value given for a file input is a URL the front can fetch or a data URI. */
static int looks_like_url(const char *v)
{
    return strncmp(v, "http://", 7) == 0 || strncmp(v, "https://", 8) == 0 ||
           strncmp(v, "data:", 5) == 0;
}

/* Adds one `-i name=value` to input, as cog predict reads it: @file is a file; "quoted"
 * loses its quotes; an object input parses value as JSON, an array input as a JSON array
 * or one item; a repeated name makes a list. 0, or 1 after printing why. */
static int add_flag_input(json_t *input, json_t *props, const char *name, const char *value)
{
    json_t *prop = json_object_get(props, name);
    if (prop == NULL)
        return unknown_input(name, props);
    const char *type = json_string_value(json_object_get(prop, "type"));
    json_t *items = json_object_get(prop, "items");
    int file_input = is_uri_schema(prop) || (type && strcmp(type, "array") == 0 &&
                                             is_uri_schema(items));
    json_t *v = NULL;
    size_t vl = strlen(value);
    if (value[0] == '@') {
        v = file_as_data_uri(value + 1);
        if (v == NULL)
            return 1;
    } else if (file_input && !looks_like_url(value)) {
        fprintf(stderr, "cog-fcgi: -i %s=%s: %s is a file input; to send the file, write "
                "-i %s=@%s (or give an http(s):// URL)\n", name, value, name, name, value);
        return 1;
    } else if (vl >= 2 && value[0] == '"' && value[vl - 1] == '"') {
        v = json_stringn(value + 1, vl - 2);
    } else if (type && (strcmp(type, "object") == 0 || strcmp(type, "array") == 0)) {
        v = json_loads(value, JSON_DECODE_ANY, NULL);
        if (v && strcmp(type, "object") == 0 && !json_is_object(v)) {
            json_decref(v);
            v = NULL;
        }
        if (v && strcmp(type, "array") == 0 && !json_is_array(v)) {
            json_decref(v);
            v = NULL;
        }
        if (v == NULL && strcmp(type, "object") == 0) {
            fprintf(stderr, "cog-fcgi: -i %s: expected a JSON object\n", name);
            return 1;
        }
        if (v == NULL)
            v = json_string(value);
    } else {
        v = json_string(value);
    }
    if (v == NULL) {
        fprintf(stderr, "cog-fcgi: out of memory\n");
        return 1;
    }
    json_t *prev = json_object_get(input, name);
    if (json_is_array(prev) && type && strcmp(type, "array") == 0) {
        if (json_is_array(v))
            json_array_extend(prev, v);
        else
            json_array_append(prev, v);
        json_decref(v);
    } else if (json_is_array(prev)) {
        json_array_append_new(prev, v);
    } else if (prev) {
        json_object_set_new(input, name, json_pack("[O,o]", prev, v));
    } else if (type && strcmp(type, "array") == 0 && !json_is_array(v)) {
        json_object_set_new(input, name, json_pack("[o]", v));
    } else {
        json_object_set_new(input, name, v);
    }
    return 0;
}

/* --json TEXT | @FILE | @- (or -): the input object, as cog predict --json reads it; a string
 * value "@path" is the file at path. New reference, or NULL after printing why. */
static json_t *parse_json_inputs(const char *arg)
{
    char *text = NULL;
    size_t n = 0;
    json_error_t jerr;
    json_t *in;
    if (strcmp(arg, "-") == 0 || arg[0] == '@') {
        text = read_all(arg[0] == '@' ? arg + 1 : arg, &n);
        if (text == NULL)
            return NULL;
        in = json_loads(text, 0, &jerr);
    } else {
        in = json_loads(arg, 0, &jerr);
    }
    free(text);
    if (in == NULL || !json_is_object(in)) {
        if (in == NULL)
            fprintf(stderr, "cog-fcgi: --json: not JSON: %s (line %d, column %d)\n", jerr.text,
                    jerr.line, jerr.column);
        else
            fprintf(stderr, "cog-fcgi: --json: expected an object of inputs, "
                    "e.g. '{\"text\": \"world\"}'\n");
        json_decref(in);
        return NULL;
    }
    const char *key;
    json_t *v;
    json_object_foreach(in, key, v) {
        const char *s = json_string_value(v);
        if (s && s[0] == '@') {
            json_t *uri = file_as_data_uri(s + 1);
            if (uri == NULL) {
                json_decref(in);
                return NULL;
            }
            json_object_set_new(in, key, uri);
        }
    }
    return in;
}

/* ---- the commands ---------------------------------------------------------------------- */

static void usage_predict(FILE *f)
{
    fprintf(f,
            "usage: cog-fcgi predict [PROJECT_DIR] [-i name=value]... [-o PATH] [options]\n"
            "  runs one prediction of the project (default: the current directory), validated\n"
            "  and run exactly as over HTTP; the model's output streams to stderr\n"
            "\n"
            "  -i, --input name=value    an input; name=@file sends the file; a name given\n"
            "                            twice makes a list\n"
            "  --json JSON|@FILE|@-      all inputs as one JSON object (\"@path\" values are\n"
            "                            files); prints the whole prediction as JSON, as\n"
            "                            cog predict --json does\n"
            "  -o, --output PATH         where the output goes (default: printed; files as\n"
            "                            output.<ext>, lists as output.0.<ext>, ... here)\n"
            "  --output-json             print the whole prediction (status, logs, metrics,\n"
            "                            output) as JSON\n"
            "  -e, --env KEY=VALUE       an environment variable for the model (repeatable)\n"
            "  --setup-timeout SECONDS   limit on import + setup() (default $COG_SETUP_TIMEOUT,\n"
            "                            else 300, as cog predict; 0 = none)\n"
            "  --venv PATH               the virtualenv to run the model with (default:\n"
            "                            PROJECT_DIR/.venv when it exists)\n"
            "  --save-example NAME       record the input (and the output, unless it has\n"
            "                            files) in PROJECT_DIR/examples.json for the\n"
            "                            playground\n"
            "  -h, --help                this help\n"
            "exit status: 0 when the prediction succeeded, 1 when it did not, 2 on a usage\n"
            "error\n");
}

/* The project argument: at most one, never a name=value (a forgotten -i). NULL after
 * printing why; "." when none is given. */
static const char *project_arg(int argc, char **argv, void (*usage)(FILE *))
{
    if (optind + 1 < argc) {
        fprintf(stderr, "cog-fcgi: unexpected argument '%s' (one PROJECT_DIR at most)\n",
                argv[optind + 1]);
        usage(stderr);
        return NULL;
    }
    if (optind == argc)
        return ".";
    const char *dir = argv[optind];
    struct stat st;
    if (strchr(dir, '=') && stat(dir, &st) != 0) {
        fprintf(stderr, "cog-fcgi: '%s' is not a project directory. Did you forget -i?\n", dir);
        return NULL;
    }
    return dir;
}

int cf_cli_predict(int argc, char **argv)
{
    enum { OPT_JSON = 0x100, OPT_OUTPUT_JSON, OPT_SETUP_TIMEOUT, OPT_VENV, OPT_SAVE_EXAMPLE };
    static const struct option longopts[] = {
        {"input", required_argument, NULL, 'i'},
        {"output", required_argument, NULL, 'o'},
        {"env", required_argument, NULL, 'e'},
        {"json", required_argument, NULL, OPT_JSON},
        {"output-json", no_argument, NULL, OPT_OUTPUT_JSON},
        {"setup-timeout", required_argument, NULL, OPT_SETUP_TIMEOUT},
        {"venv", required_argument, NULL, OPT_VENV},
        {"save-example", required_argument, NULL, OPT_SAVE_EXAMPLE},
        {"help", no_argument, NULL, 'h'},
        {NULL, 0, NULL, 0},
    };
    const char *out_path = NULL, *json_arg = NULL, *venv = NULL;
    const char *save_example = NULL; /* --save-example NAME */
    int whole = 0;
    double setup_timeout = 300;
    const char *st = getenv("COG_SETUP_TIMEOUT");
    if (st && *st)
        setup_timeout = atof(st);
    json_t *flags = json_array(); /* [[name, value], ...] until the schema is known */
    int status = 2, c;
    optind = 1;
    while ((c = getopt_long(argc, argv, "i:o:e:h", longopts, NULL)) != -1) {
        if (c == 'i' || c == 'e') {
            char *eq = strchr(optarg, '=');
            if (eq == NULL || eq == optarg) {
                fprintf(stderr, "cog-fcgi: -%c %s: expected %s\n", c, optarg,
                        c == 'i' ? "name=value (name=@file for a file)" : "KEY=VALUE");
                goto out_flags;
            }
            *eq = '\0';
            if (c == 'e')
                setenv(optarg, eq + 1, 1); /* the worker inherits it */
            else
                json_array_append_new(flags, json_pack("[s,s]", optarg, eq + 1));
        } else if (c == 'o') {
            out_path = optarg[0] == '@' ? optarg + 1 : optarg; /* as cog: -o @x is x */
        } else if (c == OPT_JSON) {
            json_arg = optarg;
        } else if (c == OPT_OUTPUT_JSON) {
            whole = 1;
        } else if (c == OPT_SETUP_TIMEOUT) {
            char *end;
            setup_timeout = strtod(optarg, &end);
            if (end == optarg || *end != '\0' || setup_timeout < 0) {
                fprintf(stderr, "cog-fcgi: --setup-timeout %s: expected seconds\n", optarg);
                goto out_flags;
            }
        } else if (c == OPT_VENV) {
            venv = optarg;
        } else if (c == OPT_SAVE_EXAMPLE) {
            save_example = optarg;
        } else {
            usage_predict(c == 'h' ? stdout : stderr);
            status = c == 'h' ? 0 : 2;
            goto out_flags;
        }
    }
    const char *dir = project_arg(argc, argv, usage_predict);
    if (dir == NULL)
        goto out_flags;
    if (json_arg && json_array_size(flags) > 0) {
        fprintf(stderr, "cog-fcgi: give the inputs with -i or with --json, not both\n");
        goto out_flags;
    }
    status = 1;
    cf_out_target target;
    if (cf_cli_plan_output(out_path, &target))
        goto out_flags;
    json_t *input = NULL;
    if (json_arg && (input = parse_json_inputs(json_arg)) == NULL)
        goto out_flags;
    if (json_arg)
        whole = 1; /* cog predict --json prints the prediction as JSON */

    /* The model's output goes to stderr as it comes; our own lines only when they matter. */
    cf_model_log_set_raw(1);
    cf_log_set_level(CF_LOG_WARN);
    cf_project proj;
    cf_runner *r = start_runner(&proj, dir, venv, setup_timeout);
    if (r == NULL) {
        json_decref(input);
        goto out_flags;
    }
    json_t *details = json_array();
    json_t *body = NULL, *schema = NULL, *doc = NULL, *result = NULL;
    cf_prediction *p = NULL;
    cf_error err;
    cf_error_clear(&err);
    if (setup_failed(r))
        goto out;
    int ready;
    schema = cf_runner_schema(r, 0, &ready, &err);
    doc = cf_runner_openapi(r);
    if (schema == NULL || doc == NULL) {
        fprintf(stderr, "cog-fcgi: %s\n", err.msg[0] ? err.msg : "the model has no schema");
        goto out;
    }
    json_t *props = input_properties(doc);
    if (input == NULL) {
        input = json_object();
        size_t i;
        json_t *pair;
        json_array_foreach(flags, i, pair) {
            if (add_flag_input(input, props, json_string_value(json_array_get(pair, 0)),
                               json_string_value(json_array_get(pair, 1))))
                goto out;
        }
    } else {
        const char *key;
        json_t *v;
        json_object_foreach(input, key, v) {
            if (json_object_get(props, key) == NULL) {
                unknown_input(key, props);
                goto out;
            }
        }
    }
    body = json_pack("{s:O}", "input", input);
    p = cf_intake(schema, body, NULL, details, &err);
    if (p == NULL) {
        size_t i;
        json_t *d;
        json_array_foreach(details, i, d) {
            json_t *loc = json_object_get(d, "loc");
            fprintf(stderr, "cog-fcgi: input %s: %s\n",
                    json_string_value(json_array_get(loc, json_array_size(loc) - 1))
                        ?: "(request)",
                    json_string_value(json_object_get(d, "msg")));
        }
        if (json_array_size(details) == 0)
            fprintf(stderr, "cog-fcgi: %s\n", err.msg);
        goto out;
    }
    p->raw_files = 1;
    /* Queued for the runner's thread, which reads the model's output while it runs (the
     * request-thread fast path would only read it between frames). With no state
     * directory nothing is persisted. */
    p->is_async = 1;
    if (cf_runner_submit(r, p, NULL, &err) != CF_OK) {
        fprintf(stderr, "cog-fcgi: %s\n", err.msg);
        goto out;
    }
    cf_runner_wait(r, p);
    cf_runner_lock(r);
    int ok = p->status == CF_STATUS_SUCCEEDED;
    json_t *output = p->output ? json_deep_copy(p->output) : NULL;
    result = whole ? cf_prediction_to_json(p) : NULL;
    /* A failure with its error was said already, with the traceback's place (model_log). */
    if (!ok && !(p->status == CF_STATUS_FAILED && p->error))
        fprintf(stderr, "cog-fcgi: prediction %s%s%s\n", cf_status_name(p->status),
                p->error ? ": " : "", p->error ? p->error : "");
    cf_runner_unlock(r);
    int files = output && cf_cli_has_files(output);
    if (whole) {
        /* as cog predict --json -o x.json: the prediction goes to x.json, its files beside
         * it as x.<ext> (x.0.<ext>, ...) */
        target.exact[0] = '\0';
        target.ext[0] = '\0';
    }
    if (ok && files && cf_cli_save_files(&output, &target, target.stem, 1))
        ok = 0;
    if (ok && save_example) {
        json_t *edoc = cf_runner_openapi(r);
        int with_output = 0;
        if (cf_examples_record(proj.dir, save_example, input, output, edoc, &with_output,
                               &err) != CF_OK) {
            fprintf(stderr, "cog-fcgi: --save-example: %s\n", err.msg);
            ok = 0;
        } else {
            fprintf(stderr, "cog-fcgi: example \"%s\" saved in %s/examples.json%s\n",
                    save_example, proj.dir, with_output ? "" : " (input only: the output has files)");
        }
        json_decref(edoc);
    }
    if (whole) {
        if (output)
            json_object_set(result, "output", output);
        if (cf_cli_put_result(result, target.json[0] ? target.json : NULL))
            ok = 0;
    } else if (ok && output == NULL) {
        fprintf(stderr, "cog-fcgi: no output generated\n");
    } else if (ok && !files && cf_cli_put_result(output, out_path)) {
        ok = 0;
    }
    json_decref(output);
    status = ok ? 0 : 1;
out:
    cf_prediction_decref(p);
    json_decref(result);
    json_decref(doc);
    json_decref(schema);
    json_decref(body);
    json_decref(input);
    json_decref(details);
    quiet_teardown();
    cf_runner_free(r);
    cf_project_cleanup(&proj);
out_flags:
    json_decref(flags);
    return status;
}

static void usage_schema(FILE *f)
{
    fprintf(f, "usage: cog-fcgi schema [PROJECT_DIR]\n"
               "  prints the project's OpenAPI document (default: the current directory)\n");
}

int cf_cli_schema(int argc, char **argv)
{
    static const struct option longopts[] = {
        {"help", no_argument, NULL, 'h'},
        {NULL, 0, NULL, 0},
    };
    int c;
    optind = 1;
    while ((c = getopt_long(argc, argv, "h", longopts, NULL)) != -1) {
        usage_schema(c == 'h' ? stdout : stderr);
        return c == 'h' ? 0 : 2;
    }
    const char *dir = project_arg(argc, argv, usage_schema);
    if (dir == NULL)
        return 2;
    cf_log_set_level(CF_LOG_WARN);
    cf_model_log_set_raw(1);
    cf_project proj;
    /* the worker reads the schema and stops there: setup() never runs for `schema` */
    setenv("COG_FCGI_SCHEMA_ONLY", "1", 1);
    cf_runner *r = start_runner(&proj, dir, NULL, 0);
    if (r == NULL)
        return 1;
    json_t *doc = cf_runner_openapi(r);
    int status = 0;
    if (doc == NULL) {
        setup_failed(r);
        fprintf(stderr, "cog-fcgi: the predictor could not be loaded\n");
        status = 1;
    } else {
        char *text = json_dumps(doc, JSON_INDENT(2));
        if (text)
            printf("%s\n", text);
        free(text);
    }
    json_decref(doc);
    quiet_teardown();
    cf_runner_free(r);
    cf_project_cleanup(&proj);
    return status;
}
