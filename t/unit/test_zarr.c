/* test_zarr.c - chunk keys, edge chunks, the streaming writer and the readers, resume, temp files */
#include <sys/stat.h>
#include <sys/wait.h>

#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <check.h>

#include "store/codec.h"
#include "core/diag.h"
#include "core/fsutil.h"
#include "store/zarr.h"
#include "store/writer.h"

static char dir[64];

static void
setup(void)
{
	snprintf(dir, sizeof(dir), "/tmp/em-zarr-XXXXXX");
	ck_assert_ptr_nonnull(mkdtemp(dir));
}

static void
teardown(void)
{
	char cmd[128];

	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", dir);
	ck_assert_int_eq(system(cmd), 0);
}

/* shape 21,18,13 uint16, chunks 8,5,4: edge chunks in every dimension */
static const uint64_t shape[3] = { 21, 18, 13 }, chunks[3] = { 8, 5, 4 };
#define NVOX (21 * 18 * 13)

static uint16_t *
volume(void)
{
	uint16_t *v = malloc(NVOX * 2);
	size_t i;

	ck_assert_ptr_nonnull(v);
	for (i = 0; i < NVOX; i++)
		v[i] = (uint16_t)(i * 7 + (i >> 5));
	return v;
}

static void
make_store(const char *name, const char *codec, char sep, struct em_zarr_meta *m)
{
	struct em_codec c;
	char p[256];

	ck_assert_int_eq(em_codec_from_name(codec, -1, &c), 0);
	ck_assert_int_eq(em_zarr_meta_init(m, 3, shape, chunks, EM_DT_U2, &c), 0);
	m->sep = sep;
	snprintf(p, sizeof(p), "%s/%s", dir, name);
	ck_assert_msg(em_zarr_create(p, m, NULL, NULL) == 0, "%s", em_errmsg());
}

static struct em_zarr *
open_store(const char *name)
{
	char p[256];
	struct em_zarr *a;

	snprintf(p, sizeof(p), "%s/%s", dir, name);
	a = em_zarr_open(p);
	ck_assert_msg(a != NULL, "%s", em_errmsg());
	return a;
}

static void
write_planes_mem(const char *name, const uint16_t *v, int step, struct em_zwriter_stats *st,
    uint64_t max_memory)
{
	struct em_zarr *a = open_store(name);
	struct em_zwriter_opts o = { .jobs = 2, .max_memory = max_memory };
	struct em_zwriter *w = em_zwriter_new(a, &o);
	uint64_t z;

	ck_assert_ptr_nonnull(w);
	for (z = 0; z < shape[0]; z += (uint64_t)step) {
		uint64_t nz = shape[0] - z < (uint64_t)step ? shape[0] - z : (uint64_t)step;
		ck_assert_int_eq(em_zwriter_put_planes(w, z, nz, v + z * 18 * 13), 0);
	}
	ck_assert_msg(em_zwriter_finish(w, st) == 0, "%s", em_errmsg());
	em_zwriter_free(w);
	em_zarr_close(a);
}

static void
write_planes(const char *name, const uint16_t *v, int step, struct em_zwriter_stats *st)
{
	write_planes_mem(name, v, step, st, 0);
}

static int
same_file(const char *a, const char *b)
{
	char cmd[1024];

	snprintf(cmd, sizeof(cmd), "cmp -s '%s' '%s'", a, b);
	return system(cmd) == 0;
}

START_TEST(keys_and_geometry)
{
	struct em_zarr_meta m;
	uint64_t ci[3] = { 3, 0, 12 }, g[3], big[3] = { 4096, 4096, 4096 };
	char key[32];

	ck_assert_int_eq(em_zarr_meta_init(&m, 3, shape, chunks, EM_DT_U2, NULL), 0);
	ck_assert_str_eq(em_zarr_chunk_key(&m, ci, key, sizeof(key)), "3/0/12");
	m.sep = '.';
	ck_assert_str_eq(em_zarr_chunk_key(&m, ci, key, sizeof(key)), "3.0.12");
	ck_assert_ptr_null(em_zarr_chunk_key(&m, ci, key, 5));
	em_zarr_grid(&m, g);
	ck_assert_uint_eq(g[0], 3);
	ck_assert_uint_eq(g[1], 4);
	ck_assert_uint_eq(g[2], 4);
	ck_assert_uint_eq(em_zarr_nchunks(&m), 48);
	ck_assert_uint_eq(em_zarr_chunk_bytes(&m), 8 * 5 * 4 * 2);
	ck_assert_int_eq(em_zarr_meta_init(&m, 3, shape, (uint64_t[]){ 8, 0, 4 }, EM_DT_U2, NULL), -1);
	ck_assert_int_eq(em_zarr_meta_init(&m, 3, big, big, EM_DT_U1, NULL), -1);
	ck_assert_msg(strstr(em_errmsg(), "chunks of more than") != NULL, "%s", em_errmsg());
	ck_assert_int_eq(em_zarr_meta_init(&m, 0, shape, chunks, EM_DT_U1, NULL), -1);
	ck_assert_int_eq(em_zarr_meta_init(&m, 3, shape, chunks, EM_DT_U1, NULL), 0);
	ck_assert_int_eq(em_zarr_meta_set_fill(&m, 256), -1);
	ck_assert_int_eq(em_zarr_meta_set_fill(&m, 1.5), -1);
	ck_assert_int_eq(em_zarr_meta_set_fill(&m, 255), 0);
	ck_assert_uint_eq(m.fill[0], 255);
}
END_TEST

