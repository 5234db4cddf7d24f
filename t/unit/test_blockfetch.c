/* test_blockfetch.c - the block-fetch engine: box walks, skipping stored blocks, the jobs rule, memory per job */
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <check.h>
#include <jansson.h>

#include "core/diag.h"
#include "store/codec.h"
#include "store/writer.h"
#include "store/zarr.h"
#include "tool/blockfetch.h"
#include "tool/fetch.h"
#include "tool/parallel.h"

/* Boxes, blocks and groups (shards); NULL-like zero group: one group. */
static const struct {
	uint64_t b0[3], b1[3], block[3], group[3];
} walks[] = {
	{ { 0, 0, 0 }, { 8, 8, 8 }, { 4, 4, 4 }, { 0, 0, 0 } },
	{ { 1, 2, 3 }, { 10, 9, 11 }, { 4, 4, 4 }, { 0, 0, 0 } },
	{ { 1, 2, 3 }, { 10, 9, 11 }, { 4, 4, 4 }, { 2, 2, 2 } },
	{ { 3, 0, 5 }, { 17, 13, 6 }, { 2, 5, 3 }, { 3, 1, 2 } },
	{ { 0, 0, 0 }, { 1, 1, 1 }, { 64, 64, 64 }, { 1, 1, 1 } },
	{ { 5, 5, 5 }, { 6, 7, 20 }, { 1, 2, 7 }, { 0, 0, 0 } },
	{ { 0, 0, 0 }, { 7, 5, 3 }, { 7, 5, 3 }, { 0, 0, 0 } },
};

/* Every voxel of the box is in exactly one block's part; groups come whole, in C order. */
START_TEST(walk_covers_once)
{
	uint64_t sh[3], ng[3], b0[3], b1[3], block[3], group[3];
	unsigned char *seen;
	struct em_boxiter it;
	struct em_block b;
	uint64_t nvox, i, nblocks = 0, prev_g = 0, last_c = 0;
	int k, first = 1, left_group[4096] = { 0 };

	memcpy(b0, walks[_i].b0, sizeof(b0));
	memcpy(b1, walks[_i].b1, sizeof(b1));
	memcpy(block, walks[_i].block, sizeof(block));
	memcpy(group, walks[_i].group, sizeof(group));
	for (k = 0; k < 3; k++)
		sh[k] = b1[k] - b0[k];
	nvox = sh[0] * sh[1] * sh[2];
	seen = calloc(nvox, 1);
	ck_assert_ptr_nonnull(seen);
	for (k = 0; k < 3; k++)
		ng[k] = group[k] ? (b1[k] + block[k] * group[k] - 1) / (block[k] * group[k]) : 1;
	em_boxiter_init(&it, b0, b1, block, group[0] ? group : NULL);
	while (em_boxiter_next(&it, &b)) {
		uint64_t z, y, x, g = 0, c;

		nblocks++;
		for (k = 0; k < 3; k++) {
			/* The part lies in its block and in the box. */
			ck_assert_uint_ge(b.lo[k], b.idx[k] * block[k]);
			ck_assert_uint_le(b.lo[k] + b.n[k], (b.idx[k] + 1) * block[k]);
			ck_assert_uint_ge(b.lo[k], b0[k]);
			ck_assert_uint_le(b.lo[k] + b.n[k], b1[k]);
			ck_assert_uint_gt(b.n[k], 0);
			ck_assert_uint_eq(b.out[k], b.lo[k] - b0[k]);
			g = g * ng[k] + (group[k] ? b.idx[k] / group[k] : 0);
		}
		/* A group, once left, never comes back, and groups go up in C order. */
		ck_assert_uint_lt(g, 4096);
		if (!first && g != prev_g) {
			ck_assert_uint_gt(g, prev_g);
			left_group[prev_g] = 1;
		}
		ck_assert_int_eq(left_group[g], 0);
		/* Inside a group the blocks go up in C order too. */
		c = (b.idx[0] * 1000 + b.idx[1]) * 1000 + b.idx[2];
		if (!first && g == prev_g)
			ck_assert_uint_gt(c, last_c);
		last_c = c;
		prev_g = g;
		first = 0;
		for (z = 0; z < b.n[0]; z++)
			for (y = 0; y < b.n[1]; y++)
				for (x = 0; x < b.n[2]; x++) {
					uint64_t o = ((b.out[0] + z) * sh[1] + b.out[1] + y) * sh[2] +
					    b.out[2] + x;
					seen[o]++;
				}
	}
	ck_assert_int_eq(em_boxiter_next(&it, &b), 0);
	for (i = 0; i < nvox; i++)
		ck_assert_msg(seen[i] == 1, "voxel %llu seen %d times", (unsigned long long)i,
		    seen[i]);
	{
		uint64_t want = 1;

		for (k = 0; k < 3; k++)
			want *= (b1[k] + block[k] - 1) / block[k] - b0[k] / block[k];
		ck_assert_uint_eq(nblocks, want);
	}
	free(seen);
}
END_TEST

