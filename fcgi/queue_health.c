/* queue_health.c - the queue consumer as /health-check and /metrics show it. */
#include "queue.h"

#include "metrics.h"

json_t *cf_queue_health_json(cf_queue *q)
{
    cf_queue_stats st;
    cf_queue_stats_get(q, &st);
    return json_pack("{s:s, s:s, s:s, s:b, s:I, s:I, s:i, s:I, s:I}", "stream", st.stream,
                     "group", st.group, "consumer", st.consumer, "connected", st.connected,
                     "lag", (json_int_t)st.lag, "pending", (json_int_t)st.pending, "in_flight",
                     st.in_flight, "done", (json_int_t)st.done, "claimed", (json_int_t)st.claimed);
}

/* One gauge or counter line per figure, labelled like the runner's metrics. */
int cf_queue_metrics_text(cf_queue *q, const char *model, char **buf, size_t *len)
{
    cf_queue_stats st;
    cf_queue_stats_get(q, &st);
    static const struct {
        const char *name, *type, *help;
    } rows[] = {
        {"cog_redis_connected", "gauge", "1 while the queue worker is connected to Redis"},
        {"cog_redis_stream_lag", "gauge", "entries of the stream the consumer group has not read yet"},
        {"cog_redis_stream_pending", "gauge", "entries the group has read but not acknowledged"},
        {"cog_redis_stream_in_flight", "gauge", "entries this consumer is running"},
        {"cog_redis_stream_done_total", "counter", "entries this consumer acknowledged"},
        {"cog_redis_stream_claimed_total", "counter", "entries this consumer claimed from dead ones"},
    };
    long long values[] = {st.connected, st.lag, st.pending, st.in_flight, st.done, st.claimed};
    for (size_t i = 0; i < sizeof rows / sizeof rows[0]; i++) {
        if (values[i] < 0)
            continue; /* not known yet: no sample rather than a made-up one */
        if (cf_metrics_printf(buf, len, "# HELP %s %s\n# TYPE %s %s\n%s{model=\"", rows[i].name,
                              rows[i].help, rows[i].name, rows[i].type, rows[i].name) != 0 ||
            cf_metrics_label(buf, len, model) != 0 ||
            cf_metrics_printf(buf, len, "\",stream=\"") != 0 ||
            cf_metrics_label(buf, len, st.stream) != 0 ||
            cf_metrics_printf(buf, len, "\"} %lld\n", values[i]) != 0)
            return CF_ENOMEM;
    }
    return CF_OK;
}
