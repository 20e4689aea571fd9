/*
 * nfq-passthrough: the C baseline for sluice's NFQUEUE benchmark. It binds one queue through
 * libnetfilter_queue and accepts every packet, doing nothing else, so that the benchmark can put
 * sluice's packet rate beside what a minimal C program reaches on the same path in the same run.
 *
 * Two modes:
 *   per-packet  the classic program: one blocking recv() per message, one nfq_set_verdict() (one
 *               send) per packet.
 *   batch       the ceiling: one blocking recv(), then every message already waiting taken with
 *               MSG_DONTWAIT (at most --batch-max), then one nfq_set_verdict_batch() accepting every
 *               packet up to the highest id seen.
 *
 * Set up like sluice's datapath: copy-packet mode with the whole packet (range 65535), fail-open, a
 * large receive buffer (SO_RCVBUFFORCE, else SO_RCVBUF), a queue maxlen, no GSO super-packets. It
 * does not ask for the packet owner's uid/gid (sluice does), and a receive-buffer overrun is not
 * silenced (NETLINK_NO_ENOBUFS) but counted in recvErrors.
 * Prints "ready" once the queue is bound and configured; runs until SIGTERM or SIGINT, or until the
 * time limit; then prints one JSON line (mode, queue, seconds and cpuSeconds of the run, packets,
 * verdicts, recvCalls, recvErrors, verdictErrors) and exits 0. Setup failures print one line on
 * stderr and exit 2.
 *
 * Usage: nfq-passthrough --queue N [--mode per-packet|batch] [--seconds S] [--rcvbuf BYTES]
 *                        [--maxlen PACKETS] [--batch-max MESSAGES]
 */
#include <arpa/inet.h>
#include <errno.h>
#include <linux/netfilter.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>
#include <libnetfilter_queue/libnetfilter_queue.h>

#ifndef SO_RCVBUFFORCE
#define SO_RCVBUFFORCE 33
#endif

/* One datagram from nfnetlink_queue: a whole 64 KiB packet plus its attributes fits. */
#define RECV_BUFFER_BYTES (65536 + 8192)
#define COPY_RANGE_BYTES 65535

enum mode { MODE_PER_PACKET, MODE_BATCH };

struct options {
	unsigned queue_num;
	enum mode mode;
	unsigned seconds;      /* 0: no time limit */
	int rcvbuf_bytes;
	unsigned maxlen_packets;
	unsigned batch_max;    /* most messages drained before a batch verdict */
};

struct counters {
	unsigned long long packets;     /* packet messages handled */
	unsigned long long verdicts;    /* verdict messages sent (batch mode: one per batch) */
	unsigned long long recv_calls;  /* recv() calls, including those that found nothing */
	unsigned long long recv_errors; /* recv() failures other than EINTR and EAGAIN (ENOBUFS: overrun) */
	unsigned long long verdict_errors;
};

/* What the callback needs; the callback runs inside nfq_handle_packet(). */
struct state {
	enum mode mode;
	struct counters counters;
	uint32_t highest_id; /* batch mode: highest packet id since the last batch verdict */
	int have_id;
};

static volatile sig_atomic_t stop_requested = 0;

static void on_signal(int signo)
{
	(void)signo;
	stop_requested = 1;
}

static void die(const char *what)
{
	fprintf(stderr, "nfq-passthrough: %s\n", what);
	exit(2);
}

static void die_errno(const char *what)
{
	fprintf(stderr, "nfq-passthrough: %s: %s%s\n", what, strerror(errno),
		errno == EPERM ? " (run as root)" : "");
	exit(2);
}

static unsigned long parse_number(const char *flag, const char *text, unsigned long max)
{
	char *end = NULL;
	errno = 0;
	unsigned long v = strtoul(text, &end, 10);
	if (errno != 0 || end == text || *end != '\0' || v > max) {
		fprintf(stderr, "nfq-passthrough: %s wants a number up to %lu, got \"%s\"\n", flag, max, text);
		exit(2);
	}
	return v;
}

