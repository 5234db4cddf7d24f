/* test_listing.c - index pages (Apache table and pre, nginx), FTP LIST and hostile names */
#include <string.h>

#include <check.h>

#include "core/diag.h"
#include "net/listing.h"
#include "tool/display.h"

static const struct em_listing_entry *
find(const struct em_listing *l, const char *name)
{
	size_t i;

	for (i = 0; i < l->n; i++)
		if (strcmp(l->v[i].name, name) == 0)
			return &l->v[i];
	return NULL;
}

/* What https://ftp.ebi.ac.uk/empiar/world_availability/11759/data/ looks like (Apache 2.4). */
static const char apache_table[] =
    "<!DOCTYPE HTML PUBLIC \"-//W3C//DTD HTML 3.2 Final//EN\">\n"
    "<html>\n <head>\n  <title>Index of /empiar/world_availability/11759/data</title>\n"
    " </head>\n <body>\n<h1>Index of /empiar/world_availability/11759/data</h1>\n"
    "  <table>\n   <tr><th valign=\"top\"><img src=\"/icons/blank.gif\" alt=\"[ICO]\"></th>"
    "<th><a href=\"?C=N;O=D\">Name</a></th><th><a href=\"?C=M;O=A\">Last modified</a></th>"
    "<th><a href=\"?C=S;O=A\">Size</a></th><th><a href=\"?C=D;O=A\">Description</a></th></tr>\n"
    "   <tr><th colspan=\"5\"><hr></th></tr>\n"
    "<tr><td valign=\"top\"><img src=\"/icons/back.gif\" alt=\"[PARENTDIR]\"></td><td>"
    "<a href=\"/empiar/world_availability/11759/\">Parent Directory</a></td><td>&nbsp;</td>"
    "<td align=\"right\">  - </td><td>&nbsp;</td></tr>\n"
    "<tr><td valign=\"top\"><img src=\"/icons/unknown.gif\" alt=\"[   ]\"></td><td>"
    "<a href=\"F57-8_test1_3VBSED_slice_0000.dm3\">F57-8_test1_3VBSED_slice_0000.dm3</a></td>"
    "<td align=\"right\">2023-07-18 10:22  </td><td align=\"right\"> 29M</td><td>&nbsp;</td></tr>\n"
    "<tr><td valign=\"top\"><img src=\"/icons/unknown.gif\" alt=\"[   ]\"></td><td>"
    "<a href=\"F57-8_test1_3VBSED_slice_0001.dm3\">F57-8_test1_3VBSED_slice_0001.dm3</a></td>"
    "<td align=\"right\">2023-07-18 10:22  </td><td align=\"right\">1.2K</td><td>&nbsp;</td></tr>\n"
    "<tr><td valign=\"top\"><img src=\"/icons/text.gif\" alt=\"[TXT]\"></td><td>"
    "<a href=\"README%20first.txt\">README first.txt</a></td>"
    "<td align=\"right\">2023-07-18 10:22  </td><td align=\"right\">512 </td><td>&nbsp;</td></tr>\n"
    "<tr><td valign=\"top\"><img src=\"/icons/folder.gif\" alt=\"[DIR]\"></td><td>"
    "<a href=\"trakem2/\">trakem2/</a></td><td align=\"right\">2023-07-18 10:22  </td>"
    "<td align=\"right\">  - </td><td>&nbsp;</td></tr>\n"
    "   <tr><th colspan=\"5\"><hr></th></tr>\n</table>\n</body></html>\n";

