# Makefile - builds lib/libem.a, the tools, the tests and the man pages' checks.
#
#   make                      build everything
#   make check                build and run every test (unit, command-level, man lint)
#   make SANITIZE=address,undefined check
#                             the same under ASan/UBSan
#   make check-valgrind       the unit tests under valgrind (plain build)
#   make fuzz                 the libFuzzer targets (fuzz/README)
#   make deps                 install the Debian packages listed in deps/debian.txt
#   make bench                benchmarks against the reference peers
#   make demo                 the whole pipeline offline against a local mirror
#   make demo ENGINE=slurm    the same through a single-node Slurm cluster (as root)
#   make ingest               em-ingest with the default configuration (real archives)
#   make check-network        fetch a tiny piece of each real archive (opt-in)
#   make install PREFIX=/usr/local DESTDIR=
#
# CFLAGS and LDFLAGS are the user's; the warnings the project requires are
# added separately, and WERROR= turns -Werror off for a release build.

PREFIX ?= /usr/local
BINDIR ?= $(PREFIX)/bin
MANDIR ?= $(PREFIX)/share/man
DATADIR ?= $(PREFIX)/share/electron-microscopy-ingest

CC ?= cc
AR ?= ar
PKG_CONFIG ?= pkg-config
CFLAGS ?= -O2 -g
LDFLAGS ?=
WERROR ?= -Werror
SANITIZE ?=

PKGS = libcurl libtiff-4 jansson yaml-0.1 zlib libzstd blosc libcrypto libdeflate libisal \
	libpcre2-8 libxml-2.0 liblz4 libjpeg
PKGS_ORIGIN = libmicrohttpd
# The catalog database (lib/meta/catdb*.c): em-catalog and the unit tests link them.
PKGS_CATALOG = sqlite3 libpq

PKG_CFLAGS := $(shell $(PKG_CONFIG) --cflags $(PKGS) 2>/dev/null)
PKG_LIBS := $(shell $(PKG_CONFIG) --libs $(PKGS) 2>/dev/null)
CHECK_LIBS := $(shell $(PKG_CONFIG) --libs check 2>/dev/null)
ORIGIN_LIBS := $(shell $(PKG_CONFIG) --libs $(PKGS_ORIGIN) 2>/dev/null)
CATALOG_CFLAGS := $(shell $(PKG_CONFIG) --cflags $(PKGS_CATALOG) $(PKGS_ORIGIN) 2>/dev/null)
CATALOG_LIBS := $(shell $(PKG_CONFIG) --libs $(PKGS_CATALOG) 2>/dev/null)

EM_CFLAGS = -std=c17 -Wall -Wextra -Wpedantic $(WERROR) -D_DEFAULT_SOURCE \
	-pthread -Ilib $(PKG_CFLAGS) $(CATALOG_CFLAGS)
EM_LDFLAGS = -pthread -Wl,--as-needed
ifneq ($(SANITIZE),)
EM_CFLAGS += -fsanitize=$(SANITIZE) -fno-omit-frame-pointer -fno-sanitize-recover=all
EM_LDFLAGS += -fsanitize=$(SANITIZE)
endif

ALL_CFLAGS = $(EM_CFLAGS) $(CPPFLAGS) $(CFLAGS)

# Short build lines; V=1 shows the commands.
ifeq ($(V),1)
Q =
say = @:
else
Q = @
say = @printf '  %-6s %s\n'
endif
ALL_LDFLAGS = $(EM_LDFLAGS) $(LDFLAGS)

# Rebuild everything when the flags change (a SANITIZE build after a plain one).
FLAGS_STAMP = .build-flags
FLAGS_NOW = $(CC) $(ALL_CFLAGS) $(ALL_LDFLAGS)
$(FLAGS_STAMP): FORCE
	@printf '%s\n' '$(FLAGS_NOW)' | cmp -s - $@ || printf '%s\n' '$(FLAGS_NOW)' > $@
.PHONY: FORCE

# lib/ is in layers, one folder each (lib/README): core, formats, store, net, sources, meta, tool.
LIB_LAYERS = core formats store net sources meta tool
LIB_SRC = $(sort $(foreach l,$(LIB_LAYERS),$(wildcard lib/$(l)/*.c)))
LIB_OBJ = $(LIB_SRC:.c=.o)
LIB = lib/libem.a

# A tool is a directory fetch-* or em-* with a main.c; its binary has the
# directory's name and is built inside it.
TOOL_DIRS = $(sort $(patsubst %/main.c,%,$(wildcard fetch-*/main.c em-*/main.c)))
TOOLS = $(foreach d,$(TOOL_DIRS),$(d)/$(d))
SCRIPTS = $(wildcard em-ingest)

