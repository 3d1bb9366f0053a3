// Stand-in syz-execprog: the flags, exit statuses and console lines of
// syzkaller's execprog, running a small subset of syz programs through the
// stand-in syz-executor with real syscalls.
//
// Usage: syz-execprog [flags] PROGRAM...
// Flags are parsed as Go's flag package parses them (-name=value,
// -name value, bare booleans, "--" ends them; an unknown flag prints the
// error and the usage and exits 2; -help prints the usage and exits 0).
// Fatal errors print a logger line and exit 1; an executor that cannot be
// kept running ends it with "SYZFATAL: ...".
//
// Programs: one per file; lines `[rN = ]name[$variant](arg, ...)`, `#`
// comments. The base name (before `$`) picks an x86-64 syscall from
// standin.h's table; arguments are integers (hex or decimal), results of
// earlier calls (rN), or pointers (`&(addr)=...`) to a buffer holding a
// 'string' or "hex" value (zeroed when the value is anything else); other
// forms (nil, AUTO, structs) are 0.
#define _GNU_SOURCE
#include <fcntl.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <sys/wait.h>

#include "standin.h"

enum flag_kind { FLAG_BOOL, FLAG_INT, FLAG_STRING };

struct flag {
	const char* name;
	enum flag_kind kind;
	const char* def;
	const char* usage;
	long long ival;
	const char* sval;
};

// Sorted by name, as Go prints them.
static struct flag flags[] = {
    {"arch", FLAG_STRING, "amd64", "target arch", 0, 0},
    {"collide", FLAG_BOOL, "false", "(DEPRECATED) collide syscalls to provoke data races", 0, 0},
    {"cover", FLAG_BOOL, "false", "collect feedback signals (coverage)", 0, 0},
    {"debug", FLAG_BOOL, "false", "debug output from executor", 0, 0},
    {"executor", FLAG_STRING, "./syz-executor", "path to executor binary", 0, 0},
    {"fault_call", FLAG_INT, "-1", "inject fault into this call (0-based)", 0, 0},
    {"fault_nth", FLAG_INT, "0", "inject fault on n-th operation (0-based)", 0, 0},
    {"optional", FLAG_STRING, "", "optional flags for programmatic use only", 0, 0},
    {"os", FLAG_STRING, "linux", "target os", 0, 0},
    {"output", FLAG_BOOL, "false", "write programs and results to stdout", 0, 0},
    {"procs", FLAG_INT, "1", "number of parallel processes to execute programs", 0, 0},
    {"repeat", FLAG_INT, "1", "repeat execution that many times (0 for infinite loop)", 0, 0},
    {"sandbox", FLAG_STRING, "none", "sandbox for fuzzing (none/setuid/namespace/android)", 0, 0},
    {"sandbox_arg", FLAG_INT, "0", "argument for sandbox runner to adjust it via config", 0, 0},
    {"slowdown", FLAG_INT, "1", "execution slowdown caused by emulation/instrumentation", 0, 0},
    {"threaded", FLAG_BOOL, "true", "use threaded mode in executor", 0, 0},
};
#define NFLAGS (sizeof(flags) / sizeof(flags[0]))

static void fatalf(const char* format, ...)
{
	char text[4096];
	va_list args;
	va_start(args, format);
	vsnprintf(text, sizeof(text), format, args);
	va_end(args);
	logf_to(2, "%s", text);
	exit(1);
}

static void usage(void)
{
	fprintf(stderr, "usage: execprog [flags] file-with-programs+\n");
	for (size_t i = 0; i < NFLAGS; i++) {
		const struct flag* f = &flags[i];
		const char* type = f->kind == FLAG_INT ? " int" : f->kind == FLAG_STRING ? " string" : "";
		fprintf(stderr, "  -%s%s\n    \t%s", f->name, type, f->usage);
		int zero = !strcmp(f->def, "") || !strcmp(f->def, "0") || !strcmp(f->def, "false");
		if (!zero)
			fprintf(stderr, f->kind == FLAG_STRING ? " (default \"%s\")" : " (default %s)", f->def);
		fprintf(stderr, "\n");
	}
}

