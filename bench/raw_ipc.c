/*
 * raw-ipc — the cost of each System V IPC operation the sysv_ipc module
 * offers, done with bare system calls: the baseline bench/python.py
 * (scripts/bench python) compares the module against.
 *
 * Every benchmark runs its operation N times, N chosen so that one run takes
 * about --time seconds (0.5 by default, 0.05 with --quick), repeats the run
 * --repeat times and keeps the fastest.  Runs are timed in CPU time by
 * default (--clock wall for elapsed time).  Output: one JSON object per line,
 *
 *   {"name": "sem_acquire_release", "n": 2400000, "seconds": 0.498,
 *    "ops_per_sec": 4819277.1, "ns_per_op": 207.5}
 *
 * With --serve, it reads benchmark names from stdin, one a line, and
 * answers each with its line as it is measured, keeping its objects
 * between them: bench/python.py alternates it with the module's runs.
 *
 * Objects are IPC_PRIVATE and removed before exit, also on SIGINT, SIGTERM
 * and SIGHUP.  A benchmark, not a test: it reports and never judges.
 */
#include "config.h"

#include <errno.h>
#include <setjmp.h>
#include <signal.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ipc.h>
#include <sys/msg.h>
#include <sys/sem.h>
#include <sys/shm.h>
#include <time.h>
#include <unistd.h>

#if !HAVE_UNION_SEMUN
union semun {
	int val;
	struct semid_ds *buf;
	unsigned short *array;
};
#endif

#define KIB 1024u
#define MIB (1024u * 1024u)
#define MSG_CAPACITY 8192u

/* Keeps the compiler from dropping or merging copies into and out of the
 * segment: p is treated as read and written by something it cannot see. */
#define CLOBBER(p) __asm__ volatile("" : : "r"(p) : "memory")

/* ------------------------------------------------------------------ */
/* The objects every benchmark shares, and their removal.             */
/* ------------------------------------------------------------------ */

static int sem_id = -1, shm_id = -1, mq_id = -1;
/* The object a create+remove benchmark holds between its two calls. */
static volatile int tmp_sem = -1, tmp_shm = -1, tmp_mq = -1;

static unsigned char *seg;         /* shm_id attached, 1 MiB */
static unsigned char *local_buf;   /* 1 MiB private buffer */
struct raw_msgbuf {
	long mtype;
	char mtext[MSG_CAPACITY];
};
static struct raw_msgbuf *msg_out, *msg_in;

/* The object a create+remove benchmark holds, if any.
 * Async-signal-safe: nothing but system calls. */
static void remove_tmp(void)
{
	if (tmp_sem >= 0)
		semctl(tmp_sem, 0, IPC_RMID);
	if (tmp_shm >= 0)
		shmctl(tmp_shm, IPC_RMID, NULL);
	if (tmp_mq >= 0)
		msgctl(tmp_mq, IPC_RMID, NULL);
	tmp_sem = tmp_shm = tmp_mq = -1;
}

/* Async-signal-safe: nothing but system calls. */
static void remove_all(void)
{
	remove_tmp();
	if (sem_id >= 0)
		semctl(sem_id, 0, IPC_RMID);
	if (shm_id >= 0)
		shmctl(shm_id, IPC_RMID, NULL);
	if (mq_id >= 0)
		msgctl(mq_id, IPC_RMID, NULL);
	sem_id = shm_id = mq_id = -1;
}

static void on_signal(int sig)
{
	remove_all();
	signal(sig, SIG_DFL);
	raise(sig);
}

/* --serve: a benchmark that fails is answered with an error line, and the
 * serving goes on (a module that leaks can exhaust the namespace's ids
 * for a while). */
static bool serving;
static jmp_buf serve_jmp;
static char serve_error[160];

static void die(const char *what)
{
	if (serving) {
		snprintf(serve_error, sizeof(serve_error), "%s: %s", what,
			 strerror(errno));
		longjmp(serve_jmp, 1);
	}
	fprintf(stderr, "raw-ipc: %s: %s\n", what, strerror(errno));
	remove_all();
	exit(1);
}

