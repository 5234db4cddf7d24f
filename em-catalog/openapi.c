/* openapi.c - the OpenAPI 3.0 document of em-catalog serve, made from the same filter list the server takes */
#include <string.h>

#include <jansson.h>

#include "core/version.h"
#include "meta/catdb.h"
#include "catalog.h"
#include "core/banned.h"

static const char *
filter_doc(const char *name)
{
	static const struct { const char *name, *doc; } docs[] = {
		{ "source", "The archive (empiar, epfl, dvid, idr, openorganelle, precomputed)." },
		{ "id", "The id, a glob: * matches any text, ? one character, \\ quotes." },
		{ "status", "The status (complete, failed, ...)." },
		{ "modality", "The imaging method, exactly (FIB-SEM, SBF-SEM, ...)." },
		{ "organism", "The organism, exactly." },
		{ "license", "The licence, exactly." },
		{ "dtype", "The element type (uint8, int16, ...)." },
		{ "voxel-z", "Voxel size along z in nm, MIN:MAX (either side may be empty)." },
		{ "voxel-y", "Voxel size along y in nm, MIN:MAX." },
		{ "voxel-x", "Voxel size along x in nm, MIN:MAX." },
		{ "shape-z", "Voxels along z, MIN:MAX." },
		{ "shape-y", "Voxels along y, MIN:MAX." },
		{ "shape-x", "Voxels along x, MIN:MAX." },
		{ "min-bytes", "At least this many bytes on disk (K, M, G, T suffixes)." },
		{ "max-bytes", "At most this many bytes on disk." },
		{ "text", "Words that must all appear in the description or title (ASCII case "
		    "ignored)." },
		{ "since", "Ingested at or after this time (RFC 3339, or YYYY-MM-DD in UTC)." },
		{ "until", "Ingested before this time." },
		{ "sort", "The order: a field (source, id, status, modality, organism, license, "
		    "dtype, voxel_z, voxel_y, voxel_x, shape_z, shape_y, shape_x, bytes, ingested), "
		    "- in front for descending; ties by source, then id." },
		{ "limit", "Records per page, 1 to 1000 (default 100)." },
		{ "cursor", "The next value of the previous page: the page after it, in the same "
		    "query." },
	};
	size_t i;

	for (i = 0; i < sizeof(docs) / sizeof(docs[0]); i++)
		if (strcmp(docs[i].name, name) == 0)
			return docs[i].doc;
	return "A filter.";
}

static json_t *
error_response(const char *what)
{
	return json_pack("{s:s,s:{s:{s:{s:s}}}}", "description", what, "content",
	    "application/json", "schema", "$ref", "#/components/schemas/Error");
}

static json_t *
ok_response(const char *what, const char *schema)
{
	char ref[128];

	snprintf(ref, sizeof(ref), "#/components/schemas/%s", schema);
	return json_pack("{s:s,s:{s:{s:{s:s}}}}", "description", what, "content",
	    "application/json", "schema", "$ref", ref);
}

static json_t *
path_params(void)
{
	return json_pack("[{s:s,s:s,s:b,s:s,s:{s:s}},{s:s,s:s,s:b,s:s,s:{s:s}}]",
	    "name", "source", "in", "path", "required", 1, "description", "The archive.",
	    "schema", "type", "string",
	    "name", "id", "in", "path", "required", 1, "description", "The volume's id.",
	    "schema", "type", "string");
}

static json_t *
get_op(const char *summary, const char *id, json_t *params, json_t *responses)
{
	json_t *op = json_pack("{s:s,s:s,s:o}", "summary", summary, "operationId", id,
	    "responses", responses);

	if (op != NULL && params != NULL)
		json_object_set_new(op, "parameters", params);
	return json_pack("{s:o}", "get", op);
}