static void flag_error(const char* format, const char* a, const char* b)
{
	fprintf(stderr, format, a, b);
	fprintf(stderr, "\n");
	usage();
	exit(2);
}

static struct flag* lookup(const char* name, size_t len)
{
	for (size_t i = 0; i < NFLAGS; i++) {
		if (strlen(flags[i].name) == len && !strncmp(flags[i].name, name, len))
			return &flags[i];
	}
	return NULL;
}

// strconv.ParseBool's spellings.
static int parse_bool(const char* s, long long* out)
{
	static const char* yes[] = {"1", "t", "T", "TRUE", "true", "True"};
	static const char* no[] = {"0", "f", "F", "FALSE", "false", "False"};
	for (int i = 0; i < 6; i++) {
		if (!strcmp(s, yes[i]))
			return *out = 1, 0;
		if (!strcmp(s, no[i]))
			return *out = 0, 0;
	}
	return -1;
}

// Sets a flag from text; returns -1 when the text is no value of its type.
static int set_flag(struct flag* f, const char* value)
{
	if (f->kind == FLAG_STRING) {
		f->sval = value;
		return 0;
	}
	if (f->kind == FLAG_BOOL)
		return parse_bool(value, &f->ival);
	char* end = NULL;
	errno = 0;
	f->ival = strtoll(value, &end, 0);
	return (*value && end && !*end && !errno) ? 0 : -1;
}

// Go's FlagSet.Parse; returns the index of the first argument after the flags.
static int parse_flags(int argc, char** argv)
{
	for (size_t i = 0; i < NFLAGS; i++) {
		if (set_flag(&flags[i], flags[i].def))
			abort();
	}
	int i = 1;
	while (i < argc) {
		const char* s = argv[i];
		if (strlen(s) < 2 || s[0] != '-')
			break;
		int minuses = s[1] == '-' ? 2 : 1;
		if (minuses == 2 && s[2] == 0)
			return i + 1;
		const char* name = s + minuses;
		if (!*name || *name == '-' || *name == '=')
			flag_error("bad flag syntax: %s%s", s, "");
		i++;
		const char* eq = strchr(name, '=');
		size_t len = eq ? (size_t)(eq - name) : strlen(name);
		struct flag* f = lookup(name, len);
		if (!f) {
			if ((len == 4 && !strncmp(name, "help", 4)) || (len == 1 && name[0] == 'h')) {
				usage();
				exit(0);
			}
			char unknown[256];
			snprintf(unknown, sizeof(unknown), "%.*s", (int)len, name);
			flag_error("flag provided but not defined: -%s%s", unknown, "");
		}
		const char* value = eq ? eq + 1 : NULL;
		if (f->kind == FLAG_BOOL && !value)
			value = "true";
		if (!value && i < argc)
			value = argv[i++];
		if (!value)
			flag_error("flag needs an argument: -%s%s", f->name, "");
		if (set_flag(f, value)) {
			const char* format = f->kind == FLAG_BOOL ? "invalid boolean value \"%s\" for -%s: parse error"
								  : "invalid value \"%s\" for flag -%s: parse error";
			flag_error(format, value, f->name);
		}
	}
	return i;
}

static struct flag* flag_named(const char* name)
{
	struct flag* f = lookup(name, strlen(name));
	if (!f)
		abort();
	return f;
}

static int hex_digit(char c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	if (c >= 'A' && c <= 'F')
		return c - 'A' + 10;
	return -1;
}

// -optional=name=HEX:name=HEX: flags set only where this execprog knows
// them (values hex-encoded, as syzkaller's tools encode them).
static void apply_optional(const char* spec)
{
	if (!*spec)
		return;
	char* copy = strdup(spec);
	char* save = NULL;
	for (char* item = strtok_r(copy, ":", &save); item; item = strtok_r(NULL, ":", &save)) {
		char* eq = strchr(item, '=');
		if (!eq)
			fatalf("failed to parse optional flags \"%s\": no eq", spec);
		*eq = 0;
		const char* hex = eq + 1;
		size_t len = strlen(hex);
		if (len % 2)
			fatalf("failed to parse optional flags \"%s\": odd length hex value of %s", spec, item);
		char* value = calloc(1, len / 2 + 1);
		for (size_t j = 0; j < len; j += 2) {
			int hi = hex_digit(hex[j]), lo = hex_digit(hex[j + 1]);
			if (hi < 0 || lo < 0)
				fatalf("failed to parse optional flags \"%s\": bad hex value of %s", spec, item);
			value[j / 2] = (char)(hi * 16 + lo);
		}
		struct flag* f = lookup(item, strlen(item));
		if (!f || !strcmp(item, "optional")) {
			logf_to(2, "ignoring optional flag \"%s\"=\"%s\"", item, value);
			continue;
		}
		if (set_flag(f, value))
			fatalf("invalid value \"%s\" for optional flag %s", value, item);
	}
}

