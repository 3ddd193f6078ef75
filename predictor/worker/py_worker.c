/* py_worker.c - the worker's life: start Python, send ready, serve predict frames. */
#include "py.h"
#include "py_worker.h"

#include <string.h>

#include "ipc.h"
#include "worker_logs.h"
#include "log.h"

/* A ready frame for when the runtime itself could not run (cog missing). */
static json_t *ready_failure(const char *why)
{
    return json_pack("{s:s, s:b, s:s, s:n, s:n, s:i, s:s}", "type", "ready", "ok", 0,
                     "error", why, "predict", "train", "concurrency", 1,
                     "python_version", PY_VERSION);
}

/* A done frame for a prediction the runtime could not even run. */
static json_t *done_failure(const json_t *msg, const char *why)
{
    json_t *done = json_pack("{s:s, s:s, s:n, s:s}", "type", "done", "status", "failed",
                             "output", "error", why);
    json_t *id = json_object_get(msg, "id"); /* borrowed */
    if (done != NULL && id != NULL)
        json_object_set(done, "id", id);
    return done;
}

/* Sends msg (stolen) after flushing the model's logs. */
static int send_frame(int fd, json_t *msg, cf_error *err)
{
    int rc;
    if (msg == NULL)
        return cf_error_set(err, CF_ENOMEM, "out of memory for a frame");
    cf_py_flush();
    Py_BEGIN_ALLOW_THREADS
    rc = cf_worker_send(fd, msg, err);
    Py_END_ALLOW_THREADS
    json_decref(msg);
    return rc;
}

/* Runs one predict frame and sends its done frame. */
static int serve_predict(int fd, const json_t *msg, cf_error *err)
{
    cf_error perr;
    cf_error_clear(&perr);
    json_t *done = cf_py_runtime_handle(msg, &perr);
    if (done == NULL) {
        cf_log_error("CF0210", "prediction could not run: %s", perr.msg);
        done = done_failure(msg, perr.msg);
    }
    return send_frame(fd, done, err);
}

/* Receives frames until shutdown or EOF. Returns 0 or a negative code. */
static int serve(int fd, cf_error *err)
{
    for (;;) {
        json_t *msg;
        Py_BEGIN_ALLOW_THREADS
        msg = cf_ipc_recv(fd, err);
        Py_END_ALLOW_THREADS
        /* A SIGUSR1 for the previous prediction was sent before the front
         * read its done frame, so before this frame was written: its C-level
         * handler has run by now, and only Python's flag is set. Run the
         * Python handler here, while no prediction is marked running, so it
         * is ignored rather than canceling the prediction about to start. */
        if (PyErr_CheckSignals() < 0)
            PyErr_Clear();
        if (msg == NULL) {
            if (err->code == CF_EIO && strcmp(err->msg, "eof") == 0) {
                cf_log_info("CF0203", "the front closed the socket; exiting");
                cf_error_clear(err);
                return 0;
            }
            return err->code;
        }
        const char *type = json_string_value(json_object_get(msg, "type"));
        int rc = 0;
        if (type != NULL && strcmp(type, "predict") == 0) {
            rc = serve_predict(fd, msg, err);
        } else if (type != NULL && strcmp(type, "healthcheck") == 0) {
            cf_error herr;
            cf_error_clear(&herr);
            json_t *hc = cf_py_runtime_healthcheck(&herr);
            if (hc == NULL)
                hc = json_pack("{s:s, s:b, s:s}", "type", "healthcheck", "ok", 0, "error",
                               herr.msg);
            rc = send_frame(fd, hc, err);
        } else if (type != NULL && strcmp(type, "shutdown") == 0) {
            cf_log_info("CF0204", "shutdown requested; exiting");
            json_decref(msg);
            return 0;
        } else {
            cf_log_warn("CF0205", "ignoring a frame of type %s", type != NULL ? type : "?");
        }
        json_decref(msg);
        if (rc < 0)
            return rc;
    }
}

int cf_py_worker_run(const struct cf_worker_opts *opts, cf_error *err)
{
    int rc;

    rc = cf_py_runtime_register(opts->ipc_fd);
    if (rc < 0)
        return cf_error_set(err, rc, "cannot register the _cogfcgi module");
    rc = cf_py_init(opts->python, opts->project, err);
    if (rc < 0) {
        /* Tell the front why, so health can say SETUP_FAILED with a reason. */
        cf_error ignored;
        json_t *ready = ready_failure(err->msg);
        if (ready != NULL)
            cf_worker_send(opts->ipc_fd, ready, &ignored);
        json_decref(ready);
        return rc;
    }

    if (opts->standby) {
        int st = cf_py_runtime_standby(opts->ipc_fd, err);
        if (st != 0) /* 1: the front closed the socket before choosing us */
            return st > 0 ? 0 : st;
    }
    cf_error serr;
    cf_error_clear(&serr);
    json_t *ready = cf_py_runtime_start(opts->project, opts->predict_ref, opts->train_ref,
                                        &serr);
    if (ready == NULL) {
        cf_log_error("CF0206", "the cog runtime did not start: %s", serr.msg);
        fprintf(stderr, "Error while loading predictor:\n\n%s\n", serr.msg);
        ready = ready_failure(serr.msg);
    }
    /* concurrency.max > 1 (async predictors only: the runtime refuses a
     * sync one at setup): the event loop reads the frames */
    int concurrent = json_is_true(json_object_get(ready, "ok")) &&
                     json_integer_value(json_object_get(ready, "concurrency")) > 1;
    rc = send_frame(opts->ipc_fd, ready, err);
    if (rc == 0 && concurrent)
        rc = cf_py_runtime_serve(err);
    else if (rc == 0)
        rc = serve(opts->ipc_fd, err);
    cf_py_flush();
    return rc;
}
