/* httpget.c - test driver for lib/net/http.h and lib/net/listing.h: get, range, head, download, multi, list */
#include <getopt.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/buf.h"
#include "core/diag.h"
#include "net/http.h"
#include "net/listing.h"
#include "core/parse.h"
#include "tool/display.h"
#include "tool/tool.h"
#include "core/banned.h"

#define EXIT_MISSING 4

static void
usage(FILE *fp, int status)
{
	fprintf(fp,
	    "usage: httpget [-qv] [--jobs N] [--attempts N] [--cacert FILE] [--backoff-ms N]\n"
	    "               [--low-speed BYTES,SECS] [--max SIZE] [--progress] [--range OFF,LEN]\n"
	    "               [--size N] [--sha256 HEX] [--max-download SIZE] COMMAND ARGS\n"
	    "commands: get URL | range URL OFF LEN | head URL | download URL DEST |\n"
	    "          multi URL-PREFIX N | list URL | ua\n"
	    "exit 0 done, 1 failed, 2 usage, 4 missing (404/403/410)\n");
	exit(status);
}

static int
status_of(int rc)
{
	if (rc == 0)
		return 0;
	if (rc == EM_HTTP_MISSING) {
		em_err("missing: %s", em_errmsg());
		return EXIT_MISSING;
	}
	em_err("%s", em_errmsg());
	return 1;
}

struct feed {
	const char *prefix;
	long next, n;
	size_t max;
	uint64_t off, len;
	size_t maxpending;
	struct em_http_multi *m;
	long ok, missing, failed;
	uint64_t bytes;
};

static int
feed_more(void *ctx, struct em_http_multi *m)
{
	struct feed *f = ctx;
	char url[4096];

	if (f->next >= f->n)
		return 0;
	snprintf(url, sizeof(url), "%s%ld", f->prefix, f->next);
	if (em_http_multi_add(m, url, f->off, f->len, f->max, (void *)(intptr_t)f->next) == -1)
		return -1;
	f->next++;
	if (em_http_multi_pending(m) > f->maxpending)
		f->maxpending = em_http_multi_pending(m);
	return 1;
}

static int
on_done(void *ctx, const struct em_http_reply *r)
{
	struct feed *f = ctx;

	printf("%ld %d %ld %zu\n", (long)(intptr_t)r->user, r->result, r->status, r->len);
	if (r->result == 0) {
		f->ok++;
		f->bytes += r->len;
	} else if (r->result == EM_HTTP_MISSING) {
		f->missing++;
	} else {
		f->failed++;
		em_warn("%s", r->error);
	}
	return 0;
}

