/* main.c - em-catalog: load records into the catalog database, query it, serve it read-only over HTTP */
#include <getopt.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <jansson.h>

#include "core/diag.h"
#include "meta/catdb.h"
#include "meta/catdb_load.h"
#include "meta/config.h"
#include "meta/record.h"
#include "tool/tool.h"
#include "catalog.h"
#include "core/banned.h"

#define DEFAULT_DB "catalog/catalog.db"
#define DEFAULT_LISTEN "127.0.0.1:8080"

enum {
	OPT_DB = 0x100, OPT_CONFIG, OPT_SCHEMA, OPT_JSON, OPT_TABLE, OPT_COUNT, OPT_LISTEN,
	OPT_HELP, OPT_VERSION, OPT_FILTER
};

static void
usage(FILE *fp, int status)
{
	fprintf(fp,
	    "usage: em-catalog load [-qv] [--db URL] [--config FILE] [--schema FILE] [file ... | data_root]\n"
	    "       em-catalog query [-qv] [--db URL] [--config FILE] [--json | --table] [--count]\n"
	    "           [--source NAME] [--id GLOB] [--status STATUS] [--modality NAME]\n"
	    "           [--organism NAME] [--license NAME] [--dtype TYPE] [--voxel-z MIN:MAX]\n"
	    "           [--voxel-y MIN:MAX] [--voxel-x MIN:MAX] [--shape-z MIN:MAX]\n"
	    "           [--shape-y MIN:MAX] [--shape-x MIN:MAX] [--min-bytes SIZE]\n"
	    "           [--max-bytes SIZE] [--text WORDS] [--since TIME] [--until TIME]\n"
	    "           [--sort FIELD] [--limit N]\n"
	    "       em-catalog serve [-qv] [--db URL] [--config FILE] [--listen ADDR:PORT]\n"
	    "       em-catalog --help | --version\n");
	if (fp == stdout)
		fprintf(fp,
		    "Keep every record in a database, SQLite or PostgreSQL, and query it.\n"
		    "  load    upsert records (files, JSON Lines, a data root searched for *.json,\n"
		    "          or stdin), each checked against the record schema first\n"
		    "  query   the records matching every filter given: JSON Lines, or a table\n"
		    "          when stdout is a terminal; --count prints their number\n"
		    "  serve   a read-only JSON API over HTTP (GET /records, /records/SOURCE/ID,\n"
		    "          /records/SOURCE/ID/history, /stats, /health, /openapi.json)\n"
		    "  --db URL          sqlite:PATH, PATH or postgresql://user@host:port/db (default\n"
		    "                    the configuration's catalog.db, else %s); a password\n"
		    "                    comes from PGPASSWORD, ~/.pgpass or a service file\n"
		    "  --voxel-z MIN:MAX nm (either side may be empty); --shape-z MIN:MAX voxels\n"
		    "  --id GLOB         * and ? match any text and any one character\n"
		    "  --text WORDS      every word in the description or title (ASCII case ignored)\n"
		    "  --since, --until  ingest time (RFC 3339 or YYYY-MM-DD): since <= t < until\n"
		    "  --sort FIELD      source, id, status, modality, organism, license, dtype,\n"
		    "                    voxel_z, voxel_y, voxel_x, shape_z, shape_y, shape_x, bytes or\n"
		    "                    ingested; -FIELD descending (default source, then id)\n"
		    "  --listen ADDR:PORT  where serve listens (default %s; port 0 picks one)\n"
		    "Exit 0 done, 1 a runtime failure or records not loaded, 2 usage.\n",
		    DEFAULT_DB, DEFAULT_LISTEN);
	exit(status);
}

struct opts {
	const char *cmd;
	const char *db;
	const char *config;
	const char *schema;
	const char *listen;
	int json, table, count, quiet, verbose;
	struct em_catdb_query q;
};

/* Which command takes which option (the filters belong to query). */
static int
allowed(const char *cmd, int opt)
{
	if (opt == OPT_DB || opt == OPT_CONFIG || opt == 'q' || opt == 'v' || opt == OPT_HELP ||
	    opt == OPT_VERSION)
		return 1;
	if (strcmp(cmd, "load") == 0)
		return opt == OPT_SCHEMA;
	if (strcmp(cmd, "query") == 0)
		return opt == OPT_JSON || opt == OPT_TABLE || opt == OPT_COUNT || opt >= OPT_FILTER;
	return opt == OPT_LISTEN;
}

