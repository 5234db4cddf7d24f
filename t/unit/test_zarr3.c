/* test_zarr3.c - Zarr v3 metadata, the sharding_indexed index, sharded writing, reading and resume */
#include <sys/stat.h>

#include <fcntl.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <check.h>

#include "core/diag.h"
#include "core/fsutil.h"
#include "store/codec.h"
#include "store/journal.h"
#include "store/shard.h"
#include "store/writer.h"
#include "store/zarr.h"

static char dir[64];

static void
setup(void)
{
	snprintf(dir, sizeof(dir), "/tmp/em-zarr3-XXXXXX");
	ck_assert_ptr_nonnull(mkdtemp(dir));
}

static void
teardown(void)
{
	char cmd[128];

	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", dir);
	ck_assert_int_eq(system(cmd), 0);
}

/* uint16 21,18,13 in chunks 8,5,4 and shards 16,10,8: edge shards and edge chunks everywhere. */
static const uint64_t shape[3] = { 21, 18, 13 }, chunks[3] = { 8, 5, 4 };
static const uint64_t shard[3] = { 16, 10, 8 };
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
meta3(struct em_zarr_meta *m, const char *codec, const uint64_t *sh)
{
	struct em_codec c;

	ck_assert_int_eq(em_codec_from_name(codec, -1, &c), 0);
	ck_assert_int_eq(em_zarr_meta_init(m, 3, shape, chunks, EM_DT_U2, &c), 0);
	ck_assert_int_eq(em_zarr_meta_set_format(m, 3, sh), 0);
}

/* Write v into a new store at dir/name: planes (nz at a time) or boxes of box[]. */
static void
write_store(const char *name, const struct em_zarr_meta *m, const uint16_t *v, int jobs,
    const uint64_t *box, int skip_fill)
{
	struct em_zwriter_opts o = { 0 };
	struct em_zwriter_stats st;
	struct em_zwriter *w;
	struct em_zarr *a;
	char p[256];

	snprintf(p, sizeof(p), "%s/%s", dir, name);
	ck_assert_msg(em_zarr_create(p, m, NULL, name) == 0, "%s", em_errmsg());
	ck_assert_ptr_nonnull(a = em_zarr_open(p));
	o.jobs = jobs;
	o.skip_fill = skip_fill;
	ck_assert_ptr_nonnull(w = em_zwriter_new(a, &o));
	if (box == NULL) {
		uint64_t z;
		for (z = 0; z < shape[0]; z += 3) {
			uint64_t nz = shape[0] - z < 3 ? shape[0] - z : 3;
			ck_assert_int_eq(em_zwriter_put_planes(w, z, nz, v + z * 18 * 13), 0);
		}
	} else {
		/* Boxes in reverse order: shards complete out of turn. */
		uint64_t s[3], c[3], i, k, nb[3];
		uint16_t *b = malloc(box[0] * box[1] * box[2] * 2);
		ck_assert_ptr_nonnull(b);
		for (i = 0; i < 3; i++)
			nb[i] = (shape[i] + box[i] - 1) / box[i];
		for (k = nb[0] * nb[1] * nb[2]; k-- > 0;) {
			uint64_t r = k, n = 0, zz, yy;
			for (i = 3; i-- > 0;) {
				s[i] = r % nb[i] * box[i];
				r /= nb[i];
				c[i] = shape[i] - s[i] < box[i] ? shape[i] - s[i] : box[i];
			}
			for (zz = 0; zz < c[0]; zz++)
				for (yy = 0; yy < c[1]; yy++, n += c[2])
					memcpy(b + n, v + ((s[0] + zz) * 18 + s[1] + yy) * 13 + s[2],
					    c[2] * 2);
			ck_assert_int_eq(em_zwriter_put_box(w, s, c, b), 0);
		}
		free(b);
	}
	ck_assert_msg(em_zwriter_finish(w, &st) == 0, "%s", em_errmsg());
	em_zwriter_free(w);
	em_zarr_close(a);
}

/* Read the whole array back three ways (box, iterator, chunk by chunk) and compare with v. */
static void
check_store(const char *name, const uint16_t *v)
{
	struct em_zarr *a;
	struct em_zarr_iter *it;
	uint64_t start[3] = { 0, 0, 0 }, z0, nz, got = 0;
	uint16_t *out = malloc(NVOX * 2);
	const void *p;
	size_t len;
	char path[256];
	int r;

	snprintf(path, sizeof(path), "%s/%s", dir, name);
	ck_assert_ptr_nonnull(out);
	ck_assert_msg((a = em_zarr_open(path)) != NULL, "%s", em_errmsg());
	memset(out, 0xee, NVOX * 2);
	ck_assert_int_eq(em_zarr_read_box(a, start, shape, out), 0);
	ck_assert_mem_eq(out, v, NVOX * 2);
	ck_assert_ptr_nonnull(it = em_zarr_iter_new(a, 2));
	while ((r = em_zarr_iter_next(it, &p, &len, &z0, &nz)) == 1) {
		ck_assert_mem_eq(p, v + z0 * 18 * 13, len);
		got += nz;
	}
	ck_assert_int_eq(r, 0);
	ck_assert_uint_eq(got, shape[0]);
	em_zarr_iter_free(it);
	em_zarr_close(a);
	free(out);
}

