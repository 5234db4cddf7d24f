/* emul.c - em-origin's archive emulations: EMPIAR entry API, IDR imgData, DVID info and raw boxes */
#include <sys/stat.h>

#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <jansson.h>

#include "core/diag.h"
#include "core/jsonio.h"
#include "core/parse.h"
#include "origin.h"
#include "core/banned.h"

/* DVID refuses boxes bigger than this; so do we (the box is built in memory). */
#define DVID_BOX_MAX (1ULL << 30)

/* "<digits>" or "<digits>/" with prefix removed; the number or -1. */
static long long
id_segment(const char *s, const char *prefix)
{
	size_t n = strlen(prefix);
	char *e;
	long long v;

	if (strncmp(s, prefix, n) != 0)
		return -1;
	s += n;
	if (*s < '0' || *s > '9')
		return -1;
	errno = 0;
	v = strtoll(s, &e, 10);
	if (errno || (*e != '\0' && strcmp(e, "/") != 0))
		return -1;
	return v;
}

static enum MHD_Result
serve_json_file(struct MHD_Connection *c, struct req *r, const char *rel, const char *notfound)
{
	char *path = path_join(r->o->root, rel);
	enum MHD_Result ret;

	if (path == NULL)
		return MHD_NO;
	ret = serve_file(c, r, path, "application/json", 404, notfound);
	free(path);
	return ret;
}

/* /empiar/api/entry/EMPIAR-<n>/ (or <n>/, with or without the slash) from empiar/api/entry/EMPIAR-<n>.json */
enum MHD_Result
serve_empiar_api(struct MHD_Connection *c, struct req *r, const char *rest)
{
	long long n = id_segment(rest, "EMPIAR-");
	char rel[96];

	if (n < 0)
		n = id_segment(rest, "");
	if (n < 0)
		return respond_text(c, r, 404, "application/json", "{\"detail\":\"Not found.\"}");
	snprintf(rel, sizeof(rel), "empiar/api/entry/EMPIAR-%lld.json", n);
	return serve_json_file(c, r, rel, "{\"detail\":\"Not found.\"}");
}

/* /webgateway/imgData/<id>/ from webgateway/imgData/<id>.json */
enum MHD_Result
serve_idr(struct MHD_Connection *c, struct req *r, const char *rest)
{
	long long n = id_segment(rest, "");
	char rel[96];

	if (n < 0)
		return respond_text(c, r, 404, "text/plain", "image not found\n");
	snprintf(rel, sizeof(rel), "webgateway/imgData/%lld.json", n);
	return serve_json_file(c, r, rel, "{\"error\":\"image not found\"}");
}

static int
segment_ok(const char *s, size_t n)
{
	return n > 0 && n < 256 && !(n == 1 && s[0] == '.') &&
	    !(n == 2 && s[0] == '.' && s[1] == '.');
}

/* "a_b_c" into three signed integers. */
static int
parse_triple(const char *s, size_t n, int64_t v[3])
{
	char tmp[96], *p, *f;
	int i;

	if (n >= sizeof(tmp))
		return -1;
	memcpy(tmp, s, n);
	tmp[n] = '\0';
	p = tmp;
	for (i = 0; i < 3; i++) {
		if ((f = strsep(&p, "_")) == NULL || em_parse_i64(f, &v[i]) == -1)
			return -1;
	}
	return p == NULL ? 0 : -1;
}

static int
point3(json_t *ext, const char *key, int64_t v[3])
{
	json_t *a = json_object_get(ext, key);
	int i;

	if (!json_is_array(a) || json_array_size(a) != 3)
		return -1;
	for (i = 0; i < 3; i++) {
		json_t *e = json_array_get(a, (size_t)i);
		if (!json_is_integer(e))
			return -1;
		v[i] = json_integer_value(e);
	}
	return 0;
}

static enum MHD_Result
dvid_error(struct MHD_Connection *c, struct req *r, int status, const char *fmt, ...)
    EM_PRINTF(4, 5);

static enum MHD_Result
dvid_error(struct MHD_Connection *c, struct req *r, int status, const char *fmt, ...)
{
	char msg[512];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	return respond_text(c, r, status, "text/plain", msg);
}

/*
 * /api/node/<uuid>/<instance>/raw/0_1_2/<sx>_<sy>_<sz>/<ox>_<oy>_<oz>: the
 * box cut from api/node/<uuid>/<instance>/volume.u8, a uint8 volume in ZYX
 * order (X fastest) whose extents are the MinPoint..MaxPoint (inclusive, XYZ)
 * of the instance's info.json.
 */