/* The catalog named by --db, else by the configuration, else the default. */
static const char *
db_url(const struct opts *o, struct em_config **cfg)
{
	const char *url = NULL;

	if (o->db != NULL)
		return o->db;
	if ((*cfg = em_config_open(o->config, NULL)) == NULL) {
		em_err("cannot read the configuration: %s", em_errmsg());
		exit(em_tool_end(EM_EXIT_USAGE));
	}
	if (em_config_get_str(*cfg, "catalog.db", DEFAULT_DB, &url) < 0) {
		em_err("bad configuration: %s", em_errmsg());
		exit(em_tool_end(EM_EXIT_USAGE));
	}
	return url;
}

static void
on_refused(void *ctx, const char *input, unsigned long text, const char *why,
    const struct em_jschema_errors *errs)
{
	char where[PATH_MAX + 32];
	size_t i;

	(void)ctx;
	if (text > 0)
		snprintf(where, sizeof(where), "%s:%lu", input, text);
	else
		snprintf(where, sizeof(where), "%s", input);
	if (errs == NULL || errs->n == 0) {
		em_err("not loaded '%s': %s", where, why);
		return;
	}
	for (i = 0; i < errs->n; i++)
		em_err("not loaded '%s': %s: %s: %s", where,
		    errs->v[i].pointer[0] != '\0' ? errs->v[i].pointer : "(root)",
		    errs->v[i].keyword, errs->v[i].message);
	if (errs->dropped > 0)
		em_err("not loaded '%s': (%zu more errors not shown)", where, errs->dropped);
}

static int
cmd_load(const struct opts *o, const char *url, int argc, char **argv)
{
	struct em_catdb_load_stats st = { 0, 0, 0, 0, 0, 0 };
	struct em_jschema *schema = NULL;
	struct em_catdb *db = NULL;
	char found[PATH_MAX];
	int i, status = EM_EXIT_OK;

	if ((schema = em_record_schema_load(o->schema, found, sizeof(found), NULL)) == NULL) {
		em_err("%s", em_errmsg());
		return EM_EXIT_USAGE;
	}
	if ((db = em_catdb_open(url, EM_CATDB_WRITE)) == NULL) {
		em_err("cannot open the catalog '%s': %s", url, em_errmsg());
		status = EM_EXIT_FAIL;
		goto out;
	}
	/* One transaction: a load that fails half-way leaves the catalog as it was. */
	if (em_catdb_begin(db) < 0) {
		em_err("cannot begin a load of '%s': %s", url, em_errmsg());
		status = EM_EXIT_FAIL;
		goto out;
	}
	for (i = 0; i < (argc > 0 ? argc : 1); i++) {
		const char *path = argc > 0 ? argv[i] : "-";

		if (em_catdb_load_path(db, schema, path, on_refused, NULL, &st) < 0) {
			em_err("cannot load into '%s': %s (nothing loaded)", url, em_errmsg());
			em_catdb_rollback(db);
			status = EM_EXIT_FAIL;
			goto out;
		}
	}
	if (em_catdb_commit(db) < 0) {
		em_err("cannot commit the load into '%s': %s (nothing loaded)", url, em_errmsg());
		status = EM_EXIT_FAIL;
		goto out;
	}
	if (st.invalid > 0 || st.unreadable > 0)
		status = EM_EXIT_FAIL;
	if (!o->quiet)
		fprintf(stderr, "%s: '%s': %lu records read, %lu loaded, %lu unchanged, "
		    "%lu not loaded\n", em_progname(), url, st.read, st.loaded, st.unchanged,
		    st.invalid + st.unreadable);
out:
	em_catdb_close(db);
	em_jschema_free(schema);
	return status;
}

/* ---- query output ---- */

struct table {
	char **cells;
	size_t rows, cap;
};

#define NSHOWN 8
static const char *const shown_names[NSHOWN] = {
	"SOURCE", "ID", "STATUS", "MODALITY", "DTYPE", "SHAPE (z,y,x)", "VOXEL nm (z,y,x)", "BYTES"
};

static int
trio(char *buf, size_t n, const struct em_catdb_row *r, int first)
{
	const char *a = r->col[first], *b = r->col[first + 1], *c = r->col[first + 2];

	if (a == NULL && b == NULL && c == NULL)
		return snprintf(buf, n, "-");
	return snprintf(buf, n, "%s,%s,%s", a ? a : "?", b ? b : "?", c ? c : "?");
}

