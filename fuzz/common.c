/* What the fuzz targets share (fuzz.h). */
#include "fuzz.h"

void fuzz_quiet_log(enum fuse_log_level level, const char *fmt, va_list ap)
{
	(void)level, (void)fmt, (void)ap;
}
