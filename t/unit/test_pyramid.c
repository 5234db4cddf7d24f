/* test_pyramid.c - a level made box by box (a part's units) equals the level made from whole planes */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <check.h>

#include "core/diag.h"
#include "store/codec.h"
#include "store/pyramid.h"
#include "store/writer.h"
#include "store/zarr.h"

static char dir[64];

static void
setup(void)
{
	snprintf(dir, sizeof(dir), "/tmp/em-pyramid-XXXXXX");
	ck_assert_ptr_nonnull(mkdtemp(dir));
}

static void
teardown(void)
{
	char cmd[128];

	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", dir);
	ck_assert_int_eq(system(cmd), 0);
}

/* Odd sizes, so that level 1's blocks at the edges are cut; chunks 4,5,4. */
static const uint64_t shape0[3] = { 19, 23, 17 }, chunks[3] = { 4, 5, 4 };

static struct em_zarr *
make_array(const char *name, const uint64_t shape[3])
{
	struct em_zarr_meta m;
	struct em_codec c;
	uint64_t ch[3];
	char p[256];
	struct em_zarr *a;

	for (int i = 0; i < 3; i++)
		ch[i] = chunks[i] < shape[i] ? chunks[i] : shape[i];
	ck_assert_int_eq(em_codec_from_name("zstd", -1, &c), 0);
	ck_assert_int_eq(em_zarr_meta_init(&m, 3, shape, ch, EM_DT_U2, &c), 0);
	snprintf(p, sizeof(p), "%s/%s", dir, name);
	ck_assert_msg(em_zarr_create_array(p, &m) == 0, "%s", em_errmsg());
	a = em_zarr_open(p);
	ck_assert_msg(a != NULL, "%s", em_errmsg());
	return a;
}

/* Level 0 with values that make every block's mean and mode differ. */
static struct em_zarr *
level0(uint16_t **vol)
{
	size_t n = (size_t)(shape0[0] * shape0[1] * shape0[2]);
	struct em_zwriter_opts o = { .jobs = 2 };
	struct em_zarr *a = make_array("l0", shape0);
	struct em_zwriter *w;
	uint16_t *v = malloc(n * 2);

	ck_assert_ptr_nonnull(v);
	for (size_t i = 0; i < n; i++)
		v[i] = (uint16_t)((i * 2654435761u) >> 7) % (i % 3 ? 4000 : 5);
	ck_assert_ptr_nonnull(w = em_zwriter_new(a, &o));
	ck_assert_int_eq(em_zwriter_put_planes(w, 0, shape0[0], v), 0);
	ck_assert_msg(em_zwriter_finish(w, NULL) == 0, "%s", em_errmsg());
	em_zwriter_free(w);
	*vol = v;
	return a;
}

/* Level 1 read back whole. */
static uint16_t *
read_all(struct em_zarr *a)
{
	const struct em_zarr_meta *m = em_zarr_meta(a);
	uint16_t *v = malloc((size_t)(m->shape[0] * m->shape[1] * m->shape[2]) * 2);

	ck_assert_ptr_nonnull(v);
	ck_assert_msg(em_zarr_read_slab(a, 0, m->shape[0], v) == 0, "%s", em_errmsg());
	return v;
}

/*
 * Level 1 made from whole planes (em_pyramid), and again in boxes of whole
 * chunks in any order (em_pyramid_box): the same voxels, for each method.
 */