static int
on_table_row(const struct em_catdb_row *r, void *ctx)
{
	struct table *t = ctx;
	char buf[512];
	int k;

	if (t->rows == t->cap) {
		size_t ncap = t->cap ? t->cap * 2 : 256;
		char **c = realloc(t->cells, ncap * NSHOWN * sizeof(*c));

		if (c == NULL)
			return em_fail("out of memory");
		t->cells = c;
		t->cap = ncap;
	}
	for (k = 0; k < NSHOWN; k++) {
		const char *v = NULL;

		switch (k) {
		case 0: v = r->col[EM_CATDB_SOURCE]; break;
		case 1: v = r->col[EM_CATDB_ID]; break;
		case 2: v = r->col[EM_CATDB_STATUS]; break;
		case 3: v = r->col[EM_CATDB_MODALITY]; break;
		case 4: v = r->col[EM_CATDB_DTYPE]; break;
		case 5: trio(buf, sizeof(buf), r, EM_CATDB_SHAPE_Z); v = buf; break;
		case 6: trio(buf, sizeof(buf), r, EM_CATDB_VOXEL_Z); v = buf; break;
		default: v = r->col[EM_CATDB_BYTES]; break;
		}
		if ((t->cells[t->rows * NSHOWN + k] = strdup(v ? v : "-")) == NULL)
			return em_fail("out of memory");
	}
	t->rows++;
	return 0;
}

static void
table_print(struct table *t)
{
	size_t w[NSHOWN], i;
	int k;

	for (k = 0; k < NSHOWN; k++)
		w[k] = strlen(shown_names[k]);
	for (i = 0; i < t->rows; i++)
		for (k = 0; k < NSHOWN; k++)
			if (strlen(t->cells[i * NSHOWN + k]) > w[k])
				w[k] = strlen(t->cells[i * NSHOWN + k]);
	for (k = 0; k < NSHOWN; k++)
		printf("%-*s%s", k == NSHOWN - 1 ? 0 : (int)w[k], shown_names[k],
		    k == NSHOWN - 1 ? "\n" : "  ");
	for (i = 0; i < t->rows; i++)
		for (k = 0; k < NSHOWN; k++)
			printf("%-*s%s", k == NSHOWN - 1 ? 0 : (int)w[k], t->cells[i * NSHOWN + k],
			    k == NSHOWN - 1 ? "\n" : "  ");
}

static void
table_free(struct table *t)
{
	size_t i;

	for (i = 0; i < t->rows * NSHOWN; i++)
		free(t->cells[i]);
	free(t->cells);
}

static int
on_json_row(const struct em_catdb_row *r, void *ctx)
{
	(void)ctx;
	if (fwrite(r->doc, 1, r->doclen, stdout) != r->doclen || putchar('\n') == EOF)
		return em_fail("cannot write to stdout");
	return 0;
}

static int
cmd_query(struct opts *o, const char *url)
{
	struct em_catdb *db = NULL;
	struct table t = { NULL, 0, 0 };
	int status = EM_EXIT_OK, table = o->table || (!o->json && isatty(1));
	uint64_t n;

	if ((db = em_catdb_open(url, EM_CATDB_READ)) == NULL) {
		em_err("cannot open the catalog '%s': %s", url, em_errmsg());
		return EM_EXIT_FAIL;
	}
	/* Records are a few kB each: large writes, not one per 4 kB. */
	if (!table)
		setvbuf(stdout, NULL, _IOFBF, 1 << 20);
	if (o->count) {
		if (em_catdb_count(db, &o->q, &n) < 0) {
			em_err("cannot query '%s': %s", url, em_errmsg());
			status = EM_EXIT_FAIL;
		} else {
			printf("%llu\n", (unsigned long long)n);
		}
	} else if (em_catdb_query(db, &o->q, table ? on_table_row : on_json_row, &t) < 0) {
		em_err("cannot query '%s': %s", url, em_errmsg());
		status = EM_EXIT_FAIL;
	} else if (table) {
		table_print(&t);
	}
	table_free(&t);
	em_catdb_close(db);
	return status;
}