static size_t
file_bytes(const char *path, unsigned char **data)
{
	FILE *f = fopen(path, "rb");
	long n;

	ck_assert_ptr_nonnull(f);
	fseek(f, 0, SEEK_END);
	n = ftell(f);
	rewind(f);
	*data = malloc((size_t)n + 1);
	ck_assert_ptr_nonnull(*data);
	ck_assert_uint_eq(fread(*data, 1, (size_t)n, f), (size_t)n);
	fclose(f);
	return (size_t)n;
}

static int
same_file(const char *a, const char *b)
{
	unsigned char *x, *y;
	size_t nx = file_bytes(a, &x), ny = file_bytes(b, &y);
	int same = nx == ny && memcmp(x, y, nx) == 0;

	free(x);
	free(y);
	return same;
}

START_TEST(meta_round_trip)
{
	static const char *const codecs[] = { "zstd", "gzip", "zlib", "blosc-lz4",
		"blosc-zstd-bitshuffle", "lz4", "raw" };
	struct em_zarr_meta m, m2;
	const struct em_zarr_meta *r;
	struct em_zarr *a;
	char p[256];
	size_t i;

	for (i = 0; i < sizeof(codecs) / sizeof(codecs[0]); i++) {
		meta3(&m, codecs[i], i % 2 ? shard : NULL);
		ck_assert_int_eq(em_zarr_meta_set_fill(&m, 7), 0);
		snprintf(p, sizeof(p), "%s/a%zu", dir, i);
		ck_assert_msg(em_zarr_create_array(p, &m) == 0, "%s: %s", codecs[i], em_errmsg());
		ck_assert_msg((a = em_zarr_open(p)) != NULL, "%s: %s", codecs[i], em_errmsg());
		r = em_zarr_meta(a);
		ck_assert_int_eq(r->zarr_format, 3);
		ck_assert_int_eq(r->ndim, 3);
		ck_assert_mem_eq(r->shape, shape, sizeof(shape));
		ck_assert_mem_eq(r->chunks, chunks, sizeof(chunks));
		ck_assert_int_eq(em_zarr_sharded(r), (int)(i % 2));
		if (i % 2)
			ck_assert_mem_eq(r->shard, shard, sizeof(shard));
		ck_assert_int_eq(r->dtype, EM_DT_U2);
		ck_assert_int_eq(r->codec.id, m.codec.id);
		ck_assert_int_eq(r->codec.level, m.codec.level);
		ck_assert_int_eq(r->fill[0], 7);
		ck_assert_int_eq(r->sep, '/');
		/* Creating it again is a no-op; a different shard shape is named. */
		ck_assert_msg(em_zarr_create_array(p, &m) == 0, "%s: %s", codecs[i], em_errmsg());
		em_zarr_close(a);
	}
	meta3(&m, "zstd", NULL);
	snprintf(p, sizeof(p), "%s/a1", dir);
	ck_assert_int_eq(em_zarr_create_array(p, &m), -1);
	ck_assert_ptr_nonnull(strstr(em_errmsg(), "zarr.json' exists with a different shard shape"));
	/* A v2 array stays v2: a v3 one at its place is refused. */
	ck_assert_int_eq(em_zarr_meta_init(&m2, 3, shape, chunks, EM_DT_U2, NULL), 0);
	snprintf(p, sizeof(p), "%s/v2", dir);
	ck_assert_int_eq(em_zarr_create_array(p, &m2), 0);
	ck_assert_int_eq(em_zarr_create_array(p, &m), -1);
	ck_assert_ptr_nonnull(strstr(em_errmsg(), ".zarray' exists: the array is Zarr v2, not v3"));
	/* Chunk keys of v3's default encoding live under "c". */
	{
		const uint64_t ci[3] = { 2, 0, 11 };
		char key[64];
		ck_assert_str_eq(em_zarr_chunk_key(&m, ci, key, sizeof(key)), "c/2/0/11");
		ck_assert_str_eq(em_zarr_chunk_key(&m2, ci, key, sizeof(key)), "2/0/11");
	}
}
END_TEST

START_TEST(shard_shape_must_divide)
{
	const uint64_t bad[3] = { 16, 12, 8 };
	struct em_zarr_meta m;
	char p[256];

	ck_assert_int_eq(em_zarr_meta_init(&m, 3, shape, chunks, EM_DT_U2, NULL), 0);
	ck_assert_int_eq(em_zarr_meta_set_format(&m, 3, bad), -1);
	ck_assert_str_eq(em_errmsg(), "shard shape 16,12,8 is not a multiple of the chunk shape 8,5,4");
	ck_assert_int_eq(em_zarr_meta_set_format(&m, 2, shard), -1);
	ck_assert_ptr_nonnull(strstr(em_errmsg(), "sharding needs Zarr format 3"));
	ck_assert_int_eq(em_zarr_meta_set_format(&m, 4, NULL), -1);
	/* Set by hand, it is refused where the metadata would be written. */
	memcpy(m.shard, bad, sizeof(bad));
	m.zarr_format = 3;
	snprintf(p, sizeof(p), "%s/bad", dir);
	ck_assert_int_eq(em_zarr_create_array(p, &m), -1);
	ck_assert_ptr_nonnull(strstr(em_errmsg(), "not a multiple of the chunk shape"));
}
END_TEST