static struct options parse_options(int argc, char **argv)
{
	struct options o = { .queue_num = 0, .mode = MODE_PER_PACKET, .seconds = 0,
			     .rcvbuf_bytes = 8 << 20, .maxlen_packets = 4096, .batch_max = 1024 };
	int have_queue = 0;
	for (int i = 1; i < argc; i++) {
		const char *flag = argv[i];
		if (i + 1 >= argc) {
			fprintf(stderr, "nfq-passthrough: %s wants a value\n", flag);
			exit(2);
		}
		const char *value = argv[++i];
		if (strcmp(flag, "--queue") == 0) {
			o.queue_num = (unsigned)parse_number(flag, value, 65535);
			have_queue = 1;
		} else if (strcmp(flag, "--mode") == 0) {
			if (strcmp(value, "per-packet") == 0) o.mode = MODE_PER_PACKET;
			else if (strcmp(value, "batch") == 0) o.mode = MODE_BATCH;
			else die("--mode is per-packet or batch");
		} else if (strcmp(flag, "--seconds") == 0) {
			o.seconds = (unsigned)parse_number(flag, value, 86400);
		} else if (strcmp(flag, "--rcvbuf") == 0) {
			o.rcvbuf_bytes = (int)parse_number(flag, value, 1u << 30);
		} else if (strcmp(flag, "--maxlen") == 0) {
			o.maxlen_packets = (unsigned)parse_number(flag, value, 1u << 20);
		} else if (strcmp(flag, "--batch-max") == 0) {
			o.batch_max = (unsigned)parse_number(flag, value, 1u << 20);
			if (o.batch_max == 0) die("--batch-max must be at least 1");
		} else {
			fprintf(stderr, "nfq-passthrough: unknown option %s\n", flag);
			exit(2);
		}
	}
	if (!have_queue) die("--queue N is required");
	return o;
}

/* Called once per packet message. Per-packet mode answers at once; batch mode only notes the id. */
static int on_packet(struct nfq_q_handle *qh, struct nfgenmsg *msg, struct nfq_data *data, void *arg)
{
	(void)msg;
	struct state *st = arg;
	struct nfqnl_msg_packet_hdr *hdr = nfq_get_msg_packet_hdr(data);
	if (hdr == NULL) return 0;
	uint32_t id = ntohl(hdr->packet_id);
	st->counters.packets++;
	if (st->mode == MODE_PER_PACKET) {
		if (nfq_set_verdict(qh, id, NF_ACCEPT, 0, NULL) < 0) st->counters.verdict_errors++;
		st->counters.verdicts++;
	} else if (!st->have_id || id > st->highest_id) {
		st->highest_id = id;
		st->have_id = 1;
	}
	return 0;
}

/* One recv(); returns bytes, 0 when the loop should look at stop_requested, -1 when nothing waits. */
static ssize_t receive(int fd, char *buf, int flags, struct counters *c)
{
	ssize_t n = recv(fd, buf, RECV_BUFFER_BYTES, flags);
	c->recv_calls++;
	if (n >= 0) return n;
	if (errno == EAGAIN || errno == EWOULDBLOCK) return -1;
	if (errno != EINTR) c->recv_errors++;
	return 0;
}

static void run_per_packet(struct nfq_handle *h, int fd, char *buf, struct state *st)
{
	while (!stop_requested) {
		ssize_t n = receive(fd, buf, 0, &st->counters);
		if (n > 0) nfq_handle_packet(h, buf, (int)n);
	}
}

static void run_batch(struct nfq_handle *h, struct nfq_q_handle *qh, int fd, char *buf, struct state *st,
		      unsigned batch_max)
{
	while (!stop_requested) {
		ssize_t n = receive(fd, buf, 0, &st->counters);
		if (n <= 0) continue;
		nfq_handle_packet(h, buf, (int)n);
		for (unsigned taken = 1; taken < batch_max; taken++) {
			n = receive(fd, buf, MSG_DONTWAIT, &st->counters);
			if (n <= 0) break;
			nfq_handle_packet(h, buf, (int)n);
		}
		if (st->have_id) {
			if (nfq_set_verdict_batch(qh, st->highest_id, NF_ACCEPT) < 0) st->counters.verdict_errors++;
			st->counters.verdicts++;
			st->have_id = 0;
		}
	}
}