/* The one rule: min(jobs, max_parallel), at least 1. */
START_TEST(transfers_rule)
{
	ck_assert_int_eq(em_transfers(8, 4), 4);
	ck_assert_int_eq(em_transfers(2, 4), 2);
	ck_assert_int_eq(em_transfers(4, 4), 4);
	ck_assert_int_eq(em_transfers(1, 256), 1);
	ck_assert_int_eq(em_transfers(0, 4), 1);
}
END_TEST

/*
 * The memory of the transfers is counted for each job count tried: a
 * budget that fits 2 jobs with their 2 answers is not refused for the 8
 * answers of the 8 jobs first asked for.
 */
START_TEST(memory_recounted)
{
	struct em_zarr_meta m;
	struct em_codec codec;
	struct em_mem_share share = { 1000, 1 << 20 };
	uint64_t shape[3] = { 256, 256, 256 }, chunks[3] = { 64, 64, 64 }, need;
	uint64_t w2, budget;

	ck_assert_int_eq(em_codec_from_name("zstd", 1, &codec), 0);
	ck_assert_int_eq(em_zarr_meta_init(&m, 3, shape, chunks, EM_DT_U1, &codec), 0);
	w2 = em_zwriter_min_memory(&m, 2, chunks);
	budget = w2 + share.fixed + 2 * share.per_transfer;
	/* Counted once for 8 jobs, the budget would not fit even one job's writer with 8 answers. */
	ck_assert_uint_gt(em_zwriter_min_memory(&m, 1, chunks) + share.fixed +
	    8 * share.per_transfer, budget);
	ck_assert_int_eq(em_fit_jobs(&m, chunks, 8, 8, &share, budget, &need), 2);
	ck_assert_uint_eq(need, budget);
	/* max_parallel caps the answers held: 2 at once whatever the jobs. */
	budget = em_zwriter_min_memory(&m, 8, chunks) + share.fixed + 2 * share.per_transfer;
	ck_assert_int_eq(em_fit_jobs(&m, chunks, 8, 2, &share, budget, &need), 8);
	/* No limit: all the jobs; too little: none, and what one job needs. */
	ck_assert_int_eq(em_fit_jobs(&m, chunks, 8, 8, &share, 0, NULL), 8);
	ck_assert_int_eq(em_fit_jobs(&m, chunks, 8, 8, &share, 100, &need), 0);
	ck_assert_uint_eq(need, em_zwriter_min_memory(&m, 1, chunks) + share.fixed +
	    share.per_transfer);
}
END_TEST

/* A scratch directory, a configuration and the common options for em_fetch_begin. */
static char dir[64], cfgpath[128], root[128];

static void
scratch(const char *yaml)
{
	FILE *fp;

	snprintf(dir, sizeof(dir), "/tmp/em-bf-XXXXXX");
	ck_assert_ptr_nonnull(mkdtemp(dir));
	snprintf(cfgpath, sizeof(cfgpath), "%s/c.yaml", dir);
	snprintf(root, sizeof(root), "%s/data", dir);
	ck_assert_ptr_nonnull(fp = fopen(cfgpath, "w"));
	fputs(yaml, fp);
	fclose(fp);
}

static void
rm_scratch(void)
{
	char cmd[128];

	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", dir);
	ck_assert_int_eq(system(cmd), 0);
}