START_TEST(copy_box)
{
	/* 3x4 source, copy its 2x2 block at (1,1) into a 4x5 target at (2,3). */
	uint8_t src[12] = { 0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11 }, dst[20] = { 0 };
	uint64_t ss[2] = { 3, 4 }, so[2] = { 1, 1 }, ds[2] = { 4, 5 }, dof[2] = { 2, 3 };
	uint64_t cnt[2] = { 2, 2 };

	em_zarr_copy_box(2, 1, dst, ds, dof, src, ss, so, cnt);
	ck_assert_uint_eq(dst[2 * 5 + 3], 5);
	ck_assert_uint_eq(dst[2 * 5 + 4], 6);
	ck_assert_uint_eq(dst[3 * 5 + 3], 9);
	ck_assert_uint_eq(dst[3 * 5 + 4], 10);
	ck_assert_uint_eq(dst[2 * 5 + 2], 0);
}
END_TEST

/* Element by element: what em_zarr_copy_box must match. */
static void
copy_box_ref(int n, size_t isz, uint8_t *dst, const uint64_t *dsh, const uint64_t *dof,
    const uint8_t *src, const uint64_t *ssh, const uint64_t *so, const uint64_t *cnt)
{
	uint64_t pos[EM_ZARR_MAXDIM] = { 0 };
	int i;

	for (;;) {
		uint64_t a = 0, b = 0;
		for (i = 0; i < n; i++) {
			a = a * dsh[i] + dof[i] + pos[i];
			b = b * ssh[i] + so[i] + pos[i];
		}
		memcpy(dst + a * isz, src + b * isz, isz);
		for (i = n - 1; i >= 0; i--) {
			if (++pos[i] < cnt[i])
				break;
			pos[i] = 0;
		}
		if (i < 0)
			return;
	}
}

START_TEST(copy_box_random)
{
	/*
	 * Random boxes of 1 to 4 dimensions and items of 1, 2 and 4 bytes,
	 * rows of the lengths the copy has fixed paths for (16 to 256 bytes)
	 * and others, whole trailing dimensions (merged into one run) and
	 * not: every byte as the element-by-element copy puts it.
	 */
	static const uint64_t edges[] = { 1, 2, 3, 4, 8, 16, 17, 32, 64, 128 };
	uint8_t *src = malloc(1 << 16), *dst = malloc(1 << 16), *ref = malloc(1 << 16);
	uint64_t ssh[4], dsh[4], so[4], dof[4], cnt[4], seed = 88172645463325252ULL;
	int t, i;

	ck_assert_ptr_nonnull(src);
	ck_assert_ptr_nonnull(dst);
	ck_assert_ptr_nonnull(ref);
	for (i = 0; i < 1 << 16; i++)
		src[i] = (uint8_t)(i * 131 + (i >> 8));
#define NEXT() (seed ^= seed << 13, seed ^= seed >> 7, seed ^= seed << 17, seed)
	for (t = 0; t < 3000; t++) {
		int n = 1 + (int)(NEXT() % 4);
		size_t isz = (size_t)1 << (NEXT() % 3);
		uint64_t sv = isz, dv = isz;
		for (i = 0; i < n; i++) {
			cnt[i] = edges[NEXT() % 10];
			if (n > 1 && i < n - 2 && cnt[i] > 4)
				cnt[i] = 1 + cnt[i] % 4;
			so[i] = NEXT() % 2 ? 0 : NEXT() % 3;
			dof[i] = NEXT() % 2 ? 0 : NEXT() % 3;
			ssh[i] = so[i] + cnt[i] + (NEXT() % 2 ? 0 : NEXT() % 3);
			dsh[i] = dof[i] + cnt[i] + (NEXT() % 2 ? 0 : NEXT() % 3);
			sv *= ssh[i];
			dv *= dsh[i];
		}
		if (sv > 1 << 16 || dv > 1 << 16) {
			t--;
			continue;
		}
		memset(dst, 0xA5, dv);
		memset(ref, 0xA5, dv);
		em_zarr_copy_box(n, isz, dst, dsh, dof, src, ssh, so, cnt);
		copy_box_ref(n, isz, ref, dsh, dof, src, ssh, so, cnt);
		ck_assert_msg(memcmp(dst, ref, dv) == 0, "box %d (%d dimensions, %zu-byte items) differs",
		    t, n, isz);
	}
#undef NEXT
	free(src);
	free(dst);
	free(ref);
}
END_TEST

