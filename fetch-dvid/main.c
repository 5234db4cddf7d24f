/* fetch-dvid - copy a box of a DVID uint8blk instance (FlyEM hemibrain) into a local OME-Zarr store */
#include <getopt.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/diag.h"
#include "sources/dvid.h"
#include "tool/fetch.h"
#include "core/interrupt.h"
#include "core/parse.h"
#include "meta/record.h"
#include "sources/remote.h"
#include "tool/tool.h"
#include "core/banned.h"

enum { OPT_SERVER = EM_OPT_TOOL, OPT_UUID, OPT_INSTANCE, OPT_OFFSET, OPT_SIZE, OPT_SCALE };

static void
usage(FILE *fp, int status)
{
	fprintf(fp,
	    "usage: fetch-dvid [--server URL] [--uuid UUID] [--instance NAME]\n"
	    "       [--offset X,Y,Z --size X,Y,Z] [--scale N]\n"
	    "%s", em_fetch_usage);
	exit(status);
}

struct req {
	uint64_t start[3];	/* z,y,x in the box */
	uint64_t count[3];
	int tries;
};

struct run {
	struct em_fetch *f;
	char base[4096];		/* <server>/api/node/<uuid>/<instance> */
	int throttle;
	int attempts;
	uint64_t off[3];		/* the box's corner in the volume, z,y,x */
	uint64_t shape[3];		/* the box, z,y,x */
	uint64_t step[3];		/* one request, z,y,x */
	uint64_t grid[3], pos[3];
	int started, finished;
	uint64_t fetched, skipped, retried;
	struct em_http_multi *m;
};

static int
add_request(struct run *x, struct em_http_multi *m, struct req *q)
{
	char url[4400];
	uint64_t n = q->count[0] * q->count[1] * q->count[2];

	/* DVID speaks X_Y_Z; the volume's corner plus the request's. */
	snprintf(url, sizeof(url), "%s/raw/0_1_2/%" PRIu64 "_%" PRIu64 "_%" PRIu64 "/%" PRIu64 "_%"
	    PRIu64 "_%" PRIu64 "%s", x->base, q->count[2], q->count[1], q->count[0],
	    x->off[2] + q->start[2], x->off[1] + q->start[1], x->off[0] + q->start[0],
	    x->throttle ? "?throttle=true" : "");
	/* Room for a longer answer, so that it is seen and retried like a short one. */
	return em_http_multi_add(m, url, 0, 0, (size_t)n * 2 + 4096, q);
}

static int
on_done(void *ctx, const struct em_http_reply *rp)
{
	struct run *x = ctx;
	struct req *q = rp->user;
	uint64_t want = q->count[0] * q->count[1] * q->count[2];
	int rc = -1;

	if (em_interrupted()) {
		em_fail("interrupted");
		goto out;
	}
	if (rp->result == EM_HTTP_MISSING) {
		em_fail("GET '%s': HTTP %ld %s", rp->url, rp->status, em_http_reason(rp->status));
		goto out;
	}
	if (rp->result < 0) {
		em_fail("%s", rp->error);
		goto out;
	}
	if ((uint64_t)rp->len != want) {
		if (++q->tries < x->attempts) {
			em_log(EM_LOG_INFO, "GET '%s': %zu bytes, expected %" PRIu64 "; retrying",
			    rp->url, rp->len, want);
			x->retried++;
			if (add_request(x, x->m, q) < 0)
				goto out;
			return 0;
		}
		em_fail("GET '%s': %zu bytes, expected %" PRIu64 " (%" PRIu64 "x%" PRIu64 "x%"
		    PRIu64 " voxels) after %d attempts", rp->url, rp->len, want, q->count[2],
		    q->count[1], q->count[0], q->tries);
		goto out;
	}
	x->fetched++;
	rc = em_fetch_put_box(x->f, q->start, q->count, rp->body);
out:
	free(q);
	return rc;
}

static int
next_box(struct run *x, uint64_t *start, uint64_t *count)
{
	int i;

	if (x->finished)
		return 0;
	if (x->started) {
		for (i = 2; i >= 0; i--) {
			if (++x->pos[i] < x->grid[i])
				break;
			x->pos[i] = 0;
		}
		if (i < 0) {
			x->finished = 1;
			return 0;
		}
	}
	x->started = 1;
	for (i = 0; i < 3; i++) {
		start[i] = x->pos[i] * x->step[i];
		count[i] = x->shape[i] - start[i] < x->step[i] ? x->shape[i] - start[i] : x->step[i];
	}
	return 1;
}

