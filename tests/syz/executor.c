// Stand-in syz-executor: runs the programs syz-execprog sends it (see
// standin.h for the messages), each in a child process, with real syscalls.
//
// Usage: syz-executor exec [sandbox=none|setuid|namespace|android]
//                          [threaded=0|1] [slowdown=N]
// Failures print "SYZFAIL: what" and "(errno N: text)" on stderr and exit
// with status 67, as syzkaller's executor does.
#define _GNU_SOURCE
#include <grp.h>
#include <pthread.h>
#include <signal.h>
#include <sys/prctl.h>
#include <sys/syscall.h>
#include <sys/wait.h>

#include "standin.h"

struct arg {
	char kind; // 'i' integer, 'r' result of an earlier call, 'b' buffer
	unsigned long value; // the integer or the call index
	unsigned char* bytes; // 'b': the buffer (at least DEFAULT_BUFFER bytes)
};

struct call {
	long nr;
	int nargs;
	struct arg args[MAX_ARGS];
	long result;
	int done;
};

struct options {
	const char* sandbox;
	int threaded;
	long slowdown;
};

static void fail(const char* format, ...)
{
	int saved = errno;
	char text[1024];
	va_list args;
	va_start(args, format);
	vsnprintf(text, sizeof(text), format, args);
	va_end(args);
	fprintf(stderr, "SYZFAIL: %s\n(errno %d: %s)\n", text, saved, strerror(saved));
	fflush(stderr);
	_exit(FAIL_STATUS);
}

static int hex_value(char c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	return -1;
}

static unsigned char* decode_bytes(const char* hex)
{
	size_t len = strlen(hex);
	if (len % 2)
		fail("bad message from syz-execprog: odd hex data");
	size_t size = len / 2 > DEFAULT_BUFFER ? len / 2 : DEFAULT_BUFFER;
	unsigned char* bytes = calloc(1, size);
	if (!bytes)
		fail("cannot allocate %zu bytes", size);
	for (size_t i = 0; i < len / 2; i++) {
		int hi = hex_value(hex[2 * i]), lo = hex_value(hex[2 * i + 1]);
		if (hi < 0 || lo < 0)
			fail("bad message from syz-execprog: bad hex data");
		bytes[i] = (unsigned char)(hi * 16 + lo);
	}
	return bytes;
}

static void parse_arg(const char* text, struct arg* arg, int call_index)
{
	char* end = NULL;
	arg->kind = text[0];
	switch (text[0]) {
	case 'i':
		arg->value = strtoul(text + 1, &end, 16);
		break;
	case 'r':
		arg->value = strtoul(text + 1, &end, 10);
		if (end && (long)arg->value >= call_index)
			fail("bad message from syz-execprog: result r%lu used before it exists", arg->value);
		break;
	case 'b':
		arg->bytes = decode_bytes(text + 1);
		return;
	default:
		break;
	}
	if (!end || end == text + 1 || *end)
		fail("bad message from syz-execprog: bad argument %s", text);
}

// Reads "call NR NARGS ARG..." into `call`.
static void parse_call(char* line, struct call* call, int index)
{
	char* save = NULL;
	char* word = strtok_r(line, " \n", &save);
	if (!word || strcmp(word, "call"))
		fail("bad message from syz-execprog: expected a call");
	char* nr = strtok_r(NULL, " \n", &save);
	char* nargs = strtok_r(NULL, " \n", &save);
	if (!nr || !nargs)
		fail("bad message from syz-execprog: short call line");
	call->nr = strtol(nr, NULL, 10);
	call->nargs = atoi(nargs);
	if (call->nargs < 0 || call->nargs > MAX_ARGS)
		fail("bad message from syz-execprog: %d arguments", call->nargs);
	for (int i = 0; i < call->nargs; i++) {
		char* text = strtok_r(NULL, " \n", &save);
		if (!text)
			fail("bad message from syz-execprog: missing argument");
		parse_arg(text, &call->args[i], index);
	}
	call->result = -1;
}

struct program {
	int ncalls;
	struct call* calls;
};

// Reads the next program; returns 0 at the end of input.
static int read_program(FILE* in, struct program* prog)
{
	char* line = NULL;
	size_t cap = 0;
	if (getline(&line, &cap, in) < 0) {
		free(line);
		return 0;
	}
	if (sscanf(line, "prog %d", &prog->ncalls) != 1 || prog->ncalls < 0 || prog->ncalls > 1000)
		fail("bad message from syz-execprog: %.*s", (int)strcspn(line, "\n"), line);
	prog->calls = calloc((size_t)prog->ncalls + 1, sizeof(struct call));
	if (!prog->calls)
		fail("cannot allocate a program");
	for (int i = 0; i < prog->ncalls; i++) {
		if (getline(&line, &cap, in) < 0)
			fail("bad message from syz-execprog: program cut short");
		parse_call(line, &prog->calls[i], i);
	}
	if (getline(&line, &cap, in) < 0 || strcmp(line, "end\n"))
		fail("bad message from syz-execprog: no end of program");
	free(line);
	return 1;
}

static struct program* running;

