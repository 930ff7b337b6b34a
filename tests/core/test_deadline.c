/*
 * Deadlines and timespec conversion, and the retry-after-EINTR pattern they
 * exist for.
 */
#include "testutil.h"
#include "config.h"

#include <errno.h>
#include <math.h>
#include <stdint.h>

#define MS (1000000L)

static double ts_ms(const struct timespec *ts)
{
	return (double)ts->tv_sec * 1e3 + (double)ts->tv_nsec / 1e6;
}

#define CHECK_TS(ts, sec, nsec)                                             \
	do {                                                                \
		struct timespec t_ = (ts);                                  \
		CHECK_RC(t_.tv_sec, (sec));                                 \
		CHECK_RC(t_.tv_nsec, (nsec));                               \
	} while (0)

static void test_from_seconds(void)
{
	struct timespec big;

	CHECK_TS(ipcore_timespec_from_seconds(0), 0, 0);
	CHECK_TS(ipcore_timespec_from_seconds(1.5), 1, 500 * MS);
	CHECK_TS(ipcore_timespec_from_seconds(0.05), 0, 50 * MS);
	CHECK_TS(ipcore_timespec_from_seconds(1e-9), 0, 1);
	CHECK_TS(ipcore_timespec_from_seconds(2.9999999999), 3, 0);
	CHECK_TS(ipcore_timespec_from_seconds(86400.25), 86400, 250 * MS);
	/* Outside the contract, but never undefined behaviour. */
	CHECK_TS(ipcore_timespec_from_seconds(-1.0), 0, 0);
	CHECK_TS(ipcore_timespec_from_seconds(NAN), 0, 0);
	big = ipcore_timespec_from_seconds(INFINITY);
	CHECK(big.tv_sec > (time_t)1 << 60);
	CHECK(big.tv_nsec >= 0 && big.tv_nsec < 1000 * MS);
	big = ipcore_timespec_from_seconds(1e300);
	CHECK(big.tv_sec > (time_t)1 << 60);
}

static void test_deadline(void)
{
	struct ipcore_deadline dl;
	struct timespec left = { -1, -1 };
	struct timespec t100 = { 0, 100 * MS };
	struct timespec huge = { INT64_MAX, 999999999 };
	const struct timespec *p;

	ipcore_deadline_start(&dl, NULL);
	CHECK(dl.forever);
	CHECK(ipcore_deadline_left(&dl, &left) == NULL);

	ipcore_deadline_start(&dl, &t100);
	CHECK(!dl.forever);
	p = ipcore_deadline_left(&dl, &left);
	CHECK(p == &left);
	CHECK(ts_ms(&left) <= 100.0 && ts_ms(&left) > 50.0);
	CHECK(left.tv_nsec >= 0 && left.tv_nsec < 1000 * MS);
	test_sleep_ms(60);
	p = ipcore_deadline_left(&dl, &left);
	CHECK(p == &left);
	CHECK(ts_ms(&left) <= 40.0);
	test_sleep_ms(50);
	p = ipcore_deadline_left(&dl, &left);
	CHECK(p == &left);
	CHECK_RC(left.tv_sec, 0);
	CHECK_RC(left.tv_nsec, 0);

	/* A timeout near the end of time_t neither overflows (UBSan would
	 * say) nor turns into the past. */
	ipcore_deadline_start(&dl, &huge);
	CHECK(!dl.forever);
	CHECK(ipcore_deadline_left(&dl, &left) == &left);
	CHECK(left.tv_sec > (time_t)1 << 60);
}

/*
 * The pattern deadlines serve: a 150 ms wait interrupted after 40 ms and
 * retried with what is left still times out at about 150 ms in total.
 */
static void test_retry_pattern(void)
{
	struct timespec t150 = { 0, 150 * MS }, left;
	struct ipcore_deadline dl;
	struct ipcore_object o;
	double t0, elapsed;
	int rc, tries = 0;

	REQUIRE(ipcore_sem_get(IPC_PRIVATE, IPCORE_KEY_GIVEN, 1,
			       IPC_CREAT | IPC_EXCL, 0600, &o) == 0);
	test_track(IPCORE_SEM, o.id);

	test_alarms = 0;
	t0 = test_now_ms();
	ipcore_deadline_start(&dl, &t150);
	test_alarm_ms(40);
	do {
		tries++;
		rc = ipcore_sem_op(o.id, 0, -1, 0,
				   ipcore_deadline_left(&dl, &left));
	} while (rc == -EINTR && tries < 10);
	elapsed = test_now_ms() - t0;

	CHECK_RC(rc, -EAGAIN);
	CHECK_RC(tries, 2);
	CHECK_RC(test_alarms, 1);
	CHECK(elapsed >= 150.0);
	CHECK(elapsed < 1000.0);
	test_remove(IPCORE_SEM, o.id);
}

int main(void)
{
	test_init("test_deadline");
	test_from_seconds();
	test_deadline();
#if HAVE_SEMTIMEDOP
	test_retry_pattern();
#endif
	return test_done();
}