static void check_flags(void)
{
	const char* arch = flag_named("arch")->sval;
	const char* os = flag_named("os")->sval;
	if (strcmp(os, "linux") || strcmp(arch, "amd64"))
		fatalf("unknown target: %s/%s", os, arch);
	const char* sandbox = flag_named("sandbox")->sval;
	if (strcmp(sandbox, "none") && strcmp(sandbox, "setuid") && strcmp(sandbox, "namespace") &&
	    strcmp(sandbox, "android"))
		fatalf("sandbox must contain one of none/setuid/namespace/android, got \"%s\"", sandbox);
	if (flag_named("procs")->ival < 1)
		fatalf("-procs must be at least 1, got %lld", flag_named("procs")->ival);
	if (flag_named("repeat")->ival < 0)
		fatalf("-repeat must not be negative, got %lld", flag_named("repeat")->ival);
	if (flag_named("slowdown")->ival < 1)
		fatalf("-slowdown must be at least 1, got %lld", flag_named("slowdown")->ival);
	if (flag_named("fault_call")->ival < -1 || flag_named("fault_nth")->ival < 0)
		fatalf("bad fault injection: -fault_call=%lld -fault_nth=%lld", flag_named("fault_call")->ival,
		       flag_named("fault_nth")->ival);
	if (flag_named("cover")->ival)
		fatalf("coverage is not supported by this syz-execprog");
}

static void check_executor(void)
{
	const char* executor = flag_named("executor")->sval;
	if (access(executor, X_OK))
		fatalf("failed to create execution environment: %s: %s", executor, strerror(errno));
}

// ---- programs ----

struct program {
	char* text; // the calls as written, for "executing program" lines
	char* message; // what the executor is sent
};

struct buffer {
	char* data;
	size_t len, cap;
};

static void append(struct buffer* b, const char* format, ...)
{
	va_list args;
	for (;;) {
		va_start(args, format);
		int n = vsnprintf(b->data + b->len, b->cap - b->len, format, args);
		va_end(args);
		if (n >= 0 && (size_t)n < b->cap - b->len) {
			b->len += (size_t)n;
			return;
		}
		b->cap = b->cap * 2 + (size_t)(n > 0 ? n : 0) + 64;
		b->data = realloc(b->data, b->cap);
		if (!b->data)
			abort();
	}
}

struct parse_error {
	const char* file;
	int line;
};

static void parse_fail(const struct parse_error* at, const char* what, const char* detail)
{
	fatalf("failed to parse program %s:%d: %s%s", at->file, at->line, what, detail);
}

// The end of the argument starting at s: the next top-level ',' or ')'.
static const char* arg_end(const char* s, const struct parse_error* at)
{
	int depth = 0;
	for (; *s; s++) {
		char c = *s;
		if (c == '\'' || c == '"') {
			for (s++; *s && *s != c; s++) {
				if (*s == '\\' && s[1])
					s++;
			}
			if (!*s)
				parse_fail(at, "unterminated string", "");
		} else if (c == '(' || c == '[' || c == '{' || c == '<') {
			depth++;
		} else if (c == ')' || c == ']' || c == '}' || c == '>') {
			if (depth == 0)
				return s;
			depth--;
		} else if (c == ',' && depth == 0) {
			return s;
		}
	}
	parse_fail(at, "missing ')'", "");
	return s;
}