START_TEST(planes_boxes_same_bytes)
{
	struct em_zarr_meta m;
	struct em_zwriter_stats st;
	uint16_t *v = volume(), *back = malloc(NVOX * 2), *edge = malloc(8 * 5 * 4 * 2);
	uint64_t z0[3] = { 0, 0, 0 }, ci[3], g[3];
	struct em_zarr *a;
	struct em_zwriter *w;
	struct em_zwriter_opts o = { .jobs = 3 };
	int64_t bz, by, bx;
	char pa[400], pb[400], key[64];

	make_store("p.zarr", "zstd", '/', &m);
	write_planes("p.zarr", v, 3, &st);
	ck_assert_uint_eq(st.chunks_written, 48);
	/* By default a second chunk row (16 chunks) may be in flight; a bound takes it back. */
	ck_assert_uint_le(st.peak_buffer, em_zwriter_min_memory(&m, 2, NULL) +
	    16 * em_zarr_chunk_bytes(&m));
	make_store("pm.zarr", "zstd", '/', &m);
	write_planes_mem("pm.zarr", v, 3, &st, em_zwriter_min_memory(&m, 2, NULL));
	ck_assert_uint_eq(st.chunks_written, 48);
	ck_assert_uint_le(st.peak_buffer, em_zwriter_min_memory(&m, 2, NULL));
	/* Boxes of 6x7x5 (unaligned), fed last first. */
	make_store("b.zarr", "zstd", '/', &m);
	a = open_store("b.zarr");
	w = em_zwriter_new(a, &o);
	ck_assert_ptr_nonnull(w);
	for (bz = 18; bz >= 0; bz -= 6)
		for (by = 14; by >= 0; by -= 7)
			for (bx = 10; bx >= 0; bx -= 5) {
				uint64_t st3[3] = { (uint64_t)bz, (uint64_t)by, (uint64_t)bx }, cn[3];
				uint16_t *box;
				int i;
				for (i = 0; i < 3; i++)
					cn[i] = shape[i] - st3[i] < (uint64_t[]){ 6, 7, 5 }[i] ?
					    shape[i] - st3[i] : (uint64_t[]){ 6, 7, 5 }[i];
				box = malloc(cn[0] * cn[1] * cn[2] * 2);
				em_zarr_copy_box(3, 2, box, cn, z0, v, shape, st3, cn);
				ck_assert_msg(em_zwriter_put_box(w, st3, cn, box) == 0, "%s", em_errmsg());
				free(box);
			}
	ck_assert_msg(em_zwriter_finish(w, &st) == 0, "%s", em_errmsg());
	ck_assert_uint_eq(st.chunks_written, 48);
	em_zwriter_free(w);
	/* The same chunk files, byte for byte. */
	em_zarr_grid(&m, g);
	for (ci[0] = 0; ci[0] < g[0]; ci[0]++)
		for (ci[1] = 0; ci[1] < g[1]; ci[1]++)
			for (ci[2] = 0; ci[2] < g[2]; ci[2]++) {
				em_zarr_chunk_key(&m, ci, key, sizeof(key));
				snprintf(pa, sizeof(pa), "%s/p.zarr/0/%s", dir, key);
				snprintf(pb, sizeof(pb), "%s/b.zarr/0/%s", dir, key);
				ck_assert_msg(same_file(pa, pb), "chunk %s differs", key);
			}
	/* Read back whole, and an edge chunk is stored full size with fill beyond the array. */
	ck_assert_int_eq(em_zarr_read_box(a, z0, shape, back), 0);
	ck_assert_mem_eq(back, v, NVOX * 2);
	ci[0] = 2; ci[1] = 3; ci[2] = 3;
	ck_assert_int_eq(em_zarr_read_chunk(a, ci, edge), 1);
	ck_assert_uint_eq(edge[0], v[(16 * 18 + 15) * 13 + 12]);
	ck_assert_uint_eq(edge[1], 0);			/* x = 13: outside */
	ck_assert_uint_eq(edge[5 * 8 * 4 - 1], 0);	/* the last voxel: outside */
	em_zarr_close(a);
	free(v);
	free(back);
	free(edge);
}
END_TEST

START_TEST(iterator)
{
	struct em_zarr_meta m;
	uint16_t *v = volume();
	struct em_zarr *a;
	int threads;

	make_store("i.zarr", "blosc-lz4", '.', &m);
	write_planes("i.zarr", v, 21, NULL);
	a = open_store("i.zarr");
	for (threads = 0; threads <= 2; threads++) {
		struct em_zarr_iter *it = em_zarr_iter_new(a, threads);
		const void *p;
		size_t len, off = 0;
		uint64_t z0, nz, expect_z = 0;
		int r;
		ck_assert_ptr_nonnull(it);
		while ((r = em_zarr_iter_next(it, &p, &len, &z0, &nz)) == 1) {
			ck_assert_uint_eq(z0, expect_z);
			ck_assert_uint_eq(len, nz * 18 * 13 * 2);
			ck_assert_mem_eq(p, (const char *)v + off, len);
			off += len;
			expect_z += nz;
		}
		ck_assert_int_eq(r, 0);
		ck_assert_uint_eq(off, NVOX * 2);
		ck_assert_uint_eq(em_zarr_iter_missing(it), 0);
		em_zarr_iter_free(it);
	}
	/* A slab in the middle, across chunk rows. */
	{
		uint16_t *s = malloc(5 * 18 * 13 * 2);
		ck_assert_int_eq(em_zarr_read_slab(a, 6, 5, s), 0);
		ck_assert_mem_eq(s, v + 6 * 18 * 13, 5 * 18 * 13 * 2);
		free(s);
	}
	ck_assert_uint_ge(em_zarr_iter_memory(&m, 2), 2 * 8 * 18 * 13 * 2);
	em_zarr_close(a);
	free(v);
}
END_TEST

/* Planes over 1 MiB: a chunk row is handed out in several runs of planes (3 + 1 here). */
START_TEST(iterator_big_planes)
{
	static const uint64_t sh[3] = { 9, 1100, 1000 }, ch[3] = { 4, 512, 512 };
	size_t plane = 1100 * 1000, i;
	unsigned char *v = malloc(9 * plane);
	struct em_zarr_meta m;
	struct em_codec c;
	struct em_zwriter *w;
	struct em_zarr *a;
	struct em_zarr_iter *it;
	const void *p;
	size_t len, off = 0;
	uint64_t z0, nz, calls = 0;
	char path[256];
	int r;

	for (i = 0; i < 9 * plane; i++)
		v[i] = (unsigned char)(i % 251 + i / plane);
	ck_assert_int_eq(em_codec_from_name("raw", -1, &c), 0);
	ck_assert_int_eq(em_zarr_meta_init(&m, 3, sh, ch, EM_DT_U1, &c), 0);
	snprintf(path, sizeof(path), "%s/big.zarr", dir);
	ck_assert_int_eq(em_zarr_create_array(path, &m), 0);
	a = em_zarr_open(path);
	ck_assert_ptr_nonnull(a);
	w = em_zwriter_new(a, &(struct em_zwriter_opts){ .jobs = 2 });
	ck_assert_int_eq(em_zwriter_put_planes(w, 0, 9, v), 0);
	ck_assert_int_eq(em_zwriter_finish(w, NULL), 0);
	em_zwriter_free(w);
	it = em_zarr_iter_new(a, 2);
	while ((r = em_zarr_iter_next(it, &p, &len, &z0, &nz)) == 1) {
		ck_assert_uint_eq(z0 * plane, off);
		ck_assert_uint_le(nz, 3);
		ck_assert_mem_eq(p, v + off, len);
		off += len;
		calls++;
	}
	ck_assert_int_eq(r, 0);
	ck_assert_uint_eq(off, 9 * plane);
	ck_assert_uint_eq(calls, 5);	/* rows of 4, 4, 1 planes: 3+1, 3+1, 1 */
	em_zarr_iter_free(it);
	em_zarr_close(a);
	free(v);
}
END_TEST