/* max_parallel from the source's settings (or the tool's default) caps the jobs' transfers. */
START_TEST(jobs_from_config)
{
	struct em_fetch_opts o;
	struct em_fetch f;

	scratch("global:\n  jobs: 6\nsources:\n  t1:\n    max_parallel: 3\n");
	em_fetch_opts_init(&o);
	o.config = cfgpath;
	o.outdir = root;
	o.quiet = 1;
	ck_assert_int_eq(em_fetch_begin(&f, "t", "t1", 8, &o), 0);
	ck_assert_int_eq(f.jobs, 6);
	ck_assert_int_eq(em_fetch_transfers(&f), 3);
	em_fetch_end(&f);
	/* Not set: the tool's default. */
	ck_assert_int_eq(em_fetch_begin(&f, "t", "t2", 5, &o), 0);
	ck_assert_int_eq(em_fetch_transfers(&f), 5);
	em_fetch_end(&f);
	o.jobs = 2;
	ck_assert_int_eq(em_fetch_begin(&f, "t", "t1", 8, &o), 0);
	ck_assert_int_eq(f.jobs, 2);
	ck_assert_int_eq(em_fetch_transfers(&f), 2);
	em_fetch_end(&f);
	rm_scratch();
	/* Out of range: refused where the configuration says it (file:line:col). */
	scratch("sources:\n  bad:\n    max_parallel: 0\n");
	ck_assert_int_eq(em_fetch_begin(&f, "t", "bad", 8, &o), -1);
	ck_assert_msg(strstr(em_errmsg(), "c.yaml:3:") != NULL
	    && strstr(em_errmsg(), "max_parallel") != NULL, "got '%s'", em_errmsg());
	em_fetch_end(&f);
	rm_scratch();
}
END_TEST

/*
 * A source of 10 x 9 x 11 voxels in 4^3 blocks, one file each under
 * dir/src; block 0,0,0 the source says it does not have (filled), and the
 * first answer for block 1,1,1 arrives garbled.
 */
#define VZ 10
#define VY 9
#define VX 11
#define BS 4

/* Where t_request looks ("src"); --strict for run_box; all_missing's calls. */
static const char *src_name = "src";
static int strict_run, hook_calls;

struct src {
	int requests, decodes, garbled;
	unsigned char buf[BS * BS * BS];
};

static unsigned char
voxel(uint64_t z, uint64_t y, uint64_t x)
{
	return (unsigned char)(z * 31 + y * 7 + x);
}

static void
block_of(const uint64_t *idx, unsigned char *out)
{
	uint64_t z, y, x;

	for (z = 0; z < BS; z++)
		for (y = 0; y < BS; y++)
			for (x = 0; x < BS; x++)
				out[(z * BS + y) * BS + x] = voxel(idx[0] * BS + z, idx[1] * BS + y,
				    idx[2] * BS + x);
}

static int
t_request(void *ctx, const struct em_block *b, char *url, size_t n, uint64_t *off,
    uint64_t *len, size_t *max)
{
	struct src *s = ctx;

	if (b->idx[0] == 0 && b->idx[1] == 0 && b->idx[2] == 0)
		return EM_HTTP_MISSING;
	s->requests++;
	snprintf(url, n, "file://%s/%s/%llu_%llu_%llu", dir, src_name, (unsigned long long)b->idx[0],
	    (unsigned long long)b->idx[1], (unsigned long long)b->idx[2]);
	*off = *len = 0;
	*max = 2 * BS * BS * BS;
	return 0;
}

/* Every answer arrives garbled. */
static int garble_all;

/* all_missing: look under "src" instead, once. */
static int
t_all_missing(void *ctx)
{
	(void)ctx;
	hook_calls++;
	if (strcmp(src_name, "src") == 0)
		return 0;
	src_name = "src";
	return 1;
}

static int
t_decode(void *ctx, const struct em_block *b, const struct em_http_reply *rp, const void **data)
{
	struct src *s = ctx;

	s->decodes++;
	if (garble_all)
		return em_fail("block '%s': garbled", rp->url), EM_BLOCKFETCH_AGAIN;
	if (b->idx[0] == 1 && b->idx[1] == 1 && b->idx[2] == 1 && s->garbled++ == 0)
		return em_fail("block '%s': garbled", rp->url), EM_BLOCKFETCH_AGAIN;
	if (rp->len != sizeof(s->buf))
		return em_fail("block '%s': %zu bytes", rp->url, rp->len);
	*data = rp->body;
	return 0;
}