// Decodes a 'string' value (with \xNN and C escapes) as hex into out.
static void encode_string(const char* s, const char* end, struct buffer* out)
{
	for (s++; s < end && *s != '\''; s++) {
		unsigned char c = (unsigned char)*s;
		if (c == '\\' && s + 1 < end) {
			s++;
			switch (*s) {
			case 'x':
				if (s + 2 < end && hex_digit(s[1]) >= 0 && hex_digit(s[2]) >= 0) {
					c = (unsigned char)(hex_digit(s[1]) * 16 + hex_digit(s[2]));
					s += 2;
				} else {
					c = 'x';
				}
				break;
			case 'n': c = '\n'; break;
			case 't': c = '\t'; break;
			case 'r': c = '\r'; break;
			case '0': c = 0; break;
			default: c = (unsigned char)*s; break;
			}
		}
		append(out, "%02x", c);
	}
}

// One argument as the executor takes it (see standin.h).
static void encode_arg(const char* s, const char* end, const int* results, int nresults,
		       const struct parse_error* at, struct buffer* out)
{
	while (s < end && *s == ' ')
		s++;
	while (end > s && end[-1] == ' ')
		end--;
	char text[256];
	snprintf(text, sizeof(text), "%.*s", (int)(end - s), s);
	if (*s == '&') {
		const char* value = memchr(s, '=', (size_t)(end - s));
		append(out, " b");
		if (value && value[1] == '\'') {
			encode_string(value + 1, end, out);
		} else if (value && value[1] == '"') {
			for (const char* h = value + 2; h + 1 < end && *h != '"'; h += 2) {
				if (hex_digit(h[0]) < 0 || hex_digit(h[1]) < 0)
					parse_fail(at, "bad hex data in ", text);
				append(out, "%c%c", h[0] | 0x20, h[1] | 0x20);
			}
		}
		return;
	}
	if (*s == 'r' && s + 1 < end && s[1] >= '0' && s[1] <= '9') {
		int var = atoi(s + 1);
		if (var >= nresults || results[var] < 0)
			parse_fail(at, "undefined resource ", text);
		append(out, " r%d", results[var]);
		return;
	}
	if ((*s >= '0' && *s <= '9') || *s == '-') {
		char* stop = NULL;
		unsigned long long v = strtoull(text, &stop, 0);
		if (stop && !*stop) {
			append(out, " i%llx", v);
			return;
		}
		parse_fail(at, "bad integer ", text);
	}
	append(out, " i0"); // nil, AUTO, structs, unions: no value in the stand-in
}

#define MAX_RESULTS 1000

// Parses one call line into the message; returns the result variable it
// defines (-1 for none).
static int encode_call(const char* line, int index, int* results, const struct parse_error* at,
		       struct buffer* out)
{
	const char* s = line;
	int defines = -1;
	if (*s == 'r' && s[1] >= '0' && s[1] <= '9') {
		const char* eq = strstr(s, " = ");
		if (!eq)
			parse_fail(at, "expected ' = ' after ", "the result");
		defines = atoi(s + 1);
		if (defines >= MAX_RESULTS)
			parse_fail(at, "too many results", "");
		s = eq + 3;
	}
	const char* open = strchr(s, '(');
	if (!open)
		parse_fail(at, "expected '(' in ", line);
	const char* dollar = memchr(s, '$', (size_t)(open - s));
	size_t base = (size_t)((dollar ? dollar : open) - s);
	long nr = syscall_number(s, base);
	if (nr < 0) {
		char name[128];
		snprintf(name, sizeof(name), "%.*s", (int)(open - s), s);
		parse_fail(at, "unknown syscall ", name);
	}
	struct buffer args = {0};
	append(&args, "%s", "");
	int nargs = 0;
	const char* p = open + 1;
	while (*p == ' ')
		p++;
	if (*p != ')') {
		for (;;) {
			const char* end = arg_end(p, at);
			if (++nargs > MAX_ARGS)
				parse_fail(at, "more than 6 arguments in ", line);
			encode_arg(p, end, results, MAX_RESULTS, at, &args);
			p = end + 1;
			if (*end == ')')
				break;
		}
	} else {
		p++;
	}
	append(out, "call %ld %d%s\n", nr, nargs, args.data);
	free(args.data);
	if (defines >= 0)
		results[defines] = index;
	return defines;
}