START_TEST(resume_and_tmp)
{
	struct em_zarr_meta m;
	struct em_zwriter_stats st;
	uint16_t *v = volume();
	char p[300], q[300];
	uint64_t removed = 99;

	make_store("r.zarr", "zlib", '/', &m);
	write_planes("r.zarr", v, 4, &st);
	ck_assert_uint_eq(st.chunks_written, 48);
	/* Remove one chunk; leave a temp file of a dead writer and one of ours. */
	snprintf(p, sizeof(p), "%s/r.zarr/0/1/2/3", dir);
	ck_assert_int_eq(unlink(p), 0);
	snprintf(q, sizeof(q), "%s/r.zarr/0/1/2/3.tmp.1073741000.7", dir);
	ck_assert_int_eq(em_write_atomic(q, "half", 4, 0), 0);
	snprintf(p, sizeof(p), "%s/r.zarr/0/0/0/1.tmp.%ld.1", dir, (long)getpid());
	ck_assert_int_eq(em_write_atomic(p, "mine", 4, 0), 0);
	write_planes("r.zarr", v, 4, &st);
	ck_assert_uint_eq(st.chunks_written, 1);
	ck_assert_uint_eq(st.chunks_present, 47);
	ck_assert_int_eq(em_exists(q), 0);
	ck_assert_int_eq(em_exists(p), 1);
	snprintf(q, sizeof(q), "%s/r.zarr", dir);
	ck_assert_int_eq(em_zarr_clean_tmp(q, 1, &removed), 0);
	ck_assert_uint_eq(removed, 1);
	ck_assert_int_eq(em_exists(p), 0);
	/* An empty chunk file (a machine crash without fsync) is not whole. */
	snprintf(p, sizeof(p), "%s/r.zarr/0/0/0/0", dir);
	ck_assert_int_eq(truncate(p, 0), 0);
	write_planes("r.zarr", v, 4, &st);
	ck_assert_uint_eq(st.chunks_written, 1);
	/* A damaged chunk (written by something else) is trusted, unless verify decodes it. */
	ck_assert_int_eq(em_write_atomic(p, "junk", 4, 0), 0);
	{
		struct em_zarr *a = open_store("r.zarr");
		struct em_zwriter_opts o = { .jobs = 2, .verify = 1 };
		struct em_zwriter *w = em_zwriter_new(a, &o);
		uint64_t ci[3] = { 0, 0, 0 };
		ck_assert_int_eq(em_zarr_chunk_present(a, ci, 0), 1);
		ck_assert_int_eq(em_zarr_chunk_present(a, ci, 1), 0);
		ck_assert_int_eq(em_zwriter_put_planes(w, 0, 21, v), 0);
		ck_assert_int_eq(em_zwriter_finish(w, &st), 0);
		ck_assert_uint_eq(st.chunks_written, 1);
		ck_assert_uint_eq(st.chunks_present, 47);
		ck_assert_int_eq(em_zarr_chunk_present(a, ci, 1), 1);
		em_zwriter_free(w);
		em_zarr_close(a);
	}
	free(v);
}
END_TEST

START_TEST(fill_chunks)
{
	struct em_zarr_meta m;
	struct em_codec c;
	struct em_zwriter_opts o = { .jobs = 1, .skip_fill = 1 };
	struct em_zwriter_stats st;
	struct em_zwriter *w;
	struct em_zarr *a;
	float *v = malloc(NVOX * 4), *back = malloc(NVOX * 4);
	uint64_t z0[3] = { 0, 0, 0 };
	char p[256];
	size_t i;

	for (i = 0; i < NVOX; i++)
		v[i] = NAN;
	v[0] = 1.0f;
	em_codec_default(&c);
	ck_assert_int_eq(em_zarr_meta_init(&m, 3, shape, chunks, EM_DT_F4, &c), 0);
	ck_assert_int_eq(em_zarr_meta_set_fill(&m, NAN), 0);
	snprintf(p, sizeof(p), "%s/f.zarr", dir);
	ck_assert_int_eq(em_zarr_create_array(p, &m), 0);
	a = em_zarr_open(p);
	ck_assert_ptr_nonnull(a);
	w = em_zwriter_new(a, &o);
	ck_assert_int_eq(em_zwriter_put_planes(w, 0, 21, v), 0);
	ck_assert_int_eq(em_zwriter_finish(w, &st), 0);
	em_zwriter_free(w);
	ck_assert_uint_eq(st.chunks_written, 1);
	ck_assert_uint_eq(st.chunks_fill, 47);
	ck_assert_int_eq(em_zarr_read_box(a, z0, shape, back), 0);
	ck_assert_mem_eq(back, v, NVOX * 4);
	ck_assert_int_eq(em_zarr_meta(a)->fill_null, 0);
	em_zarr_close(a);
	free(v);
	free(back);
}
END_TEST