static void setup(void)
{
	union semun arg = { .val = 1 };

	sem_id = semget(IPC_PRIVATE, 1, IPC_CREAT | IPC_EXCL | 0600);
	if (sem_id < 0)
		die("semget");
	if (semctl(sem_id, 0, SETVAL, arg) < 0)
		die("semctl SETVAL");
	shm_id = shmget(IPC_PRIVATE, MIB, IPC_CREAT | IPC_EXCL | 0600);
	if (shm_id < 0)
		die("shmget");
	seg = shmat(shm_id, NULL, 0);
	if (seg == (void *)-1)
		die("shmat");
	mq_id = msgget(IPC_PRIVATE, IPC_CREAT | IPC_EXCL | 0600);
	if (mq_id < 0)
		die("msgget");

	local_buf = malloc(MIB);
	msg_out = malloc(sizeof(*msg_out));
	msg_in = malloc(sizeof(*msg_in));
	if (!local_buf || !msg_out || !msg_in)
		die("malloc");
	memset(local_buf, 'x', MIB);
	memset(seg, ' ', MIB);
	msg_out->mtype = 1;
	memset(msg_out->mtext, 'm', sizeof(msg_out->mtext));
}

static void teardown(void)
{
	if (seg && shmdt(seg) < 0)
		die("shmdt");
	seg = NULL;
	remove_all();
	free(local_buf);
	free(msg_out);
	free(msg_in);
}

/* ------------------------------------------------------------------ */
/* The operations.  Each runs its operation n times.                  */
/* ------------------------------------------------------------------ */

static void sem_acquire_release(unsigned long n)
{
	struct sembuf p = { .sem_num = 0, .sem_op = -1, .sem_flg = 0 };
	struct sembuf v = { .sem_num = 0, .sem_op = 1, .sem_flg = 0 };

	for (unsigned long i = 0; i < n; i++) {
		if (semop(sem_id, &p, 1) < 0)
			die("semop -1");
		if (semop(sem_id, &v, 1) < 0)
			die("semop +1");
	}
}

static void sem_value_get(unsigned long n)
{
	for (unsigned long i = 0; i < n; i++)
		if (semctl(sem_id, 0, GETVAL) < 0)
			die("semctl GETVAL");
}

static void sem_value_set(unsigned long n)
{
	union semun arg = { .val = 1 };

	for (unsigned long i = 0; i < n; i++)
		if (semctl(sem_id, 0, SETVAL, arg) < 0)
			die("semctl SETVAL");
}

/* The bare pair of calls: get IPC_PRIVATE, then IPC_RMID. */
static void sem_create_remove(unsigned long n)
{
	for (unsigned long i = 0; i < n; i++) {
		tmp_sem = semget(IPC_PRIVATE, 1, IPC_CREAT | IPC_EXCL | 0600);
		if (tmp_sem < 0)
			die("semget");
		if (semctl(tmp_sem, 0, IPC_RMID) < 0)
			die("semctl IPC_RMID");
		tmp_sem = -1;
	}
}

static void shm_create_remove(unsigned long n)
{
	for (unsigned long i = 0; i < n; i++) {
		tmp_shm = shmget(IPC_PRIVATE, 4096, IPC_CREAT | IPC_EXCL | 0600);
		if (tmp_shm < 0)
			die("shmget");
		if (shmctl(tmp_shm, IPC_RMID, NULL) < 0)
			die("shmctl IPC_RMID");
		tmp_shm = -1;
	}
}

static void mq_create_remove(unsigned long n)
{
	for (unsigned long i = 0; i < n; i++) {
		tmp_mq = msgget(IPC_PRIVATE, IPC_CREAT | IPC_EXCL | 0600);
		if (tmp_mq < 0)
			die("msgget");
		if (msgctl(tmp_mq, IPC_RMID, NULL) < 0)
			die("msgctl IPC_RMID");
		tmp_mq = -1;
	}
}

