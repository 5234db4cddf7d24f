/* fetch-empiar - an EMPIAR entry (API JSON + data listing + image files) into OME-Zarr stores */
#include <fnmatch.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/diag.h"
#include "sources/empiar.h"
#include "tool/fetch.h"
#include "tool/filefetch.h"
#include "core/interrupt.h"
#include "net/listing.h"
#include "core/parse.h"
#include "meta/record.h"
#include "tool/tool.h"
#include "core/banned.h"

enum { OPT_ID = EM_OPT_TOOL };

/* Files of an entry's data directory: path relative to data/ and size. */
struct dfile {
	char *rel;
	int64_t size;
};

struct dlist {
	struct dfile *v;
	size_t n, cap;
};

static void
usage(FILE *fp, int status)
{
	fprintf(fp, "usage: fetch-empiar [ENTRY] [--url URL] [--id ID] [--partial]\n%s"
	    "       fetch-empiar --help | --version\n", em_fetch_usage);
	exit(status);
}

static void
dlist_free(struct dlist *d)
{
	size_t i;

	for (i = 0; i < d->n; i++)
		free(d->v[i].rel);
	free(d->v);
	memset(d, 0, sizeof(*d));
}

/* File names that are image data of a kind the readers know (entries other than the configured one). */
static int
is_image_name(const char *name)
{
	static const char *const pats[] = {
		"*.dm3", "*.dm4", "*.mrc", "*.mrcs", "*.map", "*.rec", "*.st", "*.tif",
		"*.tiff", "*.DM3", "*.DM4", "*.MRC", "*.TIF", "*.TIFF", NULL,
	};
	size_t i;

	for (i = 0; pats[i] != NULL; i++)
		if (fnmatch(pats[i], name, 0) == 0)
			return 1;
	return 0;
}

static int
skipped_dir(struct em_fetch *f, const char *name)
{
	json_t *v = NULL;
	size_t i;

	if (em_config_get(f->cfg, "sources.empiar.skip_dirs", &v) < 0 || !json_is_array(v))
		return 0;
	for (i = 0; i < json_array_size(v); i++) {
		const char *s = json_string_value(json_array_get(v, i));

		if (s != NULL && strcmp(s, name) == 0)
			return 1;
	}
	return 0;
}

/* List url (a directory, ending in '/') and the ones below it that are not skipped. */
static int
list_dir(struct em_fetch *f, const char *url, const char *prefix, const char *glob,
    int depth, struct dlist *out)
{
	struct em_listing *l = NULL;
	char sub[4096], rel[2048];
	size_t i;
	int r;

	if (em_interrupted())
		return em_fail("interrupted");
	r = em_listing_fetch(f->http, url, &l);
	if (r == EM_HTTP_MISSING)
		return em_fail("cannot list '%s': not found", url);
	if (r < 0)
		return em_fail_ctx("cannot list '%s'", url);
	for (i = 0; i < l->n; i++) {
		const struct em_listing_entry *e = &l->v[i];

		if ((size_t)snprintf(rel, sizeof(rel), "%s%s", prefix, e->name) >= sizeof(rel))
			continue;
		if (e->kind == EM_ENTRY_DIR) {
			if (depth >= EM_EMPIAR_MAX_LIST_DEPTH || skipped_dir(f, e->name)) {
				em_debug("skipping directory '%s'", rel);
				continue;
			}
			if ((size_t)snprintf(sub, sizeof(sub), "%s%s/", url, e->name) >= sizeof(sub))
				continue;
			strncat(rel, "/", sizeof(rel) - strlen(rel) - 1);
			if (list_dir(f, sub, rel, glob, depth + 1, out) < 0) {
				em_listing_free(l);
				return -1;
			}
			continue;
		}
		if (e->kind != EM_ENTRY_FILE)
			continue;
		if (glob != NULL ? fnmatch(glob, e->name, 0) != 0 : !is_image_name(e->name))
			continue;
		if (out->n == out->cap) {
			size_t cap = out->cap ? out->cap * 2 : 64;
			struct dfile *v;

			if (cap > EM_FILELIST_MAX || (v = realloc(out->v, cap * sizeof(*v))) == NULL) {
				em_listing_free(l);
				return em_fail("too many files under '%s'", url);
			}
			out->v = v;
			out->cap = cap;
		}
		out->v[out->n].rel = strdup(rel);
		out->v[out->n].size = e->size >= 0 && e->size_exact ? e->size : -1;
		if (out->v[out->n].rel == NULL) {
			em_listing_free(l);
			return em_fail("out of memory");
		}
		out->n++;
	}
	em_listing_free(l);
	return 0;
}