START_TEST(shard_index)
{
	struct em_shard_entry e[4] = { { 0, 10 }, { EM_SHARD_MISSING, EM_SHARD_MISSING },
		{ 10, 0 }, { 10, 5 } }, d[4];
	unsigned char buf[4 * 16 + 4];
	size_t n = em_shard_index_bytes(4, 1);

	ck_assert_uint_eq(n, sizeof(buf));
	ck_assert_uint_eq(em_shard_index_bytes(4, 0), 64);
	em_shard_index_encode(e, 4, 1, buf);
	/* Little-endian pairs, missing = all ones, then the crc32c of the pairs. */
	ck_assert_int_eq(buf[8], 10);
	ck_assert_int_eq(buf[16], 0xff);
	ck_assert_int_eq(buf[31], 0xff);
	ck_assert_uint_eq((uint32_t)buf[64] | (uint32_t)buf[65] << 8 | (uint32_t)buf[66] << 16 |
	    (uint32_t)buf[67] << 24, em_crc32c(buf, 64));
	ck_assert_int_eq(em_shard_index_decode(buf, n, 4, 1, 15 + n, 15, d), 0);
	ck_assert_mem_eq(d, e, sizeof(e));
	/* One bit off: the crc32c says so. */
	buf[3] ^= 0x10;
	ck_assert_int_eq(em_shard_index_decode(buf, n, 4, 1, 15 + n, 15, d), -1);
	ck_assert_ptr_nonnull(strstr(em_errmsg(), "shard index crc32c mismatch"));
	buf[3] ^= 0x10;
	/* A chunk running into the index, or past the end of the file. */
	ck_assert_int_eq(em_shard_index_decode(buf, n, 4, 1, 14 + n, 14, d), -1);
	ck_assert_ptr_nonnull(strstr(em_errmsg(), "entry 3 (5 bytes at 10) lies outside"));
	e[0].nbytes = 1000;
	em_shard_index_encode(e, 4, 0, buf);
	ck_assert_int_eq(em_shard_index_decode(buf, 64, 4, 0, 15 + 64, 15, d), -1);
	ck_assert_ptr_nonnull(strstr(em_errmsg(), "entry 0 (1000 bytes at 0) lies outside"));
	e[0].nbytes = EM_SHARD_MISSING;
	em_shard_index_encode(e, 4, 0, buf);
	ck_assert_int_eq(em_shard_index_decode(buf, 64, 4, 0, 15 + 64, 15, d), -1);
	ck_assert_ptr_nonnull(strstr(em_errmsg(), "entry 0 is half missing"));
	ck_assert_int_eq(em_shard_index_decode(buf, 63, 4, 0, 15 + 64, 15, d), -1);
}
END_TEST

/* Sharded stores hold what v2 stores hold, in one file per shard, the same bytes every time. */
START_TEST(sharded_write_read)
{
	const uint64_t box[3] = { 5, 7, 6 };
	struct em_zarr_meta m, m2;
	uint16_t *v = volume();
	char a[256], b[256];
	uint64_t sg[3];
	struct em_zarr *z;
	const uint64_t s0[3] = { 0, 0, 0 }, s1[3] = { 1, 1, 1 };
	unsigned char *raw;
	size_t n;

	meta3(&m, "zstd", shard);
	write_store("planes", &m, v, 3, NULL, 0);
	write_store("boxes", &m, v, 2, box, 0);
	write_store("one", &m, v, 1, NULL, 0);
	check_store("planes", v);
	check_store("boxes", v);
	ck_assert_int_eq(em_zarr_meta_init(&m2, 3, shape, chunks, EM_DT_U2, NULL), 0);
	write_store("v2", &m2, v, 2, NULL, 0);
	check_store("v2", v);
	/* 2 x 2 x 2 shards, each a file; every byte the same whichever way it came. */
	em_zarr_shard_grid(&m, sg);
	ck_assert_uint_eq(sg[0] * sg[1] * sg[2], 8);
	ck_assert_uint_eq(em_zarr_nshards(&m), 8);
	snprintf(a, sizeof(a), "%s/planes/0/c/1/1/1", dir);
	snprintf(b, sizeof(b), "%s/boxes/0/c/1/1/1", dir);
	ck_assert(same_file(a, b));
	snprintf(b, sizeof(b), "%s/one/0/c/1/1/1", dir);
	ck_assert(same_file(a, b));
	snprintf(a, sizeof(a), "%s/planes/0/c/0/0/0", dir);
	snprintf(b, sizeof(b), "%s/boxes/0/c/0/0/0", dir);
	ck_assert(same_file(a, b));
	/* The index at the end: 2x2x2 inner chunks, all stored, in C order from offset 0. */
	n = file_bytes(a, &raw);
	{
		struct em_shard_entry e[8];
		size_t ib = em_shard_index_bytes(8, 1);
		int k;
		ck_assert_int_eq(em_shard_index_decode(raw + n - ib, ib, 8, 1, n, n - ib, e), 0);
		ck_assert_uint_eq(e[0].offset, 0);
		for (k = 1; k < 8; k++)
			ck_assert_uint_eq(e[k].offset, e[k - 1].offset + e[k - 1].nbytes);
		ck_assert_uint_eq(e[7].offset + e[7].nbytes, n - ib);
	}
	free(raw);
	/* Edge shard 1,1,1: chunk (3,3,3) lies past the array's edge and is not stored. */
	snprintf(a, sizeof(a), "%s/planes", dir);
	ck_assert_ptr_nonnull(z = em_zarr_open(a));
	ck_assert_int_eq(em_zarr_shard_present(z, s0, 1), 1);
	ck_assert_int_eq(em_zarr_shard_present(z, s1, 1), 1);
	{
		const uint64_t ci[3] = { 2, 3, 3 };
		ck_assert_int_eq(em_zarr_chunk_present(z, ci, 1), 1);
	}
	em_zarr_close(z);
	free(v);
}
END_TEST

