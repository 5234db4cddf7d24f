/* listing.h - directory listings of remote archives: Apache/nginx index pages, FTP LIST, file:// */
#ifndef EM_LISTING_H
#define EM_LISTING_H

#include "core/limits.h"

#include <stddef.h>
#include <stdint.h>

#include "net/http.h"

enum em_entry_kind {
	EM_ENTRY_FILE,
	EM_ENTRY_DIR,
	EM_ENTRY_LINK,		/* an FTP symbolic link: what it points to is unknown */
};

struct em_listing_entry {
	char *name;		/* one safe path component (em_listing_name_ok), owned */
	enum em_entry_kind kind;
	int64_t size;		/* bytes, -1 when the listing shows none */
	int size_exact;		/* 0 when rounded, as Apache shows "29M" */
};

struct em_listing {
	struct em_listing_entry *v;	/* in the listing's order */
	size_t n;
	size_t rejected;	/* entries left out because their names are unsafe */
	size_t unparsed;	/* FTP lines that are not a unix-style entry */
};

/*
 * Whether name can be used as one component of a local path: not empty,
 * not "." or "..", no '/' or '\\', no control characters, at most 255 bytes.
 * A fetcher writes only names that pass, so a hostile listing cannot make
 * it write outside its directory.
 */
int em_listing_name_ok(const char *name);

/*
 * An HTML index page (Apache's table or <pre> styles, nginx's autoindex):
 * the links to entries of the directory itself, with sizes when shown.
 * Sort links ("?C=N;O=D"), the parent, absolute links and links into other
 * directories are not entries; unsafe names are counted in rejected.
 * Returns a new listing or NULL with the error text set.
 */
struct em_listing *em_listing_parse_html(const char *html, size_t len);
/* Unix-style FTP LIST output ("-rw-r--r-- 1 ftp ftp 30228123 Jul 18 2023 name"). */
struct em_listing *em_listing_parse_ftp(const char *text, size_t len);
/*
 * List the directory at url: an HTML index for http(s)://, LIST for ftp://
 * (a final '/' is added), the directory itself for file://.  Returns 0,
 * EM_HTTP_MISSING, or -1 with the error text set; *out is set on 0.
 */
int em_listing_fetch(struct em_http *h, const char *url, struct em_listing **out);
void em_listing_free(struct em_listing *l);

#endif
