// SPDX-License-Identifier: Apache-2.0
/* loop.c - the request loop: one reader at a time, more threads on demand
 *
 * libfuse's multithreaded loop keeps every idle worker blocked in read()
 * on /dev/fuse; the kernel wakes the one that waited longest, so a program
 * that makes one request after another (an import, a tree walk, a build
 * step) gets each answered by a different, cold thread, often on another
 * CPU. On a 2-CPU virtual machine that cost 20-50% of a round trip
 * against a single-threaded loop.
 *
 * Here only one thread reads at a time (it holds the "reader" role). It
 * answers requests itself and reads again, so a serial client is served
 * by one warm thread, as by a single-threaded loop. It hands the reader
 * role on (waking a parked thread, or starting one, up to the limit) when
 * the work turns out slow (an operation that calls ovl_loop_may_block():
 * copy-up, fsync, ...), and when requests keep queueing up (concurrent
 * clients: reads that find a request without waiting), so those are still
 * served in parallel. Handing off costs a
 * wake-up on another CPU, which is why it is not done for every request:
 * not even for 128 KiB reads, which a sequential reader issues one after
 * another (handing each off made streaming 40% slower).
 *
 * The main thread only supervises: it takes the signals (libfuse's
 * handlers mark the session exited) and then cancels the thread blocked
 * in read(), the only place where cancellation is enabled. At unmount the
 * reader sees the session end by itself (ENODEV).
 */

#include <errno.h>
#include <fcntl.h>
#include <linux/fuse.h>
#include <pthread.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "fuse-overlay/ovl-internal.h"

struct slot {
	pthread_t tid;
	bool used;	  /* lock: a thread was started here (join it) */
	bool in_read;	  /* lock: it is blocked in read(), cancellable */
	bool kept;	  /* its own: it still holds the reader role */
	uint64_t read_ns; /* its own: how long the last read waited */
	struct loop *lp;
};

static __thread struct slot *tls_slot;

struct loop {
	struct fuse_session *se;
	pthread_mutex_t lock;
	pthread_cond_t wake;  /* parked threads wait for the reader role */
	pthread_cond_t done;  /* a thread left */
	unsigned threads;     /* lock: threads alive */
	unsigned parked;      /* lock: threads waiting on @wake */
	unsigned max_threads; /* at most this many */
	bool reading;	      /* lock: some thread holds the reader role */
	int error;	      /* lock: the first fatal error (negative) */
	struct slot *slots;   /* owned: max_threads of them */
};

static uint64_t now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

static void *worker(void *arg);

/* Start a thread in a free slot. Caller holds the lock. */
static void start_thread(struct loop *lp)
{
	for (unsigned i = 0; i < lp->max_threads; i++) {
		struct slot *s = &lp->slots[i];

		if (s->used)
			continue;
		s->lp = lp;
		if (pthread_create(&s->tid, NULL, worker, s) == 0) {
			s->used = true;
			lp->threads++;
		}
		return;
	}
}

/* Give the reader role away. Caller holds the lock. */
static void hand_off(struct loop *lp)
{
	lp->reading = false;
	if (lp->parked)
		pthread_cond_signal(&lp->wake);
	else if (lp->threads < lp->max_threads)
		start_thread(lp);
	/* else every thread is busy: the first one free reads */
}

/* A reader cancelled in read(): leave as a worker leaves. */
static void reader_cancelled(void *arg)
{
	struct slot *s = arg;
	struct loop *lp = s->lp;

	pthread_mutex_lock(&lp->lock);
	s->in_read = false;
	lp->reading = false;
	lp->threads--;
	pthread_cond_broadcast(&lp->wake);
	pthread_cond_signal(&lp->done);
	pthread_mutex_unlock(&lp->lock);
}

/* Read one request as the reader. 1: got one, 0: try again, -1: the
 * session is over. Called and returns with the lock held. */
static int take_request(struct slot *s, struct fuse_buf *buf)
{
	struct loop *lp = s->lp;
	int r;

	while (lp->reading && !fuse_session_exited(lp->se)) {
		lp->parked++;
		pthread_cond_wait(&lp->wake, &lp->lock);
		lp->parked--;
	}
	if (fuse_session_exited(lp->se))
		return -1;
	lp->reading = true;
	s->in_read = true;
	pthread_mutex_unlock(&lp->lock);
	pthread_cleanup_push(reader_cancelled, s);
	pthread_setcancelstate(PTHREAD_CANCEL_ENABLE, NULL);
	s->read_ns = now_ns();
	r = fuse_session_receive_buf(lp->se, buf);
	s->read_ns = now_ns() - s->read_ns;
	pthread_setcancelstate(PTHREAD_CANCEL_DISABLE, NULL);
	pthread_cleanup_pop(0);
	pthread_mutex_lock(&lp->lock);
	s->in_read = false;
	if (r > 0)
		return 1;
	lp->reading = false;
	if (r == -EINTR || r == -EAGAIN)
		return 0;
	if (r < 0 && !lp->error)
		lp->error = r;
	fuse_session_exit(lp->se); /* r == 0: unmounted */
	return -1;
}