static void execute_call(struct call* call)
{
	unsigned long a[MAX_ARGS] = {0};
	for (int i = 0; i < call->nargs; i++) {
		struct arg* arg = &call->args[i];
		if (arg->kind == 'i')
			a[i] = arg->value;
		else if (arg->kind == 'r')
			a[i] = (unsigned long)running->calls[arg->value].result;
		else
			a[i] = (unsigned long)arg->bytes;
	}
	call->result = syscall(call->nr, a[0], a[1], a[2], a[3], a[4], a[5]);
	__atomic_store_n(&call->done, 1, __ATOMIC_RELEASE);
}

static void* call_thread(void* arg)
{
	execute_call(arg);
	return NULL;
}

static void sleep_ms(long ms)
{
	struct timespec ts = {ms / 1000, (ms % 1000) * 1000000};
	while (nanosleep(&ts, &ts) && errno == EINTR) {
	}
}

// Threaded mode, as syzkaller's: each call in a thread of its own, waited
// for a short while, so that a call that blocks does not stop the others.
static void execute_threaded(struct program* prog, long slowdown)
{
	for (int i = 0; i < prog->ncalls; i++) {
		pthread_t thread;
		if (pthread_create(&thread, NULL, call_thread, &prog->calls[i]))
			fail("pthread_create failed");
		pthread_detach(thread);
		for (long waited = 0; waited < 50 * slowdown; waited += 1) {
			if (__atomic_load_n(&prog->calls[i].done, __ATOMIC_ACQUIRE))
				break;
			sleep_ms(1);
		}
	}
	for (long waited = 0; waited < 1000 * slowdown; waited += 10) {
		int all = 1;
		for (int i = 0; i < prog->ncalls; i++)
			all &= __atomic_load_n(&prog->calls[i].done, __ATOMIC_ACQUIRE);
		if (all)
			break;
		sleep_ms(10);
	}
}

static void enter_sandbox(const char* sandbox)
{
	if (strcmp(sandbox, "setuid"))
		return; // none; namespace and android run as none in the stand-in
	const unsigned nobody = 65534;
	if (setgroups(0, NULL))
		fail("setgroups failed");
	if (setresgid(nobody, nobody, nobody))
		fail("setresgid failed");
	if (setresuid(nobody, nobody, nobody))
		fail("setresuid failed");
}

// Runs one program in a child process (killed when it takes too long) and
// returns the child's exit status.
static int run_program(struct program* prog, const struct options* opts)
{
	pid_t pid = fork();
	if (pid < 0)
		fail("clone failed");
	if (pid == 0) {
		prctl(PR_SET_PDEATHSIG, SIGKILL);
		enter_sandbox(opts->sandbox);
		running = prog;
		if (opts->threaded) {
			execute_threaded(prog, opts->slowdown);
		} else {
			for (int i = 0; i < prog->ncalls; i++)
				execute_call(&prog->calls[i]);
		}
		_exit(0);
	}
	int status = 0;
	for (long waited = 0;; waited += 10) {
		pid_t got = waitpid(pid, &status, WNOHANG);
		if (got == pid)
			break;
		if (got < 0 && errno != EINTR)
			fail("waitpid failed");
		if (waited >= 5000 * opts->slowdown) {
			kill(pid, SIGKILL);
			waitpid(pid, &status, 0);
			break;
		}
		sleep_ms(10);
	}
	return status;
}

static void free_program(struct program* prog)
{
	for (int i = 0; i < prog->ncalls; i++) {
		for (int j = 0; j < prog->calls[i].nargs; j++)
			free(prog->calls[i].args[j].bytes);
	}
	free(prog->calls);
}

static void parse_options(int argc, char** argv, struct options* opts)
{
	opts->sandbox = "none";
	opts->threaded = 1;
	opts->slowdown = 1;
	for (int i = 2; i < argc; i++) {
		if (!strncmp(argv[i], "sandbox=", 8))
			opts->sandbox = argv[i] + 8;
		else if (!strncmp(argv[i], "threaded=", 9))
			opts->threaded = atoi(argv[i] + 9);
		else if (!strncmp(argv[i], "slowdown=", 9))
			opts->slowdown = atol(argv[i] + 9);
		else
			fail("unknown executor option %s", argv[i]);
	}
	if (opts->slowdown < 1)
		fail("bad slowdown %ld", opts->slowdown);
}

int main(int argc, char** argv)
{
	if (argc < 2 || strcmp(argv[1], "exec")) {
		errno = EINVAL;
		fail("unknown command%s%s", argc < 2 ? "" : " ", argc < 2 ? "" : argv[1]);
	}
	// Dies with syz-execprog, as the real executor does.
	prctl(PR_SET_PDEATHSIG, SIGKILL);
	struct options opts;
	parse_options(argc, argv, &opts);
	struct program prog;
	while (read_program(stdin, &prog)) {
		int status = run_program(&prog, &opts);
		if (WIFEXITED(status) && WEXITSTATUS(status) == FAIL_STATUS)
			_exit(FAIL_STATUS); // the child said why (SYZFAIL)
		printf("done %d\n", prog.ncalls);
		fflush(stdout);
		free_program(&prog);
	}
	return 0;
}