/* User plus system CPU time of this process so far. */
static double cpu_seconds(void)
{
	struct rusage ru;
	getrusage(RUSAGE_SELF, &ru);
	return (double)(ru.ru_utime.tv_sec + ru.ru_stime.tv_sec) + (double)(ru.ru_utime.tv_usec + ru.ru_stime.tv_usec) / 1e6;
}

static double monotonic_seconds(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

int main(int argc, char **argv)
{
	struct options o = parse_options(argc, argv);
	static char buf[RECV_BUFFER_BYTES] __attribute__((aligned(8)));
	struct state st;
	memset(&st, 0, sizeof st);
	st.mode = o.mode;

	/* No SA_RESTART: a signal (SIGTERM, SIGINT, or SIGALRM at the time limit) ends a blocking recv(). */
	struct sigaction sa;
	memset(&sa, 0, sizeof sa);
	sa.sa_handler = on_signal;
	sigemptyset(&sa.sa_mask);
	sigaction(SIGTERM, &sa, NULL);
	sigaction(SIGINT, &sa, NULL);
	sigaction(SIGALRM, &sa, NULL);

	struct nfq_handle *h = nfq_open();
	if (h == NULL) die_errno("cannot open a netfilter netlink socket");
	struct nfq_q_handle *qh = nfq_create_queue(h, (uint16_t)o.queue_num, on_packet, &st);
	if (qh == NULL) die_errno("cannot bind the queue (is another process bound to it?)");
	if (nfq_set_mode(qh, NFQNL_COPY_PACKET, COPY_RANGE_BYTES) < 0) die_errno("cannot set copy-packet mode");
	if (nfq_set_queue_maxlen(qh, o.maxlen_packets) < 0) die_errno("cannot set the queue maxlen");
	if (nfq_set_queue_flags(qh, NFQA_CFG_F_FAIL_OPEN, NFQA_CFG_F_FAIL_OPEN) < 0) die_errno("cannot set fail-open");
	int fd = nfq_fd(h);
	if (setsockopt(fd, SOL_SOCKET, SO_RCVBUFFORCE, &o.rcvbuf_bytes, sizeof o.rcvbuf_bytes) < 0 &&
	    setsockopt(fd, SOL_SOCKET, SO_RCVBUF, &o.rcvbuf_bytes, sizeof o.rcvbuf_bytes) < 0) {
		die_errno("cannot set the socket receive buffer");
	}

	printf("ready\n");
	fflush(stdout);
	if (o.seconds > 0) alarm(o.seconds);
	double t0 = monotonic_seconds();
	double cpu0 = cpu_seconds();
	if (o.mode == MODE_PER_PACKET) run_per_packet(h, fd, buf, &st);
	else run_batch(h, qh, fd, buf, &st, o.batch_max);
	double elapsed = monotonic_seconds() - t0;
	double cpu = cpu_seconds() - cpu0;

	nfq_destroy_queue(qh);
	nfq_close(h);
	const struct counters *c = &st.counters;
	printf("{\"mode\":\"%s\",\"queue\":%u,\"seconds\":%.3f,\"cpuSeconds\":%.3f,\"packets\":%llu,\"verdicts\":%llu,"
	       "\"recvCalls\":%llu,\"recvErrors\":%llu,\"verdictErrors\":%llu}\n",
	       o.mode == MODE_PER_PACKET ? "per-packet" : "batch", o.queue_num, elapsed, cpu, c->packets, c->verdicts,
	       c->recv_calls, c->recv_errors, c->verdict_errors);
	return 0;
}
