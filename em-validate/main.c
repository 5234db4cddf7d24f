/* main.c - em-validate: check JSON documents against a JSON Schema 2020-12 */
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <jansson.h>

#include "core/diag.h"
#include "meta/jschema.h"
#include "core/jsonio.h"
#include "meta/record.h"
#include "tool/tool.h"
#include "core/banned.h"

/* One document (one JSON text) may be at most this long. */
#define MAX_TEXT (64UL << 20)
/* A schema file may be at most this long. */
/* Errors shown per invalid document; the rest are counted. */
#define MAX_ERRORS 20

#define DEFAULT_SCHEMA "schemas/metadata_schema.json"

struct opts {
	int quiet;
	int verbose;
	int filter;
};

struct totals {
	unsigned long docs, invalid;
};

static void
usage(FILE *fp, int status)
{
	fprintf(fp, "usage: em-validate [-qv] [-s schema] [--filter] [file ...]\n"
	    "       em-validate --help | --version\n");
	if (fp == stdout)
		fprintf(fp,
		    "Check each JSON text of the files (or stdin, or -) against a JSON Schema 2020-12.\n"
		    "  -s, --schema FILE  the schema (default $EM_SCHEMA, else %s)\n"
		    "      --filter       copy valid documents to stdout, one per line; report on stderr\n"
		    "  -q, --quiet        no report of invalid documents, only the exit status\n"
		    "  -v, --verbose      also the schema location of each error and a summary\n"
		    "      --help, --version\n"
		    "Exit 0 all valid, 1 some invalid or unreadable, 2 usage or schema error.\n",
		    DEFAULT_SCHEMA);
	exit(status);
}

/*
 * The document as read, minus the whitespace between tokens: one line,
 * with every string, number and key exactly as the producer wrote it
 * (re-encoding would turn 0.1 into 0.10000000000000001).
 */
static int
write_compact(FILE *fp, const char *s, size_t n)
{
	size_t i;
	int instr = 0;

	for (i = 0; i < n; i++) {
		char ch = s[i];

		if (instr) {
			if (ch == '\\' && i + 1 < n) {
				putc(ch, fp);
				ch = s[++i];
			} else if (ch == '"') {
				instr = 0;
			}
		} else if (ch == ' ' || ch == '\t' || ch == '\n' || ch == '\r') {
			continue;
		} else if (ch == '"') {
			instr = 1;
		}
		putc(ch, fp);
	}
	putc('\n', fp);
	return ferror(fp) ? -1 : 0;
}

/* The report of one invalid document: "input:N: pointer: keyword: message". */
static void
report(const struct opts *o, const char *input, unsigned long n,
    const struct em_jschema_errors *errs)
{
	FILE *fp = o->filter ? stderr : stdout;
	const char *pfx = o->filter ? em_progname() : NULL;
	size_t i;

	if (o->quiet)
		return;
	for (i = 0; i < errs->n; i++) {
		const struct em_jschema_error *e = &errs->v[i];

		fprintf(fp, "%s%s%s:%lu: %s: %s: %s", pfx ? pfx : "", pfx ? ": " : "", input, n,
		    e->pointer[0] != '\0' ? e->pointer : "(root)", e->keyword, e->message);
		if (o->verbose)
			fprintf(fp, " (schema %s)", e->schema_path);
		putc('\n', fp);
	}
	if (errs->dropped > 0)
		fprintf(fp, "%s%s%s:%lu: (%zu more errors not shown)\n", pfx ? pfx : "",
		    pfx ? ": " : "", input, n, errs->dropped);
}

/* 0 every document valid, 1 some invalid or the input unreadable or malformed. */
static int
check_input(const struct em_jschema *schema, const struct opts *o, const char *path,
    struct totals *t)
{
	int stdin_input = strcmp(path, "-") == 0;
	const char *input = stdin_input ? "<stdin>" : path;
	struct em_jschema_errors errs = EM_JSCHEMA_ERRORS_INIT(MAX_ERRORS);
	struct em_json_reader *r = NULL;
	json_t *doc = NULL;
	int fd, rc, status = 0, v;

	fd = stdin_input ? 0 : open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0) {
		em_err("cannot read '%s': %s", path, strerror(errno));
		return 1;
	}
	if ((r = em_json_reader_new(fd, input, MAX_TEXT)) == NULL) {
		em_err("cannot read '%s': %s", input, em_errmsg());
		status = 1;
		goto out;
	}
	em_json_reader_keep_text(r, o->filter);
	while ((rc = em_json_reader_next(r, &doc)) == 1) {
		unsigned long n = em_json_reader_count(r);

		t->docs++;
		v = em_jschema_validate(schema, doc, &errs);
		if (v < 0) {
			em_err("cannot validate '%s:%lu': %s", input, n, em_errmsg());
			status = 1;
			t->invalid++;
		} else if (v == 0) {
			report(o, input, n, &errs);
			status = 1;
			t->invalid++;
		} else if (o->filter) {
			size_t len;
			const char *text = em_json_reader_text(r, &len);

			/* Flushed per document: the next stage of a pipe sees each record at once. */
			if (write_compact(stdout, text, len) < 0 || fflush(stdout) != 0) {
				status = 1;
				break;
			}
		}
		em_jschema_errors_reset(&errs);
		json_decref(doc);
		doc = NULL;
	}
	if (rc < 0) {
		const char *msg = em_errmsg();
		size_t k = strlen(input);

		/* The reader's reason starts with the input's name, said once already. */
		if (strncmp(msg, input, k) == 0 && strncmp(msg + k, ": ", 2) == 0)
			msg += k + 2;
		em_err("cannot read '%s': %s", input, msg);
		status = 1;
	}
out:
	em_jschema_errors_reset(&errs);
	json_decref(doc);
	em_json_reader_free(r);
	if (!stdin_input)
		close(fd);
	return status;
}

int
main(int argc, char **argv)
{
	static const struct option longopts[] = {
		{ "schema", required_argument, NULL, 's' },
		{ "filter", no_argument, NULL, 'F' },
		EM_TOOL_LONGOPTS,
	};
	struct opts o = { 0, 0, 0 };
	struct totals t = { 0, 0 };
	struct em_jschema *schema = NULL;
	const char *schema_path = NULL;
	char found[PATH_MAX];
	int ch, i, status = EM_EXIT_OK;

	em_tool_begin(argv[0]);
	while ((ch = getopt_long(argc, argv, "s:qv", longopts, NULL)) != -1) {
		switch (ch) {
		case 's':
			schema_path = optarg;
			break;
		case 'F':
			o.filter = 1;
			break;
		case 'q':
			o.quiet = 1;
			em_tool_option(ch, usage);
			break;
		case 'v':
			o.verbose++;
			em_tool_option(ch, usage);
			break;
		default:
			em_tool_option(ch, usage);
		}
	}
	argc -= optind;
	argv += optind;

	if ((schema = em_record_schema_load(schema_path, found, sizeof(found), NULL)) == NULL) {
		em_err("%s", em_errmsg());
		return em_tool_end(EM_EXIT_USAGE);
	}
	em_debug("schema '%s'", found);

	if (argc == 0) {
		status |= check_input(schema, &o, "-", &t);
	} else {
		for (i = 0; i < argc; i++)
			status |= check_input(schema, &o, argv[i], &t);
	}
	if (o.verbose)
		em_log(EM_LOG_INFO, "%lu documents, %lu valid, %lu invalid", t.docs,
		    t.docs - t.invalid, t.invalid);
	em_jschema_free(schema);
	return em_tool_end(status ? EM_EXIT_FAIL : EM_EXIT_OK);
}
