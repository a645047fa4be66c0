/*
 * bench_ws_floor — the "C floor" of issue 15's table: the least a websocket
 * fan-out server on this machine can cost per delivered frame, so that
 * bench_bridge can print iod-bridge and mosquitto's websockets listener beside
 * it in the same run. A bench program, not a product: no TLS, no auth, no
 * state, no coalescing, loopback only.
 *
 * One thread runs a plain epoll loop over non-blocking sockets: the listening
 * socket on 127.0.0.1, the clients (HTTP upgrade, RFC 6455 frames), an
 * eventfd, a signalfd (SIGTERM/SIGINT end it cleanly) and, in batch mode, a
 * timerfd. Paho's synchronous client, on its own thread, subscribes to the
 * topics iod-bridge subscribes to (iod/home/#, QoS 1); each message is
 * serialised once into a ready text frame {"topic":…,"payload":…,"ts":<ms>}
 * (the bridge's shape) and handed to the loop over a locked list and the
 * eventfd. The loop writes it to every client:
 *   default      one write() per frame per client;
 *   --batch N    frames accumulate per client and go out N per write(); what
 *                is left goes out once no message has come for 1 ms (a
 *                one-shot timerfd, re-armed on every message).
 * A write that is short or EAGAIN keeps the rest in the client's out buffer
 * and arms EPOLLOUT until it drains; frames that come meanwhile are appended.
 * Client frames must be masked; they are read and ignored, a ping is answered
 * with a pong, a close with a close (then the socket is closed).
 *
 * Usage: bench_ws_floor [--port N (0: pick one, print "port N")] [--batch N]
 *                       [--mqtt tcp://127.0.0.1:1883] [--topic iod/home/#]
 * On exit it prints frames, writes and frames per write on stderr.
 */
#define _GNU_SOURCE
#include <MQTTClient.h>
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <openssl/evp.h>
#include <openssl/sha.h>
#include <pthread.h>
#include <signal.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <sys/signalfd.h>
#include <sys/socket.h>
#include <sys/timerfd.h>
#include <time.h>
#include <unistd.h>

struct msg {
	struct msg *next;
	size_t len;
	unsigned char data[]; /* a whole server-to-client text frame */
};

struct conn {
	int fd;
	bool ws;	/* upgraded */
	bool closing;	/* close once out drains */
	bool out_armed; /* EPOLLOUT armed: a backlog exists */
	unsigned char in[4096];
	size_t in_len;
	uint64_t skip; /* payload bytes of an ignored data frame still to come */
	unsigned char *out;
	size_t out_len, out_off, out_cap;
	int unflushed; /* batch mode: frames in out not yet tried */
	size_t idx;    /* in conns[] */
	struct conn *dead_next;
};

static int ep, evfd, batch = 1;
static pthread_mutex_t lock = PTHREAD_MUTEX_INITIALIZER;
static struct msg *head, **tail = &head;
static struct conn **conns;
static size_t nconns, capconns;
static unsigned long long n_frames, n_writes;
static char marker_listen, marker_ev, marker_sig, marker_timer;

/* ---- the MQTT side (Paho's thread) ---------------------------------------- */

static size_t json_string(unsigned char *o, const unsigned char *s, size_t n)
{
	size_t k = 0;
	o[k++] = '"';
	for (size_t i = 0; i < n; i++) {
		unsigned char ch = s[i];
		if (ch == '"' || ch == '\\') {
			o[k++] = '\\';
			o[k++] = ch;
		} else if (ch < 0x20 || ch >= 0x80) { /* bytes as Latin-1: valid UTF-8 out */
			k += (size_t)sprintf((char *)o + k, "\\u%04x", ch);
		} else {
			o[k++] = ch;
		}
	}
	o[k++] = '"';
	return k;
}

