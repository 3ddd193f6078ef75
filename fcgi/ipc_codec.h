/* ipc_codec.h - the front's JSON codec for worker frames (ipc.h's cf_ipc_codec). */
#ifndef CF_IPC_CODEC_H
#define CF_IPC_CODEC_H

/* Makes the front encode frames with json_out.c and decode them with
 * json_in.c: for a predict or done frame about four times faster than
 * jansson's own, which every prediction pays twice. Call once, before any
 * thread starts. */
void cf_ipc_codec_install(void);

#endif
