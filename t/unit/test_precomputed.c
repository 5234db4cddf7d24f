/* test_precomputed.c - Neuroglancer precomputed: info, chunk names, Morton codes, MurmurHash3, shard indexes, compressed_segmentation, JPEG */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <check.h>
#include <zlib.h>

#include "core/diag.h"
#include "formats/cseg.h"
#include "formats/jpeg.h"
#include "sources/precomputed.h"

#define LEN(s) strlen(s)

static const char info_json[] =
    "{\"@type\": \"neuroglancer_multiscale_volume\", \"type\": \"image\", \"data_type\": \"UINT8\","
    " \"num_channels\": 1, \"scales\": ["
    "  {\"key\": \"8.0x8.0x8.0\", \"resolution\": [8, 8, 8], \"size\": [34432, 39552, 41408],"
    "   \"voxel_offset\": [0, 0, 0], \"chunk_sizes\": [[64, 64, 64]], \"encoding\": \"jpeg\","
    "   \"sharding\": {\"@type\": \"neuroglancer_uint64_sharded_v1\", \"preshift_bits\": 9,"
    "    \"hash\": \"murmurhash3_x86_128\", \"minishard_bits\": 6, \"shard_bits\": 15,"
    "    \"minishard_index_encoding\": \"gzip\", \"data_encoding\": \"raw\"}},"
    "  {\"key\": \"s1\", \"resolution\": [16, 16, 16.5], \"size\": [100, 50, 7],"
    "   \"voxel_offset\": [-3, 5, 10], \"chunk_sizes\": [[32, 32, 32], [64, 64, 1]],"
    "   \"encoding\": \"raw\"}]}";

START_TEST(info_parse)
{
	struct em_pc_info pi;
	const struct em_pc_scale *s;

	ck_assert_int_eq(em_pc_parse_info(info_json, LEN(info_json), &pi), 0);
	ck_assert_int_eq(pi.dtype, EM_DT_U1);
	ck_assert_uint_eq(pi.nscales, 2);
	s = &pi.scales[0];
	ck_assert_str_eq(s->key, "8.0x8.0x8.0");
	ck_assert_int_eq(s->encoding, EM_PC_JPEG);
	ck_assert(s->sharded);
	ck_assert_uint_eq(s->sh.preshift_bits, 9);
	ck_assert_uint_eq(s->sh.minishard_bits, 6);
	ck_assert_uint_eq(s->sh.shard_bits, 15);
	ck_assert_int_eq(s->sh.hash, EM_PC_MURMUR);
	ck_assert(s->sh.index_gzip && !s->sh.data_gzip);
	ck_assert_uint_eq(s->size[2], 41408);
	s = &pi.scales[1];
	ck_assert(!s->sharded);
	ck_assert_int_eq(s->voxel_offset[0], -3);
	ck_assert(s->resolution[2] == 16.5);
	ck_assert_uint_eq(s->chunk[2], 32);
	ck_assert_int_eq(em_pc_find_scale(&pi, "s1"), 1);
	ck_assert_int_eq(em_pc_find_scale(&pi, "1"), 1);
	ck_assert_int_eq(em_pc_find_scale(&pi, NULL), 0);
	ck_assert_int_eq(em_pc_find_scale(&pi, "2"), -1);
	ck_assert_int_eq(em_pc_find_scale(&pi, "16_16_16"), -1);
	em_pc_info_release(&pi);
}
END_TEST