static int
on_feed(void *ctx, struct em_http_multi *m)
{
	struct run *x = ctx;
	uint64_t start[3], count[3];
	struct req *q;
	int rc;

	while (next_box(x, start, count)) {
		if (em_interrupted())
			return em_fail("interrupted");
		rc = em_fetch_box_done(x->f, start, count);
		if (rc < 0)
			return -1;
		if (rc == 1) {
			x->skipped++;
			continue;
		}
		if ((q = calloc(1, sizeof(*q))) == NULL)
			return em_fail("out of memory");
		memcpy(q->start, start, sizeof(start));
		memcpy(q->count, count, sizeof(count));
		if (add_request(x, m, q) < 0) {
			free(q);
			return -1;
		}
		return 1;
	}
	return 0;
}

static int
conf_xyz(struct em_fetch *f, const char *key, uint64_t *out, uint64_t min)
{
	char path[128];
	int rc;

	snprintf(path, sizeof(path), "sources.dvid.%s", key);
	if (out[0] != 0 || out[1] != 0 || out[2] != 0)
		return 1;
	rc = em_config_get_u64_list(f->cfg, path, out, 3, min, UINT64_MAX / 4,
	    (const uint64_t[3]){ 0, 0, 0 });
	if (rc < 0)
		return -1;
	return out[0] != 0 || out[1] != 0 || out[2] != 0 || min == 0;
}