/* Bytes read at once when cutting a box: the rows of one plane, if no more than this. */
#define DVID_SPAN_MAX ((uint64_t)64 << 20)

static enum MHD_Result
dvid_raw(struct MHD_Connection *c, struct req *r, const char *dir, const char *args)
{
	const char *s = args, *slash;
	int64_t size[3], off[3], lo[3], hi[3], dim[3];
	json_t *info = NULL, *ext;
	char *ipath = NULL, *vpath = NULL, *box = NULL;
	const char *throttle;
	uint64_t nbytes;
	struct stat st;
	enum MHD_Result ret;
	int i, fd = -1;

	if (strncmp(s, "0_1_2/", 6) != 0)
		return dvid_error(c, r, 400, "only 0_1_2 (XYZ) subvolumes are served\n");
	s += 6;
	if ((slash = strchr(s, '/')) == NULL || parse_triple(s, (size_t)(slash - s), size) == -1 ||
	    parse_triple(slash + 1, strlen(slash + 1), off) == -1)
		return dvid_error(c, r, 400, "bad size or offset in '%s'\n", args);
	for (i = 0; i < 3; i++)
		if (size[i] <= 0 || size[i] > (1 << 24))
			return dvid_error(c, r, 400, "size %" PRId64 " is out of range\n", size[i]);
	nbytes = (uint64_t)size[0] * (uint64_t)size[1] * (uint64_t)size[2];
	if (nbytes > DVID_BOX_MAX)
		return dvid_error(c, r, 400, "box of %" PRIu64 " voxels is too large\n", nbytes);

	throttle = MHD_lookup_connection_value(c, MHD_GET_ARGUMENT_KIND, "throttle");
	if (throttle != NULL && strcmp(throttle, "true") == 0 && r->o->dvid_throttle > 0) {
		/* DVID's answer when its throttled operations are all taken. */
		if (atomic_fetch_add(&r->o->dvid_running, 1) >= r->o->dvid_throttle) {
			atomic_fetch_sub(&r->o->dvid_running, 1);
			return dvid_error(c, r, 503, "Server already running maximum number of "
			    "throttled operations\n");
		}
		r->throttled = 1;
	}

	if ((ipath = path_join(dir, "info.json")) == NULL || (vpath = path_join(dir,
	    "volume.u8")) == NULL) {
		ret = MHD_NO;
		goto out;
	}
	if ((info = em_json_load_file(ipath, 1 << 20)) == NULL) {
		ret = dvid_error(c, r, 400, "no such data instance\n");
		goto out;
	}
	ext = json_object_get(info, "Extended");
	if (point3(ext, "MinPoint", lo) == -1 || point3(ext, "MaxPoint", hi) == -1) {
		ret = dvid_error(c, r, 400, "instance has no extents (nothing stored)\n");
		goto out;
	}
	for (i = 0; i < 3; i++) {
		dim[i] = hi[i] - lo[i] + 1;
		if (dim[i] <= 0) {
			ret = dvid_error(c, r, 500, "info.json: MaxPoint below MinPoint\n");
			goto out;
		}
		if (off[i] < lo[i] || off[i] + size[i] - 1 > hi[i]) {
			ret = dvid_error(c, r, 400, "box %" PRId64 "_%" PRId64 "_%" PRId64 " at %"
			    PRId64 "_%" PRId64 "_%" PRId64 " is outside the extents %" PRId64 "_%"
			    PRId64 "_%" PRId64 "..%" PRId64 "_%" PRId64 "_%" PRId64 "\n",
			    size[0], size[1], size[2], off[0], off[1], off[2],
			    lo[0], lo[1], lo[2], hi[0], hi[1], hi[2]);
			goto out;
		}
	}
	if ((fd = open(vpath, O_RDONLY | O_CLOEXEC)) == -1 || fstat(fd, &st) == -1 ||
	    (uint64_t)st.st_size != (uint64_t)dim[0] * (uint64_t)dim[1] * (uint64_t)dim[2]) {
		ret = dvid_error(c, r, 500, "volume.u8 is missing or not %" PRId64 "x%" PRId64 "x%"
		    PRId64 " bytes\n", dim[0], dim[1], dim[2]);
		goto out;
	}
	if ((box = malloc(nbytes)) == NULL) {
		ret = dvid_error(c, r, 500, "out of memory\n");
		goto out;
	}
	if ((uint64_t)size[1] * (uint64_t)dim[0] <= DVID_SPAN_MAX) {
		/* One read per plane: the rows of the box and what lies between them. */
		uint64_t o = 0, span = (uint64_t)size[1] * (uint64_t)dim[0];
		unsigned char *buf = malloc(span);
		int64_t z, y;

		if (buf == NULL) {
			ret = dvid_error(c, r, 500, "out of memory\n");
			goto out;
		}
		for (z = 0; z < size[2]; z++) {
			uint64_t at = ((uint64_t)(off[2] - lo[2] + z) * (uint64_t)dim[1] +
			    (uint64_t)(off[1] - lo[1])) * (uint64_t)dim[0];
			uint64_t got = 0;
			while (got < span) {
				ssize_t n = pread(fd, buf + got, span - got, (off_t)(at + got));
				if (n <= 0)
					break;
				got += (uint64_t)n;
			}
			if (got != span) {
				free(buf);
				ret = dvid_error(c, r, 500, "cannot read volume.u8\n");
				goto out;
			}
			for (y = 0; y < size[1]; y++) {
				memcpy(box + o, buf + (uint64_t)y * (uint64_t)dim[0] +
				    (uint64_t)(off[0] - lo[0]), (size_t)size[0]);
				o += (uint64_t)size[0];
			}
		}
		free(buf);
	} else {
		uint64_t o = 0;
		int64_t z, y;
		for (z = 0; z < size[2]; z++)
			for (y = 0; y < size[1]; y++) {
				uint64_t at = ((uint64_t)(off[2] - lo[2] + z) * (uint64_t)dim[1] +
				    (uint64_t)(off[1] - lo[1] + y)) * (uint64_t)dim[0] +
				    (uint64_t)(off[0] - lo[0]);
				ssize_t n = pread(fd, box + o, (size_t)size[0], (off_t)at);
				if (n != (ssize_t)size[0]) {
					ret = dvid_error(c, r, 500, "cannot read volume.u8\n");
					goto out;
				}
				o += (uint64_t)size[0];
			}
	}
	free(r->body.mem);
	r->body.mem = box;
	r->body.len = nbytes;
	if (r->fx.short_by >= 0)	/* the injected lie: a whole answer of the wrong length */
		r->body.len = (uint64_t)r->fx.short_by >= nbytes ? 0 : nbytes -
		    (uint64_t)r->fx.short_by;
	box = NULL;
	ret = respond_body(c, r, 200, "application/octet-stream", NULL);
out:
	if (fd != -1)
		close(fd);
	json_decref(info);
	free(box);
	free(ipath);
	free(vpath);
	return ret;
}

