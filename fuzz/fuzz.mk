# fuzz.mk - included by the Makefile: the fuzz targets, run with libFuzzer (make fuzz)
# and replayed over their saved inputs without it (make check).
#
#   make fuzz                     build with clang + libFuzzer, run each target FUZZ_SECONDS
#   make fuzz FUZZ_ONLY=dm        one target
#   make fuzz-replay              build the replay programs make check runs

FUZZ_CC ?= clang
FUZZ_SECONDS ?= 60
FUZZ_ONLY ?=
FUZZ_SAN = -fsanitize=address,undefined -fno-sanitize-recover=all -fno-omit-frame-pointer

FUZZ_NAMES = $(sort $(patsubst fuzz/fuzz_%.c,%,$(wildcard fuzz/fuzz_*.c)))
FUZZ_REPLAY = $(foreach n,$(FUZZ_NAMES),fuzz/replay-$(n))
FUZZ_BIN = $(foreach n,$(FUZZ_NAMES),fuzz/build/fuzz_$(n))
FUZZ_LIB_OBJ = $(patsubst lib/%.c,fuzz/build/lib/%.o,$(LIB_SRC))

.PHONY: fuzz fuzz-build fuzz-replay fuzz-clean
.SECONDARY: $(FUZZ_NAMES:%=fuzz/fuzz_%.o) fuzz/fuzz.o fuzz/replay.o $(FUZZ_LIB_OBJ)

# Replay: the normal compiler and flags (SANITIZE applies), a plain main.
fuzz/replay-%: fuzz/fuzz_%.o fuzz/fuzz.o fuzz/replay.o $(LIB)
	$(say) LINK $@
	$(Q)$(CC) -o $@ $^ $(ALL_LDFLAGS) $(PKG_LIBS) -lm
$(FUZZ_NAMES:%=fuzz/fuzz_%.o) fuzz/fuzz.o fuzz/replay.o: fuzz/fuzz.h
fuzz-replay: $(FUZZ_REPLAY)
check: $(FUZZ_REPLAY)

# libFuzzer: everything built again with clang, instrumented, under fuzz/build.
fuzz/build/lib/%.o: lib/%.c $(wildcard lib/*/*.h)
	@mkdir -p $(dir $@)
	$(say) FUZZCC $@
	$(Q)$(FUZZ_CC) $(EM_CFLAGS) -O1 -g $(FUZZ_SAN) -fsanitize=fuzzer-no-link -c -o $@ $<
fuzz/build/fuzz_%: fuzz/fuzz_%.c fuzz/fuzz.c fuzz/fuzz.h $(FUZZ_LIB_OBJ)
	$(say) FUZZLD $@
	$(Q)$(FUZZ_CC) $(EM_CFLAGS) -O1 -g $(FUZZ_SAN) -fsanitize=fuzzer -o $@ \
		$< fuzz/fuzz.c $(FUZZ_LIB_OBJ) $(PKG_LIBS) $(CATALOG_LIBS) -lm
fuzz-build: $(FUZZ_BIN)
fuzz: fuzz-build
	@FUZZ_SECONDS=$(FUZZ_SECONDS) sh fuzz/run.sh $(or $(FUZZ_ONLY),$(FUZZ_NAMES))

# make clean removes the replay programs and the libFuzzer build; fuzz/work (found inputs) stays.
fuzz-clean:
	rm -rf fuzz/build $(FUZZ_REPLAY)
clean: fuzz-clean