static int
dfile_cmp(const void *a, const void *b)
{
	return em_natural_cmp(((const struct dfile *)a)->rel, ((const struct dfile *)b)->rel);
}

static int
get_entry(struct em_fetch *f, const char *url, const char *acc, struct em_empiar_entry *e)
{
	struct em_http_resp r = EM_HTTP_RESP_INIT;
	int rc;

	memset(e, 0, sizeof(*e));
	rc = em_http_get(f->http, url, EM_EMPIAR_MAX_API_BYTES, &r);
	if (rc == EM_HTTP_MISSING) {
		em_fail("GET '%s': HTTP %ld: EMPIAR has no entry %s", url, r.status, acc);
		em_http_resp_release(&r);
		return -1;
	}
	if (rc == 0)
		rc = em_empiar_parse(r.body, r.len, acc, url, e);
	em_http_resp_release(&r);
	if (rc == 0 && e->sets_given > e->nsets)
		em_log(EM_LOG_WARN, "%s: the entry lists %zu image sets; the first %zu are read",
		    acc, e->sets_given, e->nsets);
	return rc;
}

/* The record's fields from the entry (and the configuration for the configured entry). */
static int
describe(struct em_fetch *f, const char *acc, const struct em_empiar_entry *e,
    const struct em_empiar_set *set, int nsets, int configured, const char *entry_page,
    const char *data_url)
{
	const char *s, *doi;
	json_t *arch, *sm;
	char buf[2048];

	if (configured && (s = em_fetch_conf_str(f, "description", NULL)) != NULL)
		snprintf(buf, sizeof(buf), "%s", s);
	else if (e->title != NULL && *e->title != '\0')
		snprintf(buf, sizeof(buf), "%s", e->title);
	else
		buf[0] = '\0';
	if (nsets > 1 && buf[0] != '\0' && set != NULL && set->name != NULL)
		strncat(buf, " - ", sizeof(buf) - strlen(buf) - 1),
		strncat(buf, set->name, sizeof(buf) - strlen(buf) - 1);
	if (buf[0] != '\0' && em_record_set_str(f->rec, "description", buf) < 0)
		return -1;
	s = configured ? em_fetch_conf_str(f, "modality", NULL) : NULL;
	if (s == NULL)
		s = e->experiment_type;
	if (s != NULL && *s != '\0' && em_record_set_str(f->rec, "modality", s) < 0)
		return -1;
	doi = e->doi;
	if (doi == NULL && configured)
		doi = em_fetch_conf_str(f, "doi", NULL);
	arch = json_pack("{s:s}", "accession", acc);
	if (e->title != NULL)
		json_object_set_new(arch, "title", json_string(e->title));
	if (doi != NULL)
		json_object_set_new(arch, "doi", json_string(doi));
	if (entry_page != NULL)
		json_object_set_new(arch, "entry_url", json_string(entry_page));
	if (e->release_date != NULL)
		json_object_set_new(arch, "release_date", json_string(e->release_date));
	if (e->experiment_type != NULL)
		json_object_set_new(arch, "experiment_type", json_string(e->experiment_type));
	if (em_record_set(f->rec, "archive", arch) < 0 ||
	    em_record_set_str(f->rec, "download_url", data_url) < 0)
		return -1;
	/* The entry's first paper, or the entry itself. */
	if (em_record_set(f->rec, "citation", em_empiar_citation(e, acc, doi)) < 0)
		return -1;
	/* EMPIAR releases its entries under CC0. */
	s = em_fetch_conf_str(f, "license", "CC0-1.0");
	if (s != NULL && em_record_set_str(f->rec, "license", s) < 0)
		return -1;
	sm = json_pack("{s:O}", "empiar_entry", e->json);
	if (set != NULL)
		json_object_set_new(sm, "imageset", json_deep_copy(set->json));
	return em_record_set(f->rec, "source_metadata", sm);
}

