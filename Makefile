# chime's build. `make` leaves the binary at build/chime.
#   make test    sanitized unit tests (one binary per module), then end-to-end tests
#   make fuzz    each fuzz target for FUZZ_SECONDS (libFuzzer, clang)
#   make bench   benchmarks; figures go to bench/README.md by hand
#   make bench-suite  the daemon and cron benchmarks at moderate sizes, one table (bench/suite)
#   make lint    warnings as errors with clang too, and clang-tidy
#   make format  clang-format in place

CC       ?= cc
CLANG    ?= clang-14
PYTHON   ?= /usr/bin/python3
FUZZ_SECONDS ?= 20
FUZZ_CRON_SECONDS ?= 60

WARN     := -Wall -Wextra -Werror -Wshadow -Wstrict-prototypes -Wmissing-prototypes \
            -Wno-missing-field-initializers
CPPFLAGS += -D_GNU_SOURCE -Isrc
CFLAGS   ?= -O2 -g
CFLAGS   += -std=c11 $(WARN)
SANITIZE := -fsanitize=address,undefined -fno-sanitize-recover=all -fno-omit-frame-pointer
LDLIBS   += -larchive -lmicrohttpd -lcurl -luv -ljansson -lsqlite3 -lsodium -lpthread -lm

SHELL := /bin/bash
B := build

# Every module's .c except main.c and the unit tests: the library both the
# binary and the tests link.
LIB_SRC  := $(filter-out src/main.c %_test.c,$(shell find src -name '*.c' | sort))
TEST_SRC := $(shell find src -name '*_test.c' | sort)
FUZZ_SRC := $(wildcard fuzz/*.c)
BENCH_SRC:= $(filter-out bench/true_static.c,$(wildcard bench/*.c))

LIB_OBJ  := $(LIB_SRC:%.c=$(B)/obj/%.o)
SAN_OBJ  := $(LIB_SRC:%.c=$(B)/san/%.o)
FUZZ_OBJ := $(LIB_SRC:%.c=$(B)/fuzzobj/%.o)
# Archives: a program links only the objects it uses, so a test of one
# module does not depend on every other module linking.
LIB_A    := $(B)/obj/libchime.a
SAN_A    := $(B)/san/libchime.a
FUZZ_A   := $(B)/fuzzobj/libchime.a
TESTS    := $(TEST_SRC:src/%.c=$(B)/test/%)
FUZZERS  := $(FUZZ_SRC:fuzz/%.c=$(B)/fuzz/%)
BENCHES  := $(BENCH_SRC:bench/%.c=$(B)/bench/%)

.PHONY: all test unit e2e fuzz bench bench-suite lint format clean
all: $(B)/chime

$(B)/chime: $(B)/obj/src/main.o $(LIB_A)
	$(CC) $(CFLAGS) -o $@ $^ $(LDFLAGS) $(LDLIBS)

$(LIB_A): $(LIB_OBJ)
	rm -f $@ && ar rcs $@ $^

$(SAN_A): $(SAN_OBJ)
	rm -f $@ && ar rcs $@ $^

$(FUZZ_A): $(FUZZ_OBJ)
	rm -f $@ && ar rcs $@ $^

$(B)/obj/%.o: %.c
	@mkdir -p $(dir $@)
	$(CC) $(CPPFLAGS) $(CFLAGS) -MMD -MP -c -o $@ $<

$(B)/san/%.o: %.c
	@mkdir -p $(dir $@)
	$(CC) $(CPPFLAGS) $(CFLAGS) -O1 $(SANITIZE) -MMD -MP -c -o $@ $<

$(B)/test/%: $(B)/san/src/%.o $(SAN_A)
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS) -O1 $(SANITIZE) -o $@ $^ $(LDFLAGS) -lcmocka $(LDLIBS)

test: unit e2e

unit: $(TESTS)
	@set -e; for t in $(TESTS); do echo "== $$t"; \
	  ASAN_OPTIONS=detect_leaks=1:abort_on_error=1 UBSAN_OPTIONS=print_stacktrace=1 $$t; done

e2e: $(B)/chime
	CHIME_BIN=$(abspath $(B)/chime) $(PYTHON) -m pytest -q tests

FUZZ_FLAGS := -std=c11 -O1 -g -fsanitize=fuzzer,address,undefined -fno-sanitize-recover=all

$(B)/fuzzobj/%.o: %.c
	@mkdir -p $(dir $@)
	$(CLANG) $(CPPFLAGS) $(subst fuzzer,fuzzer-no-link,$(FUZZ_FLAGS)) -MMD -MP -c -o $@ $<

$(B)/fuzz/%: fuzz/%.c $(FUZZ_A)
	@mkdir -p $(dir $@)
	$(CLANG) $(CPPFLAGS) $(FUZZ_FLAGS) -o $@ $^ $(LDLIBS)

fuzz: $(FUZZERS)
	@set -e; for f in $(FUZZERS); do n=$$(basename $$f); \
	  secs=$(FUZZ_SECONDS); [ $$n = cron_fuzz ] && secs=$(FUZZ_CRON_SECONDS); \
	  echo "== fuzz $$n for $${secs}s"; mkdir -p $(B)/corpus/$$n; \
	  $$f -max_total_time=$$secs -max_len=4096 -timeout=5 -rss_limit_mb=1024 \
	      -print_final_stats=1 $(B)/corpus/$$n $$(ls -d fuzz/corpus/$$n 2>/dev/null) 2>&1 | tail -n 12; \
	  test $${PIPESTATUS[0]} -eq 0; done

$(B)/bench/%: bench/%.c $(LIB_A)
	@mkdir -p $(dir $@)
	$(CC) $(CPPFLAGS) $(CFLAGS) -O2 -o $@ $^ $(LDFLAGS) $(LDLIBS)

# a job for the benchmarks, not one: /bin/true without the dynamic loader
$(B)/bench/true_static: bench/true_static.c
	@mkdir -p $(dir $@)
	$(CC) -O2 -static -o $@ $<

bench: $(BENCHES) $(B)/bench/true_static
	@set -e; for b in $(BENCHES); do echo "== $$b"; $$b; echo; done
	@echo "== cron-parser (npm), the same measurement"
	cd bench/js && npm ci --no-audit --no-fund --silent && node cron-parser.mjs

# about four minutes on two cores; BENCH_SUITE_ARGS for bench/suite's options
bench-suite: $(B)/chime $(B)/bench/cron_bench $(B)/bench/jobs_seed $(B)/bench/spawn_baseline
	bench/suite --build $(B) $(BENCH_SUITE_ARGS)

lint:
	$(MAKE) clean
	$(MAKE) all CC=$(CLANG)
	clang-tidy -quiet $(LIB_SRC) src/main.c -- $(CPPFLAGS) -std=c11

format:
	clang-format -i $(shell find src fuzz bench -name '*.[ch]')

clean:
	rm -rf $(B)

-include $(shell find $(B) -name '*.d' 2>/dev/null)