json_t *
catalog_openapi(void)
{
	json_t *params = json_array(), *paths, *schemas, *doc;
	size_t i;

	for (i = 0; em_catdb_filter_names[i] != NULL; i++) {
		const char *n = em_catdb_filter_names[i];
		json_t *schema = strcmp(n, "limit") == 0 ?
		    json_pack("{s:s,s:i,s:i,s:i}", "type", "integer", "minimum", 1, "maximum",
		    EM_CATDB_MAX_PAGE, "default", 100) : json_pack("{s:s}", "type", "string");

		json_array_append_new(params, json_pack("{s:s,s:s,s:b,s:s,s:o}", "name", n, "in",
		    "query", "required", 0, "description", filter_doc(n), "schema", schema));
	}
	paths = json_pack("{s:o,s:o,s:o,s:o,s:o,s:o}",
	    "/records", get_op("Records matching every filter given, one page at a time",
	    "listRecords", params, json_pack("{s:o,s:o,s:o}",
	    "200", ok_response("A page of records", "Page"),
	    "400", error_response("A bad parameter (named in the error)"),
	    "500", error_response("The database failed"))),
	    "/records/{source}/{id}", get_op("One record", "getRecord", path_params(),
	    json_pack("{s:o,s:o,s:o}", "200", ok_response("The record", "Record"),
	    "404", error_response("No such record"),
	    "500", error_response("The database failed"))),
	    "/records/{source}/{id}/history", get_op("The runs of one volume, oldest first",
	    "getHistory", path_params(), json_pack("{s:o,s:o,s:o}",
	    "200", ok_response("The runs", "History"),
	    "404", error_response("No such record"),
	    "500", error_response("The database failed"))),
	    "/stats", get_op("Counts and bytes by source, status and modality", "getStats", NULL,
	    json_pack("{s:o,s:o}", "200", ok_response("The statistics", "Stats"),
	    "500", error_response("The database failed"))),
	    "/health", get_op("Whether the server can read its database", "getHealth", NULL,
	    json_pack("{s:o,s:o}", "200", ok_response("Healthy", "Health"),
	    "503", ok_response("The database failed", "Health"))),
	    "/openapi.json", get_op("This document", "getOpenAPI", NULL,
	    json_pack("{s:{s:s,s:{s:{s:{s:s}}}}}", "200", "description", "The OpenAPI document",
	    "content", "application/json", "schema", "type", "object")));
	schemas = json_pack("{s:o,s:o,s:o,s:o,s:o,s:o,s:o}",
	    "Record", json_pack("{s:s,s:s,s:[s,s,s,s,s],s:b}", "type", "object", "description",
	    "A metadata record (schemas/metadata_schema.json, em-record(5)) as loaded.",
	    "required", "schema_version", "id", "source", "status", "status_history",
	    "additionalProperties", 1),
	    "Page", json_pack("{s:s,s:[s,s,s],s:{s:{s:s,s:{s:s}},s:{s:s,s:i},"
	    "s:{s:s,s:b,s:s}}}", "type", "object", "required", "records", "count", "next",
	    "properties", "records", "type", "array", "items", "$ref", "#/components/schemas/Record",
	    "count", "type", "integer", "minimum", 0,
	    "next", "type", "string", "nullable", 1, "description",
	    "The cursor of the next page (null on the last page)"),
	    "Run", json_pack("{s:s,s:[s,s,s],s:{s:{s:s},s:{s:s},s:{s:s},s:{s:s,s:b}}}",
	    "type", "object", "required", "status", "started", "finished", "properties",
	    "status", "type", "string", "started", "type", "string", "finished", "type", "string",
	    "error", "type", "string", "nullable", 1),
	    "History", json_pack("{s:s,s:[s,s,s],s:{s:{s:s},s:{s:s},s:{s:s,s:{s:s}}}}",
	    "type", "object", "required", "source", "id", "runs", "properties",
	    "source", "type", "string", "id", "type", "string",
	    "runs", "type", "array", "items", "$ref", "#/components/schemas/Run"),
	    "Stats", json_pack("{s:s,s:[s,s,s,s,s],s:{s:{s:s},s:{s:s},s:{s:s,s:{s:s}},"
	    "s:{s:s,s:{s:s}},s:{s:s,s:{s:s}}}}", "type", "object", "required", "records", "bytes",
	    "by_source", "by_status", "by_modality", "properties",
	    "records", "type", "integer", "bytes", "type", "integer",
	    "by_source", "type", "array", "items", "type", "object",
	    "by_status", "type", "array", "items", "type", "object",
	    "by_modality", "type", "array", "items", "type", "object"),
	    "Health", json_pack("{s:s,s:[s],s:{s:{s:s,s:[s,s]},s:{s:s},s:{s:s},s:{s:s}}}",
	    "type", "object", "required", "status", "properties", "status", "type", "string",
	    "enum", "ok", "error", "database", "type", "string", "records", "type", "integer",
	    "error", "type", "string"),
	    "Error", json_pack("{s:s,s:[s],s:{s:{s:s}}}", "type", "object", "required", "error",
	    "properties", "error", "type", "string"));
	doc = json_pack("{s:s,s:{s:s,s:s,s:s},s:[{s:s}],s:o,s:{s:o}}", "openapi", "3.0.3",
	    "info", "title", "em-catalog", "version", EM_VERSION, "description",
	    "The electron-microscopy-ingest catalog, read-only. Every answer is JSON and "
	    "carries CORS headers; there is no write endpoint.",
	    "servers", "url", "/", "paths", paths, "components", "schemas", schemas);
	return doc;
}