static struct program load_program(const char* file)
{
	FILE* f = fopen(file, "r");
	if (!f)
		fatalf("failed to read program %s: %s", file, strerror(errno));
	struct buffer text = {0}, calls = {0};
	append(&text, "%s", "");
	append(&calls, "%s", "");
	int results[MAX_RESULTS];
	for (int i = 0; i < MAX_RESULTS; i++)
		results[i] = -1;
	struct parse_error at = {file, 0};
	char* line = NULL;
	size_t cap = 0;
	int ncalls = 0;
	ssize_t len;
	while ((len = getline(&line, &cap, f)) >= 0) {
		at.line++;
		while (len > 0 && (line[len - 1] == '\n' || line[len - 1] == '\r' || line[len - 1] == ' '))
			line[--len] = 0;
		const char* start = line;
		while (*start == ' ' || *start == '\t')
			start++;
		if (!*start || *start == '#')
			continue;
		encode_call(start, ncalls, results, &at, &calls);
		append(&text, "%s\n", start);
		ncalls++;
	}
	free(line);
	fclose(f);
	if (ncalls == 0)
		fatalf("failed to parse program %s: no calls", file);
	struct buffer message = {0};
	append(&message, "prog %d\n%send\n", ncalls, calls.data);
	free(calls.data);
	return (struct program){text.data, message.data};
}

// ---- execution ----

static struct program* programs;
static int nprograms;
static long long repeat, slowdown;
static pthread_mutex_t position_lock = PTHREAD_MUTEX_INITIALIZER;
static long long position;
static time_t last_print;

// The next program to run (an index into all runs), or -1 when -repeat
// runs are done; prints "executed programs: N" every few seconds, as the
// real execprog does.
static long long next_index(void)
{
	pthread_mutex_lock(&position_lock);
	long long index = position;
	int done = repeat > 0 && index >= (long long)nprograms * repeat;
	if (!done) {
		position++;
		time_t now = time(NULL);
		if (index % nprograms == 0 && (last_print == 0 || now - last_print >= 5)) {
			logf_to(2, "executed programs: %lld", index);
			last_print = now;
		}
	}
	pthread_mutex_unlock(&position_lock);
	return done ? -1 : index;
}

struct executor {
	pid_t pid;
	int to, from, errors;
};

static void start_executor(struct executor* ex)
{
	int in[2], out[2], err[2];
	if (pipe2(in, O_CLOEXEC) || pipe2(out, O_CLOEXEC) || pipe2(err, O_CLOEXEC))
		fatalf("failed to create pipes: %s", strerror(errno));
	char sandbox[64], threaded[32], slow[48];
	snprintf(sandbox, sizeof(sandbox), "sandbox=%s", flag_named("sandbox")->sval);
	snprintf(threaded, sizeof(threaded), "threaded=%lld", flag_named("threaded")->ival);
	snprintf(slow, sizeof(slow), "slowdown=%lld", slowdown);
	const char* path = flag_named("executor")->sval;
	pid_t pid = fork();
	if (pid < 0)
		fatalf("failed to start executor: %s", strerror(errno));
	if (pid == 0) {
		prctl(PR_SET_PDEATHSIG, SIGKILL);
		dup2(in[0], 0);
		dup2(out[1], 1);
		dup2(err[1], 2);
		char* argv[] = {(char*)path, "exec", sandbox, threaded, slow, NULL};
		execv(path, argv);
		fprintf(stderr, "failed to run %s: %s\n", path, strerror(errno));
		_exit(127);
	}
	close(in[0]);
	close(out[1]);
	close(err[1]);
	*ex = (struct executor){pid, in[1], out[0], err[0]};
}

// What the executor wrote on stderr (kept from the console, as the real
// execprog keeps it, and shown when it gives up): at most `size` bytes.
static void read_errors(int fd, char* text, size_t size)
{
	size_t got = 0;
	while (got < size - 1) {
		struct pollfd pfd = {fd, POLLIN, 0};
		if (poll(&pfd, 1, 1000) <= 0)
			break;
		ssize_t n = read(fd, text + got, size - 1 - got);
		if (n <= 0)
			break;
		got += (size_t)n;
	}
	text[got] = 0;
}