static int on_message(void *ctx, char *topic, int topic_len, MQTTClient_message *m)
{
	(void)ctx;
	size_t tl = topic_len > 0 ? (size_t)topic_len : strlen(topic);
	size_t pl = (size_t)m->payloadlen;
	const unsigned char *p = m->payload;
	/* A JSON object or array goes in verbatim (the bench's readings); the
	 * bridge checks strictly, this floor only looks at the first byte. */
	bool verbatim = pl > 0 && (p[0] == '{' || p[0] == '[');
	size_t cap = 14 + 6 * tl + 11 + (verbatim ? pl : 6 * pl + 2) + 30;
	struct msg *mg = malloc(sizeof(*mg) + 10 + cap);
	if (!mg)
		goto out;
	unsigned char *b = mg->data + 10, *o = b; /* header goes in front */
	o += sprintf((char *)o, "{\"topic\":");
	o += json_string(o, (const unsigned char *)topic, tl);
	o += sprintf((char *)o, ",\"payload\":");
	if (verbatim) {
		memcpy(o, p, pl);
		o += pl;
	} else {
		o += json_string(o, p, pl);
	}
	struct timespec ts;
	clock_gettime(CLOCK_REALTIME, &ts);
	o +=
	    sprintf((char *)o, ",\"ts\":%lld}", (long long)ts.tv_sec * 1000 + ts.tv_nsec / 1000000);
	size_t n = (size_t)(o - b), h = n < 126 ? 2 : n < 65536 ? 4 : 10;
	unsigned char *f = b - h;
	f[0] = 0x81; /* FIN, text */
	if (h == 2) {
		f[1] = (unsigned char)n;
	} else if (h == 4) {
		f[1] = 126;
		f[2] = (unsigned char)(n >> 8);
		f[3] = (unsigned char)n;
	} else {
		f[1] = 127;
		for (int i = 0; i < 8; i++)
			f[2 + i] = (unsigned char)((uint64_t)n >> (56 - 8 * i));
	}
	memmove(mg->data, f, h + n);
	mg->len = h + n;
	mg->next = NULL;
	pthread_mutex_lock(&lock);
	*tail = mg;
	tail = &mg->next;
	pthread_mutex_unlock(&lock);
	uint64_t one = 1;
	if (write(evfd, &one, sizeof(one)) < 0)
		perror("bench_ws_floor: eventfd");
out:
	MQTTClient_freeMessage(&m);
	MQTTClient_free(topic);
	return 1;
}

static void on_lost(void *ctx, char *cause)
{
	(void)ctx;
	fprintf(stderr, "bench_ws_floor: MQTT connection lost: %s\n", cause ? cause : "?");
}

/* ---- clients ------------------------------------------------------------------ */

/* Closed now, freed after the current epoll_wait batch (which may still
 * hold an event for it): fd -1 says it is gone. */
static struct conn *graveyard;

static void conn_close(struct conn *c)
{
	close(c->fd); /* also leaves the epoll set */
	c->fd = -1;
	conns[c->idx] = conns[--nconns];
	conns[c->idx]->idx = c->idx;
	free(c->out);
	c->out = NULL;
	c->out_len = c->out_off = 0;
	c->dead_next = graveyard;
	graveyard = c;
}

static void bury(void)
{
	while (graveyard) {
		struct conn *g = graveyard;
		graveyard = g->dead_next;
		free(g);
	}
}

static void arm_out(struct conn *c, bool on)
{
	struct epoll_event e = {EPOLLIN | (on ? EPOLLOUT : 0), {.ptr = c}};
	epoll_ctl(ep, EPOLL_CTL_MOD, c->fd, &e);
	c->out_armed = on;
}

static bool append(struct conn *c, const void *p, size_t n)
{
	if (c->out_off && c->out_off == c->out_len)
		c->out_off = c->out_len = 0;
	if (c->out_len + n > c->out_cap) {
		size_t cap = (c->out_len + n) * 2;
		unsigned char *o = realloc(c->out, cap);
		if (!o)
			return false;
		c->out = o;
		c->out_cap = cap;
	}
	memcpy(c->out + c->out_len, p, n);
	c->out_len += n;
	return true;
}

/* Write what out holds. false: the connection is gone. */
static bool flush_out(struct conn *c)
{
	c->unflushed = 0;
	while (c->out_off < c->out_len) {
		ssize_t w = write(c->fd, c->out + c->out_off, c->out_len - c->out_off);
		n_writes++;
		if (w < 0 && errno == EINTR)
			continue;
		if (w < 0 && errno != EAGAIN) {
			conn_close(c);
			return false;
		}
		if (w <= 0)
			break;
		c->out_off += (size_t)w;
	}
	bool backlog = c->out_off < c->out_len;
	if (!backlog)
		c->out_off = c->out_len = 0;
	if (backlog != c->out_armed)
		arm_out(c, backlog);
	if (!backlog && c->closing) {
		conn_close(c);
		return false;
	}
	return true;
}

/* A frame from the server: written at once (default), or kept for the
 * batch; behind a backlog it is appended and EPOLLOUT sends it. */
