/*
 * The test harness described in testutil.h.
 */
#include "testutil.h"

#include <errno.h>
#include <grp.h>
#include <sched.h>
#include <signal.h>
#include <sys/prctl.h>
#include <sys/time.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

int test_failures;
volatile int test_alarms;

#define MAX_TRACKED 256

static struct {
	enum ipcore_kind kind;
	int id;
	bool used;
} tracked[MAX_TRACKED];

/* The pid that ran test_init(): forked children must not clean up. */
static pid_t owner_pid;
static const char *test_name;

static void cleanup(void)
{
	int i;

	if (getpid() != owner_pid)
		return;
	for (i = 0; i < MAX_TRACKED; i++) {
		if (tracked[i].used) {
			ipcore_remove(tracked[i].kind, tracked[i].id);
			tracked[i].used = false;
		}
	}
}

/* A test that hangs (a wait that never ends) fails on its own, removing
 * its objects, rather than wait for meson's or pytest's timeout. */
#define WATCHDOG_SECONDS 30

static void on_watchdog(int sig)
{
	static const char msg[] = "watchdog: the test hung; giving up\n";
	ssize_t ignored;

	(void)sig;
	ignored = write(STDERR_FILENO, msg, sizeof(msg) - 1);
	(void)ignored;
	cleanup(); /* only system calls: safe enough in a handler */
	_exit(3);
}

static void start_watchdog(void)
{
	struct sigevent sev;
	struct itimerspec its;
	struct sigaction sa;
	timer_t timer;

	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = on_watchdog;
	sigemptyset(&sa.sa_mask);
	sigaction(SIGUSR2, &sa, NULL);

	memset(&sev, 0, sizeof(sev));
	sev.sigev_notify = SIGEV_SIGNAL;
	sev.sigev_signo = SIGUSR2;
	memset(&its, 0, sizeof(its));
	its.it_value.tv_sec = WATCHDOG_SECONDS;
	if (timer_create(CLOCK_MONOTONIC, &sev, &timer) < 0 ||
	    timer_settime(timer, 0, &its, NULL) < 0) {
		fprintf(stderr, "watchdog: %s\n", strerror(errno));
		exit(1);
	}
}

void test_init(const char *name)
{
	test_name = name;
	/* Unbuffered output, so that a crash loses nothing and children's
	 * output does not come out twice. */
	setvbuf(stdout, NULL, _IONBF, 0);
	setvbuf(stderr, NULL, _IONBF, 0);
	if (unshare(CLONE_NEWIPC) < 0) {
		fprintf(stderr, "%s: unshare(CLONE_NEWIPC): %s; needs root\n",
			name, strerror(errno));
		exit(77); /* meson's "skipped" */
	}
	owner_pid = getpid();
	atexit(cleanup);
	start_watchdog();
}

void test_track(enum ipcore_kind kind, int id)
{
	int i;

	for (i = 0; i < MAX_TRACKED; i++) {
		if (!tracked[i].used) {
			tracked[i].kind = kind;
			tracked[i].id = id;
			tracked[i].used = true;
			return;
		}
	}
	fprintf(stderr, "test_track: too many objects\n");
	exit(1);
}

void test_untrack(enum ipcore_kind kind, int id)
{
	int i;

	for (i = 0; i < MAX_TRACKED; i++) {
		if (tracked[i].used && tracked[i].kind == kind &&
		    tracked[i].id == id)
			tracked[i].used = false;
	}
}

void test_remove(enum ipcore_kind kind, int id)
{
	CHECK_RC(ipcore_remove(kind, id), 0);
	test_untrack(kind, id);
}

int test_done(void)
{
	static const enum ipcore_kind kinds[] = { IPCORE_SEM, IPCORE_SHM,
						  IPCORE_MQ };
	size_t i, k;

	/* Every test removes what it made: the namespace must be empty. */
	for (k = 0; k < 3; k++) {
		struct ipcore_entry *e = NULL;
		size_t n = 0;
		int rc = ipcore_list(kinds[k], &e, &n);

		CHECK_RC(rc, 0);
		if (rc)
			continue;
		for (i = 0; i < n; i++) {
			fprintf(stderr, "%s: left behind: %s id %d key %d\n",
				test_name, ipcore_kind_name(kinds[k]), e[i].id,
				(int)e[i].key);
			test_failures++;
		}
		free(e);
	}
	if (test_failures) {
		fprintf(stderr, "%s: %d check(s) failed\n", test_name,
			test_failures);
		return 1;
	}
	printf("%s: all checks passed\n", test_name);
	return 0;
}

double test_now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec * 1e3 + (double)ts.tv_nsec / 1e6;
}

void test_sleep_ms(long ms)
{
	struct timespec ts = { ms / 1000, (ms % 1000) * 1000000L };

	while (nanosleep(&ts, &ts) < 0 && errno == EINTR)
		;
}

pid_t test_fork(int (*fn)(void *arg), void *arg)
{
	pid_t parent = getpid();
	pid_t pid = fork();

	if (pid == 0) {
		/* A child blocked on an object must not outlive a parent
		 * that was killed (by a timeout, say). */
		prctl(PR_SET_PDEATHSIG, SIGKILL);
		if (getppid() != parent)
			_exit(98);
		test_failures = 0;
		/* _exit: the parent's exit handlers (cleanup) must not run. */
		_exit(fn(arg) & 0x7f);
	}
	return pid;
}

int test_wait(pid_t pid)
{
	int status;

	if (pid < 0)
		return -1;
	while (waitpid(pid, &status, 0) < 0) {
		if (errno != EINTR)
			return -1;
	}
	if (WIFEXITED(status))
		return WEXITSTATUS(status);
	return 100 + (WIFSIGNALED(status) ? WTERMSIG(status) : 0);
}

bool test_wait_sleeping(pid_t pid)
{
	char path[64], stat[512];
	int i;

	snprintf(path, sizeof(path), "/proc/%d/stat", (int)pid);
	for (i = 0; i < 500; i++) {
		FILE *f = fopen(path, "re");
		char *close_paren;

		if (f) {
			size_t n = fread(stat, 1, sizeof(stat) - 1, f);

			fclose(f);
			stat[n] = '\0';
			/* "pid (comm) S ...": the state follows the last ')'. */
			close_paren = strrchr(stat, ')');
			if (close_paren && close_paren[1] == ' ' &&
			    close_paren[2] == 'S')
				return true;
		}
		test_sleep_ms(10);
	}
	return false;
}

struct nobody_call {
	int (*fn)(void *arg);
	void *arg;
};

static int run_as_nobody(void *arg)
{
	struct nobody_call *call = arg;

	if (setgroups(0, NULL) < 0 || setgid(TEST_NOBODY) < 0 ||
	    setuid(TEST_NOBODY) < 0) {
		fprintf(stderr, "cannot become nobody: %s\n", strerror(errno));
		return 99;
	}
	return call->fn(call->arg);
}

int test_as_nobody(int (*fn)(void *arg), void *arg)
{
	struct nobody_call call = { fn, arg };

	return test_wait(test_fork(run_as_nobody, &call));
}

static void on_alarm(int sig)
{
	(void)sig;
	test_alarms++;
}

void test_alarm_ms(long ms)
{
	struct sigaction sa;
	struct itimerval it = { { 0, 0 }, { ms / 1000, (ms % 1000) * 1000 } };

	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = on_alarm;
	sa.sa_flags = 0; /* no SA_RESTART: the wait must see EINTR */
	sigemptyset(&sa.sa_mask);
	sigaction(SIGALRM, &sa, NULL);
	setitimer(ITIMER_REAL, &it, NULL);
}