START_TEST(writer_errors)
{
	struct em_zarr_meta m, m2;
	struct em_zwriter_opts o = { .jobs = 1, .max_pending = 3 * 8 * 5 * 4 * 2 };
	struct em_zwriter *w;
	struct em_zarr *a;
	uint16_t *v = volume();
	uint64_t st3[3] = { 0, 0, 0 }, cn[3] = { 6, 5, 4 };
	uint64_t wide[3] = { 1, 18, 13 };
	char p[256];

	make_store("e.zarr", "zstd", '/', &m);
	/* The same metadata again is fine; another shape is refused by name. */
	make_store("e.zarr", "zstd", '/', &m2);
	m2.shape[2] = 14;
	snprintf(p, sizeof(p), "%s/e.zarr", dir);
	ck_assert_int_eq(em_zarr_create(p, &m2, NULL, NULL), -1);
	ck_assert_msg(strstr(em_errmsg(), "different shape") != NULL, "%s", em_errmsg());
	a = open_store("e.zarr");
	w = em_zwriter_new(a, &o);
	ck_assert_int_eq(em_zwriter_put_box(w, st3, cn, v), 0);
	ck_assert_int_eq(em_zwriter_put_box(w, st3, cn, v), -1);
	ck_assert_msg(strstr(em_errmsg(), "overlap") != NULL, "%s", em_errmsg());
	ck_assert_int_eq(em_zwriter_put_planes(w, 0, 1, v), -1);
	/* A wide box touches 16 chunks: more than max_pending allows. */
	st3[0] = 9;
	ck_assert_int_eq(em_zwriter_put_box(w, st3, wide, v), -1);
	ck_assert_msg(strstr(em_errmsg(), "incomplete chunks would need") != NULL, "%s",
	    em_errmsg());
	ck_assert_int_eq(em_zwriter_finish(w, NULL), -1);
	ck_assert_msg(strstr(em_errmsg(), "incomplete") != NULL, "%s", em_errmsg());
	em_zwriter_free(w);
	/* max_memory alone bounds the partial chunks too: a box across two chunk rows is too much. */
	{
		struct em_zwriter_opts o2 = { .jobs = 1,
		    .max_memory = em_zwriter_min_memory(&m, 1, NULL) };
		uint64_t s2[3] = { 6, 0, 0 }, c2[3] = { 4, 18, 13 };
		uint16_t *box = calloc(4 * 18 * 13, 2);
		w = em_zwriter_new(a, &o2);
		ck_assert_int_eq(em_zwriter_put_box(w, s2, c2, box), -1);
		ck_assert_msg(strstr(em_errmsg(), "incomplete chunks would need") != NULL, "%s",
		    em_errmsg());
		em_zwriter_free(w);
		free(box);
	}
	w = em_zwriter_new(a, NULL);
	ck_assert_int_eq(em_zwriter_put_planes(w, 1, 1, v), -1);
	ck_assert_msg(strstr(em_errmsg(), "expected") != NULL, "%s", em_errmsg());
	ck_assert_int_eq(em_zwriter_put_planes(w, 0, 5, v), 0);
	ck_assert_int_eq(em_zwriter_finish(w, NULL), -1);
	ck_assert_msg(strstr(em_errmsg(), "only 5 of 21 planes") != NULL, "%s", em_errmsg());
	em_zwriter_free(w);
	em_zarr_close(a);
	free(v);
}
END_TEST

START_TEST(ngff_and_memory)
{
	struct em_zarr_meta m;
	struct em_zarr *a;
	struct em_codec c;
	double vox[3] = { 30, 4, 4 }, got[EM_ZARR_MAXDIM];
	uint64_t s[3] = { 1024, 1024, 1024 }, ch[3] = { 64, 64, 64 }, box[3] = { 64, 64, 64 };
	uint64_t need;
	char p[256];

	em_codec_default(&c);
	ck_assert_int_eq(em_zarr_meta_init(&m, 3, shape, chunks, EM_DT_U1, &c), 0);
	snprintf(p, sizeof(p), "%s/v.zarr", dir);
	ck_assert_int_eq(em_zarr_create(p, &m, vox, "vol"), 0);
	ck_assert_int_eq(em_zarr_create(p, &m, vox, "vol"), 0);
	a = em_zarr_open(p);
	ck_assert_ptr_nonnull(a);
	ck_assert_int_eq(em_zarr_voxel_nm(a, got), 3);
	ck_assert(got[0] == 30 && got[1] == 4 && got[2] == 4);
	ck_assert(strstr(em_zarr_path(a), "v.zarr/0") != NULL);
	em_zarr_close(a);
	/* Planes mode for 1024^3 uint8 in 64^3 chunks, 2 jobs: one 64 MiB chunk row and a few chunks. */
	ck_assert_int_eq(em_zarr_meta_init(&m, 3, s, ch, EM_DT_U1, &c), 0);
	need = em_zwriter_min_memory(&m, 2, NULL);
	ck_assert_uint_ge(need, 64u << 20);
	ck_assert_uint_le(need, 67u << 20);
	ck_assert_uint_le(em_zwriter_min_memory(&m, 2, box), 3 * 256 * (256u << 10) + (4u << 20));
}
END_TEST