void ovl_loop_may_block(void)
{
	struct slot *s = tls_slot;

	if (!s || !s->kept)
		return;
	pthread_mutex_lock(&s->lp->lock);
	hand_off(s->lp);
	s->kept = false;
	pthread_mutex_unlock(&s->lp->lock);
}

static void serve(struct slot *s, struct fuse_buf *buf)
{
	struct loop *lp = s->lp;
	unsigned streak = 0;
	int r;

	tls_slot = s;
	pthread_mutex_lock(&lp->lock);
	while ((r = take_request(s, buf)) >= 0) {
		if (r == 0)
			continue;
		s->kept = true;
		/* A read that did not wait found a queue; a queue that stays
		 * means concurrent clients: let a second thread read. (One
		 * queued request is often an asynchronous release or forget:
		 * not worth a thread.) Timing the read costs no system call,
		 * unlike polling the device. */
		streak = s->read_ns < 4000 ? streak + 1 : 0;
		if (streak >= 4) {
			hand_off(lp);
			s->kept = false;
			streak = 0;
		}
		pthread_mutex_unlock(&lp->lock);
		fuse_session_process_buf(lp->se, buf);
		pthread_mutex_lock(&lp->lock);
		if (s->kept)
			lp->reading = false;
		s->kept = false;
	}
	pthread_cond_broadcast(&lp->wake); /* the session is over */
	lp->threads--;
	pthread_cond_signal(&lp->done);
	pthread_mutex_unlock(&lp->lock);
}

static void free_buf(void *arg)
{
	free(((struct fuse_buf *)arg)->mem);
	ovl_read_buffer_free();
}

static void *worker(void *arg)
{
	struct fuse_buf buf = { .mem = NULL };
	sigset_t all;

	/* Signals go to the main thread. */
	sigfillset(&all);
	pthread_sigmask(SIG_BLOCK, &all, NULL);
	pthread_setcancelstate(PTHREAD_CANCEL_DISABLE, NULL);
	pthread_cleanup_push(free_buf, &buf);
	serve(arg, &buf);
	pthread_cleanup_pop(1);
	return NULL;
}

/* Wait until every thread left; cancel the reader once the session was
 * ended by a signal. Called with the lock held. */
static void supervise(struct loop *lp)
{
	while (lp->threads > 0) {
		struct timespec until;

		if (fuse_session_exited(lp->se)) {
			pthread_cond_broadcast(&lp->wake);
			for (unsigned i = 0; i < lp->max_threads; i++) {
				if (lp->slots[i].in_read)
					pthread_cancel(lp->slots[i].tid);
			}
		}
		clock_gettime(CLOCK_REALTIME, &until);
		until.tv_nsec += 100 * 1000 * 1000;
		if (until.tv_nsec >= 1000000000) {
			until.tv_sec++;
			until.tv_nsec -= 1000000000;
		}
		pthread_cond_timedwait(&lp->done, &lp->lock, &until);
	}
}

int ovl_loop_run(struct fuse_session *se, unsigned max_threads)
{
	struct loop lp = { .se = se,
			   .max_threads = max_threads ? max_threads : 1 };
	int r;

	lp.slots = calloc(lp.max_threads, sizeof(*lp.slots));
	if (!lp.slots)
		return -ENOMEM;
	pthread_mutex_init(&lp.lock, NULL);
	pthread_cond_init(&lp.wake, NULL);
	pthread_cond_init(&lp.done, NULL);
	pthread_mutex_lock(&lp.lock);
	start_thread(&lp);
	supervise(&lp);
	r = lp.error;
	pthread_mutex_unlock(&lp.lock);
	for (unsigned i = 0; i < lp.max_threads; i++) {
		if (lp.slots[i].used)
			pthread_join(lp.slots[i].tid, NULL);
	}
	free(lp.slots);
	pthread_cond_destroy(&lp.done);
	pthread_cond_destroy(&lp.wake);
	pthread_mutex_destroy(&lp.lock);
	fuse_session_reset(se);
	return r;
}
