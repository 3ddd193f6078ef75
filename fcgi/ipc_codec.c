/* ipc_codec.c - the front's JSON codec for worker frames: json_out.c and json_in.c. */
#include "ipc_codec.h"

#include "ipc.h"
#include "json_in.h"
#include "json_out.h"

/* Frames are produced by the worker's jansson: plain JSON, which the
 * Python-compatible parser reads the same way (it would also take NaN,
 * which jansson never writes). */
static json_t *loads(const char *text, size_t len, cf_error *err)
{
    cf_pyjson_error perr = {0};
    cf_error why;
    cf_error_clear(&why);
    json_t *msg = cf_pyjson_loads(text, len, &perr, &why);
    if (msg == NULL && why.code == CF_ENOMEM)
        cf_error_set(err, CF_ENOMEM, "out of memory for an IPC frame");
    else if (msg == NULL)
        cf_error_set(err, CF_EPROTO, "bad IPC frame: %s",
                     perr.msg ? perr.msg : why.msg);
    return msg;
}

void cf_ipc_codec_install(void)
{
    static const cf_ipc_codec codec = {cf_json_dumps, loads};
    cf_ipc_set_codec(&codec);
}