/* Inner chunks not stored read as the fill value; a shard of fill only is no file. */
START_TEST(missing_inner_chunks)
{
	struct em_zarr_meta m;
	uint16_t *v = volume(), *out = malloc(8 * 5 * 4 * 2);
	uint64_t ci[3] = { 0, 0, 1 }, z, y, x;
	const uint64_t s1[3] = { 1, 1, 1 };
	struct em_zarr *a;
	char p[256];
	int k;

	/* Chunk (0,0,1) and the whole of shard (1,1,1) hold the fill value 9. */
	for (z = 0; z < 8; z++)
		for (y = 0; y < 5; y++)
			for (x = 4; x < 8; x++)
				v[(z * 18 + y) * 13 + x] = 9;
	for (z = 16; z < 21; z++)
		for (y = 10; y < 18; y++)
			for (x = 8; x < 13; x++)
				v[(z * 18 + y) * 13 + x] = 9;
	meta3(&m, "gzip", shard);
	ck_assert_int_eq(em_zarr_meta_set_fill(&m, 9), 0);
	write_store("fill", &m, v, 2, NULL, 1);
	check_store("fill", v);
	snprintf(p, sizeof(p), "%s/fill/0/c/1/1/1", dir);
	ck_assert_int_eq(em_exists(p), 0);
	snprintf(p, sizeof(p), "%s/fill", dir);
	ck_assert_ptr_nonnull(a = em_zarr_open(p));
	ck_assert_int_eq(em_zarr_chunk_present(a, ci, 0), 0);
	ck_assert_int_eq(em_zarr_read_chunk(a, ci, out), 0);
	for (k = 0; k < 8 * 5 * 4; k++)
		ck_assert_int_eq(out[k], 9);
	ci[2] = 0;
	ck_assert_int_eq(em_zarr_chunk_present(a, ci, 1), 1);
	ck_assert_int_eq(em_zarr_read_chunk(a, ci, out), 1);
	ck_assert_int_eq(em_zarr_shard_present(a, s1, 0), 0);
	em_zarr_close(a);
	free(out);
	free(v);
}
END_TEST

/* A damaged index is named with its shard; a resumed writer writes that shard again, whole. */
START_TEST(corrupt_index)
{
	struct em_zarr_meta m;
	uint16_t *v = volume(), *out = malloc(8 * 5 * 4 * 2);
	const uint64_t ci[3] = { 2, 2, 2 }, s[3] = { 1, 1, 1 }, s0[3] = { 0, 0, 0 };
	char p[256], q[256], want[300];
	struct em_zarr *a;
	unsigned char *raw;
	size_t n;
	int fd;

	meta3(&m, "zstd", shard);
	write_store("c", &m, v, 2, NULL, 0);
	write_store("ref", &m, v, 2, NULL, 0);
	snprintf(p, sizeof(p), "%s/c/0/c/1/1/1", dir);
	n = file_bytes(p, &raw);
	raw[n - 10] ^= 0x01;	/* inside the index, before its crc32c */
	ck_assert_int_eq(em_write_atomic(p, raw, n, 0), 0);
	free(raw);
	snprintf(q, sizeof(q), "%s/c", dir);
	ck_assert_ptr_nonnull(a = em_zarr_open(q));
	ck_assert_int_eq(em_zarr_read_chunk(a, ci, out), -1);
	snprintf(want, sizeof(want), "shard '%s': shard index crc32c mismatch", p);
	ck_assert_msg(strstr(em_errmsg(), want) != NULL, "%s", em_errmsg());
	ck_assert_int_eq(em_zarr_shard_present(a, s, 0), 0);
	ck_assert_int_eq(em_zarr_shard_present(a, s0, 0), 1);
	em_zarr_close(a);
	/* Cut short: no index where it should be. */
	snprintf(p, sizeof(p), "%s/c/0/c/0/0/0", dir);
	ck_assert_int_eq(truncate(p, 100), 0);
	ck_assert_ptr_nonnull(a = em_zarr_open(q));
	ck_assert_int_eq(em_zarr_read_chunk(a, (const uint64_t[3]){ 0, 0, 0 }, out), -1);
	ck_assert_ptr_nonnull(strstr(em_errmsg(), "has 100 bytes, less than its 132-byte index"));
	ck_assert_int_eq(em_zarr_shard_present(a, s0, 0), 0);
	em_zarr_close(a);
	/* Resume: the two damaged shards are written again, the same bytes as a clean run. */
	write_store("c", &m, v, 2, NULL, 0);
	snprintf(q, sizeof(q), "%s/ref/0/c/0/0/0", dir);
	ck_assert(same_file(p, q));
	snprintf(p, sizeof(p), "%s/c/0/c/1/1/1", dir);
	snprintf(q, sizeof(q), "%s/ref/0/c/1/1/1", dir);
	ck_assert(same_file(p, q));
	/* A chunk whose bytes are damaged is named within its shard. */
	fd = open(p, O_WRONLY);
	ck_assert_int_ge(fd, 0);
	ck_assert_int_eq(pwrite(fd, "garbage!", 8, 0), 8);
	close(fd);
	snprintf(q, sizeof(q), "%s/c", dir);
	ck_assert_ptr_nonnull(a = em_zarr_open(q));
	ck_assert_int_eq(em_zarr_read_chunk(a, (const uint64_t[3]){ 2, 2, 2 }, out), -1);
	snprintf(want, sizeof(want), "chunk 2/2/2 in shard '%s'", p);
	ck_assert_msg(strstr(em_errmsg(), want) != NULL, "%s", em_errmsg());
	em_zarr_close(a);
	free(out);
	free(v);
}
END_TEST