/* Each bad info, and the words its message must have. */
START_TEST(info_bad)
{
	static const struct { const char *json, *msg; } cases[] = {
		{ "[1]", "not a JSON object" },
		{ "{\"data_type\": \"uint8\", \"num_channels\": 3, \"scales\": []}", "num_channels is 3" },
		{ "{\"data_type\": \"uint12\", \"num_channels\": 1}", "unknown data_type 'uint12'" },
		{ "{\"data_type\": \"uint8\", \"num_channels\": 1, \"scales\": [{\"key\": \"a\","
		  " \"resolution\": [1,1,1], \"size\": [1,1,1], \"chunk_sizes\": [[1,1,1]],"
		  " \"encoding\": \"png\"}]}", "unknown encoding 'png'" },
		{ "{\"data_type\": \"uint16\", \"num_channels\": 1, \"scales\": [{\"key\": \"a\","
		  " \"resolution\": [1,1,1], \"size\": [1,1,1], \"chunk_sizes\": [[1,1,1]],"
		  " \"encoding\": \"jpeg\"}]}", "jpeg encoding of uint16" },
		{ "{\"data_type\": \"uint8\", \"num_channels\": 1, \"scales\": [{\"key\": \"a\","
		  " \"resolution\": [1,1,1], \"size\": [1,1,1], \"chunk_sizes\": [[1,1,1]],"
		  " \"encoding\": \"compressed_segmentation\"}]}", "compressed_segmentation of uint8" },
		{ "{\"data_type\": \"uint8\", \"num_channels\": 1, \"scales\": [{\"key\": \"a\","
		  " \"resolution\": [1,1,1], \"size\": [1,1,1], \"chunk_sizes\": [[1,1,1]],"
		  " \"sharding\": {\"@type\": \"neuroglancer_uint64_sharded_v1\", \"preshift_bits\": 0,"
		  " \"minishard_bits\": 0, \"shard_bits\": 0, \"hash\": \"sha1\"}}]}",
		  "unknown sharding hash 'sha1'" },
		{ "{\"data_type\": \"uint8\", \"num_channels\": 1, \"scales\": [{\"key\": \"a\","
		  " \"resolution\": [1,1,1], \"size\": [0,1,1], \"chunk_sizes\": [[1,1,1]]}]}",
		  "size is not three integers" },
		{ "{\"data_type\": \"uint8\", \"num_channels\": 1, \"scales\": [{\"key\": \"a\","
		  " \"resolution\": [1,1,1], \"size\": [1,1,1], \"chunk_sizes\": [[100000,100000,1]]}]}",
		  "larger than" },
		{ "{\"data_type\": \"uint64\", \"num_channels\": 1, \"scales\": [{\"key\": \"a\","
		  " \"resolution\": [1,1,1], \"size\": [1,1,1],"
		  " \"chunk_sizes\": [[32768,32768,4294967296]]}]}", "larger than" },
		{ "{\"data_type\": \"uint8\", \"num_channels\": 1, \"scales\": [{\"key\": \"a\","
		  " \"resolution\": [1,1,1], \"size\": [1,1,1], \"chunk_sizes\": [[1,1,1]],"
		  " \"sharding\": {\"@type\": \"neuroglancer_uint64_sharded_v1\", \"preshift_bits\": 0,"
		  " \"minishard_bits\": 30, \"shard_bits\": 0, \"hash\": \"identity\"}}]}",
		  "minishard_bits 30" },
	};
	struct em_pc_info pi;
	size_t i;

	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		ck_assert_msg(em_pc_parse_info(cases[i].json, LEN(cases[i].json), &pi) == -1,
		    "case %zu accepted", i);
		ck_assert_msg(strstr(em_errmsg(), cases[i].msg) != NULL, "case %zu: '%s'", i,
		    em_errmsg());
	}
}
END_TEST

START_TEST(chunk_names)
{
	struct em_pc_scale s;
	uint64_t g[3] = { 3, 0, 0 }, ext[3];
	char name[128];

	memset(&s, 0, sizeof(s));
	s.size[0] = 100;
	s.size[1] = 50;
	s.size[2] = 7;
	s.chunk[0] = s.chunk[1] = s.chunk[2] = 32;
	s.voxel_offset[0] = -3;
	s.voxel_offset[1] = 5;
	s.voxel_offset[2] = 10;
	ck_assert_int_eq(em_pc_chunk_name(&s, g, name, sizeof(name), ext), 0);
	/* The last chunk of x is clipped at the volume's end, the offset added. */
	ck_assert_str_eq(name, "93-97_5-37_10-17");
	ck_assert_uint_eq(ext[0], 4);
	ck_assert_uint_eq(ext[1], 32);
	ck_assert_uint_eq(ext[2], 7);
	g[0] = 4;
	ck_assert_int_eq(em_pc_chunk_name(&s, g, name, sizeof(name), ext), -1);
}
END_TEST