/*
 * What the module's constructors must do by the contract
 * (spec/python-api.md), then remove() and deallocation:
 * Semaphore(IPC_PRIVATE, IPC_CREX): semget, SETVAL initial_value, IPC_RMID.
 * SharedMemory(IPC_PRIVATE, IPC_CREX): shmget of PAGE_SIZE, shmat, fill with
 * init_character, IPC_RMID, shmdt when the object is freed.
 * MessageQueue has nothing beyond the bare pair.
 */
static void sem_create_remove_full(unsigned long n)
{
	union semun arg = { .val = 0 };

	for (unsigned long i = 0; i < n; i++) {
		tmp_sem = semget(IPC_PRIVATE, 1, IPC_CREAT | IPC_EXCL | 0600);
		if (tmp_sem < 0)
			die("semget");
		if (semctl(tmp_sem, 0, SETVAL, arg) < 0)
			die("semctl SETVAL");
		if (semctl(tmp_sem, 0, IPC_RMID) < 0)
			die("semctl IPC_RMID");
		tmp_sem = -1;
	}
}

static void shm_create_remove_full(unsigned long n)
{
	long page = sysconf(_SC_PAGESIZE);

	for (unsigned long i = 0; i < n; i++) {
		void *p;

		tmp_shm = shmget(IPC_PRIVATE, (size_t)page,
				 IPC_CREAT | IPC_EXCL | 0600);
		if (tmp_shm < 0)
			die("shmget");
		p = shmat(tmp_shm, NULL, 0);
		if (p == (void *)-1)
			die("shmat");
		memset(p, ' ', (size_t)page);
		CLOBBER(p);
		if (shmctl(tmp_shm, IPC_RMID, NULL) < 0)
			die("shmctl IPC_RMID");
		tmp_shm = -1;
		if (shmdt(p) < 0)
			die("shmdt");
	}
}

/* Copy size bytes into the segment, then size bytes out of it. */
static void shm_write_read(unsigned long n, size_t size)
{
	for (unsigned long i = 0; i < n; i++) {
		memcpy(seg, local_buf, size);
		CLOBBER(seg);
		memcpy(local_buf, seg, size);
		CLOBBER(local_buf);
	}
}

static void shm_write_read_64(unsigned long n) { shm_write_read(n, 64); }
static void shm_write_read_4k(unsigned long n) { shm_write_read(n, 4 * KIB); }
static void shm_write_read_1m(unsigned long n) { shm_write_read(n, MIB); }

/* What bytes(memoryview(shm)[:4096]) costs at the least: one copy out. */
static void shm_view_read_4k(unsigned long n)
{
	for (unsigned long i = 0; i < n; i++) {
		memcpy(local_buf, seg, 4 * KIB);
		CLOBBER(local_buf);
		CLOBBER(seg);
	}
}

/* What MessageQueue.current_messages must do: one IPC_STAT. */
static void mq_stat(unsigned long n)
{
	struct msqid_ds ds;

	for (unsigned long i = 0; i < n; i++) {
		if (msgctl(mq_id, IPC_STAT, &ds) < 0)
			die("msgctl IPC_STAT");
		CLOBBER(&ds);
	}
}

static void mq_send_receive(unsigned long n, size_t size)
{
	for (unsigned long i = 0; i < n; i++) {
		if (msgsnd(mq_id, msg_out, size, 0) < 0)
			die("msgsnd");
		if (msgrcv(mq_id, msg_in, MSG_CAPACITY, 0, 0) < 0)
			die("msgrcv");
	}
}

static void mq_send_receive_1(unsigned long n) { mq_send_receive(n, 1); }
static void mq_send_receive_64(unsigned long n) { mq_send_receive(n, 64); }
static void mq_send_receive_8k(unsigned long n)
{
	mq_send_receive(n, 8 * KIB);
}

struct bench {
	const char *name;
	void (*run)(unsigned long n);
	const char *what;
};

