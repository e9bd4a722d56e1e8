/* Several processes on one store, as several parley nodes on one database
 * (or the admin CLI beside the server): each opens the store of the same
 * case and appends to one room at once. Every ack has a seq of its own,
 * and together they are 1..n with no hole. */
#include "contract.h"
#include "contract_cases.h"

#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "base/loop.h"

#define NODES_MAX 8
#define PER_MAX   1000
#define IN_FLIGHT 8

struct node {
	int fd; /* the pipe acked seqs go to */
	const char *room, *user;
	long total, sent, acked;
	int failed;
};

static void node_send(struct node *n);

static void node_acked(void *ud, const parley_store_result *res)
{
	struct node *n = ud;
	n->acked++;
	if (res->rc != PARLEY_OK || res->n_messages != 1 || res->duplicate) {
		n->failed = 1;
		return;
	}
	int64_t seq = res->messages[0].seq;
	if (write(n->fd, &seq, sizeof seq) != (ssize_t)sizeof seq)
		n->failed = 1;
	node_send(n);
}

static void node_send(struct node *n)
{
	if (n->sent >= n->total || n->failed)
		return;
	parley_message m = {.room_id = n->room, .user_id = n->user, .text = "node", .ts = 1};
	if (S->append(self, &m, node_acked, n) != PARLEY_PENDING) {
		n->failed = 1;
		return;
	}
	n->sent++;
}

/* The child: opens the store, appends `total` messages with IN_FLIGHT in
 * flight, writes each acked seq to fd. Never returns. */
static void node_run(int fd, const char *room, const char *user, long total)
{
	if (contract_open_quiet() != 0)
		_exit(2);
	static struct node n;
	n = (struct node){.fd = fd, .room = room, .user = user, .total = total};
	for (int i = 0; i < IN_FLIGHT; i++)
		node_send(&n);
	double deadline = contract_timeout() * 4;
	ev_tstamp start = ev_time();
	while (n.acked < n.sent && !n.failed && ev_time() - start < deadline)
		ev_run(loop_ev, EVRUN_ONCE);
	int ok = !n.failed && n.acked == total;
	contract_close();
	close(fd);
	_exit(ok ? 0 : 3);
}

void test_several_nodes(void **state)
{
	long nodes = contract_env_long("PARLEY_CONTRACT_NODES", 3);
	long per = contract_env_long("PARLEY_CONTRACT_NODE_APPENDS", 100);
	if (nodes < 2) {
		print_message("[  SKIP    ] PARLEY_CONTRACT_NODES=%ld: one process only\n", nodes);
		skip();
	}
	assert_true(nodes <= NODES_MAX && per > 0 && per <= PER_MAX);
	static struct res r;
	char room[ID_MAX], users[NODES_MAX][ID_MAX];
	contract_open("nodes");
	for (long i = 0; i < nodes; i++) {
		char name[32];
		snprintf(name, sizeof name, "node%ld", i);
		mk_user(name, users[i]);
	}
	mk_room("shared", users[0], room);
	mk_message(room, users[0], "before", NULL, NULL);
	/* No loop or thread of ours may live on in the children. */
	contract_close();

	int fds[NODES_MAX];
	pid_t pids[NODES_MAX];
	for (long i = 0; i < nodes; i++) {
		int p[2];
		assert_int_equal(pipe(p), 0);
		fflush(NULL);
		pids[i] = fork();
		assert_true(pids[i] >= 0);
		if (pids[i] == 0) {
			close(p[0]);
			for (long k = 0; k < i; k++)
				close(fds[k]);
			node_run(p[1], room, users[i], per);
		}
		close(p[1]);
		fds[i] = p[0];
	}

	/* Read every child's acks (pipes drained in turn: each holds far more
	 * than one child writes, 8 bytes an ack). */
	static unsigned char seen[NODES_MAX * PER_MAX + 2];
	memset(seen, 0, sizeof seen);
	long total = nodes * per, acks = 0;
	int bad = 0;
	for (long i = 0; i < nodes; i++) {
		int64_t seq;
		ssize_t got;
		while ((got = read(fds[i], &seq, sizeof seq)) == (ssize_t)sizeof seq) {
			acks++;
			if (seq < 2 || seq > total + 1 || seen[seq]++) {
				print_error("node %ld: seq %lld acked %s\n", i, (long long)seq,
				            seq >= 2 && seq <= total + 1 ? "twice"
				                                         : "out of range");
				bad = 1;
			}
		}
		close(fds[i]);
		int status;
		assert_int_equal(waitpid(pids[i], &status, 0), pids[i]);
		if (!WIFEXITED(status) || WEXITSTATUS(status) != 0) {
			print_error("node %ld: exit status %d\n", i, status);
			bad = 1;
		}
	}
	assert_false(bad);
	assert_int_equal(acks, total);

	/* The store agrees: last_seq, and 1..n with no hole. */
	contract_reopen();
	assert_int_equal(RUN(&r, S->room_get(self, room, NULL, res_done, &r)), PARLEY_OK);
	assert_int_equal(r.v.rooms[0].last_seq, total + 1);
	int64_t next = 0;
	for (;;) {
		assert_int_equal(RUN(&r, S->history(self, room, 0, next, 1000, res_done, &r)),
		                 PARLEY_OK);
		for (size_t i = 0; i < r.v.n_messages; i++)
			assert_int_equal(r.v.messages[i].seq, ++next);
		if (!r.v.more)
			break;
	}
	assert_int_equal(next, total + 1);
}
