/* mkrecord.c - drives a record through statuses with the record API and saves it (the tests validate the result) */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/diag.h"
#include "core/fsutil.h"
#include "tool/tool.h"
#include "meta/record.h"
#include "core/banned.h"

/* What a fetcher knows once it writes data, then what em-meta adds. */
static int
fill_stub(json_t *rec)
{
	static const uint64_t shape[3] = { 16, 5500, 5496 }, chunks[3] = { 64, 64, 64 };
	static const double nm[3] = { 50, 8, 8 };
	static const char *const prov[3] = { "config", "file", "file" };
	char zarr[256];

	snprintf(zarr, sizeof(zarr), "data/%s/%s.zarr",
	    json_string_value(json_object_get(rec, "source")),
	    json_string_value(json_object_get(rec, "id")));
	if (em_record_set_str(rec, "description", "test volume") < 0 ||
	    em_record_set_zyx(rec, "volume_shape", shape) < 0 ||
	    em_record_set_zyx(rec, "chunk_size", chunks) < 0 ||
	    em_record_set_voxel_size(rec, nm, prov) < 0 ||
	    em_record_set_str(rec, "data_type", "uint8") < 0 ||
	    em_record_set_str(rec, "modality", "SBF-SEM") < 0 ||
	    em_record_set(rec, "axes", json_pack("[s,s,s]", "z", "y", "x")) < 0 ||
	    em_record_set(rec, "compression", json_pack("{s:s,s:i}", "codec", "zstd", "level",
	    3)) < 0 ||
	    em_record_set_str(rec, "download_url", "http://127.0.0.1:1/data/") < 0 ||
	    em_record_set_str(rec, "internal_zarr_path", zarr) < 0 ||
	    em_record_add_step(rec, "mkrecord", "0", json_pack("{s:i}", "jobs", 1)) < 0 ||
	    em_record_set_progress(rec, 7396, 7396, 0, 0) < 0)
		return -1;
	return 0;
}

static int
fill_meta(json_t *rec)
{
	json_t *counts = json_array();
	int i;

	for (i = 0; i < 256; i++)
		json_array_append_new(counts, json_integer(i == 0 ? 10 : 1));
	if (em_record_set_str(rec, "sha256",
	    "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855") < 0 ||
	    em_record_set(rec, "file_size_bytes", json_integer(123456)) < 0 ||
	    em_record_set(rec, "statistics", json_pack("{s:i,s:i,s:i,s:f,s:f,s:f,s:{s:i,s:i,s:i,s:o}}",
	    "count", 265, "min", 0, "max", 255, "mean", 12.5, "std", 3.25, "fill_fraction",
	    0.0376, "histogram", "bins", 256, "start", 0, "width", 1, "counts", counts)) < 0 ||
	    em_record_add_step(rec, "em-meta", "0", NULL) < 0)
		return -1;
	return 0;
}

int
main(int argc, char **argv)
{
	json_t *rec;
	enum em_status st;
	char path[4096], dir[4096];
	int i;

	em_set_progname(argv[0]);
	if (argc < 4) {
		fprintf(stderr, "usage: mkrecord ROOT SOURCE ID [STATUS[:ERROR] | start ...]\n");
		return 2;
	}
	if ((size_t)snprintf(dir, sizeof(dir), "%s/%s", argv[1], argv[2]) >= sizeof(dir) ||
	    (size_t)snprintf(path, sizeof(path), "%s/%s/%s.json", argv[1], argv[2], argv[3]) >=
	    sizeof(path))
		em_die(2, "record path too long");
	if ((rec = em_record_load_or_new(argv[1], argv[2], argv[3])) == NULL)
		em_die(1, "cannot make record '%s': %s", path, em_errmsg());
	if (em_mkdir_p(dir) < 0)
		em_die(1, "cannot make '%s': %s", dir, em_errmsg());
	for (i = 4; i < argc; i++) {
		char name[64];
		const char *colon = strchr(argv[i], ':');
		size_t n = colon ? (size_t)(colon - argv[i]) : strlen(argv[i]);

		snprintf(name, sizeof(name), "%.*s", (int)n, argv[i]);
		if (strcmp(name, "start") == 0) {
			if (em_record_start(rec) < 0)
				em_die(1, "cannot start a run: %s", em_errmsg());
			continue;
		}
		if (em_status_parse(name, &st) < 0)
			em_die(2, "bad status '%s': %s", argv[i], em_errmsg());
		if ((st == EM_STATUS_SAVING_DATA && fill_stub(rec) < 0) ||
		    (st == EM_STATUS_COMPLETE && fill_meta(rec) < 0))
			em_die(1, "cannot fill record: %s", em_errmsg());
		if (em_record_set_status(rec, st, colon ? colon + 1 : NULL) < 0) {
			em_err("cannot set status '%s': %s", name, em_errmsg());
			json_decref(rec);
			return 1;
		}
		if (st == EM_STATUS_COMPLETE)
			em_record_set(rec, "progress", NULL);
	}
	if (em_record_update_quality(rec) < 0 || em_record_save(rec, path) < 0)
		em_die(1, "cannot save '%s': %s", path, em_errmsg());
	puts(path);
	json_decref(rec);
	return fclose(stdout) == 0 ? 0 : 1;
}
