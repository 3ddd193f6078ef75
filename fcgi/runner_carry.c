/* runner_carry.c - sync requests parked while they wait for a slot.
 *
 * A sync prediction that finds every slot busy used to keep its request
 * thread asleep until a slot was handed to it: a wake-up, a mutex taken
 * against the waker, and a thread per waiting request. Now its request is
 * parked (cf_runner_run_direct with a cf_parked): the thread goes back to
 * its connections, and the thread that frees the slot carries the request
 * on after answering its own one, with no other thread woken. A slot the
 * runner thread frees, or a parked prediction that ends while it waits
 * (canceled, timed out, the server stopping), goes on a list whose eventfd
 * is in the connection threads' epoll set: one of them carries it.
 *
 * A parked prediction keeps direct_waiter set, so hand-overs treat it as a
 * waiting request thread. park_state says who has it: WAITING (nobody:
 * the runner asks its client every 100 ms whether it is still there) or
 * CARRIED (a thread has it or will, through the list or its own slot).
 */
#include <errno.h>
#include <stdint.h>
#include <string.h>
#include <sys/eventfd.h>
#include <unistd.h>

#include "clock.h"
#include "log.h"
#include "runner_int.h"

/* Whether this thread carries what it hands over (cf_runner_be_carrier),
 * and the one request it was handed. */
static __thread int carrier_thread;
static __thread cf_prediction *carry_here;

int cf_carry_init(cf_runner *r, cf_error *err)
{
    r->carry_fd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK | EFD_SEMAPHORE);
    if (r->carry_fd < 0)
        return cf_error_set(err, CF_EIO, "cannot create an eventfd: %s", strerror(errno));
    return CF_OK;
}

int cf_runner_carry_fd(cf_runner *r)
{
    return r->carry_fd;
}

void cf_runner_be_carrier(void)
{
    carrier_thread = 1;
}

void cf_carry_push(cf_runner *r, cf_prediction *p, int here)
{
    p->park_state = CF_PARK_CARRIED;
    r->nparked--;
    cf_prediction_incref(p); /* the carrier's */
    if (here && carrier_thread && carry_here == NULL) {
        carry_here = p;
        return;
    }
    p->carry_next = NULL;
    if (r->carry_tail)
        r->carry_tail->carry_next = p;
    else
        r->carry_head = p;
    r->carry_tail = p;
    uint64_t one = 1;
    if (write(r->carry_fd, &one, sizeof one) != (ssize_t)sizeof one)
        cf_log_error("CF0333", "cannot wake a thread for a parked request: %s", strerror(errno));
}

void cf_carry_start_here(cf_runner *r, struct cf_wslot *s)
{
    cf_prediction *p = carry_here;
    /* p's reference is this thread's; a failed send ends p, which its
     * carry then answers */
    if (p && s->direct && s->nrun == 1 && s->run[0] == p && p->phase == CF_PHASE_QUEUED)
        cf_rw_start_direct(r, s, p);
}

/* Runs (or, if it ended, just answers) one parked request on this thread;
 * takes the reference cf_carry_push gave. */
static void carry(cf_runner *r, cf_prediction *p)
{
    cf_parked *park = p->parked;
    cf_answer final = {.text_max = park->text_max};
    /* p has a slot handed to it or has ended: this does not wait */
    int gone = cf_runner_run_direct(r, p, park->client_gone, park->ctx, &final, NULL);
    cf_runner_lock(r);
    gone |= park->gone;
    p->parked = NULL;
    cf_runner_unlock(r);
    park->finish(park, &final, gone);
    cf_prediction_decref(p);
}

cf_prediction *cf_runner_carry_take(cf_runner *r)
{
    uint64_t n;
    cf_prediction *p = NULL;
    cf_runner_lock(r);
    /* one per wake-up: the others go to other threads, slots run in parallel */
    if (read(r->carry_fd, &n, sizeof n) == (ssize_t)sizeof n && (p = r->carry_head) != NULL) {
        r->carry_head = p->carry_next;
        if (r->carry_head == NULL)
            r->carry_tail = NULL;
        p->carry_next = NULL;
    }
    cf_runner_unlock(r);
    return p;
}

void cf_runner_carry_pending(cf_runner *r, cf_prediction *taken)
{
    if (taken)
        carry(r, taken);
    cf_prediction *p;
    while ((p = carry_here) != NULL) {
        carry_here = NULL;
        carry(r, p);
    }
}

/* Asks a parked request's client whether it left; if it did, cancels its
 * prediction as a waiting request thread would have. */
static void check_one(cf_runner *r, cf_prediction *p)
{
    if (p->park_state != CF_PARK_WAITING || cf_prediction_is_terminal(p) || p->cancel_requested)
        return;
    if (!p->parked->client_gone(p->parked->ctx)) /* a poll of 0 ms */
        return;
    p->parked->gone = 1;
    cf_runner_client_left(r, p); /* a queued one ends: cf_runner_end pushes it to a carrier */
}

double cf_carry_check_parked(cf_runner *r)
{
    if (r->nparked == 0)
        return -1;
    double now = cf_monotonic();
    if (now - r->parked_checked < 0.100)
        return r->parked_checked + 0.100 - now;
    r->parked_checked = now;
    for (size_t i = 0; i < r->qlen; i++)
        check_one(r, r->queue[(r->qhead + i) % r->qcap]);
    /* on a slot the runner thread carries (a worker running several at once) */
    for (int i = 0; i < r->nslots; i++)
        for (int k = 0; k < r->slots[i].nrun; k++)
            check_one(r, r->slots[i].run[k]);
    return r->nparked > 0 ? 0.100 : -1;
}