/* .zarray texts we must refuse, with the words the message must hold. */
static const struct {
	const char *zarray, *msg;
} bad_meta[] = {
	{ "{\"zarr_format\":3,\"shape\":[4],\"chunks\":[2],\"dtype\":\"|u1\",\"order\":\"C\"}",
	    "zarr_format is not 2" },
	{ "{\"zarr_format\":2,\"shape\":[4,4],\"chunks\":[2],\"dtype\":\"|u1\",\"order\":\"C\"}",
	    "shape has 2 dimensions, chunks 1" },
	{ "{\"zarr_format\":2,\"shape\":[4],\"chunks\":[2],\"dtype\":\"|b1\",\"order\":\"C\"}",
	    "unsupported dtype '|b1'" },
	{ "{\"zarr_format\":2,\"shape\":[4],\"chunks\":[2],\"dtype\":[[\"r\",\"|u1\"]],"
	    "\"order\":\"C\"}", "unsupported dtype" },
	{ "{\"zarr_format\":2,\"shape\":[4],\"chunks\":[2],\"dtype\":\"<c8\",\"order\":\"C\"}",
	    "unsupported dtype '<c8'" },
	{ "{\"zarr_format\":2,\"shape\":[4],\"chunks\":[2],\"dtype\":\"|u1\",\"order\":\"X\"}",
	    "order is not" },
	{ "{\"zarr_format\":2,\"shape\":[4],\"chunks\":[2],\"dtype\":\"|u1\",\"order\":\"C\","
	    "\"filters\":[{\"id\":\"delta\",\"dtype\":\"|u1\"}]}", "unsupported filter 'delta'" },
	{ "{\"zarr_format\":2,\"shape\":[4],\"chunks\":[0],\"dtype\":\"|u1\",\"order\":\"C\"}",
	    "chunk size 0" },
	{ "{\"zarr_format\":2,\"shape\":[4],\"chunks\":[-2],\"dtype\":\"|u1\",\"order\":\"C\"}",
	    "non-negative integer" },
	{ "{\"zarr_format\":2,\"shape\":[9999999,9999999],\"chunks\":[99999,99999],"
	    "\"dtype\":\"<f8\",\"order\":\"C\"}", "chunks of more than" },
	{ "{\"zarr_format\":2,\"shape\":[4],\"chunks\":[2],\"dtype\":\"|u1\",\"order\":\"C\","
	    "\"fill_value\":\"NaN\"}", "fill_value 'NaN' for an integer dtype" },
	{ "{\"zarr_format\":2,\"shape\":[4],\"chunks\":[2],\"dtype\":\"|u1\",\"order\":\"C\","
	    "\"fill_value\":300}", "does not fit" },
	{ "{\"zarr_format\":2,\"shape\":[4],\"chunks\":[2],\"dtype\":\"|u1\",\"order\":\"C\","
	    "\"dimension_separator\":\"-\"}", "dimension_separator" },
	{ "{\"zarr_format\":2,\"shape\":[4],\"chunks\":[2],\"dtype\":\"|u1\",\"order\":\"C\","
	    "\"compressor\":{\"id\":\"lzma\"}}", "unsupported compressor 'lzma'" },
	{ "{\"zarr_format\":2,", "cannot read" },
};

START_TEST(refuses_bad_metadata)
{
	char p[256];
	struct em_zarr *a;

	snprintf(p, sizeof(p), "%s/bad%d", dir, _i);
	ck_assert_int_eq(em_mkdir_p(p), 0);
	snprintf(p, sizeof(p), "%s/bad%d/.zarray", dir, _i);
	ck_assert_int_eq(em_write_atomic(p, bad_meta[_i].zarray, strlen(bad_meta[_i].zarray), 0), 0);
	snprintf(p, sizeof(p), "%s/bad%d", dir, _i);
	a = em_zarr_open(p);
	ck_assert_ptr_null(a);
	ck_assert_msg(strstr(em_errmsg(), bad_meta[_i].msg) != NULL, "case %d: %s", _i, em_errmsg());
}
END_TEST

/* A chunk file far bigger than any encoding of its chunk is refused before it is read. */
START_TEST(refuses_oversized_chunk)
{
	struct em_zarr_meta m;
	struct em_zarr *a;
	uint64_t ci[3] = { 0, 0, 0 };
	char p[256], *big = calloc(1, 1 << 20);
	uint16_t out[8 * 5 * 4];

	make_store("o.zarr", "zlib", '/', &m);
	snprintf(p, sizeof(p), "%s/o.zarr/0/0/0", dir);
	ck_assert_int_eq(em_mkdir_p(p), 0);
	snprintf(p, sizeof(p), "%s/o.zarr/0/0/0/0", dir);
	ck_assert_int_eq(em_write_atomic(p, big, 1 << 20, 0), 0);
	a = open_store("o.zarr");
	ck_assert_int_eq(em_zarr_read_chunk(a, ci, out), -1);
	ck_assert_msg(strstr(em_errmsg(), "more than any encoding") != NULL, "%s", em_errmsg());
	/* A chunk index outside the grid is an error, not a read. */
	ci[0] = 3;
	ck_assert_int_eq(em_zarr_read_chunk(a, ci, out), -1);
	em_zarr_close(a);
	free(big);
}
END_TEST