/* The values tensorstore's murmurhash3_test.cc checks, computed there with pymmh3. */
START_TEST(murmur)
{
	static const struct { uint64_t key; uint32_t seed, h1, h2; } v[] = {
		{ 0, 0, 0xe028ae41, 0x4772b084 }, { 0, 1, 0x5ad58a7e, 0x54337108 },
		{ 1, 0, 0x16d4ce9a, 0xe8bd67d6 }, { 1, 2, 0xeb2301be, 0x48e12494 },
		{ 42, 0, 0x5119f47a, 0xc20b94f9 }, { 42, 2, 0x2d83d9c7, 0x082115eb },
	};
	unsigned char key[8], out[16];
	size_t i;
	int j;

	for (i = 0; i < sizeof(v) / sizeof(v[0]); i++) {
		uint32_t h1, h2;
		for (j = 0; j < 8; j++)
			key[j] = (unsigned char)(v[i].key >> (8 * j));
		em_murmur3_x86_128(key, 8, v[i].seed, out);
		h1 = (uint32_t)out[0] | (uint32_t)out[1] << 8 | (uint32_t)out[2] << 16 |
		    (uint32_t)out[3] << 24;
		h2 = (uint32_t)out[4] | (uint32_t)out[5] << 8 | (uint32_t)out[6] << 16 |
		    (uint32_t)out[7] << 24;
		ck_assert_msg(h1 == v[i].h1 && h2 == v[i].h2, "key %llu seed %u: %08x %08x",
		    (unsigned long long)v[i].key, v[i].seed, h1, h2);
	}
}
END_TEST

START_TEST(morton_and_shards)
{
	struct em_pc_scale s;
	struct em_pc_sharding sh;
	uint64_t g[3], shard, mini;
	char name[64];

	memset(&s, 0, sizeof(s));
	/* A grid of 4 x 2 x 8 chunks: 2, 1 and 3 bits, interleaved x y z, x z, z. */
	s.size[0] = 4;
	s.size[1] = 2;
	s.size[2] = 8;
	s.chunk[0] = s.chunk[1] = s.chunk[2] = 1;
	g[0] = 3; g[1] = 1; g[2] = 5;
	/* bit0: x0=1, y0=1, z0=1; bit1: x1=1, z1=0; bit2: z2=1 -> 0b101111 */
	ck_assert_uint_eq(em_pc_chunk_id(&s, g), 0x2f);
	g[0] = 0; g[1] = 0; g[2] = 4;
	ck_assert_uint_eq(em_pc_chunk_id(&s, g), 0x20);
	memset(&sh, 0, sizeof(sh));
	sh.preshift_bits = 2;
	sh.minishard_bits = 1;
	sh.shard_bits = 5;
	sh.hash = EM_PC_IDENTITY;
	em_pc_locate(&sh, 0x2f, &shard, &mini);
	/* 0x2f >> 2 = 0xb: minishard 1, shard 5 */
	ck_assert_uint_eq(mini, 1);
	ck_assert_uint_eq(shard, 5);
	em_pc_shard_name(&sh, shard, name, sizeof(name));
	ck_assert_str_eq(name, "05.shard");
	sh.shard_bits = 0;
	em_pc_shard_name(&sh, 0, name, sizeof(name));
	ck_assert_str_eq(name, "0.shard");
	ck_assert_uint_eq(em_pc_shard_index_bytes(&sh), 32);
}
END_TEST

static void
put64(unsigned char *p, uint64_t v)
{
	int i;

	for (i = 0; i < 8; i++)
		p[i] = (unsigned char)(v >> (8 * i));
}

