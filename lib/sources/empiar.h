/* empiar.h - an EMPIAR entry as the archive's API describes it, read from the API's JSON */
#ifndef EM_EMPIAR_H
#define EM_EMPIAR_H

#include "core/limits.h"

#include <stddef.h>

#include <jansson.h>

/*
 * The API (GET <api>/entry/EMPIAR-N/) answers {"EMPIAR-N": {...}}.  What
 * the fetcher uses of it is taken here, checked, into plain fields; the
 * entry's JSON is kept for the record's source_metadata.  Strings are
 * borrowed from json and live as long as the entry.
 */
struct em_empiar_set {
	const char *name;		/* "name", or NULL */
	/*
	 * "directory" below data/ as the listing names files: "" for data/
	 * itself, else "a/b/" (data/, leading and trailing '/' taken off).
	 * NULL when the set names none, or one that is not a safe relative
	 * path ("../x", control characters): such a set matches no file.
	 */
	char *dir;
	/* "pixel_width" and "pixel_height" (Å in the API) in nm; 0 when not given. */
	double pixel_w_nm, pixel_h_nm;
	/* "num_images_or_tilt_series": images of the set, 0 when not given (or absurd). */
	size_t num_images;
	const json_t *json;		/* the set as the API gives it */
};

struct em_empiar_citation {
	const char *title, *journal;	/* NULL when not given or empty */
	const char *doi;		/* NULL unless it is a DOI ("10.") */
	int year;			/* 0 unless 1800..2999 */
	/* names: strings, {"name": ...} or {"author": {"name": ...}} */
	const char **authors;
	size_t nauthors;
};

struct em_empiar_entry {
	json_t *json;			/* the entry object (owned) */
	const char *title, *experiment_type, *release_date;
	const char *doi;		/* "entry_doi" when it is a DOI ("10."), else NULL */
	struct em_empiar_set *sets;	/* the first EM_EMPIAR_MAX_SETS of "imagesets" */
	size_t nsets;
	size_t sets_given;		/* how many the API lists (more than nsets: cut) */
	int have_citation;		/* "citation"[0] is an object with a title */
	struct em_empiar_citation cit;
};

/*
 * Read the API's answer (len bytes of text) for accession acc
 * ("EMPIAR-11759"); where names it in messages (the URL).  0, or -1 with
 * the reason: malformed JSON, no object for acc.  Fields of the wrong type
 * are taken as absent, never as an error: the API is lenient, so is this.
 */
int em_empiar_parse(const char *text, size_t len, const char *acc, const char *where,
    struct em_empiar_entry *e);
void em_empiar_release(struct em_empiar_entry *e);

/*
 * The record's citation: {"title", "journal", "year", "doi", "authors",
 * "text"} from the entry's first paper, text "A; B; C et al., Title,
 * Journal (2020)".  Without a paper, the entry itself: {"doi": doi (when
 * not NULL), "text": "EMPIAR-N: title"}.  A new reference, NULL when out of
 * memory.
 */
json_t *em_empiar_citation(const struct em_empiar_entry *e, const char *acc, const char *doi);

/*
 * Which files of a numbered series are missing: names (n of them, all the
 * files the listing gave) that differ only in their last run of digits
 * ("slice_7.dm3", or zero-padded "s_007.tif") of a series of want files.
 * The missing are the gaps between the lowest and highest numbers, then the
 * numbers after the highest, until want - n are named.  At most max names
 * go to out (malloc'd strings, the caller frees them and out); the count
 * named is returned, 0 when the names are no such series (the caller then
 * has only the count), -1 when out of memory.
 */
int em_empiar_missing_names(const char *const *names, size_t n, size_t want, char **out,
    size_t max);

#endif