static int fail_entry(struct em_fetch *f, const char *id, const char *what);

/* How many files at most a message names of those missing. */
#define MISSING_NAMED 5

/*
 * The files of a volume the archive says has want of them (0: not known)
 * and the listing gave n: 0 when all are there, 1 when some are missing
 * (*missing, *nmissing: the names that can be told, malloc'd), -1 on error.
 */
static int
shortfall(const struct dfile *v, size_t n, size_t want, char ***missing, size_t *nmissing)
{
	const char **names;
	size_t i;
	int k;

	*missing = NULL;
	*nmissing = 0;
	if (want <= n)
		return 0;
	if ((names = calloc(n, sizeof(*names))) == NULL ||
	    (*missing = calloc(want - n, sizeof(**missing))) == NULL) {
		free(names);
		return em_fail("out of memory");
	}
	for (i = 0; i < n; i++)
		names[i] = v[i].rel;
	k = em_empiar_missing_names(names, n, want, *missing, want - n);
	free(names);
	if (k < 0)
		return -1;
	*nmissing = (size_t)k;
	return 1;
}

static void
free_names(char **v, size_t n)
{
	size_t i;

	for (i = 0; i < n; i++)
		free(v[i]);
	free(v);
}

/* One volume: an image set's files; want: how many the archive says it has (0: not known). */
static int
one_volume(struct em_fetch *f, const char *id, const char *data_url, const struct dfile *v,
    size_t n, size_t want, const char *acc, const struct em_empiar_entry *e,
    const struct em_empiar_set *set, int nsets, int configured)
{
	struct em_filelist files;
	struct em_fetch_image_opts io;
	const char *prov[3] = { "archive-api", "archive-api", "archive-api" };
	double voxel[3] = { 0, 0, 0 }, zs = 0;
	char url[4096], names[1024];
	char **missing = NULL;
	size_t i, nmissing = 0;
	int status = 1, sh;

	em_filelist_init(&files);
	memset(&io, 0, sizeof(io));
	if ((sh = shortfall(v, n, want, &missing, &nmissing)) < 0)
		return fail_entry(f, id, "cannot check the listing");
	if (sh == 1) {
		size_t o = 0;

		names[0] = '\0';
		for (i = 0; i < nmissing && i < MISSING_NAMED && o < sizeof(names); i++)
			o += (size_t)snprintf(names + o, sizeof(names) - o, "%s'%s'", i ? ", " : "",
			    missing[i]);
		if (o < sizeof(names) && want - n > i)
			snprintf(names + o, sizeof(names) - o, "%s%zu more", i ? " and " : "",
			    want - n - i);
		if (!f->opts->partial) {
			em_fail("the listing of '%s' gives %zu of the %zu files %s has, even listed "
			    "again; missing: %s (--partial makes the volume of the files there are)",
			    data_url, n, want, acc, names);
			status = fail_entry(f, id, "incomplete listing");
			goto out;
		}
		em_log(EM_LOG_WARN, "%s: %zu of the %zu files are listed; missing: %s: the volume "
		    "is made of the rest (--partial) and its record says so (missing_files)", id, n,
		    want, names);
	}
	for (i = 0; i < n; i++) {
		if ((size_t)snprintf(url, sizeof(url), "%s%s", data_url, v[i].rel) >= sizeof(url)) {
			em_err("%s: URL of '%s' is too long", id, v[i].rel);
			goto out;
		}
		if (em_filelist_add(&files, url, v[i].size) < 0) {
			em_err("%s: %s", id, em_errmsg());
			goto out;
		}
	}
	if ((status = em_filelist_start(f, id, &files)) != EM_FETCH_GO)
		goto out;
	if (sh == 1) {
		json_t *mf = json_array();

		for (i = 0; i < nmissing; i++)
			json_array_append_new(mf, json_string(missing[i]));
		if (nmissing < want - n) {
			char cnt[48];

			snprintf(cnt, sizeof(cnt), "%zu files", want - n - nmissing);
			json_array_append_new(mf, json_string(cnt));
		}
		if (em_record_set(f->rec, "missing_files", mf) < 0) {
			status = em_fetch_fail(f, "record");
			goto out;
		}
	}
	if (describe(f, acc, e, set, nsets, configured,
	    configured ? em_fetch_conf_str(f, "entry_page", NULL) : NULL, data_url) < 0) {
		status = em_fetch_fail(f, "cannot describe the entry");
		goto out;
	}
	/* Pixel sizes of the image set are in Å; the files' own calibration wins. */
	if (set != NULL && set->pixel_w_nm > 0) {
		voxel[1] = set->pixel_h_nm;
		voxel[2] = set->pixel_w_nm;
	}
	if (configured) {
		double cz = 0;

		if (em_config_get_double(f->cfg, "sources.empiar.z_spacing_nm", 0, &cz) == 0)
			zs = cz;
		if (voxel[1] <= 0 && em_config_get_double(f->cfg,
		    "sources.empiar.pixel_size_xy_nm", 0, &cz) == 0 && cz > 0) {
			voxel[1] = voxel[2] = cz;
			prov[1] = prov[2] = "config";
		}
	}
	io.z_spacing_nm = n > 1 ? zs : 0;
	io.fallback_nm = voxel;
	io.fallback_prov = prov;
	status = em_filelist_ingest(f, &files, &io);
out:
	free_names(missing, nmissing);
	em_filelist_release(&files);
	return status;
}