START_TEST(minishard_index)
{
	struct em_pc_sharding sh;
	struct em_pc_minishard ms;
	unsigned char idx[3 * 3 * 8], gz[256], si[32];
	uint64_t start, len, a, b;
	uLongf gzlen = sizeof(gz);

	memset(&sh, 0, sizeof(sh));
	sh.minishard_bits = 1;
	/* ids 5, 7, 20 (deltas 5, 2, 13); starts 0, 10, 40 (deltas 0, 0, 18); sizes 10, 12, 3 */
	put64(idx + 0, 5); put64(idx + 8, 2); put64(idx + 16, 13);
	put64(idx + 24, 0); put64(idx + 32, 0); put64(idx + 40, 18);
	put64(idx + 48, 10); put64(idx + 56, 12); put64(idx + 64, 3);
	ck_assert_int_eq(em_pc_minishard_parse(&sh, idx, sizeof(idx), &ms), 0);
	ck_assert_uint_eq(ms.n, 3);
	ck_assert_int_eq(em_pc_minishard_find(&ms, 7, &start, &len), 1);
	/* Offsets count from the end of the shard index (32 bytes here). */
	ck_assert_uint_eq(start, 32 + 10);
	ck_assert_uint_eq(len, 12);
	ck_assert_int_eq(em_pc_minishard_find(&ms, 20, &start, &len), 1);
	ck_assert_uint_eq(start, 32 + 40);
	ck_assert_int_eq(em_pc_minishard_find(&ms, 6, &start, &len), 0);
	em_pc_minishard_release(&ms);
	/* gzip (here zlib's wrapper, which the reader takes as well) */
	ck_assert_int_eq(compress(gz, &gzlen, idx, sizeof(idx)), Z_OK);
	sh.index_gzip = 1;
	ck_assert_int_eq(em_pc_minishard_parse(&sh, gz, gzlen, &ms), 0);
	ck_assert_uint_eq(ms.n, 3);
	em_pc_minishard_release(&ms);
	ck_assert_int_eq(em_pc_minishard_parse(&sh, gz, gzlen - 3, &ms), -1);
	sh.index_gzip = 0;
	ck_assert_int_eq(em_pc_minishard_parse(&sh, idx, sizeof(idx) - 1, &ms), -1);
	ck_assert(strstr(em_errmsg(), "not a whole number") != NULL);
	/* The shard index: entry 1 at [100, 172) relative, so [132, 204) absolute. */
	memset(si, 0, sizeof(si));
	put64(si + 16, 100);
	put64(si + 24, 172);
	ck_assert_int_eq(em_pc_shard_entry(&sh, si, sizeof(si), 1, &a, &b), 0);
	ck_assert_uint_eq(a, 132);
	ck_assert_uint_eq(b, 204);
	put64(si + 24, 99);
	ck_assert_int_eq(em_pc_shard_entry(&sh, si, sizeof(si), 1, &a, &b), -1);
	ck_assert_int_eq(em_pc_shard_entry(&sh, si, sizeof(si) - 1, 0, &a, &b), -1);
}
END_TEST

static void
put32(unsigned char *p, uint32_t v)
{
	p[0] = (unsigned char)v;
	p[1] = (unsigned char)(v >> 8);
	p[2] = (unsigned char)(v >> 16);
	p[3] = (unsigned char)(v >> 24);
}

/*
 * A 2x2x1 chunk in one 2x2x1 block, uint32: table {7, 9}, 1 bit per voxel,
 * voxels (x fastest) 9 7 7 9.  Words: [0] channel offset 1; [1..2] header:
 * table at 3 (rel 2) | bits 1 << 24, values at rel 4; [3..4]... laid out as
 * channel words: 0-1 header, 2 values, 3-4 table.
 */