static int
t_fill(void *ctx, const struct em_block *b, const void **data)
{
	struct src *s = ctx;

	block_of(b->idx, s->buf);
	*data = s->buf;
	return 0;
}

static const struct em_blockfetch_ops t_ops = { t_request, t_decode, t_fill };

/*
 * The box: from 1,2,3 (its blocks' parts unaligned, and the store's 3^3
 * chunks not aligned with them), or from 0,0,0 with the store's chunks the
 * blocks (aligned).
 */
static int aligned;

/* One run of the engine over the box to 10,9,11, with stdout (the stub) put aside. */
static int
run_box(struct src *s, struct em_blockfetch *bf)
{
	struct em_fetch_opts o;
	struct em_fetch f;
	int out, null, status;

	em_fetch_opts_init(&o);
	o.config = cfgpath;
	o.outdir = root;
	o.quiet = 1;
	o.compressor = "raw";
	o.chunks[0] = o.chunks[1] = o.chunks[2] = aligned ? BS : 3;
	o.strict = strict_run;
	memset(bf, 0, sizeof(*bf));
	memset(s, 0, sizeof(*s));
	bf->ops = &t_ops;
	bf->ctx = s;
	bf->all_missing = t_all_missing;
	bf->url = "test source";
	if (!aligned)
		bf->b0[0] = 1, bf->b0[1] = 2, bf->b0[2] = 3;
	bf->b1[0] = VZ, bf->b1[1] = VY, bf->b1[2] = VX;
	bf->block[0] = bf->block[1] = bf->block[2] = BS;
	bf->dtype = EM_DT_U1;
	bf->whole = 1;
	bf->max_body = 2 * BS * BS * BS;
	ck_assert_int_eq(em_fetch_begin(&f, "test", "openorganelle", 4, &o), 0);
	ck_assert_msg(em_fetch_set_id(&f, "box") == 0, "%s", em_errmsg());
	fflush(stdout);
	out = dup(1);
	null = open("/dev/null", O_WRONLY);
	dup2(null, 1);
	status = em_blockfetch_run(&f, bf, NULL, NULL);
	fflush(stdout);
	dup2(out, 1);
	close(out);
	close(null);
	em_fetch_end(&f);
	return status;
}

static void
check_store(void)
{
	char path[192];
	struct em_zarr *a;
	uint64_t start[3] = { 0, 0, 0 }, z, y, x, o[3];
	uint64_t count[3] = { VZ, VY, VX };
	unsigned char got[VZ * VY * VX];
	int k;

	snprintf(path, sizeof(path), "%s/box.zarr", root);
	for (k = 0; k < 3; k++) {
		o[k] = aligned ? 0 : (uint64_t)k + 1;
		count[k] -= o[k];
	}
	ck_assert_ptr_nonnull(a = em_zarr_open(path));
	ck_assert_int_eq(em_zarr_read_box(a, start, count, got), 0);
	for (z = 0; z < count[0]; z++)
		for (y = 0; y < count[1]; y++)
			for (x = 0; x < count[2]; x++)
				ck_assert_int_eq(got[(z * count[1] + y) * count[2] + x],
				    voxel(z + o[0], y + o[1], x + o[2]));
	em_zarr_close(a);
}

/* The source's blocks, one file each under dir/src. */
static void
source_files(void)
{
	char path[192];
	uint64_t idx[3];
	unsigned char blk[BS * BS * BS];
	FILE *fp;

	snprintf(path, sizeof(path), "%s/src", dir);
	ck_assert_int_eq(mkdir(path, 0777), 0);
	for (idx[0] = 0; idx[0] < 3; idx[0]++)
		for (idx[1] = 0; idx[1] < 3; idx[1]++)
			for (idx[2] = 0; idx[2] < 3; idx[2]++) {
				snprintf(path, sizeof(path), "%s/src/%llu_%llu_%llu", dir,
				    (unsigned long long)idx[0], (unsigned long long)idx[1],
				    (unsigned long long)idx[2]);
				block_of(idx, blk);
				ck_assert_ptr_nonnull(fp = fopen(path, "wb"));
				ck_assert_uint_eq(fwrite(blk, 1, sizeof(blk), fp), sizeof(blk));
				fclose(fp);
			}
}