static void
put_file(const char *path, const void *p, size_t n)
{
	char d[256], *s;

	snprintf(d, sizeof(d), "%s", path);
	s = strrchr(d, '/');
	*s = '\0';
	ck_assert_int_eq(em_mkdir_p(d), 0);
	ck_assert_int_eq(em_write_atomic(path, p, n, 0), 0);
}

/*
 * Layouts other writers use: big-endian data, F order (transpose), chunks
 * with a crc32c, "v2" chunk keys, the index at the start without crc32c.
 */
START_TEST(foreign_layouts)
{
	const char *meta =
	    "{\"zarr_format\": 3, \"node_type\": \"array\", \"shape\": [3, 4],"
	    " \"data_type\": \"uint16\", \"chunk_grid\": {\"name\": \"regular\","
	    " \"configuration\": {\"chunk_shape\": [4, 4]}}, \"chunk_key_encoding\":"
	    " {\"name\": \"v2\", \"configuration\": {\"separator\": \".\"}},"
	    " \"fill_value\": \"0x0102\", \"codecs\": [{\"name\": \"sharding_indexed\","
	    " \"configuration\": {\"chunk_shape\": [2, 2], \"codecs\": ["
	    "{\"name\": \"transpose\", \"configuration\": {\"order\": [1, 0]}},"
	    "{\"name\": \"bytes\", \"configuration\": {\"endian\": \"big\"}},"
	    "{\"name\": \"gzip\", \"configuration\": {\"level\": 1}}, {\"name\": \"crc32c\"}],"
	    " \"index_codecs\": [{\"name\": \"bytes\", \"configuration\": {\"endian\": \"little\"}}],"
	    " \"index_location\": \"start\"}}]}";
	struct em_codec gz;
	struct em_shard_entry e[4];
	unsigned char file[4096], enc[256];
	size_t off = 64, olen;
	uint16_t out[12];
	char p[256];
	struct em_zarr *a;
	int k;

	/* Inner chunk (0,0) and (1,0) stored: values 100*r + c, F order, big-endian, gzip, crc32c. */
	ck_assert_int_eq(em_codec_from_name("gzip", 1, &gz), 0);
	for (k = 0; k < 4; k++)
		e[k].offset = e[k].nbytes = EM_SHARD_MISSING;
	for (k = 0; k < 2; k++) {
		unsigned char raw[8];
		uint32_t c;
		int r, col;
		/* F order: column by column within the 2x2 chunk. */
		for (col = 0; col < 2; col++)
			for (r = 0; r < 2; r++) {
				int val = 100 * (2 * k + r) + col;
				raw[(col * 2 + r) * 2] = (unsigned char)(val >> 8);
				raw[(col * 2 + r) * 2 + 1] = (unsigned char)val;
			}
		ck_assert_int_eq(em_codec_encode(NULL, &gz, raw, 8, enc, sizeof(enc), &olen), 0);
		c = em_crc32c(enc, olen);
		enc[olen] = (unsigned char)c;
		enc[olen + 1] = (unsigned char)(c >> 8);
		enc[olen + 2] = (unsigned char)(c >> 16);
		enc[olen + 3] = (unsigned char)(c >> 24);
		memcpy(file + off, enc, olen + 4);
		e[k * 2].offset = off;
		e[k * 2].nbytes = olen + 4;
		off += olen + 4;
	}
	em_shard_index_encode(e, 4, 0, file);
	snprintf(p, sizeof(p), "%s/f/zarr.json", dir);
	put_file(p, meta, strlen(meta));
	snprintf(p, sizeof(p), "%s/f/0.0", dir);
	put_file(p, file, off);
	snprintf(p, sizeof(p), "%s/f", dir);
	ck_assert_msg((a = em_zarr_open(p)) != NULL, "%s", em_errmsg());
	ck_assert_int_eq(em_zarr_read_box(a, (const uint64_t[2]){ 0, 0 },
	    (const uint64_t[2]){ 3, 4 }, out), 0);
	for (k = 0; k < 12; k++) {
		int r = k / 4, c = k % 4;
		ck_assert_int_eq(out[k], c < 2 ? 100 * r + c : 0x0102);
	}
	em_zarr_close(a);
	/* A damaged chunk: its crc32c says so. */
	file[64 + 3] ^= 0x40;
	snprintf(p, sizeof(p), "%s/f/0.0", dir);
	put_file(p, file, off);
	snprintf(p, sizeof(p), "%s/f", dir);
	ck_assert_ptr_nonnull(a = em_zarr_open(p));
	ck_assert_int_eq(em_zarr_read_box(a, (const uint64_t[2]){ 0, 0 },
	    (const uint64_t[2]){ 1, 1 }, out), -1);
	ck_assert_ptr_nonnull(strstr(em_errmsg(), "crc32c mismatch"));
	em_zarr_close(a);
}
END_TEST