// Ends the executor; says how it ended ("executor 0: exit status 67",
// "executor 0: EOF") and what it wrote on stderr.
static void stop_executor(struct executor* ex, int pid_index, char* why, size_t size, char* errors,
			  size_t errors_size)
{
	close(ex->to);
	close(ex->from);
	int status = 0;
	// After an EOF it is on its way out: give it a moment to say how.
	pid_t got = 0;
	for (int i = 0; i < 100 && got == 0; i++) {
		got = waitpid(ex->pid, &status, WNOHANG);
		if (got == 0)
			usleep(10 * 1000);
	}
	if (got == 0) {
		kill(ex->pid, SIGKILL);
		waitpid(ex->pid, &status, 0);
		snprintf(why, size, "executor %d: EOF", pid_index);
	} else if (WIFEXITED(status)) {
		snprintf(why, size, "executor %d: exit status %d", pid_index, WEXITSTATUS(status));
	} else if (WIFSIGNALED(status)) {
		snprintf(why, size, "executor %d: signal: %s", pid_index, strsignal(WTERMSIG(status)));
	} else {
		snprintf(why, size, "executor %d: EOF", pid_index);
	}
	read_errors(ex->errors, errors, errors_size);
	close(ex->errors);
}

// Sends one program and waits for the executor's answer; 0 on success.
static int execute(struct executor* ex, const struct program* prog)
{
	write_all(ex->to, prog->message, strlen(prog->message));
	char reply[64];
	size_t got = 0;
	while (got < sizeof(reply) - 1) {
		struct pollfd pfd = {ex->from, POLLIN, 0};
		int ready = poll(&pfd, 1, (int)(20000 * slowdown));
		if (ready <= 0)
			return -1;
		ssize_t n = read(ex->from, reply + got, 1);
		if (n <= 0)
			return -1;
		if (reply[got++] == '\n')
			break;
	}
	reply[got] = 0;
	return strncmp(reply, "done ", 5) ? -1 : 0;
}

// Tries of one program before execprog gives up, as the real one.
#define MAX_TRIES 11

static void* run_proc(void* arg)
{
	int pid = (int)(long)arg;
	struct executor ex;
	char why[256], errors[4096];
	start_executor(&ex);
	for (;;) {
		long long index = next_index();
		if (index < 0)
			break;
		const struct program* prog = &programs[index % nprograms];
		logf_to(2, "executing program %d:\n%s", pid, prog->text);
		for (int tries = 1; execute(&ex, prog); tries++) {
			stop_executor(&ex, pid, why, sizeof(why), errors, sizeof(errors));
			if (tries >= MAX_TRIES)
				fatalf("SYZFATAL: executor %d failed %d times: %s\n%s", pid, tries, why, errors);
			if (tries > 3)
				usleep(100 * 1000);
			start_executor(&ex);
		}
	}
	stop_executor(&ex, pid, why, sizeof(why), errors, sizeof(errors));
	return NULL;
}

int main(int argc, char** argv)
{
	int first = parse_flags(argc, argv);
	apply_optional(flag_named("optional")->sval);
	if (first >= argc) {
		usage();
		exit(1);
	}
	check_flags();
	signal(SIGPIPE, SIG_IGN);
	nprograms = argc - first;
	programs = calloc((size_t)nprograms, sizeof(struct program));
	for (int i = 0; i < nprograms; i++)
		programs[i] = load_program(argv[first + i]);
	logf_to(2, "parsed %d programs", nprograms);
	check_executor();
	long long fault_call = flag_named("fault_call")->ival;
	if (fault_call >= 0)
		logf_to(2, "fault injection into call %lld (nth %lld) is not supported: calls run without it",
			fault_call, flag_named("fault_nth")->ival);
	repeat = flag_named("repeat")->ival;
	slowdown = flag_named("slowdown")->ival;
	long long procs = flag_named("procs")->ival;
	pthread_t* threads = calloc((size_t)procs, sizeof(pthread_t));
	for (long long p = 0; p < procs; p++) {
		if (pthread_create(&threads[p], NULL, run_proc, (void*)(long)p))
			fatalf("failed to start proc %lld", p);
	}
	for (long long p = 0; p < procs; p++)
		pthread_join(threads[p], NULL);
	return 0;
}