int
main(int argc, char **argv)
{
	static const struct option ownopts[] = {
		{ "server", required_argument, NULL, OPT_SERVER },
		{ "uuid", required_argument, NULL, OPT_UUID },
		{ "instance", required_argument, NULL, OPT_INSTANCE },
		{ "offset", required_argument, NULL, OPT_OFFSET },
		{ "size", required_argument, NULL, OPT_SIZE },
		{ "scale", required_argument, NULL, OPT_SCALE },
	};
	struct em_fetch_opts o;
	struct em_fetch f;
	struct run x;
	struct em_http_resp resp = EM_HTTP_RESP_INIT;
	struct em_http_opts ho;
	struct em_http *h = NULL;
	const char *server = NULL, *uuid = NULL, *instance = NULL;
	const char *prov[3] = { "archive-api", "archive-api", "archive-api" };
	char inst[256], id[300], what[5000], url[4400], shortid[9], boxs[160];
	uint64_t offx[3] = { 0, 0, 0 }, sizex[3] = { 0, 0, 0 }, reqx[3] = { 0, 0, 0 };
	double voxel[3];
	struct em_dvid_info di;
	json_t *sm;
	int c, rc, i, scale = 0, have_offset = 0, have_size = 0, status = EM_EXIT_FAIL;
	size_t k;

	memset(&x, 0, sizeof(x));
	memset(&di, 0, sizeof(di));
	em_tool_begin(argv[0]);
	em_fetch_opts_init(&o);
	while ((c = em_fetch_getopt(argc, argv, ownopts, sizeof(ownopts) / sizeof(ownopts[0]), &o,
	    usage)) != -1) {
		switch (c) {
		case OPT_SERVER:
			server = optarg;
			continue;
		case OPT_UUID:
			uuid = optarg;
			continue;
		case OPT_INSTANCE:
			instance = optarg;
			continue;
		case OPT_OFFSET:
			if (em_parse_u64_list(optarg, offx, 3, 0, UINT64_MAX / 4) < 0) {
				em_err("bad --offset '%s': %s (X,Y,Z)", optarg, em_errmsg());
				usage(stderr, EM_EXIT_USAGE);
			}
			have_offset = 1;
			continue;
		case OPT_SIZE:
			if (em_parse_u64_list(optarg, sizex, 3, 1, UINT64_MAX / 4) < 0) {
				em_err("bad --size '%s': %s (X,Y,Z, each at least 1)", optarg,
				    em_errmsg());
				usage(stderr, EM_EXIT_USAGE);
			}
			have_size = 1;
			continue;
		case OPT_SCALE:
			if (em_parse_int(optarg, 0, 30, &scale) < 0) {
				em_err("bad --scale: %s", em_errmsg());
				usage(stderr, EM_EXIT_USAGE);
			}
			continue;
		default:
			break;
		}
	}
	if (optind < argc || o.url != NULL)
		usage(stderr, EM_EXIT_USAGE);
	em_interrupt_install();
	if (em_fetch_begin(&f, "fetch-dvid", "dvid", &o) < 0) {
		em_err("cannot start: %s", em_errmsg());
		em_fetch_end(&f);
		return em_tool_end(EM_EXIT_FAIL);
	}
	x.f = &f;
	if (server == NULL)
		server = em_fetch_conf_str(&f, "server", NULL);
	if (uuid == NULL)
		uuid = em_fetch_conf_str(&f, "uuid", NULL);
	if (instance == NULL)
		instance = em_fetch_conf_str(&f, "instance", "grayscale");
	if (server == NULL || uuid == NULL) {
		em_err("no --server or --uuid, and none in sources.dvid of '%s'",
		    em_config_name(f.cfg));
		goto end;
	}
	if ((!have_offset && conf_xyz(&f, "offset_xyz", offx, 0) < 0) ||
	    (!have_size && conf_xyz(&f, "size_xyz", sizex, 1) < 0) ||
	    conf_xyz(&f, "request_xyz", reqx, 1) < 0) {
		em_err("bad sources.dvid setting: %s", em_errmsg());
		goto end;
	}
	if (sizex[0] == 0 || sizex[1] == 0 || sizex[2] == 0) {
		em_err("no --size X,Y,Z, and none in sources.dvid.size_xyz");
		goto end;
	}
	if (reqx[0] == 0)
		reqx[0] = reqx[1] = reqx[2] = 256;
	{
		int t = 1;
		long long mp;
		if (em_config_get_bool(f.cfg, "sources.dvid.throttle", 1, &t) < 0 ||
		    em_config_get_int(f.cfg, "sources.dvid.max_parallel", 4, &mp) < 0 ||
		    mp < 1 || mp > 256) {
			em_err("bad sources.dvid setting: %s", em_errmsg());
			goto end;
		}
		x.throttle = t;
		if (o.jobs == 0)
			f.jobs = (int)mp;
	}
	if (strchr(uuid, '/') != NULL || *uuid == '\0' || strchr(instance, '/') != NULL ||
	    *instance == '\0') {
		em_err("bad UUID '%s' or instance '%s'", uuid, instance);
		goto end;
	}
	if (scale > 0)
		snprintf(inst, sizeof(inst), "%s_%d", instance, scale);
	else
		snprintf(inst, sizeof(inst), "%s", instance);
	{
		size_t sl = strlen(server);
		while (sl > 0 && server[sl - 1] == '/')
			sl--;
		if ((size_t)snprintf(x.base, sizeof(x.base), "%.*s/api/node/%s/%s", (int)sl, server,
		    uuid, inst) >= sizeof(x.base)) {
			em_err("server URL '%s' is too long", server);
			goto end;
		}
	}
	for (i = 0; i < 3; i++) {
		/* z,y,x from DVID's X,Y,Z. */
		x.off[i] = offx[2 - i];
		x.shape[i] = sizex[2 - i];
	}
	snprintf(shortid, sizeof(shortid), "%s", uuid);
	snprintf(id, sizeof(id), "%s_%s_%" PRIu64 "_%" PRIu64 "_%" PRIu64 "_%" PRIu64 "x%" PRIu64 "x%"
	    PRIu64, shortid, inst, offx[0], offx[1], offx[2], sizex[0], sizex[1], sizex[2]);
	for (k = 0; id[k] != '\0'; k++)
		if (!((id[k] >= 'a' && id[k] <= 'z') || (id[k] >= 'A' && id[k] <= 'Z') ||
		    (id[k] >= '0' && id[k] <= '9') || id[k] == '_' || id[k] == '-' || id[k] == '.'))
			id[k] = '_';
	if (em_fetch_set_id(&f, id) < 0) {
		em_err("cannot start '%s': %s", id, em_errmsg());
		goto end;
	}
	if (em_fetch_describe(&f) < 0) {
		status = em_fetch_fail(&f, "record");
		goto end;
	}
	ho = f.http_opts;
	ho.progress = NULL;
	x.attempts = ho.attempts;
	if ((h = em_http_new(&ho)) == NULL) {
		status = em_fetch_fail(&f, "cannot start");
		goto end;
	}

	/* The instance: its type, block size, voxel size and extents. */
	snprintf(url, sizeof(url), "%s/info", x.base);
	rc = em_http_get(h, url, EM_DVID_MAX_INFO_BYTES, &resp);
	if (rc == EM_HTTP_MISSING) {
		em_fail("HTTP %ld: no instance '%s' in node '%s'%s", resp.status, inst, uuid,
		    scale > 0 ? " (the server does not have this scale)" : "");
		rc = -1;
	} else if (rc == 0) {
		rc = em_dvid_parse_info(resp.body, resp.len, &di);
	}
	if (rc < 0) {
		if (scale > 0)
			snprintf(what, sizeof(what), "cannot read '%s' (instance '%s': the server may "
			    "not have scale %d)", url, inst, scale);
		else
			snprintf(what, sizeof(what), "cannot read '%s'", url);
		status = em_fetch_fail(&f, what);
		goto end;
	}
	if (em_dvid_check_box(&di, inst, offx, sizex) < 0) {
		snprintf(what, sizeof(what), "cannot fetch from '%s'", url);
		status = em_fetch_fail(&f, what);
		goto end;
	}
	for (i = 0; i < 3; i++) {
		/* z,y,x from DVID's X,Y,Z. */
		voxel[2 - i] = di.voxel_nm[i];
	}
	/* Requests: the configured size in whole output chunks, so each one completes its chunks. */
	for (i = 0; i < 3; i++) {
		uint64_t ch = f.chunks[i] < x.shape[i] ? f.chunks[i] : x.shape[i];
		uint64_t r = reqx[2 - i] / ch * ch;
		x.step[i] = r < ch ? ch : r;
		if (x.step[i] > x.shape[i])
			x.step[i] = x.shape[i];
		x.grid[i] = (x.shape[i] + x.step[i] - 1) / x.step[i];
	}
	if (x.step[0] * x.step[1] * x.step[2] > EM_DVID_MAX_REQUEST_VOXELS) {
		em_fail("sources.dvid.request_xyz asks for more than %" PRIu64 " voxels at once",
		    EM_DVID_MAX_REQUEST_VOXELS);
		status = em_fetch_fail(&f, "cannot fetch");
		goto end;
	}

	snprintf(boxs, sizeof(boxs), "%" PRIu64 ",%" PRIu64 ",%" PRIu64 "+%" PRIu64 ",%" PRIu64
	    ",%" PRIu64, offx[0], offx[1], offx[2], sizex[0], sizex[1], sizex[2]);
	sm = json_pack("{s:s, s:s, s:s, s:i, s:[III], s:[III], s:O}", "server", server,
	    "uuid", uuid, "instance", inst, "scale", scale, "offset_xyz", (json_int_t)offx[0],
	    (json_int_t)offx[1], (json_int_t)offx[2], "size_xyz", (json_int_t)sizex[0],
	    (json_int_t)sizex[1], (json_int_t)sizex[2], "info", di.json);
	if (sm == NULL || em_record_set(f.rec, "source_metadata", sm) < 0 ||
	    em_record_set(f.rec, "archive", json_pack("{s:s, s:s, s:s, s:s}", "uuid", uuid,
	    "instance", inst, "server", server, "box_xyz", boxs)) < 0 ||
	    em_record_set_str(f.rec, "download_url", x.base) < 0) {
		status = em_fetch_fail(&f, "record");
		goto end;
	}
	{
		uint64_t caller = (uint64_t)f.jobs * (x.step[0] * x.step[1] * x.step[2] * 2 + 4096);
		if (em_fetch_open_store(&f, x.shape, EM_DT_U1, di.voxel_known ? voxel : NULL, prov,
		    x.step, caller) < 0) {
			snprintf(what, sizeof(what), "cannot open store '%s'", f.store);
			status = em_fetch_fail(&f, what);
			goto end;
		}
	}
	ho.jobs = f.jobs;
	em_http_free(h);
	if ((h = em_http_new(&ho)) == NULL || (x.m = em_http_multi_new(h, on_done, &x)) == NULL) {
		status = em_fetch_fail(&f, "cannot fetch");
		goto end;
	}
	/* Requests a stopped run (a signal, an error) did not hand back are freed by the multi. */
	em_http_multi_set_release(x.m, free);
	if (em_http_multi_run(x.m, on_feed, &x) < 0) {
		snprintf(what, sizeof(what), "cannot fetch from '%s'", x.base);
		status = em_fetch_fail(&f, what);
		goto end;
	}
	em_log(EM_LOG_INFO, "%s: %" PRIu64 " requests, %" PRIu64 " retried for their length, %"
	    PRIu64 " boxes already in the store", x.base, x.fetched, x.retried, x.skipped);
	status = em_fetch_done(&f);
end:
	em_http_resp_release(&resp);
	em_dvid_info_release(&di);
	em_http_multi_free(x.m);
	em_http_free(h);
	em_fetch_end(&f);
	return em_tool_end(status);
}