/* zarr.json texts we must refuse (as the file, and from memory), with the words the message must hold. */
static const struct {
	const char *codecs, *msg;
} bad3[] = {
	{ "[{\"name\": \"bytes\", \"configuration\": {\"endian\": \"little\"}},"
	  " {\"name\": \"numcodecs.bz2\"}]", "unsupported codec 'numcodecs.bz2'" },
	{ "[{\"name\": \"bytes\", \"configuration\": {\"endian\": \"little\"}},"
	  " {\"name\": \"zfp\"}]", "unsupported codec 'zfp'" },
	{ "[{\"name\": \"transpose\", \"configuration\": {\"order\": [1, 0, 2]}},"
	  " {\"name\": \"bytes\", \"configuration\": {\"endian\": \"little\"}}]",
	  "unsupported transpose order" },
	{ "[{\"name\": \"bytes\"}]", "bytes codec without endian for 2-byte elements" },
	{ "[{\"name\": \"zstd\"}]", "codec 'zstd' before the bytes codec" },
	{ "[{\"name\": \"sharding_indexed\", \"configuration\": {\"chunk_shape\": [2, 2, 3],"
	  " \"codecs\": [{\"name\": \"bytes\", \"configuration\": {\"endian\": \"little\"}}],"
	  " \"index_codecs\": [{\"name\": \"bytes\", \"configuration\": {\"endian\": \"little\"}}]}}]",
	  "shard shape 4,4,4 is not a multiple of the chunk shape 2,2,3" },
	{ "[{\"name\": \"sharding_indexed\", \"configuration\": {\"chunk_shape\": [2, 2, 2],"
	  " \"codecs\": [{\"name\": \"bytes\", \"configuration\": {\"endian\": \"little\"}}],"
	  " \"index_codecs\": [{\"name\": \"bytes\", \"configuration\": {\"endian\": \"little\"}},"
	  " {\"name\": \"zstd\"}]}}]", "unsupported shard index codec 'zstd'" },
	{ "[{\"name\": \"sharding_indexed\", \"configuration\": {\"chunk_shape\": [2, 2, 2],"
	  " \"codecs\": [{\"name\": \"bytes\", \"configuration\": {\"endian\": \"little\"}}],"
	  " \"index_codecs\": [{\"name\": \"bytes\", \"configuration\": {\"endian\": \"little\"}}],"
	  " \"index_location\": \"middle\"}}]", "index_location 'middle' is not start or end" },
	{ "[{\"name\": \"sharding_indexed\", \"configuration\": {\"chunk_shape\": [2, 2, 2],"
	  " \"codecs\": [{\"name\": \"sharding_indexed\"}],"
	  " \"index_codecs\": [{\"name\": \"bytes\", \"configuration\": {\"endian\": \"little\"}}]}}]",
	  "unsupported codec 'sharding_indexed' inside a shard" },
};

START_TEST(refuses_bad_v3)
{
	char text[2048], p[256];
	struct em_zarr_meta m;

	snprintf(text, sizeof(text), "{\"zarr_format\": 3, \"node_type\": \"array\", \"shape\":"
	    " [4, 4, 4], \"data_type\": \"uint16\", \"chunk_grid\": {\"name\": \"regular\","
	    " \"configuration\": {\"chunk_shape\": [4, 4, 4]}}, \"chunk_key_encoding\":"
	    " {\"name\": \"default\"}, \"fill_value\": 0, \"codecs\": %s}", bad3[_i].codecs);
	ck_assert_int_eq(em_zarr_meta_parse(text, strlen(text), &m), -1);
	ck_assert_msg(strstr(em_errmsg(), bad3[_i].msg) != NULL, "case %d: %s", _i, em_errmsg());
	snprintf(p, sizeof(p), "%s/b%d/zarr.json", dir, _i);
	put_file(p, text, strlen(text));
	snprintf(p, sizeof(p), "%s/b%d", dir, _i);
	ck_assert_ptr_null(em_zarr_open(p));
	snprintf(p, sizeof(p), "'%s/b%d/zarr.json': ", dir, _i);
	ck_assert_msg(strstr(em_errmsg(), p) != NULL && strstr(em_errmsg(), bad3[_i].msg) != NULL,
	    "case %d: %s", _i, em_errmsg());
}
END_TEST