START_TEST(boxes_equal_planes)
{
	static const enum em_ds_method methods[] = { EM_DS_MEAN, EM_DS_MODE, EM_DS_NEAREST };
	static const double voxel[3] = { 8, 8, 8 };
	struct em_pyramid_plan plan;
	struct em_zarr *arr[EM_PYRAMID_MAX_LEVELS] = { NULL }, *l0, *b1;
	uint16_t *vol, *want, *got;
	char name[32];

	l0 = level0(&vol);
	ck_assert_int_eq(em_pyramid_plan(shape0, voxel, chunks, 2, &plan), 0);
	ck_assert_int_eq(plan.levels, 2);
	for (size_t k = 0; k < sizeof(methods) / sizeof(methods[0]); k++) {
		struct em_zwriter_opts o = { .jobs = 2 };
		struct em_pyramid *py;
		struct em_zwriter *w;
		const struct em_zarr_meta *m;
		uint64_t read = 0, z, y, x, total = 0;

		snprintf(name, sizeof(name), "p%zu", k);
		arr[1] = make_array(name, plan.shape[1]);
		ck_assert_ptr_nonnull(py = em_pyramid_new(&plan, 0, arr, EM_DT_U2, methods[k], &o,
		    NULL));
		ck_assert_int_eq(em_pyramid_put_planes(py, 0, shape0[0], vol), 0);
		ck_assert_msg(em_pyramid_finish(py, NULL) == 0, "%s", em_errmsg());
		em_pyramid_free(py);
		want = read_all(arr[1]);

		snprintf(name, sizeof(name), "b%zu", k);
		b1 = make_array(name, plan.shape[1]);
		m = em_zarr_meta(b1);
		ck_assert_ptr_nonnull(w = em_zwriter_new(b1, &o));
		/* Boxes of 1x2x1 chunks, the last ones cut by the level's edge, z from the top down. */
		for (z = (m->shape[0] - 1) / m->chunks[0] + 1; z-- > 0;)
			for (y = 0; y < m->shape[1]; y += 2 * m->chunks[1])
				for (x = 0; x < m->shape[2]; x += m->chunks[2]) {
					uint64_t st[3] = { z * m->chunks[0], y, x }, c[3], slab[2] = { 2, 3 };

					for (int i = 0; i < 3; i++) {
						uint64_t want_c = i == 1 ? 2 * m->chunks[1] : m->chunks[i];
						c[i] = m->shape[i] - st[i] < want_c ? m->shape[i] - st[i] :
						    want_c;
					}
					total += c[0] * c[1] * c[2];
					/* Slabs of 2 planes and 3 rows: smaller than a chunk, fed as boxes. */
					ck_assert_msg(em_pyramid_box(&plan, 1, l0, EM_DT_U2, methods[k], st, c,
					    slab, w, &read) == 0, "%s", em_errmsg());
				}
		ck_assert_msg(em_zwriter_finish(w, NULL) == 0, "%s", em_errmsg());
		em_zwriter_free(w);
		ck_assert_uint_eq(total, m->shape[0] * m->shape[1] * m->shape[2]);
		/* Each voxel of level 0 read once: the boxes do not overlap below either. */
		ck_assert_uint_eq(read, shape0[0] * shape0[1] * shape0[2] * 2);
		got = read_all(b1);
		ck_assert_mem_eq(got, want, (size_t)total * 2);
		free(got);
		free(want);
		em_zarr_close(b1);
		em_zarr_close(arr[1]);
		arr[1] = NULL;
	}
	em_zarr_close(l0);
	free(vol);
}
END_TEST

/* A box outside the level, or a level the plan has not, is refused. */
START_TEST(box_errors)
{
	static const double voxel[3] = { 8, 8, 8 };
	struct em_pyramid_plan plan;
	struct em_zarr *l0, *a1;
	struct em_zwriter_opts o = { .jobs = 1 };
	struct em_zwriter *w;
	uint16_t *vol;
	uint64_t st[3] = { 0, 0, 0 }, c[3], slab[2] = { 4, 5 };

	l0 = level0(&vol);
	ck_assert_int_eq(em_pyramid_plan(shape0, voxel, chunks, 2, &plan), 0);
	a1 = make_array("e1", plan.shape[1]);
	ck_assert_ptr_nonnull(w = em_zwriter_new(a1, &o));
	memcpy(c, plan.shape[1], sizeof(c));
	c[2]++;
	ck_assert_int_eq(em_pyramid_box(&plan, 1, l0, EM_DT_U2, EM_DS_MEAN, st, c, slab, w, NULL), -1);
	ck_assert_ptr_nonnull(strstr(em_errmsg(), "outside level 1"));
	ck_assert_int_eq(em_pyramid_box(&plan, 2, l0, EM_DT_U2, EM_DS_MEAN, st, plan.shape[1], slab,
	    w, NULL), -1);
	ck_assert_ptr_nonnull(strstr(em_errmsg(), "no level 2"));
	/* More memory for a wider box, and a slab's worth, not the box's. */
	c[2]--;
	ck_assert_uint_gt(em_pyramid_box_memory(&plan, 1, c, slab, EM_DT_U2),
	    em_pyramid_box_memory(&plan, 1, (uint64_t[3]){ c[0], c[1], 4 }, slab, EM_DT_U2));
	ck_assert_uint_eq(em_pyramid_box_memory(&plan, 1, c, slab, EM_DT_U2),
	    em_pyramid_box_memory(&plan, 1, (uint64_t[3]){ 2 * c[0], c[1], c[2] }, slab, EM_DT_U2));
	em_zwriter_free(w);
	em_zarr_close(a1);
	em_zarr_close(l0);
	free(vol);
}
END_TEST

Suite *
pyramid_suite(void)
{
	Suite *s = suite_create("pyramid");
	TCase *tc = tcase_create("core");

	tcase_set_timeout(tc, 60);
	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_add_test(tc, boxes_equal_planes);
	tcase_add_test(tc, box_errors);
	suite_add_tcase(s, tc);
	return s;
}