START_TEST(cseg_small)
{
	unsigned char s[6 * 4];
	uint32_t out[4] = { 0, 0, 0, 0 };
	uint64_t ext[3] = { 2, 2, 1 }, stride[2] = { 2, 2 };
	uint32_t block[3] = { 2, 2, 1 };

	put32(s + 0, 1);			/* channel 0 at word 1 */
	put32(s + 4, 3 | (1u << 24));		/* table at channel word 3, 1 bit */
	put32(s + 8, 2);			/* values at channel word 2 */
	put32(s + 12, 0x9);			/* indexes 1 0 0 1 */
	put32(s + 16, 7);
	put32(s + 20, 9);
	ck_assert_int_eq(em_cseg_decode(s, sizeof(s), 4, 1, ext, block, stride, out), 0);
	ck_assert_uint_eq(out[0], 9);
	ck_assert_uint_eq(out[1], 7);
	ck_assert_uint_eq(out[2], 7);
	ck_assert_uint_eq(out[3], 9);
	/* A table offset past the stream. */
	put32(s + 4, 30 | (1u << 24));
	ck_assert_int_eq(em_cseg_decode(s, sizeof(s), 4, 1, ext, block, stride, out), -1);
	/* 3 bits is not an encoding. */
	put32(s + 4, 3 | (3u << 24));
	ck_assert_int_eq(em_cseg_decode(s, sizeof(s), 4, 1, ext, block, stride, out), -1);
	ck_assert(strstr(em_errmsg(), "3 encoded bits") != NULL);
	/* An index past the table (index 1 of a table cut to one entry). */
	put32(s + 4, 3 | (1u << 24));
	ck_assert_int_eq(em_cseg_decode(s, sizeof(s) - 4, 4, 1, ext, block, stride, out), -1);
	ck_assert(strstr(em_errmsg(), "past its table") != NULL);
}
END_TEST

START_TEST(jpeg_bad)
{
	static const unsigned char notjpeg[] = { 0x89, 'P', 'N', 'G', 0, 0 };
	static const unsigned char cut[] = { 0xff, 0xd8, 0xff, 0xe0, 0, 16, 'J', 'F' };
	unsigned char out[64];

	ck_assert_int_eq(em_jpeg_decode(notjpeg, sizeof(notjpeg), 8, 8, 1, out), -1);
	ck_assert(strstr(em_errmsg(), "not a JPEG") != NULL);
	ck_assert_int_eq(em_jpeg_decode(cut, sizeof(cut), 8, 8, 1, out), -1);
	ck_assert(strstr(em_errmsg(), "corrupt JPEG") != NULL);
}
END_TEST

START_TEST(raw_decode)
{
	struct em_pc_scale s;
	unsigned char src[2 * 3 * 1 * 2], out[4 * 4 * 2 * 2];
	uint64_t ext[3] = { 2, 3, 1 };
	size_t i;

	memset(&s, 0, sizeof(s));
	s.chunk[0] = 4;
	s.chunk[1] = 4;
	s.chunk[2] = 2;
	s.encoding = EM_PC_RAW;
	for (i = 0; i < sizeof(src); i++)
		src[i] = (unsigned char)(i + 1);
	memset(out, 0, sizeof(out));
	ck_assert_int_eq(em_pc_decode_chunk(&s, EM_DT_U2, ext, src, sizeof(src), out), 0);
	/* Row y of the clipped chunk lands at row y of the whole one (4 voxels, 8 bytes). */
	ck_assert_int_eq(memcmp(out, src, 4), 0);
	ck_assert_int_eq(memcmp(out + 8, src + 4, 4), 0);
	ck_assert_int_eq(memcmp(out + 16, src + 8, 4), 0);
	ck_assert_int_eq(out[4], 0);
	ck_assert_int_eq(em_pc_decode_chunk(&s, EM_DT_U2, ext, src, sizeof(src) - 1, out), -1);
	ck_assert(strstr(em_errmsg(), "raw chunk of 11 bytes, expected 12") != NULL);
}
END_TEST

Suite *
precomputed_suite(void)
{
	Suite *s = suite_create("precomputed");
	TCase *tc = tcase_create("core");

	tcase_add_test(tc, info_parse);
	tcase_add_test(tc, info_bad);
	tcase_add_test(tc, chunk_names);
	tcase_add_test(tc, murmur);
	tcase_add_test(tc, morton_and_shards);
	tcase_add_test(tc, minishard_index);
	tcase_add_test(tc, cseg_small);
	tcase_add_test(tc, jpeg_bad);
	tcase_add_test(tc, raw_decode);
	suite_add_tcase(s, tc);
	return s;
}