static void send_frame(struct conn *c, const unsigned char *f, size_t n)
{
	n_frames++;
	if (c->out_armed || batch > 1) {
		if (!append(c, f, n)) {
			conn_close(c);
			return;
		}
		if (!c->out_armed && ++c->unflushed >= batch)
			flush_out(c);
		return;
	}
	ssize_t w = write(c->fd, f, n);
	n_writes++;
	if (w < 0 && errno != EAGAIN && errno != EINTR) {
		conn_close(c);
		return;
	}
	size_t done = w > 0 ? (size_t)w : 0;
	if (done < n) {
		if (!append(c, f + done, n - done))
			conn_close(c);
		else
			arm_out(c, true);
	}
}

static void small_frame(struct conn *c, unsigned char op, const unsigned char *p, size_t n)
{
	unsigned char f[2 + 125];
	f[0] = (unsigned char)(0x80 | op);
	f[1] = (unsigned char)n;
	memcpy(f + 2, p, n);
	append(c, f, 2 + n);
}

static bool handshake(struct conn *c)
{
	c->in[c->in_len < sizeof(c->in) ? c->in_len : sizeof(c->in) - 1] = '\0';
	char *req = (char *)c->in, *end = strstr(req, "\r\n\r\n");
	if (!end)
		return c->in_len < sizeof(c->in) - 1; /* wait for more, unless full */
	*end = '\0';
	const char *key = NULL, *proto = NULL, *version = NULL;
	char *line = strstr(req, "\r\n");
	if (line) { /* after the request line, one NUL-terminated header at a time */
		*line = '\0';
		line += 2;
	}
	while (line && *line) {
		char *eol = strstr(line, "\r\n"), *colon = strchr(line, ':');
		if (eol)
			*eol = '\0';
		if (colon) {
			char *v = colon + 1 + strspn(colon + 1, " \t");
			if (!strncasecmp(line, "Sec-WebSocket-Key:", 18))
				key = v;
			else if (!strncasecmp(line, "Sec-WebSocket-Version:", 22))
				version = v;
			else if (!strncasecmp(line, "Sec-WebSocket-Protocol:", 23))
				proto = v;
		}
		line = eol ? eol + 2 : NULL;
	}
	if (strncmp(req, "GET ", 4) || !key || !version || strncmp(version, "13", 2)) {
		static const char bad[] = "HTTP/1.1 400 Bad Request\r\nContent-Length: 0\r\n\r\n";
		append(c, bad, sizeof(bad) - 1);
		c->closing = true;
		return true;
	}
	char kbuf[128], accept[32];
	unsigned char sha[SHA_DIGEST_LENGTH];
	int kn = snprintf(kbuf, sizeof(kbuf), "%.*s258EAFA5-E914-47DA-95CA-C5AB0DC85B11",
			  (int)strcspn(key, " \t\r"), key);
	SHA1((const unsigned char *)kbuf, (size_t)kn, sha);
	EVP_EncodeBlock((unsigned char *)accept, sha, SHA_DIGEST_LENGTH);
	char resp[512];
	int rn = snprintf(resp, sizeof(resp),
			  "HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\n"
			  "Connection: Upgrade\r\nSec-WebSocket-Accept: %s\r\n",
			  accept);
	if (proto) /* the client's first choice, as iod-bridge answers "iod.v1" */
		rn += snprintf(resp + rn, sizeof(resp) - (size_t)rn,
			       "Sec-WebSocket-Protocol: %.*s\r\n", (int)strcspn(proto, ", \t\r"),
			       proto);
	rn += snprintf(resp + rn, sizeof(resp) - (size_t)rn, "\r\n");
	append(c, resp, (size_t)rn);
	static const char ready[] = "{\"type\":\"ready\"}"; /* what the bench waits for */
	small_frame(c, 0x1, (const unsigned char *)ready, sizeof(ready) - 1);
	size_t used = (size_t)(end + 4 - req);
	memmove(c->in, c->in + used, c->in_len - used);
	c->in_len -= used;
	c->ws = true;
	return true;
}

