/* fetch-dvid - copy a box of a DVID uint8blk instance (FlyEM hemibrain) into a local OME-Zarr store */
#include <getopt.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/diag.h"
#include "sources/dvid.h"
#include "tool/blockfetch.h"
#include "tool/fetch.h"
#include "tool/pcfetch.h"
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
	    "       [--offset X,Y,Z --size X,Y,Z] [--scale N] [--strict]\n"
	    "%s", em_fetch_usage);
	exit(status);
}

/* The source as the engine sees it: blocks are requests of the box, box-relative z,y,x. */
struct run {
	char base[4096];		/* <server>/api/node/<uuid>/<instance> */
	int throttle;
	uint64_t off[3];		/* the box's corner in the volume, z,y,x */
};

static int
request(void *ctx, const struct em_block *b, char *url, size_t n, uint64_t *off, uint64_t *len,
    size_t *max)
{
	struct run *x = ctx;

	/* DVID speaks X_Y_Z; the volume's corner plus the request's. */
	if ((size_t)snprintf(url, n, "%s/raw/0_1_2/%" PRIu64 "_%" PRIu64 "_%" PRIu64 "/%" PRIu64
	    "_%" PRIu64 "_%" PRIu64 "%s", x->base, b->n[2], b->n[1], b->n[0],
	    x->off[2] + b->lo[2], x->off[1] + b->lo[1], x->off[0] + b->lo[0],
	    x->throttle ? "?throttle=true" : "") >= n)
		return em_fail("URL of '%s' is too long", x->base);
	*off = *len = 0;
	/* Room for a longer answer, so that it is seen and retried like a short one. */
	*max = (size_t)(b->n[0] * b->n[1] * b->n[2]) * 2 + 4096;
	return 0;
}

/* The answer is the part's voxels, ZYX, or it was cut (or padded) on the way. */
static int
decode(void *ctx, const struct em_block *b, const struct em_http_reply *rp, const void **data)
{
	uint64_t want = b->n[0] * b->n[1] * b->n[2];

	(void)ctx;
	if ((uint64_t)rp->len != want) {
		em_fail("GET '%s': %zu bytes, expected %" PRIu64 " (%" PRIu64 "x%" PRIu64 "x%"
		    PRIu64 " voxels)", rp->url, rp->len, want, b->n[2], b->n[1], b->n[0]);
		return EM_BLOCKFETCH_AGAIN;
	}
	*data = rp->body;
	return 0;
}

