/*
 * ask.c: owns interactive questions on stdin/stdout.  Each question shows
 * its default, an empty answer takes it, a bad answer is refused with the
 * reason (on stderr) and asked again; end of file is reported to the
 * caller, who decides what it means.
 */
#ifdef HAVE_CONFIG_H
#include "config.h"
#endif

#include <stdio.h>
#include <string.h>

#include "ask.h"
#include "conf.h"
#include "net.h"

/*
 * Print prompt and read one line without its newline.  Returns the
 * length, or -1 at end of file.  A line longer than the buffer is
 * refused and asked again.
 */
int
ask_line(const char *prompt, char *buf, size_t len)
{
	int ch;
	size_t n;

	for (;;) {
		fputs(prompt, stdout);
		fflush(stdout);
		if (fgets(buf, (int)len, stdin) == NULL)
			return -1;
		n = strcspn(buf, "\n");
		if (buf[n] == '\n' || feof(stdin)) {
			buf[n] = '\0';
			return (int)n;
		}
		while ((ch = getchar()) != EOF && ch != '\n')
			;
		fprintf(stderr, "answer too long (at most %zu bytes)\n",
		    len - 2);
	}
}

/* Ask for a port; 1 with *port set, 0 at end of file. */
int
ask_port(const char *prog, int def, int *port)
{
	char prompt[32], buf[64];
	const char *why;

	snprintf(prompt, sizeof(prompt), "Port [%d]: ", def);
	for (;;) {
		if (ask_line(prompt, buf, sizeof(buf)) == -1)
			return 0;
		if (buf[0] == '\0') {
			*port = def;
			return 1;
		}
		if (conf_parse_port(buf, port, &why) == 0)
			return 1;
		fprintf(stderr, "%s: bad port \"%s\": %s\n", prog, buf, why);
	}
}

/* Ask for a host name or address that resolves; 1 on success, 0 at EOF. */
int
ask_host(const char *prog, const char *def, char *host, size_t len)
{
	char prompt[300], err[512];

	snprintf(prompt, sizeof(prompt), "Host [%s]: ", def);
	for (;;) {
		if (ask_line(prompt, host, len) == -1)
			return 0;
		if (host[0] == '\0')
			strlcpy(host, def, len);
		if (net_resolvable(host, err, sizeof(err)))
			return 1;
		fprintf(stderr, "%s: %s\n", prog, err);
	}
}