/* Parse client frames out of in: ignore data, answer ping and close. */
static void client_frames(struct conn *c)
{
	size_t off = 0;
	while (off < c->in_len && !c->closing) {
		if (c->skip) {
			size_t n = c->in_len - off < c->skip ? c->in_len - off : (size_t)c->skip;
			off += n;
			c->skip -= n;
			continue;
		}
		const unsigned char *b = c->in + off;
		size_t avail = c->in_len - off;
		if (avail < 2)
			break;
		unsigned op = b[0] & 0x0f, l7 = b[1] & 0x7f;
		size_t h = 2 + (l7 == 126 ? 2 : l7 == 127 ? 8 : 0) + 4;
		if (!(b[1] & 0x80)) { /* RFC 6455 5.1: a client must mask */
			small_frame(c, 0x8, (const unsigned char *)"\x03\xea", 2); /* 1002 */
			c->closing = true;
			break;
		}
		if (avail < h)
			break;
		uint64_t len = l7;
		if (l7 == 126)
			len = (uint64_t)b[2] << 8 | b[3];
		else if (l7 == 127)
			for (int i = 0; i < 8; i++)
				len = len << 8 | b[2 + i];
		if (op < 8) { /* text, binary, continuation: read and ignored */
			off += h;
			c->skip = len;
			continue;
		}
		if (len > 125) {
			small_frame(c, 0x8, (const unsigned char *)"\x03\xea", 2);
			c->closing = true;
			break;
		}
		if (avail < h + len)
			break;
		unsigned char p[125];
		for (size_t i = 0; i < len; i++)
			p[i] = b[h + i] ^ b[h - 4 + (i & 3)];
		if (op == 0x8) { /* close: answer with its status code, then close */
			small_frame(c, 0x8, p, len >= 2 ? 2 : 0);
			c->closing = true;
		} else if (op == 0x9) {
			small_frame(c, 0xa, p, (size_t)len);
		}
		off += h + (size_t)len;
	}
	memmove(c->in, c->in + off, c->in_len - off);
	c->in_len -= off;
}

static void on_readable(struct conn *c)
{
	for (;;) {
		ssize_t r = read(c->fd, c->in + c->in_len, sizeof(c->in) - 1 - c->in_len);
		if (r < 0 && errno == EINTR)
			continue;
		if (r < 0 && errno == EAGAIN)
			break;
		if (r <= 0) {
			conn_close(c);
			return;
		}
		c->in_len += (size_t)r;
		if (c->closing) { /* answered already: the rest is dropped */
			c->in_len = 0;
			continue;
		}
		if (!c->ws && !handshake(c)) {
			conn_close(c);
			return;
		}
		if (c->ws)
			client_frames(c);
	}
	if (c->out_len > c->out_off)
		flush_out(c);
}

static void on_accept(int lfd)
{
	for (;;) {
		int fd = accept4(lfd, NULL, NULL, SOCK_NONBLOCK | SOCK_CLOEXEC);
		if (fd < 0)
			return;
		int one = 1;
		setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
		if (nconns == capconns) {
			struct conn **g = realloc(conns, (capconns * 2 + 64) * sizeof(*conns));
			if (!g) {
				close(fd);
				continue;
			}
			conns = g;
			capconns = capconns * 2 + 64;
		}
		struct conn *c = calloc(1, sizeof(*c));
		if (!c) {
			close(fd);
			continue;
		}
		c->fd = fd;
		c->idx = nconns;
		conns[nconns++] = c;
		struct epoll_event e = {EPOLLIN, {.ptr = c}};
		epoll_ctl(ep, EPOLL_CTL_ADD, fd, &e);
	}
}

/* The messages Paho handed over: each frame to every upgraded client. */
static void fan_out(int tfd)
{
	uint64_t n;
	if (read(evfd, &n, sizeof(n)) < 0)
		return;
	pthread_mutex_lock(&lock);
	struct msg *m = head;
	head = NULL;
	tail = &head;
	pthread_mutex_unlock(&lock);
	while (m) {
		struct msg *next = m->next;
		/* Backwards: conn_close() moves the last client into the gap. */
		for (size_t i = nconns; i-- > 0;)
			if (conns[i]->ws && !conns[i]->closing)
				send_frame(conns[i], m->data, m->len);
		free(m);
		m = next;
	}
	/* The tail of a batch: out once no message has come for 1 ms. */
	struct itimerspec t = {{0, 0}, {0, 1000000}};
	if (batch > 1)
		timerfd_settime(tfd, 0, &t, NULL);
}

static void flush_tails(int tfd)
{
	uint64_t n;
	if (read(tfd, &n, sizeof(n)) < 0)
		return;
	for (size_t i = nconns; i-- > 0;)
		if (conns[i]->unflushed && !conns[i]->out_armed)
			flush_out(conns[i]);
}