START_TEST(meta_from_memory)
{
	static const char za[] = "{\"zarr_format\": 2, \"shape\": [10, 20], \"chunks\": [4, 8],"
	    " \"dtype\": \"<u2\", \"order\": \"C\", \"compressor\": null, \"fill_value\": 7,"
	    " \"filters\": null, \"dimension_separator\": \"/\"}";
	static const char at_ok[] = "{\"multiscales\": [{\"version\": \"0.4\","
	    " \"axes\": [{\"name\": \"y\", \"type\": \"space\", \"unit\": \"micrometer\"},"
	    " {\"name\": \"x\", \"type\": \"space\", \"unit\": \"nanometer\"}],"
	    " \"datasets\": [{\"path\": \"s0/0\", \"coordinateTransformations\":"
	    " [{\"type\": \"scale\", \"scale\": [0.5, 4]}]}]}]}";
	static const char *bad_paths[] = { "../x", "/etc", "a/../../b", "", "a//b", "a\\\\b",
	    ".", "a/\\u0001" };
	struct em_zarr_meta m;
	struct em_zarr_attrs at;
	uint64_t big[2] = { 1, 1 };
	char text[512], key[64];
	size_t i;

	ck_assert_int_eq(em_zarr_meta_parse(za, strlen(za), &m), 0);
	ck_assert_int_eq(m.ndim, 2);
	ck_assert_uint_eq(m.shape[1], 20);
	ck_assert_uint_eq(m.chunks[0], 4);
	ck_assert_int_eq(m.dtype, EM_DT_U2);
	ck_assert_int_eq(m.sep, '/');
	ck_assert_uint_eq(m.fill[0], 7);
	ck_assert_str_eq(em_zarr_chunk_key(&m, big, key, sizeof(key)), "1/1");

	/* The geometry limit: a 2^40-voxel chunk is refused before anything is sized from it. */
	snprintf(text, sizeof(text), "{\"zarr_format\": 2, \"shape\": [1099511627776],"
	    " \"chunks\": [1099511627776], \"dtype\": \"<u1\", \"order\": \"C\","
	    " \"compressor\": null, \"fill_value\": 0}");
	ck_assert_int_eq(em_zarr_meta_parse(text, strlen(text), &m), -1);
	ck_assert_ptr_nonnull(strstr(em_errmsg(), "chunks of more than"));
	snprintf(text, sizeof(text), "{\"zarr_format\": 2, \"shape\": [1,1,1,1,1,1,1,1,1],"
	    " \"chunks\": [1,1,1,1,1,1,1,1,1], \"dtype\": \"<u1\", \"order\": \"C\"}");
	ck_assert_int_eq(em_zarr_meta_parse(text, strlen(text), &m), -1);
	ck_assert_ptr_nonnull(strstr(em_errmsg(), "more than 8 dimensions"));
	ck_assert_int_eq(em_zarr_meta_parse("{\"zarr_format\": 2", 17, &m), -1);
	ck_assert_ptr_nonnull(strstr(em_errmsg(), "line 1"));
	ck_assert_int_eq(em_zarr_meta_parse(za, (size_t)EM_ZARR_MAX_META_BYTES + 1, &m), -1);
	ck_assert_ptr_nonnull(strstr(em_errmsg(), "more than 1048576"));

	ck_assert_int_eq(em_zarr_attrs_parse(at_ok, strlen(at_ok), &at), 0);
	ck_assert_str_eq(at.path, "s0/0");
	ck_assert_int_eq(at.naxes, 2);
	ck_assert(fabs(at.voxel_nm[0] - 500) < 1e-9);
	ck_assert(fabs(at.voxel_nm[1] - 4) < 1e-9);
	em_zarr_attrs_release(&at);
	ck_assert_ptr_null(at.path);
	/* A dataset path may not leave the group or name anything but a relative path. */
	for (i = 0; i < sizeof(bad_paths) / sizeof(bad_paths[0]); i++) {
		snprintf(text, sizeof(text), "{\"multiscales\": [{\"datasets\": [{\"path\": \"%s\"}]}]}",
		    bad_paths[i]);
		ck_assert_msg(em_zarr_attrs_parse(text, strlen(text), &at) == -1, "%s", bad_paths[i]);
		ck_assert_ptr_nonnull(strstr(em_errmsg(), "no usable multiscales[0].datasets[0].path"));
		ck_assert_ptr_null(at.path);
	}
	/* Scales that do not match the axes leave the voxel size unknown. */
	snprintf(text, sizeof(text), "{\"multiscales\": [{\"axes\": [{\"unit\": \"nanometer\"}],"
	    " \"datasets\": [{\"path\": \"0\", \"coordinateTransformations\":"
	    " [{\"type\": \"scale\", \"scale\": [1, 2]}]}]}]}");
	ck_assert_int_eq(em_zarr_attrs_parse(text, strlen(text), &at), 0);
	ck_assert(at.voxel_nm[0] == 0);
	em_zarr_attrs_release(&at);
}
END_TEST

/*
 * Parts of one run create level 0 at the same moment: every writer finds
 * either no array (and makes it) or the whole one, never a refusal.  A file
 * that is not JSON, or a different array, is still refused.
 */
#define RACE_WRITERS 6
#define RACE_DIRS 150
START_TEST(create_array_race)
{
	struct em_zarr_meta m, other;
	struct em_codec c;
	char p[256];
	pid_t pid[RACE_WRITERS];
	int w, d, st;

	ck_assert_int_eq(em_codec_from_name("zlib", -1, &c), 0);
	ck_assert_int_eq(em_zarr_meta_init(&m, 3, shape, chunks, EM_DT_U2, &c), 0);
	for (w = 0; w < RACE_WRITERS; w++) {
		pid[w] = fork();
		ck_assert_int_ge(pid[w], 0);
		if (pid[w] == 0) {
			for (d = 0; d < RACE_DIRS; d++) {
				snprintf(p, sizeof(p), "%s/r%d/0", dir, d);
				if (em_zarr_create_array(p, &m) < 0) {
					fprintf(stderr, "writer %d, %s: %s\n", w, p, em_errmsg());
					_exit(1);
				}
			}
			_exit(0);
		}
	}
	for (w = 0; w < RACE_WRITERS; w++) {
		ck_assert_int_eq(waitpid(pid[w], &st, 0), pid[w]);
		ck_assert_msg(WIFEXITED(st) && WEXITSTATUS(st) == 0, "writer %d was refused", w);
	}
	/* One .zarray in each directory and no temporary file beside it. */
	for (d = 0; d < RACE_DIRS; d++) {
		char cmd[320];

		snprintf(cmd, sizeof(cmd), "test \"$(ls -A '%s/r%d/0')\" = .zarray", dir, d);
		ck_assert_msg(system(cmd) == 0, "r%d/0 holds more than .zarray", d);
	}
	snprintf(p, sizeof(p), "%s/r0/0", dir);
	other = m;
	other.chunks[0] = 4;
	ck_assert_int_eq(em_zarr_create_array(p, &other), -1);
	ck_assert_msg(strstr(em_errmsg(), "exists with a different") != NULL, "%s", em_errmsg());
	snprintf(p, sizeof(p), "%s/r1/0/.zarray", dir);
	ck_assert_int_eq(em_write_atomic(p, "{\"zarr_", 8, 0), 0);
	snprintf(p, sizeof(p), "%s/r1/0", dir);
	ck_assert_int_eq(em_zarr_create_array(p, &m), -1);
	ck_assert_msg(strstr(em_errmsg(), "exists and is not valid JSON") != NULL, "%s",
	    em_errmsg());
}
END_TEST