/* DVID answers every box inside the extents: a missing one is an error. */
static const struct em_blockfetch_ops ops = { request, decode, NULL };

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
		EM_FETCH_OPT_STRICT,
	};
	struct em_fetch_opts o;
	struct em_fetch f;
	struct run x;
	struct em_blockfetch bf;
	struct em_http_resp resp = EM_HTTP_RESP_INIT;
	const char *server = NULL, *uuid = NULL, *instance = NULL, *via, *pcurl;
	const char *prov[3] = { "archive-api", "archive-api", "archive-api" };
	char inst[256], id[300], what[5000], url[4400], shortid[9], boxs[160];
	uint64_t offx[3] = { 0, 0, 0 }, sizex[3] = { 0, 0, 0 }, reqx[3] = { 0, 0, 0 };
	double voxel[3];
	struct em_dvid_info di;
	json_t *sm;
	int c, rc, i, scale = 0, have_offset = 0, have_size = 0, status = EM_EXIT_FAIL, named;
	size_t k;

	memset(&x, 0, sizeof(x));
	memset(&bf, 0, sizeof(bf));
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
	if (em_fetch_begin(&f, "fetch-dvid", "dvid", 4, &o) < 0) {
		em_err("cannot start: %s", em_errmsg());
		em_fetch_end(&f);
		return em_tool_end(EM_EXIT_FAIL);
	}
	named = server != NULL || uuid != NULL || instance != NULL;
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
	if (em_config_get_bool(f.cfg, "sources.dvid.throttle", 1, &x.throttle) < 0) {
		em_err("bad sources.dvid setting: %s", em_errmsg());
		goto end;
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
		/* z,y,x from DVID's X,Y,Z; the engine's box is box-relative. */
		x.off[i] = offx[2 - i];
		bf.origin[i] = offx[2 - i];	/* the store's translation */
		bf.b1[i] = sizex[2 - i];
	}
	/* The FlyEM source: DVID when it answers for this node and instance, else the precomputed release. */
	via = em_fetch_conf_str(&f, "via", "auto");
	pcurl = em_fetch_conf_str(&f, "precomputed_url", NULL);
	/* A DVID named on the command line is read as named: the fallback is the configured source's. */
	if (named)
		via = "dvid";
	if (strcmp(via, "auto") != 0 && strcmp(via, "dvid") != 0 && strcmp(via, "precomputed") != 0) {
		em_err("bad sources.dvid.via '%s': auto, dvid or precomputed", via);
		goto end;
	}
	snprintf(url, sizeof(url), "%s/info", x.base);
	rc = strcmp(via, "precomputed") == 0 ? -1 :
	    em_http_get(f.http, url, EM_DVID_MAX_INFO_BYTES, &resp);
	if (strcmp(via, "precomputed") == 0 || (strcmp(via, "auto") == 0 && pcurl != NULL &&
	    (rc != 0 || em_dvid_parse_info(resp.body, resp.len, &di) < 0 || di.type_name == NULL ||
	    strcmp(di.type_name, "uint8blk") != 0 || !di.have_extents))) {
		if (pcurl == NULL) {
			em_err("sources.dvid.via is precomputed, but no sources.dvid.precomputed_url");
			goto end;
		}
		if (strcmp(via, "auto") == 0)
			em_log(EM_LOG_WARN, "DVID does not serve instance '%s' of node '%s' (%s): "
			    "reading the precomputed release '%s'", inst, uuid, rc == EM_HTTP_MISSING ?
			    "no such instance" : rc != 0 ? em_errmsg() : "no uint8blk data", pcurl);
		snprintf(id, sizeof(id), "flyem-precomputed_s%d_%" PRIu64 "_%" PRIu64 "_%" PRIu64 "_%"
		    PRIu64 "x%" PRIu64 "x%" PRIu64, scale, offx[0], offx[1], offx[2], sizex[0],
		    sizex[1], sizex[2]);
		status = em_pcfetch_flyem(&f, f.http, pcurl, scale, offx, sizex, id);
		goto end;
	}
	em_dvid_info_release(&di);
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
	/* The instance: its type, block size, voxel size and extents. */
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
		uint64_t ch = f.chunks[i] < bf.b1[i] ? f.chunks[i] : bf.b1[i];
		uint64_t r = reqx[2 - i] / ch * ch;
		bf.block[i] = r < ch ? ch : r;
		if (bf.block[i] > bf.b1[i])
			bf.block[i] = bf.b1[i];
	}
	if (bf.block[0] * bf.block[1] * bf.block[2] > EM_DVID_MAX_REQUEST_VOXELS) {
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
	    em_record_set_str(f.rec, "download_url", x.base) < 0 ||
	    em_pcfetch_served_by(&f, "dvid") < 0) {
		status = em_fetch_fail(&f, "record");
		goto end;
	}
	bf.ops = &ops;
	bf.ctx = &x;
	bf.url = x.base;
	bf.dtype = EM_DT_U1;
	bf.max_body = (size_t)(bf.block[0] * bf.block[1] * bf.block[2]) * 2 + 4096;
	status = em_blockfetch_run(&f, &bf, di.voxel_known ? voxel : NULL, prov);
end:
	em_http_resp_release(&resp);
	em_dvid_info_release(&di);
	em_fetch_end(&f);
	return em_tool_end(status);
}