/* /api/node/<uuid>/<instance>/{info,raw/...} from api/node/<uuid>/<instance>/ in the tree */
enum MHD_Result
serve_dvid(struct MHD_Connection *c, struct req *r, const char *rest)
{
	const char *uuid = rest, *inst, *ep;
	size_t nu, ni;
	char *dir = NULL, rel[600];
	enum MHD_Result ret;

	nu = strcspn(uuid, "/");
	if (uuid[nu] != '/')
		return dvid_error(c, r, 400, "bad DVID path\n");
	inst = uuid + nu + 1;
	ni = strcspn(inst, "/");
	if (!segment_ok(uuid, nu) || !segment_ok(inst, ni) || inst[ni] != '/')
		return dvid_error(c, r, 400, "bad DVID path\n");
	ep = inst + ni + 1;
	snprintf(rel, sizeof(rel), "api/node/%.*s/%.*s", (int)nu, uuid, (int)ni, inst);
	if ((dir = path_join(r->o->root, rel)) == NULL)
		return MHD_NO;
	if (strcmp(ep, "info") == 0 || strcmp(ep, "info/") == 0) {
		char *p = path_join(dir, "info.json");
		ret = p ? serve_file(c, r, p, "application/json", 400,
		    "{\"error\":\"no such data instance\"}") : MHD_NO;
		free(p);
	} else if (strncmp(ep, "raw/", 4) == 0) {
		ret = dvid_raw(c, r, dir, ep + 4);
	} else {
		ret = dvid_error(c, r, 400, "unsupported DVID endpoint '%s'\n", ep);
	}
	free(dir);
	return ret;
}