int main(int argc, char **argv)
{
	int port = 0;
	const char *url = "tcp://127.0.0.1:1883", *filter = "iod/home/#";
	for (int i = 1; i + 1 < argc; i += 2) {
		if (!strcmp(argv[i], "--port"))
			port = atoi(argv[i + 1]);
		else if (!strcmp(argv[i], "--batch"))
			batch = atoi(argv[i + 1]) > 0 ? atoi(argv[i + 1]) : 1;
		else if (!strcmp(argv[i], "--mqtt"))
			url = argv[i + 1];
		else if (!strcmp(argv[i], "--topic"))
			filter = argv[i + 1];
		else {
			fprintf(stderr,
				"usage: %s [--port N] [--batch N] [--mqtt URL] [--topic F]\n",
				argv[0]);
			return 2;
		}
	}
	signal(SIGPIPE, SIG_IGN);
	sigset_t sigs;
	sigemptyset(&sigs);
	sigaddset(&sigs, SIGTERM);
	sigaddset(&sigs, SIGINT);
	pthread_sigmask(SIG_BLOCK, &sigs, NULL); /* before Paho's threads exist */

	/* Subscribed before listening: a client that gets in misses nothing. */
	MQTTClient mq;
	MQTTClient_connectOptions co = MQTTClient_connectOptions_initializer;
	char id[64];
	snprintf(id, sizeof(id), "bench-ws-floor-%d", (int)getpid());
	co.keepAliveInterval = 20;
	co.cleansession = 1;
	evfd = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
	if (MQTTClient_create(&mq, url, id, MQTTCLIENT_PERSISTENCE_NONE, NULL) !=
		MQTTCLIENT_SUCCESS ||
	    MQTTClient_setCallbacks(mq, NULL, on_lost, on_message, NULL) != MQTTCLIENT_SUCCESS ||
	    MQTTClient_connect(mq, &co) != MQTTCLIENT_SUCCESS ||
	    MQTTClient_subscribe(mq, filter, 1) != MQTTCLIENT_SUCCESS) {
		fprintf(stderr, "bench_ws_floor: cannot subscribe to %s at %s\n", filter, url);
		return 1;
	}

	int lfd = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0), one = 1;
	struct sockaddr_in a = {.sin_family = AF_INET, .sin_port = htons((uint16_t)port)};
	a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	socklen_t al = sizeof(a);
	setsockopt(lfd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
	if (lfd < 0 || bind(lfd, (struct sockaddr *)&a, sizeof(a)) < 0 || listen(lfd, 1024) < 0 ||
	    getsockname(lfd, (struct sockaddr *)&a, &al) < 0) {
		perror("bench_ws_floor: listen");
		return 1;
	}
	if (port == 0) {
		printf("port %d\n", ntohs(a.sin_port));
		fflush(stdout);
	}

	ep = epoll_create1(EPOLL_CLOEXEC);
	int sfd = signalfd(-1, &sigs, SFD_NONBLOCK | SFD_CLOEXEC);
	int tfd = timerfd_create(CLOCK_MONOTONIC, TFD_NONBLOCK | TFD_CLOEXEC);
	struct epoll_event e[64] = {{EPOLLIN, {.ptr = &marker_listen}},
				    {EPOLLIN, {.ptr = &marker_ev}},
				    {EPOLLIN, {.ptr = &marker_sig}},
				    {EPOLLIN, {.ptr = &marker_timer}}};
	epoll_ctl(ep, EPOLL_CTL_ADD, lfd, &e[0]);
	epoll_ctl(ep, EPOLL_CTL_ADD, evfd, &e[1]);
	epoll_ctl(ep, EPOLL_CTL_ADD, sfd, &e[2]);
	epoll_ctl(ep, EPOLL_CTL_ADD, tfd, &e[3]);
	for (bool run = true; run;) {
		int n = epoll_wait(ep, e, 64, -1);
		for (int i = 0; i < n; i++) {
			void *p = e[i].data.ptr;
			if (p == &marker_listen) {
				on_accept(lfd);
			} else if (p == &marker_ev) {
				fan_out(tfd);
			} else if (p == &marker_timer) {
				flush_tails(tfd);
			} else if (p == &marker_sig) {
				run = false;
			} else {
				struct conn *c = p;
				if (c->fd < 0) /* closed earlier in this batch */
					continue;
				if (e[i].events & (EPOLLERR | EPOLLHUP)) {
					conn_close(c);
				} else if (e[i].events & EPOLLIN) {
					on_readable(c);
				} else if (e[i].events & EPOLLOUT) {
					flush_out(c);
				}
			}
		}
		bury();
	}
	MQTTClient_disconnect(mq, 1000);
	MQTTClient_destroy(&mq);
	while (nconns)
		conn_close(conns[0]);
	bury();
	fprintf(stderr,
		"bench_ws_floor: %llu frames in %llu writes (%.2f frames/write), batch %d\n",
		n_frames, n_writes, n_writes ? (double)n_frames / (double)n_writes : 0.0, batch);
	return 0;
}