/* Files of the listing under dir (a set's directory, "a/b/"). */
static size_t
count_in(const struct dlist *d, const char *dir)
{
	size_t i, m = 0;

	for (i = 0; i < d->n; i++)
		if (strncmp(d->v[i].rel, dir, strlen(dir)) == 0)
			m++;
	return m;
}

/* The sets that are volumes of their own: nsets, or 0 when the entry's files are one volume. */
static size_t
volumes(const struct em_empiar_entry *e, const struct dlist *d)
{
	size_t k, with_files = 0;

	for (k = 0; k < e->nsets; k++)
		if (e->sets[k].dir != NULL && count_in(d, e->sets[k].dir) > 0)
			with_files++;
	return with_files < 2 ? 0 : e->nsets;
}

/*
 * The files a volume of n listed files should have: the configuration's
 * expected_files for the configured entry's single volume, else the set's
 * num_images_or_tilt_series (set NULL: the entry's only set) when the
 * volume is a series of files (n > 1: one file can be a stack of them all).
 * 0 when not known.
 */
static size_t
want_of(const struct em_empiar_entry *e, const struct em_empiar_set *set, size_t n,
    size_t cfg_want)
{
	if (set == NULL && cfg_want > 0)
		return cfg_want;
	if (set == NULL && e->nsets == 1)
		set = &e->sets[0];
	return set != NULL && n > 1 ? set->num_images : 0;
}

