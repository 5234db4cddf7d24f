/* pcfetch.c - a box of a Neuroglancer precomputed volume into the store, through the block-fetch engine */
#include <inttypes.h>
#include <stdio.h>
#include <string.h>

#include "core/diag.h"
#include "core/parse.h"
#include "meta/record.h"
#include "tool/blockfetch.h"
#include "tool/pcfetch.h"
#include "tool/tool.h"
#include "core/banned.h"

static int
request(void *ctx, const struct em_block *b, char *url, size_t n, uint64_t *off, uint64_t *len,
    size_t *max)
{
	return em_pc_request(ctx, b->idx, url, n, off, len, max);
}

/* A chunk that does not decode is asked for again: a body cut on the way looks the same. */
static int
decode(void *ctx, const struct em_block *b, const struct em_http_reply *rp, const void **data)
{
	if (em_pc_decode(ctx, b->idx, rp->url, rp->body, rp->len, data) < 0)
		return EM_BLOCKFETCH_AGAIN;
	return 0;
}

static int
fill(void *ctx, const struct em_block *b, const void **data)
{
	(void)b;
	return em_pc_fill(ctx, data);
}

static const struct em_blockfetch_ops ops = { request, decode, fill };

int
em_pcfetch_box(const struct em_pc_scale *s, const char *box, const uint64_t *off_xyz,
    const uint64_t *size_xyz, uint64_t b0[3], uint64_t b1[3])
{
	int i;

	for (i = 0; i < 3; i++) {
		b0[i] = 0;
		b1[i] = s->size[2 - i];
	}
	if (box != NULL) {
		if (em_parse_range_list(box, b0, b1, 3, UINT64_MAX / 4) < 0)
			return em_fail("bad box '%s': %s (Z0:Z1,Y0:Y1,X0:X1)", box, em_errmsg());
	} else if (off_xyz != NULL || size_xyz != NULL) {
		for (i = 0; i < 3; i++) {
			b0[i] = off_xyz != NULL ? off_xyz[2 - i] : 0;
			b1[i] = size_xyz != NULL ? b0[i] + size_xyz[2 - i] : s->size[2 - i];
		}
	}
	for (i = 0; i < 3; i++)
		if (b1[i] > s->size[2 - i] || b0[i] >= b1[i])
			return em_fail("box %" PRIu64 ":%" PRIu64 ",%" PRIu64 ":%" PRIu64 ",%" PRIu64
			    ":%" PRIu64 " (z,y,x) is outside scale '%s' of size %" PRIu64 ",%" PRIu64
			    ",%" PRIu64 " (z,y,x)", b0[0], b1[0], b0[1], b1[1], b0[2], b1[2],
			    s->key, s->size[2], s->size[1], s->size[0]);
	return 0;
}

static json_t *
xyz_json(const uint64_t v[3])
{
	return json_pack("[III]", (json_int_t)v[0], (json_int_t)v[1], (json_int_t)v[2]);
}

static int
record(struct em_fetch *f, struct em_pc_source *src, const uint64_t b0[3], const uint64_t b1[3],
    int boxed)
{
	const struct em_pc_scale *s = em_pc_source_scale(src);
	const struct em_pc_info *pi = em_pc_source_info(src);
	json_t *sm, *box = json_array();
	int i;

	for (i = 0; i < 3; i++)
		json_array_append_new(box, json_pack("[II]", (json_int_t)b0[i], (json_int_t)b1[i]));
	sm = json_pack("{s:s, s:s, s:s, s:s, s:b, s:s, s:o, s:o, s:[III], s:[fff], s:o, s:b}",
	    "format", "neuroglancer-precomputed", "url", em_pc_source_url(src), "scale", s->key,
	    "encoding", em_pc_encoding_name(s->encoding),
	    /* JPEG chunks are lossy: the voxels are the archive's decoded JPEG, not the scan. */
	    "lossy", s->encoding == EM_PC_JPEG, "data_type", em_dtype_name(pi->dtype),
	    "size_xyz", xyz_json(s->size), "chunk_xyz", xyz_json(s->chunk),
	    "voxel_offset_xyz", (json_int_t)s->voxel_offset[0], (json_int_t)s->voxel_offset[1],
	    (json_int_t)s->voxel_offset[2], "resolution_nm_xyz", s->resolution[0],
	    s->resolution[1], s->resolution[2], "box", box, "box_given", boxed);
	if (sm == NULL)
		return em_fail("out of memory");
	if (s->sharded)
		json_object_set_new(sm, "sharding", json_deep_copy(json_object_get(json_array_get(
		    json_object_get(pi->json, "scales"), (size_t)(s - pi->scales)), "sharding")));
	json_object_set_new(sm, "info", json_deep_copy(pi->json));
	if (em_record_set(f->rec, "source_metadata", sm) < 0)
		return -1;
	return em_record_set_str(f->rec, "download_url", em_pc_source_url(src));
}

