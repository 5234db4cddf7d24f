/* safepath.h - names and relative paths from outside (listings, URLs, metadata) checked before they become local paths */
#ifndef EM_SAFEPATH_H
#define EM_SAFEPATH_H

#include "core/limits.h"

/*
 * Whether name can be one component of a local path: not empty, not "."
 * or "..", no '/' or '\\', no control characters (0x00-0x1f, 0x7f), at most
 * EM_NAME_MAX bytes.  Nothing joined under a directory from names that pass
 * can land outside it.
 */
int em_name_ok(const char *name);

/*
 * Whether path is a relative path of components that each pass em_name_ok,
 * separated by single '/': not absolute, no empty component ("a//b", "a/"),
 * at most EM_RELPATH_MAX bytes.  "0", "s0/0", "3/1/2" pass; "../x", "/x",
 * "a/./b", "a\\b" do not.
 */
int em_relpath_ok(const char *path);

#endif
