// What the stand-in syz-execprog and syz-executor share: the message
// format between them, the syscall table, and syzkaller-style logging.
//
// Messages from execprog to the executor, one per program, as text lines:
//   prog NCALLS
//   call NR NARGS ARG...      ARG: iHEX (integer), rN (result of call N),
//                             bHEX (bytes placed in a buffer; "b" alone: an
//                             empty zeroed buffer)
//   end
// The executor answers "done NCALLS" when the program has run.
#ifndef STANDIN_H
#define STANDIN_H

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

// syz-executor's exit status when it fails (syzkaller's kFailStatus).
#define FAIL_STATUS 67
// Arguments of one call: x86-64 syscalls take at most six.
#define MAX_ARGS 6
// Size of the zeroed buffer given for a pointer without data.
#define DEFAULT_BUFFER 4096

struct syscall_entry {
	const char* name;
	long nr;
};

// The calls the stand-in knows (x86-64 numbers), by syzkaller's base name
// (what comes before the `$`).
static const struct syscall_entry syscall_table[] = {
    {"read", 0},	 {"write", 1},	       {"open", 2},	       {"close", 3},
    {"stat", 4},	 {"fstat", 5},	       {"lseek", 8},	       {"mmap", 9},
    {"mprotect", 10},	 {"munmap", 11},       {"ioctl", 16},	       {"pread64", 17},
    {"pwrite64", 18},	 {"pipe", 22},	       {"sched_yield", 24},    {"mremap", 25},
    {"madvise", 28},	 {"dup", 32},	       {"dup2", 33},	       {"getpid", 39},
    {"socket", 41},	 {"connect", 42},      {"sendto", 44},	       {"recvfrom", 45},
    {"bind", 49},	 {"listen", 50},       {"fcntl", 72},	       {"fsync", 74},
    {"ftruncate", 77},	 {"mkdir", 83},	       {"unlink", 87},	       {"getuid", 102},
    {"prctl", 157},	 {"gettid", 186},      {"timerfd_create", 283}, {"eventfd2", 290},
    {"epoll_create1", 291}, {"dup3", 292},     {"pipe2", 293},	       {"memfd_create", 319},
    {"openat", 257},	 {"close_range", 436},
};

static inline long syscall_number(const char* name, size_t len)
{
	for (size_t i = 0; i < sizeof(syscall_table) / sizeof(syscall_table[0]); i++) {
		if (strlen(syscall_table[i].name) == len && memcmp(syscall_table[i].name, name, len) == 0)
			return syscall_table[i].nr;
	}
	return -1;
}

// Writes one whole message at once, so that lines of parallel workers do
// not interleave.
static inline void write_all(int fd, const char* text, size_t len)
{
	while (len > 0) {
		ssize_t n = write(fd, text, len);
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			return;
		text += n;
		len -= (size_t)n;
	}
}

// A line of Go's standard logger, as syzkaller's tools print them:
// "2006/01/02 15:04:05 message".
static inline void logf_to(int fd, const char* format, ...)
{
	char line[1 << 16];
	time_t now = time(NULL);
	struct tm tm;
	localtime_r(&now, &tm);
	size_t at = strftime(line, sizeof(line), "%Y/%m/%d %H:%M:%S ", &tm);
	va_list args;
	va_start(args, format);
	int n = vsnprintf(line + at, sizeof(line) - at - 1, format, args);
	va_end(args);
	if (n < 0)
		n = 0;
	at += (size_t)n < sizeof(line) - at - 1 ? (size_t)n : sizeof(line) - at - 2;
	if (line[at - 1] != '\n')
		line[at++] = '\n';
	write_all(fd, line, at);
}

#endif