START_TEST(apache_table_page)
{
	struct em_listing *l = em_listing_parse_html(apache_table, strlen(apache_table));
	const struct em_listing_entry *e;

	ck_assert_ptr_nonnull(l);
	ck_assert_uint_eq(l->n, 4);
	ck_assert_uint_eq(l->rejected, 0);
	ck_assert_str_eq(l->v[0].name, "F57-8_test1_3VBSED_slice_0000.dm3");
	ck_assert_int_eq(l->v[0].kind, EM_ENTRY_FILE);
	ck_assert_int_eq(l->v[0].size, 29 * 1048576);
	ck_assert_int_eq(l->v[0].size_exact, 0);
	ck_assert_int_eq(l->v[1].size, (int64_t)(1.2 * 1024));
	e = find(l, "README first.txt");
	ck_assert_ptr_nonnull(e);
	ck_assert_int_eq(e->size, 512);
	ck_assert_int_eq(e->size_exact, 1);
	e = find(l, "trakem2");
	ck_assert_ptr_nonnull(e);
	ck_assert_int_eq(e->kind, EM_ENTRY_DIR);
	ck_assert_int_eq(e->size, -1);
	em_listing_free(l);
}
END_TEST

/* Apache with FancyIndexing but no HTMLTable: the sizes follow the links in a <pre>. */
static const char apache_pre[] =
    "<html><head><title>Index of /empiar/world_availability/11759</title></head><body>\n"
    "<h1>Index of /empiar/world_availability/11759</h1>\n"
    "<pre><img src=\"/icons/blank.gif\" alt=\"Icon \"> <a href=\"?C=N;O=D\">Name</a>"
    "                    <a href=\"?C=M;O=A\">Last modified</a>      <a href=\"?C=S;O=A\">Size</a>"
    "  <a href=\"?C=D;O=A\">Description</a><hr><img src=\"/icons/back.gif\" alt=\"[PARENTDIR]\"> "
    "<a href=\"/empiar/world_availability/\">Parent Directory</a>                             -   \n"
    "<img src=\"/icons/unknown.gif\" alt=\"[   ]\"> <a href=\"11759.xml\">11759.xml</a>"
    "               2023-07-18 10:22  4.5K  \n"
    "<img src=\"/icons/folder.gif\" alt=\"[DIR]\"> <a href=\"data/\">data/</a>"
    "                   2023-07-18 10:22    -   \n"
    "<hr></pre>\n</body></html>\n";

START_TEST(apache_pre_page)
{
	struct em_listing *l = em_listing_parse_html(apache_pre, strlen(apache_pre));

	ck_assert_ptr_nonnull(l);
	ck_assert_uint_eq(l->n, 2);
	ck_assert_str_eq(l->v[0].name, "11759.xml");
	ck_assert_int_eq(l->v[0].size, (int64_t)(4.5 * 1024));
	ck_assert_int_eq(l->v[0].size_exact, 0);
	ck_assert_str_eq(l->v[1].name, "data");
	ck_assert_int_eq(l->v[1].kind, EM_ENTRY_DIR);
	em_listing_free(l);
}
END_TEST

static const char nginx[] =
    "<html>\r\n<head><title>Index of /idr/zarr/</title></head>\r\n<body>\r\n"
    "<h1>Index of /idr/zarr/</h1><hr><pre><a href=\"../\">../</a>\r\n"
    "<a href=\"v0.4/\">v0.4/</a>                                              18-Jul-2023 10:22"
    "                   -\r\n"
    "<a href=\"9846137.zarr.tar\">9846137.zarr.tar</a>                                   "
    "18-Jul-2023 10:22           159854600\r\n"
    "<a href=\"a%26b%3Cc.txt\">a&amp;b&lt;c.txt</a>                                      "
    "18-Jul-2023 10:22                  17\r\n"
    "</pre><hr></body>\r\n</html>\r\n";

START_TEST(nginx_page)
{
	struct em_listing *l = em_listing_parse_html(nginx, strlen(nginx));

	ck_assert_ptr_nonnull(l);
	ck_assert_uint_eq(l->n, 3);
	ck_assert_str_eq(l->v[0].name, "v0.4");
	ck_assert_int_eq(l->v[0].kind, EM_ENTRY_DIR);
	ck_assert_str_eq(l->v[1].name, "9846137.zarr.tar");
	ck_assert_int_eq(l->v[1].size, 159854600);
	ck_assert_int_eq(l->v[1].size_exact, 1);
	ck_assert_str_eq(l->v[2].name, "a&b<c.txt");
	ck_assert_int_eq(l->v[2].size, 17);
	em_listing_free(l);
}
END_TEST

