/* test_fixtures.c - the archives' parsers on responses other software wrote (t/data/fixtures, t/data/precomputed) */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <check.h>

#include "core/diag.h"
#include "sources/idr.h"
#include "sources/precomputed.h"
#include "store/zarr.h"

/* The file at t/data/<rel> (the tests run from the top of the tree), NUL-terminated. */
static char *
slurp(const char *rel, size_t *len)
{
	char path[512];
	FILE *fp;
	char *buf;
	long n;

	snprintf(path, sizeof(path), "t/data/%s", rel);
	fp = fopen(path, "rb");
	ck_assert_msg(fp != NULL, "cannot open %s", path);
	ck_assert_int_eq(fseek(fp, 0, SEEK_END), 0);
	n = ftell(fp);
	rewind(fp);
	buf = malloc((size_t)n + 1);
	ck_assert_ptr_nonnull(buf);
	ck_assert_uint_eq(fread(buf, 1, (size_t)n, fp), (size_t)n);
	buf[n] = '\0';
	fclose(fp);
	*len = (size_t)n;
	return buf;
}

/* OMERO's documented imgData answer: sizes, micrometre pixel sizes, names. */
START_TEST(idr_omero_docs)
{
	struct em_idr_image im;
	size_t len;
	char *text = slurp("fixtures/idr/imgData-omero-docs.json", &len);

	ck_assert_int_eq(em_idr_parse(text, len, "imgData", &im), 0);
	ck_assert_uint_eq(im.shape[0], 31);
	ck_assert_uint_eq(im.shape[1], 480);
	ck_assert_uint_eq(im.shape[2], 480);
	ck_assert_uint_eq(im.channels, 4);
	ck_assert_uint_eq(im.times, 1);
	ck_assert(im.have_voxel);
	/* pixel_size is in micrometres: 0.2 and 0.0663 um. */
	ck_assert(fabs(im.voxel_nm[0] - 200.0) < 1e-9);
	ck_assert(fabs(im.voxel_nm[1] - 66.3) < 1e-9);
	ck_assert(fabs(im.voxel_nm[2] - 66.3) < 1e-9);
	ck_assert_str_eq(im.name, "CSFV-siRNAi02_R3D_D3D.dv");
	ck_assert_str_eq(im.dataset, "survivin");
	ck_assert_str_eq(im.project, "siRNAi");
	em_idr_release(&im);
	free(text);
}
END_TEST

/* An OME-Zarr 0.4 group and array as ome-zarr-py and zarr-python write them (neuroglancer's test data). */
START_TEST(ngff_zarr_python)
{
	struct em_zarr_meta m;
	struct em_zarr_attrs at;
	size_t len;
	char *text = slurp("fixtures/openorganelle/ngff04-scale0.zarray", &len);

	ck_assert_int_eq(em_zarr_meta_parse(text, len, &m), 0);
	ck_assert_int_eq(m.ndim, 2);
	ck_assert_uint_eq(m.shape[0], 10);
	ck_assert_uint_eq(m.chunks[1], 10);
	ck_assert_int_eq(m.dtype, EM_DT_U2);
	ck_assert_int_eq(m.sep, '/');
	ck_assert(m.fill_null);
	ck_assert_int_eq(m.codec.id, EM_CODEC_BLOSC);
	ck_assert_str_eq(m.codec.cname, "lz4");
	free(text);
	text = slurp("fixtures/openorganelle/ngff04.zattrs", &len);
	ck_assert_int_eq(em_zarr_attrs_parse(text, len, &at), 0);
	ck_assert_str_eq(at.path, "scale0/image");
	ck_assert_int_eq(at.naxes, 2);
	/* scale [4, 30] in nanometres */
	ck_assert(at.voxel_nm[0] == 4.0 && at.voxel_nm[1] == 30.0);
	em_zarr_attrs_release(&at);
	free(text);
}
END_TEST

/* Neuroglancer's precomputed info files, written by tensorstore. */
START_TEST(precomputed_tensorstore)
{
	struct em_pc_info pi;
	size_t len;
	char *text = slurp("precomputed/neuroglancer/one_channel/info", &len);

	ck_assert_int_eq(em_pc_parse_info(text, len, &pi), 0);
	ck_assert_int_eq(pi.dtype, EM_DT_U2);
	ck_assert_uint_eq(pi.nscales, 3);
	ck_assert_str_eq(pi.scales[2].key, "12_16_20");
	ck_assert(pi.scales[2].resolution[2] == 20.0);
	ck_assert_uint_eq(pi.scales[1].chunk[0], 5);
	ck_assert_int_eq(pi.scales[0].encoding, EM_PC_RAW);
	em_pc_info_release(&pi);
	free(text);
	text = slurp("precomputed/neuroglancer/two_channels/info", &len);
	ck_assert_int_eq(em_pc_parse_info(text, len, &pi), -1);
	ck_assert(strstr(em_errmsg(), "num_channels is 2") != NULL);
	free(text);
}
END_TEST