static ino_t
inode(const char *p)
{
	struct stat st;

	ck_assert_int_eq(stat(p, &st), 0);
	return st.st_ino;
}

START_TEST(groups)
{
	json_t *attrs = json_pack("{s:{s:s}}", "ome", "version", "0.5");
	char p[256], f[300];
	ino_t ino;
	json_t *j;

	snprintf(p, sizeof(p), "%s/g3", dir);
	ck_assert_int_eq(em_zarr_write_group(p, 3, attrs), 0);
	snprintf(f, sizeof(f), "%s/zarr.json", p);
	ck_assert_ptr_nonnull(j = json_load_file(f, 0, NULL));
	ck_assert_int_eq(json_integer_value(json_object_get(j, "zarr_format")), 3);
	ck_assert_str_eq(json_string_value(json_object_get(j, "node_type")), "group");
	ck_assert(json_equal(json_object_get(j, "attributes"), attrs));
	json_decref(j);
	/* The same again leaves the file alone; other attributes replace it. */
	ino = inode(f);
	ck_assert_int_eq(em_zarr_write_group(p, 3, attrs), 0);
	ck_assert(inode(f) == ino);
	json_object_set_new(attrs, "x", json_integer(1));
	ck_assert_int_eq(em_zarr_write_group(p, 3, attrs), 0);
	ck_assert(inode(f) != ino);
	/* One store, one format. */
	ck_assert_int_eq(em_zarr_write_group(p, 2, attrs), -1);
	ck_assert_ptr_nonnull(strstr(em_errmsg(), "the group is Zarr v3, not v2"));
	snprintf(p, sizeof(p), "%s/g2", dir);
	ck_assert_int_eq(em_zarr_write_group(p, 2, attrs), 0);
	snprintf(f, sizeof(f), "%s/.zattrs", p);
	ck_assert_ptr_nonnull(j = json_load_file(f, 0, NULL));
	ck_assert(json_equal(j, attrs));
	json_decref(j);
	snprintf(f, sizeof(f), "%s/.zgroup", p);
	ck_assert_int_eq(em_exists(f), 1);
	ck_assert_int_eq(em_zarr_write_group(p, 3, NULL), -1);
	ck_assert_int_eq(em_zarr_write_group(p, 1, NULL), -1);
	json_decref(attrs);
}
END_TEST

/* A v3 image: NGFF 0.5 attributes under "ome", found by em_zarr_open with its voxel size. */
START_TEST(ngff_05_image)
{
	const double vox[3] = { 8, 4, 4 };
	struct em_zarr_meta m;
	double got[3];
	char p[256], f[300];
	struct em_zarr *a;
	json_t *j, *ome;

	meta3(&m, "zstd", shard);
	snprintf(p, sizeof(p), "%s/img", dir);
	ck_assert_int_eq(em_zarr_create(p, &m, vox, "img"), 0);
	snprintf(f, sizeof(f), "%s/zarr.json", p);
	ck_assert_ptr_nonnull(j = json_load_file(f, 0, NULL));
	ome = json_object_get(json_object_get(j, "attributes"), "ome");
	ck_assert_str_eq(json_string_value(json_object_get(ome, "version")), "0.5");
	ck_assert_ptr_null(json_object_get(json_array_get(json_object_get(ome, "multiscales"), 0),
	    "version"));
	json_decref(j);
	snprintf(f, sizeof(f), "%s/.zattrs", p);
	ck_assert_int_eq(em_exists(f), 0);
	ck_assert_ptr_nonnull(a = em_zarr_open(p));
	ck_assert_int_eq(em_zarr_voxel_nm(a, got), 3);
	ck_assert(got[0] == 8 && got[1] == 4 && got[2] == 4);
	ck_assert(em_zarr_sharded(em_zarr_meta(a)));
	em_zarr_close(a);
	/* The array's dimension names match the axes. */
	snprintf(f, sizeof(f), "%s/0/zarr.json", p);
	ck_assert_ptr_nonnull(j = json_load_file(f, 0, NULL));
	ck_assert_str_eq(json_string_value(json_array_get(json_object_get(j, "dimension_names"), 0)),
	    "z");
	json_decref(j);
}
END_TEST

/* What the writer needs counts the shards it assembles. */
START_TEST(shard_memory)
{
	struct em_zarr_meta m, m2;
	const uint64_t big[3] = { 1024, 1024, 1024 }, c[3] = { 64, 64, 64 };
	const uint64_t s[3] = { 512, 512, 512 }, box[3] = { 64, 64, 64 };

	ck_assert_int_eq(em_zarr_meta_init(&m, 3, big, c, EM_DT_U1, NULL), 0);
	m2 = m;
	ck_assert_int_eq(em_zarr_meta_set_format(&m, 3, s), 0);
	ck_assert_uint_gt(em_zwriter_min_memory(&m, 4, NULL), em_zwriter_min_memory(&m2, 4, NULL));
	ck_assert_uint_gt(em_zwriter_min_memory(&m, 4, box), em_zwriter_min_memory(&m2, 4, box));
	/* 1 GiB in 64^3 chunks: 8 files with 512^3 shards. */
	ck_assert_uint_eq(em_zarr_nshards(&m), 8);
	ck_assert_uint_eq(em_zarr_nchunks(&m), 4096);
}
END_TEST