/* The record's missing_chunks, -1 when absent. */
static json_int_t
rec_missing(void)
{
	char path[192];
	json_t *r, *v;
	json_int_t n = -1;

	snprintf(path, sizeof(path), "%s/box.json", root);
	ck_assert_ptr_nonnull(r = json_load_file(path, 0, NULL));
	if (json_is_integer(v = json_object_get(r, "missing_chunks")))
		n = json_integer_value(v);
	json_decref(r);
	return n;
}

START_TEST(fetch_skip_resume)
{
	struct src s;
	struct em_blockfetch bf;
	/* Blocks touching the box: z 0..2, y 0..2, x 0..2. */
	const int nblocks = 27;

	scratch("global:\n  http:\n    retries: 3\n    backoff_initial_ms: 1\n"
	    "    backoff_max_ms: 2\n");
	source_files();
	ck_assert_int_eq(run_box(&s, &bf), 0);
	ck_assert_int_eq(s.requests, nblocks - 1);
	ck_assert_uint_eq(bf.missing, 1);
	ck_assert_uint_eq(bf.fetched, nblocks - 1);
	ck_assert_uint_eq(bf.retried, 1);
	ck_assert_uint_eq(bf.skipped, 0);
	check_store();
	ck_assert_int_eq(rec_missing(), 1);
	/* Again: every block is in the store, nothing is asked for; the count stays. */
	ck_assert_int_eq(run_box(&s, &bf), 0);
	ck_assert_int_eq(s.requests, 0);
	ck_assert_uint_eq(bf.skipped, nblocks);
	ck_assert_uint_eq(bf.missing, 0);
	check_store();
	ck_assert_int_eq(rec_missing(), 1);
	rm_scratch();
}
END_TEST

/* A store chunk lost (the store's chunks the source's blocks): only its block is asked for again. */
START_TEST(fetch_resume_lost_chunk)
{
	struct src s;
	struct em_blockfetch bf;
	char path[192];
	const int nblocks = 27;

	scratch("global:\n  http:\n    retries: 3\n    backoff_initial_ms: 1\n"
	    "    backoff_max_ms: 2\n");
	source_files();
	aligned = 1;
	ck_assert_int_eq(run_box(&s, &bf), 0);
	ck_assert_int_eq(s.requests, nblocks - 1);
	check_store();
	snprintf(path, sizeof(path), "%s/box.zarr/0/2/1/2", root);
	ck_assert_int_eq(unlink(path), 0);
	ck_assert_int_eq(run_box(&s, &bf), 0);
	ck_assert_int_eq(s.requests, 1);
	ck_assert_uint_eq(bf.skipped, nblocks - 1);
	check_store();
	aligned = 0;
	rm_scratch();
}
END_TEST

/* Blocks the source does not have are filled; one that never decodes fails the run. */
START_TEST(fetch_missing_and_bad)
{
	struct src s;
	struct em_blockfetch bf;

	scratch("global:\n  http:\n    retries: 2\n    backoff_initial_ms: 1\n"
	    "    backoff_max_ms: 2\n");
	/* No source files at all: every block is missing, the run fails and writes no chunk. */
	ck_assert_int_eq(run_box(&s, &bf), 1);
	ck_assert_uint_eq(bf.fetched, 0);
	ck_assert_uint_eq(bf.missing, 27);
	ck_assert_int_eq(hook_calls, 1);
	ck_assert_msg(strstr(em_errmsg(), "none of the box's 27 chunks is there (the first: "
	    "'test source at 1,2,3', HTTP 404): check the URL, the level, the chunk key "
	    "separator") != NULL, "%s", em_errmsg());
	{
		char path[192];
		struct stat st;

		snprintf(path, sizeof(path), "%s/box.zarr/0/0", root);
		ck_assert_int_eq(stat(path, &st), -1);
	}
	ck_assert_int_eq(rec_missing(), 27);
	rm_scratch();
	scratch("global:\n  http:\n    retries: 2\n    backoff_initial_ms: 1\n"
	    "    backoff_max_ms: 2\n");
	garble_all = 1;
	{
		char path[192];
		FILE *fp;

		snprintf(path, sizeof(path), "%s/src", dir);
		ck_assert_int_eq(mkdir(path, 0777), 0);
		snprintf(path, sizeof(path), "%s/src/0_0_1", dir);
		ck_assert_ptr_nonnull(fp = fopen(path, "wb"));
		fputs("junk", fp);
		fclose(fp);
	}
	ck_assert_int_eq(run_box(&s, &bf), 1);
	garble_all = 0;
	ck_assert_ptr_nonnull(strstr(em_errmsg(), "0_0_1': garbled after 2 attempts"));
	rm_scratch();
}
END_TEST