int
main(int argc, char **argv)
{
	static struct option longopts[64] = {
		{ "db", required_argument, NULL, OPT_DB },
		{ "config", required_argument, NULL, OPT_CONFIG },
		{ "schema", required_argument, NULL, OPT_SCHEMA },
		{ "json", no_argument, NULL, OPT_JSON },
		{ "table", no_argument, NULL, OPT_TABLE },
		{ "count", no_argument, NULL, OPT_COUNT },
		{ "listen", required_argument, NULL, OPT_LISTEN },
		{ "quiet", no_argument, NULL, 'q' },
		{ "verbose", no_argument, NULL, 'v' },
		{ "help", no_argument, NULL, OPT_HELP },
		{ "version", no_argument, NULL, OPT_VERSION },
	};
	struct opts o;
	struct em_config *cfg = NULL;
	const char *url;
	int ch, nfixed = 11, i, status;

	em_tool_begin(argv[0]);
	memset(&o, 0, sizeof(o));
	em_catdb_query_init(&o.q);
	/* Each filter of the query is an option of the same name (--cursor is the API's). */
	for (i = 0; em_catdb_filter_names[i] != NULL; i++) {
		if (strcmp(em_catdb_filter_names[i], "cursor") == 0)
			continue;
		longopts[nfixed].name = em_catdb_filter_names[i];
		longopts[nfixed].has_arg = required_argument;
		longopts[nfixed].val = OPT_FILTER + i;
		nfixed++;
	}
	if (argc < 2)
		usage(stderr, EM_EXIT_USAGE);
	o.cmd = argv[1];
	if (o.cmd[0] == '-') {
		/* Only --help and --version come before a command. */
		o.cmd = "";
	} else if (strcmp(o.cmd, "load") != 0 && strcmp(o.cmd, "query") != 0 &&
	    strcmp(o.cmd, "serve") != 0) {
		em_err("unknown command '%s' (load, query or serve)", o.cmd);
		usage(stderr, EM_EXIT_USAGE);
	} else {
		argc--;
		argv++;
	}
	while ((ch = getopt_long(argc, argv, "qv", longopts, NULL)) != -1) {
		if (ch == OPT_HELP)
			usage(stdout, EM_EXIT_OK);
		if (ch == OPT_VERSION) {
			em_tool_version();
			return em_tool_end(EM_EXIT_OK);
		}
		if (ch == '?' || o.cmd[0] == '\0' || !allowed(o.cmd, ch)) {
			if (ch != '?')
				em_err("option '%s' is not one of %s's", argv[optind - 1],
				    o.cmd[0] ? o.cmd : "em-catalog");
			usage(stderr, EM_EXIT_USAGE);
		}
		switch (ch) {
		case OPT_DB:
			if (em_catdb_url_check(optarg) < 0) {
				em_err("bad database URL: %s", em_errmsg());
				usage(stderr, EM_EXIT_USAGE);
			}
			o.db = optarg;
			break;
		case OPT_CONFIG: o.config = optarg; break;
		case OPT_SCHEMA: o.schema = optarg; break;
		case OPT_JSON: o.json = 1; o.table = 0; break;
		case OPT_TABLE: o.table = 1; o.json = 0; break;
		case OPT_COUNT: o.count = 1; break;
		case OPT_LISTEN: o.listen = optarg; break;
		case 'q': o.quiet = 1; em_tool_quiet(); break;
		case 'v': o.verbose++; em_tool_verbose(); break;
		default:
			if (em_catdb_query_set(&o.q, em_catdb_filter_names[ch - OPT_FILTER], optarg,
			    strlen(optarg)) != 0) {
				em_err("bad filter --%s: %s", em_catdb_filter_names[ch - OPT_FILTER],
				    em_errmsg());
				usage(stderr, EM_EXIT_USAGE);
			}
			break;
		}
	}
	if (o.cmd[0] == '\0')
		usage(stderr, EM_EXIT_USAGE);
	argc -= optind;
	argv += optind;
	if (argc > 0 && strcmp(o.cmd, "load") != 0) {
		em_err("%s takes no operands ('%s')", o.cmd, argv[0]);
		usage(stderr, EM_EXIT_USAGE);
	}
	url = db_url(&o, &cfg);
	if (em_catdb_url_check(url) < 0) {
		em_err("bad database URL '%s': %s", url, em_errmsg());
		em_config_free(cfg);
		return em_tool_end(EM_EXIT_USAGE);
	}
	if (strcmp(o.cmd, "load") == 0)
		status = cmd_load(&o, url, argc, argv);
	else if (strcmp(o.cmd, "query") == 0)
		status = cmd_query(&o, url);
	else
		status = catalog_serve(url, o.listen ? o.listen : DEFAULT_LISTEN, o.quiet);
	em_config_free(cfg);
	return em_tool_end(status);
}