UNIT_SRC = $(sort $(wildcard t/unit/test_*.c))
UNIT_OBJ = $(UNIT_SRC:.c=.o) t/unit/main.o
UNIT = t/unit/run-unit
# Helper programs the command-level tests drive (one .c each).
TPROG_SRC = $(sort $(wildcard t/prog/*.c))
TPROGS = $(TPROG_SRC:.c=)

MANS = $(sort $(wildcard man/*.1 man/*.5 man/*.7))

# Keep the test programs' objects: make would delete them as intermediates.
.SECONDARY: $(TPROG_SRC:.c=.o)

.DELETE_ON_ERROR:
.PHONY: all check check-valgrind check-unit deps deps-js install uninstall clean bench demo \
	ingest check-network
.SUFFIXES:

all: $(TOOLS)

# Each object depends on the headers it includes: the compiler writes them to a .d file beside it.
%.o: %.c $(FLAGS_STAMP)
	$(say) CC $@
	$(Q)$(CC) $(ALL_CFLAGS) -MMD -MP -c -o $@ $<
-include $(wildcard lib/*/*.d */*.d t/unit/*.d t/prog/*.d fuzz/*.d bench/*.d)

# Only this object knows the install location, so PREFIX rebuilds it and nothing else.
DATADIR_STAMP = .build-datadir
$(DATADIR_STAMP): FORCE
	@printf '%s\n' '$(DATADIR)' | cmp -s - $@ || printf '%s\n' '$(DATADIR)' > $@
lib/core/paths.o: ALL_CFLAGS += -DEM_DATADIR='"$(DATADIR)"'
lib/core/paths.o: $(DATADIR_STAMP)

$(LIB): $(LIB_OBJ)
	$(say) AR $@
	$(Q)rm -f $@
	$(Q)$(AR) rcs $@ $(LIB_OBJ)

define tool_rule
$(1)/$(1): $(patsubst %.c,%.o,$(wildcard $(1)/*.c)) $(LIB)
	$$(say) LINK $$@
	$$(Q)$$(CC) -o $$@ $$(filter %.o,$$^) $(LIB) $$(ALL_LDFLAGS) $$(PKG_LIBS) \
		$$(if $$(filter em-origin,$(1)),$$(ORIGIN_LIBS)) \
		$$(if $$(filter em-catalog,$(1)),$$(CATALOG_LIBS) $$(ORIGIN_LIBS)) -lm
endef
$(foreach d,$(TOOL_DIRS),$(eval $(call tool_rule,$(d))))

# The list of check suites is made from the file names: test_foo.c defines
# Suite *foo_suite(void).
t/unit/suites.inc: $(UNIT_SRC) Makefile
	@for f in $(UNIT_SRC); do b=$${f##*/test_}; echo "SUITE($${b%.c})"; done > $@.tmp && \
		mv $@.tmp $@
t/unit/main.o: t/unit/suites.inc

$(UNIT): $(UNIT_OBJ) $(LIB)
	$(say) LINK $@
	$(Q)$(CC) -o $@ $(UNIT_OBJ) $(LIB) $(ALL_LDFLAGS) $(PKG_LIBS) $(CATALOG_LIBS) $(CHECK_LIBS) -lm

t/prog/%: t/prog/%.o $(LIB)
	$(say) LINK $@
	$(Q)$(CC) -o $@ $< $(LIB) $(ALL_LDFLAGS) $(PKG_LIBS) -lm

check: all $(UNIT) $(TPROGS) bench/peakrss
	@sh t/run.sh

# The unit suites alone (seconds); T_ONLY=name make check runs chosen command-level tests.
check-unit: $(UNIT)
	./$(UNIT)

# The unit tests under valgrind (a plain build: valgrind and the sanitizers do not mix).
check-valgrind: $(UNIT)
	CK_FORK=no valgrind --error-exitcode=1 --leak-check=full -q $(UNIT)

# Fuzz targets: make fuzz; make check replays their saved inputs.
include fuzz/fuzz.mk

# Benchmarks: bench/run.sh runs every bench/b-*.sh case against its reference peer.
bench/peakrss: bench/peakrss.o
	$(CC) -o $@ $< $(ALL_LDFLAGS)
bench: all bench/peakrss $(TPROGS)
	@sh bench/run.sh

# The pipeline: offline against scripts/demo-mirror.sh's mirror, or the real archives.
# ENGINE=slurm: through a single-node Slurm cluster started for the demo (root).
ENGINE = local
demo: all $(TPROGS)
	@ENGINE=$(ENGINE) sh scripts/demo.sh
ingest: all
	@sh em-ingest
check-network: all $(TPROGS)
	@sh scripts/check-network.sh

deps:
	apt-get update -qq
	DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends \
		$$(grep -v '^#' deps/debian.txt)
	$(MAKE) deps-js

# The JavaScript clients the tests run (t/js/<name>/: package.json and its lock), from
# the npm registry, exactly as locked.
deps-js:
	@for d in t/js/*/; do \
		[ -f "$$d/package-lock.json" ] || continue; \
		echo "npm ci in $$d"; \
		(cd "$$d" && npm ci --no-audit --no-fund --loglevel=error) || exit 1; \
	done

install: all
	install -d $(DESTDIR)$(BINDIR) $(DESTDIR)$(MANDIR)/man1 $(DESTDIR)$(MANDIR)/man5 \
		$(DESTDIR)$(MANDIR)/man7 $(DESTDIR)$(DATADIR)/schemas
	install -m 755 $(TOOLS) $(SCRIPTS) $(DESTDIR)$(BINDIR)
	for m in $(MANS); do s=$${m##*.}; install -m 644 $$m $(DESTDIR)$(MANDIR)/man$$s; done
	install -m 644 schemas/*.json $(DESTDIR)$(DATADIR)/schemas
	install -d $(DESTDIR)$(DATADIR)/config
	install -m 644 config/*.yaml $(DESTDIR)$(DATADIR)/config

uninstall:
	for t in $(TOOLS) $(SCRIPTS); do rm -f $(DESTDIR)$(BINDIR)/$${t##*/}; done
	for m in $(MANS); do s=$${m##*.}; rm -f $(DESTDIR)$(MANDIR)/man$$s/$${m##*/}; done
	rm -rf $(DESTDIR)$(DATADIR)

clean:
	rm -f lib/*/*.o lib/*/*.d $(LIB) */*.o */*.d t/unit/*.[od] t/prog/*.[od] $(TOOLS) $(UNIT) $(TPROGS) \
		t/unit/suites.inc $(FLAGS_STAMP) $(DATADIR_STAMP) bench/peakrss bench/*.o
	rm -rf t/scratch demo
