/* precomputed.c - em-origin's Neuroglancer precomputed volumes: the info as JSON, chunks and shards, a bucket's missing-key answer */
#include <sys/stat.h>

#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "origin.h"
#include "core/banned.h"

/* Whether the file at fspath is a precomputed volume's info (a look at its first bytes). */
static int
is_info(const char *fspath)
{
	char buf[4096];
	ssize_t n;
	int fd = open(fspath, O_RDONLY | O_CLOEXEC);

	if (fd == -1)
		return 0;
	n = read(fd, buf, sizeof(buf) - 1);
	close(fd);
	if (n <= 0)
		return 0;
	buf[n] = '\0';
	return strstr(buf, "\"scales\"") != NULL && (strstr(buf, "neuroglancer_multiscale_volume") !=
	    NULL || strstr(buf, "\"data_type\"") != NULL);
}

/*
 * The length of the volume's path in url when url is a precomputed volume's
 * info, a chunk or a shard (<vol>/info, <vol>/<scale>/<name>); 0 if not.
 */
static size_t
volume_len(struct origin *o, const char *url)
{
	size_t n = strlen(url), cut[2];
	int i, k = 0;
	char *p;

	/* The parent and the grandparent directory of the requested path. */
	for (i = (int)n - 1; i > 0 && k < 2; i--)
		if (url[i] == '/')
			cut[k++] = (size_t)i;
	for (i = 0; i < k; i++) {
		char rel[4096];
		int yes;

		if (cut[i] + 6 >= sizeof(rel))
			return 0;
		memcpy(rel, url + 1, cut[i] - 1);
		memcpy(rel + cut[i] - 1, "/info", 6);
		if ((p = path_join(o->root, rel)) == NULL)
			return 0;
		yes = is_info(p);
		free(p);
		if (yes)
			return cut[i];
	}
	return 0;
}

int
precomputed_claims(struct origin *o, const char *url)
{
	return volume_len(o, url) > 0;
}

/*
 * A file of a precomputed volume: the info as JSON, chunks and shards as
 * octet streams (ranges, ETags and faults as for any file).  A key that is
 * not there gets the answer of the bucket it would be in: Google Cloud
 * Storage's NoSuchKey with the object's name (404, neuroglancer's own
 * buckets), or S3's AccessDenied under --missing-status 403 (a bucket
 * without public listing).
 */
enum MHD_Result
serve_precomputed(struct MHD_Connection *c, struct req *r, const char *url)
{
	const char *name = strrchr(url, '/') + 1;
	char *fspath = path_join(r->o->root, url + 1);
	char body[4600];
	struct stat st;
	enum MHD_Result ret;

	if (fspath == NULL)
		return MHD_NO;
	if (stat(fspath, &st) == -1 || !S_ISREG(st.st_mode)) {
		free(fspath);
		if (r->o->missing_status == 403)
			return respond_text(c, r, 403, "application/xml",
			    "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<Error><Code>AccessDenied"
			    "</Code><Message>Access Denied</Message></Error>\n");
		snprintf(body, sizeof(body), "<?xml version='1.0' encoding='UTF-8'?><Error><Code>"
		    "NoSuchKey</Code><Message>The specified key does not exist.</Message><Details>"
		    "No such object: %.4096s</Details></Error>", url + 1);
		return respond_text(c, r, 404, "application/xml; charset=UTF-8", body);
	}
	ret = serve_file(c, r, fspath, strcmp(name, "info") == 0 ? "application/json" :
	    "application/octet-stream", r->o->missing_status, NULL);
	free(fspath);
	return ret;
}