int
em_pcfetch_run(struct em_fetch *f, struct em_pc_source *src, const uint64_t b0[3],
    const uint64_t b1[3], int boxed)
{
	const struct em_pc_scale *s = em_pc_source_scale(src);
	const char *prov[3] = { "archive-api", "archive-api", "archive-api" };
	struct em_blockfetch bf;
	double voxel[3];
	int i;

	if (record(f, src, b0, b1, boxed) < 0)
		return em_fetch_fail(f, "record");
	memset(&bf, 0, sizeof(bf));
	for (i = 0; i < 3; i++) {
		voxel[i] = s->resolution[2 - i];
		bf.b0[i] = b0[i];
		bf.b1[i] = b1[i];
		bf.block[i] = s->chunk[2 - i];
	}
	bf.ops = &ops;
	bf.ctx = src;
	bf.url = em_pc_source_url(src);
	bf.dtype = em_pc_source_info(src)->dtype;
	bf.whole = 1;
	bf.max_body = em_pc_max_body(src);
	/* The decoded chunk, a gunzipped or clipped copy, an index read and the indexes kept. */
	bf.own_bytes = 2 * (uint64_t)em_pc_chunk_bytes(src) + em_pc_max_body(src) +
	    em_pc_index_cache_bytes(src);
	/* The first indexes of a sharded scale, many at a time; later ones as the walk needs them. */
	if (em_pc_prefetch(src, b0, b1) < 0)
		return em_fetch_fail(f, "cannot fetch");
	return em_blockfetch_run(f, &bf, voxel, prov);
}

int
em_pcfetch_served_by(struct em_fetch *f, const char *who)
{
	json_t *x = json_object_get(f->rec, "extra");

	if (!json_is_object(x)) {
		if ((x = json_object()) == NULL || em_record_set(f->rec, "extra", x) < 0)
			return em_fail("out of memory");
	}
	return json_object_set_new(x, "served_by", json_string(who)) == 0 ? 0 :
	    em_fail("out of memory");
}

int
em_pcfetch_flyem(struct em_fetch *f, struct em_http *h, const char *url, int scale,
    const uint64_t off_xyz[3], const uint64_t size_xyz[3], const char *id)
{
	struct em_pc_source *src = NULL;
	const struct em_pc_scale *s;
	uint64_t rel[3], b0[3], b1[3];
	char sc[16], what[4400];
	int i, status = 1;

	snprintf(sc, sizeof(sc), "%d", scale);
	if ((src = em_pc_open(h, url, sc)) == NULL) {
		em_err("cannot open '%s': %s", url, em_errmsg());
		goto out;
	}
	s = em_pc_source_scale(src);
	for (i = 0; i < 3; i++) {
		/* DVID's coordinates are the volume's; the box counts from the voxel_offset. */
		if ((int64_t)off_xyz[i] < s->voxel_offset[i]) {
			em_err("cannot fetch '%s': the box starts before scale '%s''s voxel_offset",
			    url, s->key);
			goto out;
		}
		rel[i] = (uint64_t)((int64_t)off_xyz[i] - s->voxel_offset[i]);
	}
	if (em_pcfetch_box(s, NULL, rel, size_xyz, b0, b1) < 0) {
		em_err("cannot fetch '%s': %s", url, em_errmsg());
		goto out;
	}
	if (em_fetch_set_id(f, id) < 0) {
		em_err("cannot start '%s': %s", id, em_errmsg());
		goto out;
	}
	snprintf(what, sizeof(what), "record of '%s'", url);
	if (em_fetch_describe(f) < 0 || em_pcfetch_served_by(f, "precomputed") < 0) {
		status = em_fetch_fail(f, what);
		goto out;
	}
	status = em_pcfetch_run(f, src, b0, b1, 1);
out:
	em_pc_close(src);
	return status;
}