static const struct bench benches[] = {
	{ "sem_acquire_release", sem_acquire_release, "semop -1 then +1" },
	{ "sem_value_get", sem_value_get, "semctl GETVAL" },
	{ "sem_value_set", sem_value_set, "semctl SETVAL" },
	{ "sem_create_remove", sem_create_remove,
	  "semget IPC_PRIVATE + IPC_RMID" },
	{ "sem_create_remove_full", sem_create_remove_full,
	  "semget + SETVAL + IPC_RMID (what Semaphore(IPC_PRIVATE, IPC_CREX).remove() must do)" },
	{ "shm_create_remove", shm_create_remove,
	  "shmget IPC_PRIVATE 4096 + IPC_RMID" },
	{ "shm_create_remove_full", shm_create_remove_full,
	  "shmget + shmat + fill + IPC_RMID + shmdt (what SharedMemory(IPC_PRIVATE, IPC_CREX).remove() must do)" },
	{ "mq_create_remove", mq_create_remove,
	  "msgget IPC_PRIVATE + IPC_RMID" },
	{ "shm_write_read_64", shm_write_read_64, "memcpy 64 B in, 64 B out" },
	{ "shm_write_read_4k", shm_write_read_4k,
	  "memcpy 4 KiB in, 4 KiB out" },
	{ "shm_write_read_1m", shm_write_read_1m,
	  "memcpy 1 MiB in, 1 MiB out" },
	{ "shm_view_read_4k", shm_view_read_4k, "memcpy 4 KiB out" },
	{ "mq_stat", mq_stat, "msgctl IPC_STAT" },
	{ "mq_send_receive_1", mq_send_receive_1, "msgsnd + msgrcv, 1 B" },
	{ "mq_send_receive_64", mq_send_receive_64, "msgsnd + msgrcv, 64 B" },
	{ "mq_send_receive_8k", mq_send_receive_8k,
	  "msgsnd + msgrcv, 8 KiB" },
};

#define N_BENCHES (sizeof(benches) / sizeof(benches[0]))

/* ------------------------------------------------------------------ */
/* Timing                                                             */
/* ------------------------------------------------------------------ */

/* The clock runs are timed with: CLOCK_PROCESS_CPUTIME_ID (--clock cpu,
 * the default: the process's user + system time, which time spent by other
 * programs on a busy machine does not inflate) or CLOCK_MONOTONIC. */
static clockid_t bench_clock = CLOCK_PROCESS_CPUTIME_ID;

