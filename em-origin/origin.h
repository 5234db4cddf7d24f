/* origin.h - em-origin's shared state: the server, one request, faults and the response helpers */
#ifndef EM_ORIGIN_H
#define EM_ORIGIN_H

#include <stdatomic.h>
#include <stdint.h>
#include <stdio.h>
#include <pthread.h>
#include <sys/types.h>

#include <microhttpd.h>

/*
 * One fault: what to do (drop, status, delay, short, rate) and to which
 * requests (path glob, share, first K requests to each path).  Parsed from
 * --fault SPEC or from a request's X-Em-Fault header / em-fault parameter.
 */
struct fault {
	char *path;		/* fnmatch(3) glob on the decoded path, NULL: any */
	double share;		/* fraction of matching requests, 1 = all */
	long first;		/* only the first K requests to each path, 0 = no limit */
	int64_t drop;		/* close the connection after this many body bytes, -1 = no */
	int status;		/* answer this status instead, 0 = no */
	long retry_after;	/* Retry-After seconds with status, -1 = none */
	int retry_after_date;	/* send Retry-After as an HTTP date */
	long delay_ms;		/* wait before answering */
	int64_t short_by;	/* serve files this many bytes short, -1 = no */
	uint64_t rate;		/* bytes per second, 0 = unlimited */
	int norange;		/* ignore Range: answer 200 with the whole file */
	int noetag;		/* send no ETag (Last-Modified is the only validator) */
	int endless;		/* a chunked body that never ends (the file over and over) */
	int64_t length;		/* announce this Content-Length whatever is sent, -1 = no */
	char *omit;		/* leave names matching this glob out of directory pages, NULL: no */
};

/* The merged effect of every fault that matched a request. */
struct fault_effect {
	int64_t drop;
	int status;
	long retry_after;
	int retry_after_date;
	long delay_ms;
	int64_t short_by;
	uint64_t rate;
	int norange;
	int noetag;
	int endless;
	int64_t length;
	char omit[256];		/* a directory page leaves these names out ("": none) */
	int any;
};

struct pathcount {
	struct pathcount *next;
	unsigned long n;
	char path[];
};

#define PATHCOUNT_BUCKETS 4096

struct origin {
	char *root;
	int missing_status;	/* 404 or 403, as S3 answers for a missing key */
	int index_nginx;	/* directory pages in nginx's style rather than Apache's */
	struct fault *faults;
	size_t nfaults;
	uint64_t seed;
	int dvid_throttle;	/* concurrent ?throttle=true requests allowed, 0 = any */
	atomic_int dvid_running;
	FILE *log;
	pthread_mutex_t lock;	/* the log and the path counters */
	struct pathcount *counts[PATHCOUNT_BUCKETS];
	atomic_ulong nreq;
	atomic_ulong nconn;	/* connections accepted, numbering them from 1 */
};

/* Where a response body comes from: a file descriptor range or memory. */
struct body {
	int fd;			/* -1 for memory */
	char *mem;		/* owned */
	uint64_t off;		/* file offset of the first byte */
	uint64_t len;		/* bytes announced in Content-Length */
	int64_t drop;		/* close after this many bytes, -1 = no */
	int endless;		/* a file's bytes over and over, with no length (fault endless=1) */
	int64_t announce;	/* Content-Length to announce instead of len, 0 = len (fault length=N) */
	uint64_t rate;
	double t0;
};

struct req {
	struct origin *o;
	double t0;
	unsigned long conn;	/* the number of the connection it came on */
	char *rawpath;		/* as sent, without the query (for the log) */
	char method[16];
	char range[64];
	int status;
	atomic_ullong bytes;
	struct fault_effect fx;
	int seen;		/* the access handler was called once */
	int throttled;		/* holds one of the DVID throttle slots */
	struct body body;
};

double now_s(void);
void http_date(time_t t, char *buf, size_t n);

/* fault.c */
int fault_parse(const char *spec, struct fault *f);
void fault_clear(struct fault *f);
unsigned long origin_count_path(struct origin *o, const char *path);
void fault_apply(struct origin *o, const struct fault *f, const char *path, unsigned long n,
    struct fault_effect *fx);

/* main.c: queue a response whose body is r->body (already filled in). */
enum MHD_Result respond_body(struct MHD_Connection *c, struct req *r, int status,
    const char *ctype, struct MHD_Response **out);
enum MHD_Result respond_text(struct MHD_Connection *c, struct req *r, int status,
    const char *ctype, const char *text);

/* serve.c */
enum MHD_Result serve_path(struct MHD_Connection *c, struct req *r, const char *url);
enum MHD_Result serve_file(struct MHD_Connection *c, struct req *r, const char *fspath,
    const char *ctype, int missing_status, const char *missing_body);
char *path_join(const char *root, const char *rel);

/* emul.c */
enum MHD_Result serve_empiar_api(struct MHD_Connection *c, struct req *r, const char *rest);
enum MHD_Result serve_idr(struct MHD_Connection *c, struct req *r, const char *rest);
enum MHD_Result serve_dvid(struct MHD_Connection *c, struct req *r, const char *rest);

/* precomputed.c */
int precomputed_claims(struct origin *o, const char *url);
enum MHD_Result serve_precomputed(struct MHD_Connection *c, struct req *r, const char *url);

#endif