/* A hostile page: links that would lead a fetcher out of its directory. */
static const char hostile[] =
    "<html><body><pre>"
    "<a href=\"../../etc/passwd\">x</a>\n"		/* rejected: a path */
    "<a href=\"%2e%2e/\">x</a>\n"			/* rejected: ".." */
    "<a href=\"%2E/\">x</a>\n"				/* rejected: "." */
    "<a href=\"a%2Fb\">x</a>\n"				/* rejected: encoded slash */
    "<a href=\"a%5Cb\">x</a>\n"				/* rejected: backslash */
    "<a href=\"%0Aevil\">x</a>\n"			/* rejected: control character */
    "<a href=\"bad%00nul\">x</a>\n"			/* rejected: encoded NUL */
    "<a href=\"bad%zzescape\">x</a>\n"			/* rejected: bad escape */
    "<a href=\"sub/file.dm3\">x</a>\n"			/* rejected: another directory */
    "<a href=\"/etc/passwd\">x</a>\n"			/* skipped: absolute */
    "<a href=\"http://evil.example/x\">x</a>\n"		/* skipped: another site */
    "<a href=\"javascript:alert(1)\">x</a>\n"		/* skipped: a scheme */
    "<a href=\"#top\">x</a>\n"				/* skipped: fragment */
    "<a>no href</a>\n"
    "<a href=\"ok%20name.dm3\">ok name.dm3</a>   01-Jan-2024 00:00   10\n"
    "</pre></body></html>";

START_TEST(hostile_page)
{
	struct em_listing *l = em_listing_parse_html(hostile, strlen(hostile));

	ck_assert_ptr_nonnull(l);
	ck_assert_uint_eq(l->n, 1);
	ck_assert_str_eq(l->v[0].name, "ok name.dm3");
	ck_assert_int_eq(l->v[0].size, 10);
	ck_assert_uint_eq(l->rejected, 9);
	em_listing_free(l);
}
END_TEST

START_TEST(ftp_list)
{
	static const char text[] =
	    "total 12\r\n"
	    "drwxr-xr-x    3 ftp      ftp          4096 Jul 18  2023 trakem2\r\n"
	    "-rw-r--r--    1 ftp      ftp      30228123 Jul 18 10:22 F57-8_test1_3VBSED_slice_0000.dm3\r\n"
	    "-rw-r--r--    1 ftp      ftp          4521 Jul 18  2023 name with  spaces.xml\r\n"
	    "lrwxrwxrwx    1 ftp      ftp            12 Jan  1  2020 latest -> F57-8_test1\r\n"
	    "-rw-r--r--    1 1000     1000           10 Jan  1  2020 ../../evil\r\n"
	    "-rw-r--r--    1 1000     1000           10 Jan  1  2020 ..\r\n"
	    "-rw-r--r-- 1 ftp 77 Feb 29 2020 nogroup.txt\n"
	    "garbage line without fields\n"
	    "-rw-r--r--    1 ftp      ftp   notanumber Jul 18  2023 x\n";
	struct em_listing *l = em_listing_parse_ftp(text, strlen(text));

	ck_assert_ptr_nonnull(l);
	ck_assert_uint_eq(l->n, 5);
	ck_assert_str_eq(l->v[0].name, "trakem2");
	ck_assert_int_eq(l->v[0].kind, EM_ENTRY_DIR);
	ck_assert_int_eq(l->v[0].size, -1);
	ck_assert_str_eq(l->v[1].name, "F57-8_test1_3VBSED_slice_0000.dm3");
	ck_assert_int_eq(l->v[1].size, 30228123);
	ck_assert_int_eq(l->v[1].size_exact, 1);
	ck_assert_str_eq(l->v[2].name, "name with  spaces.xml");
	ck_assert_str_eq(l->v[3].name, "latest");
	ck_assert_int_eq(l->v[3].kind, EM_ENTRY_LINK);
	ck_assert_str_eq(l->v[4].name, "nogroup.txt");
	ck_assert_int_eq(l->v[4].size, 77);
	ck_assert_uint_eq(l->rejected, 1);
	ck_assert_uint_eq(l->unparsed, 2);
	em_listing_free(l);
}
END_TEST