static double now(void)
{
	struct timespec ts;

	clock_gettime(bench_clock, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec * 1e-9;
}

static double time_run(const struct bench *b, unsigned long n)
{
	double t0 = now();

	b->run(n);
	return now() - t0;
}

/* Picks n so that a run lasts about target seconds (or takes fixed, if not
 * 0), then keeps the fastest of repeat runs. */
static void measure(const struct bench *b, double target, int repeat,
		    unsigned long fixed)
{
	unsigned long n = fixed ? fixed : 1;
	double t, best;

	/* Grow n until a run is long enough to extrapolate from. */
	while (!fixed) {
		t = time_run(b, n);
		if (t >= target / 20 || n >= (1ul << 40)) {
			n = (unsigned long)((double)n * target / t);
			if (n < 1)
				n = 1;
			break;
		}
		n *= t > 0 ? (unsigned long)(target / 20 / t) + 2 : 16;
	}
	best = time_run(b, n);
	for (int r = 1; r < repeat; r++) {
		t = time_run(b, n);
		if (t < best)
			best = t;
	}
	printf("{\"name\": \"%s\", \"n\": %lu, \"seconds\": %.6f, "
	       "\"ops_per_sec\": %.1f, \"ns_per_op\": %.2f}\n",
	       b->name, n, best, (double)n / best, best * 1e9 / (double)n);
	fflush(stdout);
}

/* Measures b; if it fails, says so and goes on. */
static void serve_one(const struct bench *b, double target, int repeat,
		      unsigned long fixed)
{
	if (setjmp(serve_jmp) == 0) {
		serving = true;
		measure(b, target, repeat, fixed);
	} else {
		remove_tmp();
		printf("{\"name\": \"%s\", \"error\": \"%s\"}\n", b->name,
		       serve_error);
		fflush(stdout);
	}
	serving = false;
}

/* --serve: one benchmark a line of stdin ("NAME", or "NAME N" for a run of
 * exactly N operations), answered as it comes.  An unknown name is
 * answered with an error line, and the serving goes on. */
static void serve_stdin(double target, int repeat)
{
	char line[128];

	while (fgets(line, sizeof(line), stdin)) {
		unsigned long fixed = 0;
		size_t k, end;

		line[strcspn(line, "\r\n")] = '\0';
		end = strcspn(line, " \t");
		if (line[end]) {
			fixed = strtoul(line + end + 1, NULL, 10);
			line[end] = '\0';
		}
		if (!line[0])
			continue;
		for (k = 0; k < N_BENCHES; k++)
			if (!strcmp(line, benches[k].name))
				break;
		if (k < N_BENCHES) {
			serve_one(&benches[k], target, repeat, fixed);
		} else {
			/* Names are ours to print only when they are known:
			 * the line is not echoed into the JSON. */
			printf("{\"error\": \"unknown benchmark\"}\n");
			fflush(stdout);
		}
	}
}

static void usage(FILE *f)
{
	fprintf(f,
		"usage: raw-ipc [--quick] [--time SECONDS] [--repeat N] [--clock cpu|wall]\n"
		"               [--list] [--serve] [NAME...]\n"
		"Times bare System V IPC system calls per operation and prints one\n"
		"JSON line per benchmark.  NAMEs select benchmarks (default: all).\n"
		"  --quick        about 0.05 s per run instead of 0.5 s, 1 repeat\n"
		"  --time S       seconds per run (default 0.5)\n"
		"  --repeat N     runs per benchmark, fastest kept (default 3)\n"
		"  --clock C      cpu: the process's CPU time (default), or wall\n"
		"  --list         print the benchmarks and what each does\n"
		"  --serve        read names from stdin, one a line, and measure each\n"
		"                 as it comes (until end of file); \"NAME N\" runs it\n"
		"                 exactly N times\n");
}

int main(int argc, char **argv)
{
	double target = 0.5;
	int repeat = 3;
	bool selected[N_BENCHES] = { false };
	bool any = false, serve = false;

	for (int i = 1; i < argc; i++) {
		const char *a = argv[i];

		if (!strcmp(a, "--quick")) {
			target = 0.05;
			repeat = 1;
		} else if (!strcmp(a, "--time") && i + 1 < argc) {
			target = atof(argv[++i]);
			if (!(target > 0)) {
				usage(stderr);
				return 2;
			}
		} else if (!strcmp(a, "--repeat") && i + 1 < argc) {
			repeat = atoi(argv[++i]);
			if (repeat < 1) {
				usage(stderr);
				return 2;
			}
		} else if (!strcmp(a, "--clock") && i + 1 < argc) {
			const char *c = argv[++i];

			if (!strcmp(c, "cpu")) {
				bench_clock = CLOCK_PROCESS_CPUTIME_ID;
			} else if (!strcmp(c, "wall")) {
				bench_clock = CLOCK_MONOTONIC;
			} else {
				usage(stderr);
				return 2;
			}
		} else if (!strcmp(a, "--list")) {
			for (size_t k = 0; k < N_BENCHES; k++)
				printf("%-24s %s\n", benches[k].name,
				       benches[k].what);
			return 0;
		} else if (!strcmp(a, "--serve")) {
			serve = true;
		} else if (!strcmp(a, "-h") || !strcmp(a, "--help")) {
			usage(stdout);
			return 0;
		} else {
			size_t k;

			for (k = 0; k < N_BENCHES; k++)
				if (!strcmp(a, benches[k].name))
					break;
			if (k == N_BENCHES) {
				fprintf(stderr, "raw-ipc: unknown benchmark '%s'\n", a);
				usage(stderr);
				return 2;
			}
			selected[k] = any = true;
		}
	}

	signal(SIGINT, on_signal);
	signal(SIGTERM, on_signal);
	signal(SIGHUP, on_signal);
	setup();
	if (serve) {
		serve_stdin(target, repeat);
	} else {
		for (size_t k = 0; k < N_BENCHES; k++)
			if (!any || selected[k])
				measure(&benches[k], target, repeat, 0);
	}
	teardown();
	return 0;
}