/* The text of dir/name (at most 4 kB), for comparing a file before and after. */
static char *
slurp(const char *d, const char *name)
{
	char p[256];
	FILE *fp;
	char *t = calloc(1, 4096);

	snprintf(p, sizeof(p), "%s/%s", d, name);
	ck_assert_ptr_nonnull(t);
	fp = fopen(p, "r");
	ck_assert_msg(fp != NULL, "no %s", p);
	ck_assert_uint_gt(fread(t, 1, 4095, fp), 0);
	fclose(fp);
	return t;
}

/*
 * Parts starting together: the group's first attributes carry the crop's
 * translation, and a part that finds attributes there (another's, maybe
 * listing more) leaves them as they are; without the flag they are made
 * anew.
 */
START_TEST(create_keeps_group)
{
	static const double vox[3] = { 8, 8, 8 }, off[3] = { 800, 16, 0 };
	struct em_zarr_meta m;
	struct em_codec c;
	char g[200], p[256];
	char *before, *after;
	int v;

	ck_assert_int_eq(em_codec_from_name("zlib", -1, &c), 0);
	for (v = 2; v <= 3; v++) {
		const char *attrs = v == 3 ? "zarr.json" : ".zattrs";

		ck_assert_int_eq(em_zarr_meta_init(&m, 3, shape, chunks, EM_DT_U2, &c), 0);
		ck_assert_int_eq(em_zarr_meta_set_format(&m, v, NULL), 0);
		snprintf(g, sizeof(g), "%s/keep%d.zarr", dir, v);
		ck_assert_int_eq(em_zarr_create_at(g, &m, vox, off, "crop", EM_ZARR_KEEP_GROUP), 0);
		before = slurp(g, attrs);
		ck_assert_msg(strstr(before, "\"translation\"") != NULL, "%s", before);
		ck_assert_msg(strstr(before, "800.0") != NULL, "%s", before);
		/* Another part's attributes (another name here): kept, and 1 says so. */
		snprintf(p, sizeof(p), "%s/%s", g, attrs);
		ck_assert_ptr_nonnull(strstr(before, "\"crop\""));
		memcpy(strstr(before, "\"crop\"") + 1, "othr", 4);
		ck_assert_int_eq(em_write_atomic(p, before, strlen(before), 0), 0);
		ck_assert_int_eq(em_zarr_create_at(g, &m, vox, off, "crop", EM_ZARR_KEEP_GROUP), 1);
		after = slurp(g, attrs);
		ck_assert_str_eq(after, before);
		free(after);
		/* Level 0 is still checked. */
		m.chunks[0] = 4;
		ck_assert_int_eq(em_zarr_create_at(g, &m, vox, off, "crop", EM_ZARR_KEEP_GROUP), -1);
		ck_assert_msg(strstr(em_errmsg(), "exists with a different") != NULL, "%s",
		    em_errmsg());
		m.chunks[0] = chunks[0];
		/* What is not a group's metadata is not kept: refused, naming it. */
		snprintf(p, sizeof(p), "%s/bad%d.zarr/%s", dir, v, attrs);
		ck_assert_int_eq(em_mkdir_p(p), 0);
		snprintf(p, sizeof(p), "%s/bad%d.zarr", dir, v);
		ck_assert_int_eq(em_zarr_create_at(p, &m, vox, off, "crop", EM_ZARR_KEEP_GROUP), -1);
		ck_assert_msg(strstr(em_errmsg(), attrs) != NULL &&
		    strstr(em_errmsg(), "exists and is not") != NULL, "%s", em_errmsg());
		/* A whole run makes them anew. */
		ck_assert_int_eq(em_zarr_create_at(g, &m, vox, NULL, "crop", 0), 0);
		after = slurp(g, attrs);
		ck_assert_msg(strcmp(after, before) != 0 && strstr(after, "translation") == NULL,
		    "%s", after);
		free(after);
		free(before);
	}
}
END_TEST

Suite *
zarr_suite(void)
{
	Suite *s = suite_create("zarr");
	TCase *tc = tcase_create("core");

	tcase_set_timeout(tc, 60);
	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_add_test(tc, keys_and_geometry);
	tcase_add_test(tc, copy_box);
	tcase_add_test(tc, copy_box_random);
	tcase_add_test(tc, planes_boxes_same_bytes);
	tcase_add_test(tc, iterator);
	tcase_add_test(tc, iterator_big_planes);
	tcase_add_test(tc, resume_and_tmp);
	tcase_add_test(tc, fill_chunks);
	tcase_add_test(tc, writer_errors);
	tcase_add_test(tc, ngff_and_memory);
	tcase_add_loop_test(tc, refuses_bad_metadata, 0, (int)(sizeof(bad_meta) / sizeof(bad_meta[0])));
	tcase_add_test(tc, refuses_oversized_chunk);
	tcase_add_test(tc, meta_from_memory);
	tcase_add_test(tc, create_array_race);
	tcase_add_test(tc, create_keeps_group);
	suite_add_tcase(s, tc);
	return s;
}