/* cloud-volume's test volumes (t/data/precomputed/cloud-volume): what real info files carry. */
START_TEST(precomputed_cloudvolume)
{
	struct em_pc_info pi;
	const struct em_pc_scale *sc;
	uint64_t g[3] = { 0, 0, 0 }, grid[3], ext[3];
	char name[128], *text, *enc;
	size_t len;

	/* The graphene volume: uint64 compressed_segmentation, six scales, a voxel_offset,
	 * keys this reader does not use (data_dir, graph, mesh) and no trailing newline. */
	text = slurp("precomputed/cloud-volume/test_cv/info", &len);
	ck_assert_int_eq(em_pc_parse_info(text, len, &pi), 0);
	ck_assert_int_eq(pi.dtype, EM_DT_U8);
	ck_assert_str_eq(pi.type, "segmentation");
	ck_assert_uint_eq(pi.nscales, 6);
	ck_assert_int_eq(em_pc_find_scale(&pi, "128_128_40"), 4);
	ck_assert_int_eq(em_pc_find_scale(&pi, "5"), 5);
	sc = &pi.scales[0];
	ck_assert_str_eq(sc->key, "8_8_40");
	ck_assert_int_eq(sc->encoding, EM_PC_CSEG);
	ck_assert(sc->cseg_block[0] == 8 && sc->cseg_block[1] == 8 && sc->cseg_block[2] == 8);
	ck_assert(sc->resolution[0] == 8.0 && sc->resolution[2] == 40.0);
	ck_assert(sc->size[0] == 43520 && sc->size[1] == 26112 && sc->size[2] == 2176);
	ck_assert(sc->voxel_offset[0] == 17920 && sc->voxel_offset[1] == 14848 &&
	    sc->voxel_offset[2] == 0);
	ck_assert(sc->chunk[0] == 512 && sc->chunk[1] == 512 && sc->chunk[2] == 16);
	ck_assert(!sc->sharded);
	em_pc_grid(sc, grid);
	ck_assert(grid[0] == 85 && grid[1] == 51 && grid[2] == 136);
	/* Chunk names are in absolute voxels: the offset added. */
	ck_assert_int_eq(em_pc_chunk_name(sc, g, name, sizeof(name), ext), 0);
	ck_assert_str_eq(name, "17920-18432_14848-15360_0-16");
	sc = &pi.scales[5];
	em_pc_grid(sc, grid);
	ck_assert(grid[0] == 3 && grid[1] == 2 && grid[2] == 136);
	g[0] = 2;
	g[1] = 1;
	g[2] = 135;
	/* The last chunk is clipped at the volume's end (560 + 1360, 464 + 816). */
	ck_assert_int_eq(em_pc_chunk_name(sc, g, name, sizeof(name), ext), 0);
	ck_assert_str_eq(name, "1584-1920_976-1280_2160-2176");
	ck_assert(ext[0] == 336 && ext[1] == 304 && ext[2] == 16);
	em_pc_info_release(&pi);
	free(text);

	/* The later version of the same file: uint32, offset 0, skeletons and mesh keys. */
	text = slurp("precomputed/cloud-volume/test_cv-uint32/info", &len);
	ck_assert_int_eq(em_pc_parse_info(text, len, &pi), 0);
	ck_assert_int_eq(pi.dtype, EM_DT_U4);
	ck_assert_uint_eq(pi.nscales, 5);
	sc = &pi.scales[1];
	ck_assert_str_eq(sc->key, "8_8_40");
	ck_assert_int_eq(sc->encoding, EM_PC_CSEG);
	ck_assert(sc->chunk[0] == 128 && sc->chunk[1] == 128 && sc->chunk[2] == 64);
	g[0] = 1;
	g[1] = 0;
	g[2] = 1;
	ck_assert_int_eq(em_pc_chunk_name(sc, g, name, sizeof(name), ext), 0);
	ck_assert_str_eq(name, "128-256_0-128_64-128");
	em_pc_info_release(&pi);
	free(text);

	/* compresso (unsharded): refused, naming the scale and the encoding. */
	text = slurp("precomputed/cloud-volume/test_seg_unsharded/info", &len);
	ck_assert_int_eq(em_pc_parse_info(text, len, &pi), -1);
	ck_assert(strstr(em_errmsg(), "scale '8_8_40': unknown encoding 'compresso'") != NULL);
	free(text);

	/* The sharded volume: compresso is refused too; its sharding (identity hash, gzip
	 * indexes and data, no shard or minishard bits) read with the encoding taken as raw
	 * in memory, the only change.  cloud-volume keeps its one shard as 8_8_40/0.shard. */
	text = slurp("precomputed/cloud-volume/test_cv_sharded/info", &len);
	ck_assert_int_eq(em_pc_parse_info(text, len, &pi), -1);
	ck_assert(strstr(em_errmsg(), "unknown encoding 'compresso'") != NULL);
	enc = strstr(text, "\"compresso\"");
	ck_assert_ptr_nonnull(enc);
	memcpy(enc, "\"raw\"      ", 11);
	ck_assert_int_eq(em_pc_parse_info(text, len, &pi), 0);
	sc = &pi.scales[0];
	ck_assert(sc->sharded);
	ck_assert_int_eq(sc->sh.hash, EM_PC_IDENTITY);
	ck_assert_uint_eq(sc->sh.preshift_bits, 9);
	ck_assert_uint_eq(sc->sh.minishard_bits, 0);
	ck_assert_uint_eq(sc->sh.shard_bits, 0);
	ck_assert(sc->sh.index_gzip && sc->sh.data_gzip);
	ck_assert_uint_eq(em_pc_shard_index_bytes(&sc->sh), 16);
	em_pc_shard_name(&sc->sh, 0, name, sizeof(name));
	ck_assert_str_eq(name, "0.shard");
	em_pc_info_release(&pi);
	free(text);
}
END_TEST

Suite *
fixtures_suite(void)
{
	Suite *s = suite_create("fixtures");
	TCase *tc = tcase_create("core");

	tcase_add_test(tc, idr_omero_docs);
	tcase_add_test(tc, ngff_zarr_python);
	tcase_add_test(tc, precomputed_tensorstore);
	tcase_add_test(tc, precomputed_cloudvolume);
	suite_add_tcase(s, tc);
	return s;
}
