/* version.h - the suite's version, shared by every tool and the User-Agent */
#ifndef EM_VERSION_H
#define EM_VERSION_H

#define EM_VERSION "0.1.0"
#define EM_PACKAGE "electron-microscopy-ingest"

#endif