START_TEST(names)
{
	static const struct { const char *name; int ok; } cases[] = {
		{ "slice_0000.dm3", 1 }, { "with space", 1 }, { ".hidden", 1 }, { "...", 1 },
		{ "", 0 }, { ".", 0 }, { "..", 0 }, { "a/b", 0 }, { "/abs", 0 }, { "a\\b", 0 },
		{ "tab\there", 0 }, { "del\x7f", 0 }, { "new\nline", 0 },
	};
	char longname[300];
	size_t i;

	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++)
		ck_assert_msg(em_listing_name_ok(cases[i].name) == cases[i].ok, "name '%s'",
		    cases[i].name);
	memset(longname, 'a', sizeof(longname) - 1);
	longname[sizeof(longname) - 1] = '\0';
	ck_assert_int_eq(em_listing_name_ok(longname), 0);
	longname[255] = '\0';
	ck_assert_int_eq(em_listing_name_ok(longname), 1);
}
END_TEST

START_TEST(not_html)
{
	struct em_listing *l = em_listing_parse_html("", 0);

	ck_assert_ptr_null(l);
	ck_assert_str_eq(em_errmsg(), "not an HTML page");
	l = em_listing_parse_html("just text, no links", 19);
	ck_assert_ptr_nonnull(l);
	ck_assert_uint_eq(l->n, 0);
	em_listing_free(l);
}
END_TEST

START_TEST(progress_line)
{
	struct em_progress_snap s;
	char buf[128];

	memset(&s, 0, sizeof(s));
	s.bytes_done = 3ULL << 29;	/* 1.5 GiB */
	s.bytes_total = 3ULL << 30;
	s.items_done = 12;
	s.items_total = 40;
	s.rate = 85.3e6;
	s.eta = 17;
	ck_assert_str_eq(em_progress_format(&s, "chunks", buf, sizeof(buf)),
	    "1.5 GiB / 3.0 GiB  12/40 chunks  85.3 MB/s  ETA 0:17");
	s.bytes_total = 0;
	s.items_total = 0;
	s.eta = 3725;
	ck_assert_str_eq(em_progress_format(&s, NULL, buf, sizeof(buf)),
	    "1.5 GiB  85.3 MB/s  ETA 1:02:05");
	/* A small buffer is cut, not overrun. */
	ck_assert_str_eq(em_progress_format(&s, NULL, buf, 8), "1.5 GiB");
}
END_TEST

START_TEST(progress_counters)
{
	struct em_progress p;
	struct em_progress_snap s;

	em_progress_init(&p);
	em_progress_add_bytes_total(&p, 1000);
	em_progress_add_bytes(&p, 250);
	em_progress_add_bytes(&p, 250);
	em_progress_add_items_total(&p, 4);
	em_progress_add_items(&p, 2);
	em_progress_add_bytes(NULL, 5);
	em_progress_snapshot(&p, &s);
	ck_assert_uint_eq(s.bytes_done, 500);
	ck_assert_uint_eq(s.bytes_total, 1000);
	ck_assert_uint_eq(s.items_done, 2);
	ck_assert_uint_eq(s.items_total, 4);
	ck_assert(s.eta >= 0);
	/* Off: no display, and stopping none is fine. */
	ck_assert_ptr_null(em_progress_display_start(&p, EM_PROGRESS_OFF, "files"));
	em_progress_display_stop(NULL);
}
END_TEST

Suite *
listing_suite(void)
{
	Suite *s = suite_create("listing");
	TCase *tc = tcase_create("core");

	tcase_add_test(tc, apache_table_page);
	tcase_add_test(tc, apache_pre_page);
	tcase_add_test(tc, nginx_page);
	tcase_add_test(tc, hostile_page);
	tcase_add_test(tc, ftp_list);
	tcase_add_test(tc, names);
	tcase_add_test(tc, not_html);
	tcase_add_test(tc, progress_line);
	tcase_add_test(tc, progress_counters);
	suite_add_tcase(s, tc);
	return s;
}