int
main(int argc, char **argv)
{
	static const struct option longopts[] = {
		{ "jobs", required_argument, NULL, 'j' },
		{ "attempts", required_argument, NULL, 'a' },
		{ "cacert", required_argument, NULL, 'c' },
		{ "backoff-ms", required_argument, NULL, 'b' },
		{ "low-speed", required_argument, NULL, 'l' },
		{ "max", required_argument, NULL, 'm' },
		{ "size", required_argument, NULL, 's' },
		{ "sha256", required_argument, NULL, 'S' },
		{ "progress", no_argument, NULL, 'p' },
		{ "range", required_argument, NULL, 'R' },
		{ "max-download", required_argument, NULL, 'M' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	struct em_http_opts o;
	struct em_http_check check = { 0, NULL };
	struct em_http_resp r = EM_HTTP_RESP_INIT;
	struct em_progress prog;
	struct em_progress_display *disp = NULL;
	enum em_progress_mode pmode = EM_PROGRESS_AUTO;
	struct em_http *h = NULL;
	uint64_t max = 64 << 20, u, range[2] = { 0, 0 };
	const char *cmd;
	int ch, status = 1, rc;

	em_tool_begin(argv[0]);
	em_http_opts_init(&o);
	em_progress_init(&prog);
	o.progress = &prog;
	while ((ch = getopt_long(argc, argv, "+qvh", longopts, NULL)) != -1) {
		switch (ch) {
		case 'j':
			if (em_parse_int(optarg, 1, 1000, &o.jobs) == -1)
				usage(stderr, 2);
			break;
		case 'a':
			if (em_parse_int(optarg, 1, 1000, &o.attempts) == -1)
				usage(stderr, 2);
			break;
		case 'c':
			o.cacert = optarg;
			break;
		case 'b': {
			int ms;
			if (em_parse_int(optarg, 0, 1000000, &ms) == -1)
				usage(stderr, 2);
			o.backoff_ms = ms;
			break;
		}
		case 'l': {
			uint64_t v[2];
			if (em_parse_u64_list(optarg, v, 2, 0, 1u << 30) == -1)
				usage(stderr, 2);
			o.low_speed_bytes = (long)v[0];
			o.low_speed_secs = (long)v[1];
			break;
		}
		case 'm':
			if (em_parse_size(optarg, &max) == -1)
				usage(stderr, 2);
			break;
		case 's':
			if (em_parse_u64(optarg, &check.size) == -1)
				usage(stderr, 2);
			break;
		case 'S':
			check.sha256 = optarg;
			break;
		case 'M':
			if (em_parse_size(optarg, &o.max_download) == -1 || o.max_download == 0)
				usage(stderr, 2);
			break;
		case 'p':
			pmode = EM_PROGRESS_ON;
			break;
		case 'R':
			if (em_parse_u64_list(optarg, range, 2, 0, UINT64_MAX / 2) == -1)
				usage(stderr, 2);
			break;
		case 'q':
			em_tool_quiet();
			pmode = EM_PROGRESS_OFF;
			break;
		case 'v':
			em_tool_verbose();
			break;
		case 'h':
			usage(stdout, 0);
			break;
		default:
			usage(stderr, 2);
		}
	}
	if (optind >= argc)
		usage(stderr, 2);
	cmd = argv[optind++];
	if ((h = em_http_new(&o)) == NULL) {
		em_err("cannot start the transport: %s", em_errmsg());
		return 1;
	}
	disp = em_progress_display_start(&prog, pmode, NULL);
	if (strcmp(cmd, "ua") == 0 && optind == argc) {
		printf("%s\n", em_http_user_agent(h));
		status = 0;
	} else if (strcmp(cmd, "get") == 0 && optind + 1 == argc) {
		rc = em_http_get(h, argv[optind], (size_t)max, &r);
		if (rc == 0 && r.len)
			fwrite(r.body, 1, r.len, stdout);
		status = status_of(rc);
	} else if (strcmp(cmd, "range") == 0 && optind + 3 == argc) {
		uint64_t off;
		if (em_parse_u64(argv[optind + 1], &off) == -1 ||
		    em_parse_u64(argv[optind + 2], &u) == -1)
			usage(stderr, 2);
		rc = em_http_get_range(h, argv[optind], off, u, &r);
		if (rc == 0 && r.len)
			fwrite(r.body, 1, r.len, stdout);
		status = status_of(rc);
	} else if (strcmp(cmd, "head") == 0 && optind + 1 == argc) {
		rc = em_http_head(h, argv[optind], &r);
		if (rc == 0)
			printf("status=%ld total=%" PRIu64 " etag=%s\n", r.status, r.total,
			    r.etag ? r.etag : "-");
		status = status_of(rc);
	} else if (strcmp(cmd, "download") == 0 && optind + 2 == argc) {
		struct em_http_dl dl;
		rc = em_http_download(h, argv[optind], argv[optind + 1], &check, &dl);
		if (rc == 0)
			printf("size=%" PRIu64 " resumed_from=%" PRIu64 " requests=%d restarted=%d "
			    "was_complete=%d\n", dl.size, dl.resumed_from, dl.requests, dl.restarted,
			    dl.was_complete);
		status = status_of(rc);
	} else if (strcmp(cmd, "multi") == 0 && optind + 2 == argc) {
		struct feed f;
		int n;
		memset(&f, 0, sizeof(f));
		if (em_parse_int(argv[optind + 1], 0, 10000000, &n) == -1)
			usage(stderr, 2);
		f.prefix = argv[optind];
		f.n = n;
		f.max = (size_t)max;
		f.off = range[0];
		f.len = range[1];
		if ((f.m = em_http_multi_new(h, on_done, &f)) == NULL) {
			em_err("%s", em_errmsg());
		} else {
			rc = em_http_multi_run(f.m, feed_more, &f);
			printf("ok=%ld missing=%ld failed=%ld bytes=%" PRIu64 " maxpending=%zu\n", f.ok,
			    f.missing, f.failed, f.bytes, f.maxpending);
			status = rc == -1 ? status_of(rc) : f.failed ? 1 : 0;
			em_http_multi_free(f.m);
		}
	} else if (strcmp(cmd, "list") == 0 && optind + 1 == argc) {
		struct em_listing *l = NULL;
		size_t i;
		rc = em_listing_fetch(h, argv[optind], &l);
		if (rc == 0) {
			for (i = 0; i < l->n; i++)
				printf("%s %" PRId64 " %s %s\n",
				    l->v[i].kind == EM_ENTRY_DIR ? "dir" :
				    l->v[i].kind == EM_ENTRY_LINK ? "link" : "file", l->v[i].size,
				    l->v[i].size < 0 ? "none" : l->v[i].size_exact ? "exact" : "approx",
				    l->v[i].name);
			printf("rejected=%zu\n", l->rejected);
		}
		em_listing_free(l);
		status = status_of(rc);
	} else {
		em_progress_display_stop(disp);
		em_http_free(h);
		usage(stderr, 2);
	}
	em_progress_display_stop(disp);
	em_http_resp_release(&r);
	em_http_free(h);
	return em_tool_end(status);
}
