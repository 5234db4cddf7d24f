/* remote_shard.c - the shard index of sharded Zarr v3 arrays: where each inner chunk lies in its shard */
#include <inttypes.h>
#include <string.h>

#include "core/diag.h"
#include "core/dtype.h"
#include "sources/remote_internal.h"
#include "core/banned.h"

/* Read the index of shard sidx into r->index. */
static int
load_index(struct em_remote *r, struct em_http *h, const uint64_t *sidx, const char *url)
{
	struct em_http_resp resp = EM_HTTP_RESP_INIT;
	uint64_t ilen = em_remote_index_bytes(r), total, off = 0;
	int rc;

	r->have_index = 0;
	r->index_missing = 0;
	if (r->index_end) {
		rc = em_http_head(h, url, &resp);
		if (rc == EM_HTTP_MISSING) {
			r->index_missing = 1;
			r->missing_status = resp.status;
			goto done;
		}
		if (rc < 0)
			goto out;
		total = resp.total;
		if (total == UINT64_MAX) {
			/* No Content-Length on HEAD (file://, some servers): a one-byte range tells. */
			rc = em_http_get_range(h, url, 0, 1, &resp);
			if (rc < 0)
				goto out;
			total = resp.total;
		}
		if (total == UINT64_MAX) {
			rc = em_fail("shard '%s': the server gives no size", url);
			goto out;
		}
		if (total < ilen) {
			rc = em_fail("shard '%s' has %" PRIu64 " bytes, less than its index (%" PRIu64
			    ")", url, total, ilen);
			goto out;
		}
		off = total - ilen;
	}
	rc = em_http_get_range(h, url, off, ilen, &resp);
	if (rc == EM_HTTP_MISSING) {
		r->index_missing = 1;
		r->missing_status = resp.status;
		goto done;
	}
	if (rc < 0)
		goto out;
	rc = em_remote_take_index(r, sidx, resp.body, resp.len, resp.total, url);
	goto out;
done:
	memcpy(r->index_of, sidx, sizeof(r->index_of));
	r->have_index = 1;
	rc = 0;
out:
	em_http_resp_release(&resp);
	return rc;
}

size_t
em_remote_index_bytes(const struct em_remote *r)
{
	return r->in.sharded ? (size_t)(r->per_shard * 16 + (r->index_crc ? 4 : 0)) : 0;
}

int
em_remote_index_at_end(const struct em_remote *r)
{
	return r->index_end;
}

int
em_remote_take_index(struct em_remote *r, const uint64_t *sidx, const void *p, size_t n,
    uint64_t total, const char *url)
{
	size_t ilen = em_remote_index_bytes(r);
	uint64_t k;

	r->have_index = 0;
	r->index_missing = 0;
	if (!r->in.sharded)
		return em_fail("'%s' is not a sharded array", url);
	if (n != ilen)
		return em_fail("shard '%s': index of %zu bytes, expected %zu", url, n, ilen);
	if (r->index_crc) {
		uint32_t want = em_remote_le32((const unsigned char *)p + ilen - 4);
		uint32_t got = em_crc32c(p, ilen - 4);
		if (want != got)
			return em_fail("shard '%s': index checksum mismatch (crc32c %08x, stored %08x)",
			    url, got, want);
	}
	memcpy(r->index, p, r->per_shard * 16);
	if (r->index_big)
		em_swap_bytes(r->index, r->per_shard * 2, 8);
	/* Every entry is empty or lies inside the shard. */
	for (k = 0; k < r->per_shard; k++) {
		uint64_t o = em_remote_le64(r->index + 16 * k), l = em_remote_le64(r->index + 16 * k + 8);
		if (o == UINT64_MAX && l == UINT64_MAX)
			continue;
		if (l > em_remote_max_encoded(r) || (total != UINT64_MAX && (o > total ||
		    l > total - o)))
			return em_fail("shard '%s': index entry %" PRIu64 " (%" PRIu64 "+%" PRIu64
			    ") is outside the shard", url, k, o, l);
	}
	/* sidx has ndim entries; the rest stay 0 as em_remote_locate's do. */
	memset(r->index_of, 0, sizeof(r->index_of));
	memcpy(r->index_of, sidx, sizeof(*sidx) * (size_t)r->in.ndim);
	r->have_index = 1;
	return 0;
}

int
em_remote_locate_sharded(struct em_remote *r, struct em_http *h, const uint64_t *cidx,
    char *url, size_t n, uint64_t *off, uint64_t *len)
{
	uint64_t sidx[EM_ZARR_MAXDIM] = { 0 }, e = 0, o, l;
	int i;

	for (i = 0; i < r->in.ndim; i++) {
		sidx[i] = cidx[i] / r->shard_grid[i];
		e = e * r->shard_grid[i] + cidx[i] % r->shard_grid[i];
	}
	if (em_remote_key(r, sidx, url, n) < 0)
		return -1;
	if (!r->have_index || memcmp(sidx, r->index_of, sizeof(sidx)) != 0)
		if (load_index(r, h, sidx, url) < 0)
			return -1;
	if (r->index_missing) {
		r->last_missing = r->missing_status > 0 ? r->missing_status : 404;
		return EM_HTTP_MISSING;
	}
	r->last_missing = 0;
	o = em_remote_le64(r->index + 16 * e);
	l = em_remote_le64(r->index + 16 * e + 8);
	if (o == UINT64_MAX && l == UINT64_MAX)
		return EM_HTTP_MISSING;
	if (l == 0)
		return em_fail("shard '%s': inner chunk %" PRIu64 " has 0 bytes", url, e);
	*off = o;
	*len = l;
	return 0;
}