/* Write v into the store at dir/name with the store's journal; stats in st. */
static void
write_journaled(const char *name, const uint16_t *v, int verify, struct em_zwriter_stats *st)
{
	struct em_zwriter_opts o = { 0 };
	struct em_zwriter *w;
	struct em_zarr *a;
	char p[256];
	uint64_t z;

	snprintf(p, sizeof(p), "%s/%s", dir, name);
	ck_assert_ptr_nonnull(a = em_zarr_open(p));
	snprintf(p, sizeof(p), "%s/%s/0", dir, name);
	ck_assert_ptr_nonnull(o.journal = em_journal_open(p, em_zarr_nchunks(em_zarr_meta(a)), -1, 0));
	o.jobs = 2;
	o.verify = verify;
	ck_assert_ptr_nonnull(w = em_zwriter_new(a, &o));
	for (z = 0; z < shape[0]; z += 7) {
		uint64_t nz = shape[0] - z < 7 ? shape[0] - z : 7;
		ck_assert_int_eq(em_zwriter_put_planes(w, z, nz, v + z * 18 * 13), 0);
	}
	ck_assert_msg(em_zwriter_finish(w, st) == 0, "%s", em_errmsg());
	em_zwriter_free(w);
	em_journal_close(o.journal);
	em_zarr_close(a);
}

/* The journal of a sharded array names shards: resume trusts a shard only as it recorded it. */
START_TEST(journal_by_shard)
{
	struct em_zarr_meta m;
	struct em_zwriter_stats st;
	uint16_t *v = volume();
	char p[256], q[300], line[256];
	unsigned char *raw;
	size_t n;
	FILE *f;
	int lines = 0, saw = 0;

	meta3(&m, "zstd", shard);
	snprintf(p, sizeof(p), "%s/j", dir);
	ck_assert_int_eq(em_zarr_create(p, &m, NULL, "j"), 0);
	write_journaled("j", v, 0, &st);
	ck_assert_uint_eq(st.shards_written, 8);
	ck_assert_uint_eq(st.chunks_written, 48);	/* the 3 x 4 x 4 chunks of the array */
	/* One line per shard: its index (C order over the 2 x 2 x 2 shards), key, size. */
	snprintf(q, sizeof(q), "%s/j/0.chunks", dir);
	ck_assert_ptr_nonnull(f = fopen(q, "r"));
	while (fgets(line, sizeof(line), f) != NULL) {
		lines++;
		if (strncmp(line, "7 c/1/1/1 ", 10) == 0)
			saw = 1;
	}
	fclose(f);
	ck_assert_int_eq(lines, 8);
	ck_assert(saw);
	write_journaled("j", v, 0, &st);
	ck_assert_uint_eq(st.shards_written, 0);
	ck_assert_uint_eq(st.chunks_present, 48);
	/* A shard of another size than recorded (a whole one, even) is written again. */
	snprintf(p, sizeof(p), "%s/j/0/c/0/1/0", dir);
	n = file_bytes(p, &raw);
	ck_assert_int_eq(em_write_atomic(p, raw, n - 1, 0), 0);
	write_journaled("j", v, 0, &st);
	ck_assert_uint_eq(st.shards_written, 1);
	ck_assert_uint_eq(st.chunks_written, 8);
	free(raw);
	ck_assert_uint_eq(file_bytes(p, &raw), n);
	/* Same size, damaged data: only --verify finds it. */
	raw[0] ^= 0xff;
	ck_assert_int_eq(em_write_atomic(p, raw, n, 0), 0);
	write_journaled("j", v, 0, &st);
	ck_assert_uint_eq(st.shards_written, 0);
	write_journaled("j", v, 1, &st);
	ck_assert_uint_eq(st.shards_written, 1);
	check_store("j", v);
	free(raw);
	free(v);
}
END_TEST

Suite *
zarr3_suite(void)
{
	Suite *s = suite_create("zarr3");
	TCase *tc = tcase_create("core");

	tcase_set_timeout(tc, 60);
	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_add_test(tc, meta_round_trip);
	tcase_add_test(tc, shard_shape_must_divide);
	tcase_add_test(tc, shard_index);
	tcase_add_test(tc, sharded_write_read);
	tcase_add_test(tc, missing_inner_chunks);
	tcase_add_test(tc, corrupt_index);
	tcase_add_test(tc, foreign_layouts);
	tcase_add_loop_test(tc, refuses_bad_v3, 0, (int)(sizeof(bad3) / sizeof(bad3[0])));
	tcase_add_test(tc, groups);
	tcase_add_test(tc, ngff_05_image);
	tcase_add_test(tc, shard_memory);
	tcase_add_test(tc, journal_by_shard);
	suite_add_tcase(s, tc);
	return s;
}