/* Sorted files listed twice (two listings taken together) kept once. */
static void
dedupe(struct dlist *d)
{
	size_t i, k = 0;

	for (i = 0; i < d->n; i++) {
		if (k > 0 && strcmp(d->v[k - 1].rel, d->v[i].rel) == 0) {
			free(d->v[i].rel);
			continue;
		}
		d->v[k++] = d->v[i];
	}
	d->n = k;
}

/* A failure before any volume is named still leaves a record: the entry's. */
static int
fail_entry(struct em_fetch *f, const char *id, const char *what)
{
	char reason[1024];

	snprintf(reason, sizeof(reason), "%s", em_errmsg());
	if (em_fetch_set_id(f, id) < 0) {
		em_err("%s: %s", what, reason);
		return em_interrupted() ? em_interrupt_status() : 1;
	}
	em_fail("%s", reason);
	return em_fetch_fail(f, what);
}

int
main(int argc, char **argv)
{
	static const struct option ownopts[] = {
		{ "id", required_argument, NULL, OPT_ID },
		EM_FETCH_OPT_PARTIAL,
	};
	struct em_fetch_opts o;
	struct em_fetch f;
	struct dlist files = { NULL, 0, 0 };
	const char *entry_arg = NULL, *idopt = NULL, *conf_entry, *glob = NULL, *s;
	char acc[64], api_url[2048], data_url[2048], id[160];
	struct em_empiar_entry entry;
	json_t *expect;
	uint64_t num;
	int c, status = 1, configured, pass;
	size_t i, k, nsets, cfg_want;

	em_tool_begin(argv[0]);
	em_fetch_opts_init(&o);
	while ((c = em_fetch_getopt(argc, argv, ownopts, 2, &o, usage)) != -1)
		if (c == OPT_ID)
			idopt = optarg;
	if (argc - optind > 1 || (o.url != NULL && optind < argc))
		usage(stderr, EM_EXIT_USAGE);
	if (optind < argc) {
		entry_arg = argv[optind];
		if (strncasecmp(entry_arg, "EMPIAR-", 7) == 0)
			entry_arg += 7;
		if (em_parse_u64(entry_arg, &num) < 0 || num == 0 || num > 999999999) {
			em_err("bad entry '%s': EMPIAR entries are numbers (11759 or EMPIAR-11759)",
			    argv[optind]);
			usage(stderr, EM_EXIT_USAGE);
		}
	}
	memset(&entry, 0, sizeof(entry));
	em_interrupt_install();
	if (em_fetch_begin(&f, "fetch-empiar", "empiar", 4, &o) < 0) {
		em_err("cannot start: %s", em_errmsg());
		goto out;
	}
	if (o.url != NULL) {
		status = em_filelist_url(&f, o.url, idopt);
		goto out;
	}
	conf_entry = em_fetch_conf_str(&f, "entry", "11759");
	if (entry_arg == NULL)
		entry_arg = conf_entry;
	configured = strcmp(entry_arg, conf_entry) == 0;
	snprintf(acc, sizeof(acc), "EMPIAR-%s", entry_arg);
	if (configured) {
		snprintf(api_url, sizeof(api_url), "%s", em_fetch_conf_str(&f, "api_url", ""));
		snprintf(data_url, sizeof(data_url), "%s", em_fetch_conf_str(&f, "data_url", ""));
		glob = em_fetch_conf_str(&f, "file_glob", NULL);
	} else {
		snprintf(api_url, sizeof(api_url), "%s/entry/%s/",
		    em_fetch_conf_str(&f, "api_base", "https://www.ebi.ac.uk/empiar/api"), acc);
		snprintf(data_url, sizeof(data_url), "%s/%s/data/",
		    em_fetch_conf_str(&f, "world_url",
		    "https://ftp.ebi.ac.uk/empiar/world_availability"), entry_arg);
	}
	if (data_url[0] == '\0' || data_url[strlen(data_url) - 1] != '/')
		strncat(data_url, "/", sizeof(data_url) - strlen(data_url) - 1);
	snprintf(id, sizeof(id), "%s", idopt != NULL ? idopt : acc);
	if (get_entry(&f, api_url, acc, &entry) < 0) {
		status = fail_entry(&f, id, "cannot read the entry");
		goto out;
	}
	if (list_dir(&f, data_url, "", glob, 0, &files) < 0) {
		status = fail_entry(&f, id, "cannot list the entry's data");
		goto out;
	}
	if (files.n == 0) {
		em_fail("no image files%s%s%s under '%s'", glob ? " matching '" : "",
		    glob ? glob : "", glob ? "'" : "", data_url);
		status = fail_entry(&f, id, "nothing to fetch");
		goto out;
	}
	qsort(files.v, files.n, sizeof(*files.v), dfile_cmp);
	cfg_want = 0;
	if (configured && em_config_get(f.cfg, "sources.empiar.expected_files", &expect) == 0 &&
	    json_is_integer(expect) && json_integer_value(expect) > 0) {
		cfg_want = (size_t)json_integer_value(expect);
		if (cfg_want < files.n)
			em_log(EM_LOG_WARN, "%s: %zu files match, the configuration expects %zu",
			    acc, files.n, cfg_want);
	}
	/*
	 * One volume per image set when the sets name their directories and
	 * more than one has files; otherwise the entry's files are one volume.
	 * EBI's load-balanced front ends sometimes leave a file out of one
	 * backend's index: a listing shorter than the entry says is listed
	 * once more, and the two listings' files taken together.
	 */
	for (pass = 0; pass < 2; pass++) {
		int short_any = 0;

		nsets = volumes(&entry, &files);
		if (nsets == 0)
			short_any = files.n < want_of(&entry, NULL, files.n, cfg_want);
		for (k = 0; k < nsets; k++)
			short_any |= entry.sets[k].dir != NULL &&
			    count_in(&files, entry.sets[k].dir) < want_of(&entry, &entry.sets[k],
			    count_in(&files, entry.sets[k].dir), 0);
		if (!short_any || pass == 1)
			break;
		em_log(EM_LOG_INFO, "%s: the listing has fewer files than the entry says: listing "
		    "'%s' again", acc, data_url);
		if (list_dir(&f, data_url, "", glob, 0, &files) < 0) {
			status = fail_entry(&f, id, "cannot list the entry's data");
			goto out;
		}
		qsort(files.v, files.n, sizeof(*files.v), dfile_cmp);
		dedupe(&files);
	}
	if (nsets == 0) {
		status = one_volume(&f, id, data_url, files.v, files.n,
		    want_of(&entry, NULL, files.n, cfg_want), acc, &entry,
		    entry.nsets > 0 ? &entry.sets[0] : NULL, 1, configured);
		goto out;
	}
	status = 0;
	for (k = 0; k < nsets && !em_interrupted(); k++) {
		const struct em_empiar_set *set = &entry.sets[k];
		struct dfile *sub;
		size_t m = 0;
		int st;

		s = set->dir;
		if (s == NULL)
			continue;
		sub = calloc(files.n, sizeof(*sub));
		if (sub == NULL) {
			em_err("out of memory");
			status = 1;
			break;
		}
		for (i = 0; i < files.n; i++)
			if (strncmp(files.v[i].rel, s, strlen(s)) == 0)
				sub[m++] = files.v[i];
		if (m > 0) {
			snprintf(id, sizeof(id), "%s-%zu", idopt != NULL ? idopt : acc, k + 1);
			st = one_volume(&f, id, data_url, sub, m, want_of(&entry, set, m, 0), acc,
			    &entry, set, (int)nsets, configured);
			if (st != 0)
				status = st;
		}
		free(sub);
	}
out:
	em_empiar_release(&entry);
	dlist_free(&files);
	em_fetch_end(&f);
	if (em_interrupted() && status != 0)
		status = em_interrupt_status();
	return em_tool_end(status);
}