/* Nothing where the tool first looks: its all_missing hook looks elsewhere, and that is used. */
START_TEST(fetch_all_missing_hook)
{
	struct src s;
	struct em_blockfetch bf;

	scratch("global:\n  http:\n    retries: 2\n    backoff_initial_ms: 1\n"
	    "    backoff_max_ms: 2\n");
	source_files();
	hook_calls = 0;
	src_name = "elsewhere";
	ck_assert_int_eq(run_box(&s, &bf), 0);
	ck_assert_int_eq(hook_calls, 1);
	ck_assert_uint_eq(bf.fetched, 26);
	ck_assert_uint_eq(bf.missing, 1);
	check_store();
	ck_assert_int_eq(rec_missing(), 1);
	rm_scratch();
}
END_TEST

/* --strict: one missing block fails the run, naming the count and the first. */
START_TEST(fetch_strict)
{
	struct src s;
	struct em_blockfetch bf;
	char path[192];
	json_t *r;

	scratch("global:\n  http:\n    retries: 2\n    backoff_initial_ms: 1\n"
	    "    backoff_max_ms: 2\n");
	source_files();
	/* A second missing block, answered 404 by the file:// transport. */
	snprintf(path, sizeof(path), "%s/src/2_2_2", dir);
	ck_assert_int_eq(unlink(path), 0);
	/* Blocks the store's chunks: a failed run's partial chunks are another matter. */
	aligned = 1;
	strict_run = 1;
	ck_assert_int_eq(run_box(&s, &bf), 1);
	strict_run = 0;
	ck_assert_uint_eq(bf.missing, 2);
	ck_assert_msg(strstr(em_errmsg(), "2 chunks of the box are missing (HTTP 404 or 403), the "
	    "first 'test source at 0,0,0'") != NULL, "%s", em_errmsg());
	snprintf(path, sizeof(path), "%s/box.json", root);
	ck_assert_ptr_nonnull(r = json_load_file(path, 0, NULL));
	ck_assert_str_eq(json_string_value(json_object_get(r, "status")), "failed");
	ck_assert_int_eq(json_integer_value(json_object_get(r, "missing_chunks")), 2);
	json_decref(r);
	/*
	 * Without it the same source is stored.  The two are counted again if
	 * the failed run's fill chunks did not reach the disk before it
	 * stopped, so the count is at most 4 (an upper bound, never fewer).
	 */
	ck_assert_int_eq(run_box(&s, &bf), 0);
	ck_assert_int_ge(rec_missing(), 2);
	ck_assert_int_le(rec_missing(), 4);
	aligned = 0;
	rm_scratch();
}
END_TEST

Suite *
blockfetch_suite(void)
{
	Suite *s = suite_create("blockfetch");
	TCase *tc = tcase_create("core");

	tcase_set_timeout(tc, 30);
	tcase_add_loop_test(tc, walk_covers_once, 0, sizeof(walks) / sizeof(walks[0]));
	tcase_add_test(tc, transfers_rule);
	tcase_add_test(tc, memory_recounted);
	tcase_add_test(tc, jobs_from_config);
	tcase_add_test(tc, fetch_skip_resume);
	tcase_add_test(tc, fetch_resume_lost_chunk);
	tcase_add_test(tc, fetch_missing_and_bad);
	tcase_add_test(tc, fetch_all_missing_hook);
	tcase_add_test(tc, fetch_strict);
	suite_add_tcase(s, tc);
	return s;
}
