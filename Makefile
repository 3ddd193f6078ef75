# cog-fcgi: a FastCGI responder for Cog models.
#
#   make          build build/cog-fcgi (front) and build/cog-fcgi-worker (embeds Python)
#   make test     install what is missing, then every test suite (ends "N passed, M failed")
#   make demo     serve examples/hello-world behind nginx on 127.0.0.1:8080
#   make bench    throughput ratios with wrk
#   make SAN=1    the same with ASan+UBSan, in build-san/

CC      ?= cc
# Debian's Python, whatever python3 is first on PATH.
PKG     := PKG_CONFIG_PATH=/usr/lib/x86_64-linux-gnu/pkgconfig:/usr/share/pkgconfig pkg-config
PY_CFLAGS := $(shell $(PKG) --cflags python3-embed 2>/dev/null)
PY_LIBS   := $(shell $(PKG) --libs python3-embed 2>/dev/null)
DEP_CFLAGS := $(shell $(PKG) --cflags jansson yaml-0.1 libcurl libpcre2-8 2>/dev/null)
# No libcurl here: fcgi/http_client.c dlopen()s it on first use, so that its ~30
# libraries (OpenSSL, Kerberos, LDAP...) stay out of the front's memory. Only its
# headers are needed at build time. dlopen is in libc since glibc 2.34 (no -ldl).
DEP_LIBS   := $(shell $(PKG) --libs jansson yaml-0.1 libpcre2-8 2>/dev/null) -lfcgi -lpthread -lm
# The queue worker's Redis client (fcgi/redis_conn.c).
DEP_LIBS   += -lhiredis

VERSION := 0.1.0
PY_VERSION := $(shell $(PKG) --modversion python3-embed 2>/dev/null)
CFLAGS  ?= -O2 -g
CFLAGS  += -std=c11 -D_GNU_SOURCE -Wall -Wextra -Werror -Ipredictor/common -Ipredictor/project -Ipredictor/worker -Ifcgi \
           -DCF_VERSION=\"$(VERSION)\" -DCF_PYTHON_VERSION=\"$(PY_VERSION)\" $(DEP_CFLAGS)

ifeq ($(SAN),1)
BUILD   := build-san
CFLAGS  += -fsanitize=address,undefined -fno-omit-frame-pointer -fno-sanitize-recover=undefined
LDFLAGS += -fsanitize=address,undefined
FRONT_ALLOC :=
else
BUILD   := build
# The front's allocator (fcgi/alloc.c says why), before the other libraries, so that every
# malloc in the process resolves to it. Only the front: the worker keeps glibc's (Python has
# its own for small objects), and so do the unit tests, so that valgrind sees every allocation.
FRONT_ALLOC := -Wl,--push-state,--no-as-needed -ljemalloc -Wl,--pop-state
$(BUILD)/obj/fcgi/alloc.o: CFLAGS += -DCF_JEMALLOC
endif

# Which process a file runs in is its folder: predictor/worker/ only in cog-fcgi-worker (the
# only files with Python.h), predictor/project/ only in the front (what knows Cog projects:
# cog.yaml, schema, validation, data URIs, MIME), predictor/common/ in both (errors, logging,
# the IPC framing, UTF-8), fcgi/ the front itself.
WORKER_SRC := $(wildcard predictor/worker/*.c)
COMMON_SRC := $(wildcard predictor/common/*.c)
PROJECT_SRC := $(wildcard predictor/project/*.c)
LIB_SRC    := $(COMMON_SRC) $(PROJECT_SRC)
FRONT_SRC  := $(filter-out fcgi/main.c,$(wildcard fcgi/*.c))
UNIT_SRC   := $(wildcard tests/unit/test_*.c)

LIB_OBJ    := $(LIB_SRC:%.c=$(BUILD)/obj/%.o)
COMMON_OBJ := $(COMMON_SRC:%.c=$(BUILD)/obj/%.o)
FRONT_OBJ  := $(FRONT_SRC:%.c=$(BUILD)/obj/%.o)
# The playground (web/playground/: HTML, CSS, JS) is built into the front as one C table.
PLAYGROUND_FILES := $(sort $(wildcard web/playground/*.html web/playground/*.css web/playground/*.js))
FRONT_OBJ  += $(BUILD)/obj/gen/playground_assets.o
WORKER_OBJ := $(WORKER_SRC:%.c=$(BUILD)/obj/%.o)
UNIT_BIN   := $(UNIT_SRC:tests/unit/%.c=$(BUILD)/tests/%)

.PHONY: conformance-refresh all deps test unit integration demo bench clean install uninstall fuzz
all: $(BUILD)/cog-fcgi $(BUILD)/cog-fcgi-worker $(BUILD)/python/cog/__init__.py

$(BUILD)/obj/%.o: %.c $(wildcard predictor/*/*.h fcgi/*.h)
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS) -c $< -o $@

$(WORKER_OBJ): CFLAGS += $(PY_CFLAGS)

# web/playground itself too: a file removed from it changes the directory, not a file.
$(BUILD)/gen/playground_assets.c: scripts/embed-assets.py $(PLAYGROUND_FILES) web/playground
	@mkdir -p $(dir $@)
	python3 scripts/embed-assets.py $@ $(PLAYGROUND_FILES)

$(BUILD)/obj/gen/playground_assets.o: $(BUILD)/gen/playground_assets.c fcgi/playground_assets.h
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS) -c $< -o $@

$(BUILD)/cog-fcgi: $(BUILD)/obj/fcgi/main.o $(FRONT_OBJ) $(LIB_OBJ)
	$(CC) $(LDFLAGS) -o $@ $^ $(FRONT_ALLOC) $(DEP_LIBS)

$(BUILD)/cog-fcgi-worker: $(WORKER_OBJ) $(COMMON_OBJ)
	$(CC) $(LDFLAGS) -o $@ $^ $(DEP_LIBS) $(PY_LIBS) -Wl,-rpath,/usr/lib/x86_64-linux-gnu

# The cog Python package travels next to the worker binary.
$(BUILD)/python/cog/__init__.py: $(shell find predictor/python -name "*.py")
	@rm -rf $(BUILD)/python && mkdir -p $(BUILD)/python
	cp -r predictor/python/cog $(BUILD)/python/cog

$(BUILD)/tests/test_%: tests/unit/test_%.c $(FRONT_OBJ) $(LIB_OBJ)
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS) $(LDFLAGS) -o $@ $^ $(DEP_LIBS) -lcmocka
# test_webhook makes calloc fail on demand (the out-of-memory path).
$(BUILD)/tests/test_webhook: LDFLAGS += -Wl,--wrap=calloc

# The base64 decoder's MB/s beside memcpy's (make bench prints it).
$(BUILD)/tests/bench_base64: tests/bench/base64_speed.c $(BUILD)/obj/predictor/project/base64.o $(BUILD)/obj/predictor/common/error.o
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS) $(LDFLAGS) -o $@ $^

deps:
	@sh scripts/install-deps.sh

unit: $(UNIT_BIN)
	@sh tests/run-unit.sh $(UNIT_BIN)

test: deps
	@$(MAKE) --no-print-directory all
	@sh tests/run-all.sh

# Quiet unless the build fails (then its output is shown).
demo: deps
	@mkdir -p $(BUILD) && $(MAKE) --no-print-directory all >$(BUILD)/demo-build.log 2>&1 || \
	    { cat $(BUILD)/demo-build.log; exit 1; }
	@sh scripts/demo.sh

bench: deps
	@$(MAKE) --no-print-directory all $(BUILD)/tests/bench_base64
	@sh tests/bench/run.sh

PREFIX  ?= /usr/local
DESTDIR ?=
install: all
	install -d $(DESTDIR)$(PREFIX)/bin $(DESTDIR)$(PREFIX)/lib/cog-fcgi \
	    $(DESTDIR)$(PREFIX)/share/man/man1 $(DESTDIR)$(PREFIX)/share/doc/cog-fcgi/nginx \
	    $(DESTDIR)$(PREFIX)/share/doc/cog-fcgi/apache $(DESTDIR)$(PREFIX)/share/doc/cog-fcgi/systemd
	install -m 0755 $(BUILD)/cog-fcgi $(DESTDIR)$(PREFIX)/bin/cog-fcgi
	install -m 0755 $(BUILD)/cog-fcgi-worker $(DESTDIR)$(PREFIX)/lib/cog-fcgi/cog-fcgi-worker
	rm -rf $(DESTDIR)$(PREFIX)/lib/cog-fcgi/python
	cp -r $(BUILD)/python $(DESTDIR)$(PREFIX)/lib/cog-fcgi/python
	install -m 0644 man/cog-fcgi.1 $(DESTDIR)$(PREFIX)/share/man/man1/cog-fcgi.1
	install -m 0644 nginx/*.conf $(DESTDIR)$(PREFIX)/share/doc/cog-fcgi/nginx/
	-install -m 0644 apache/*.conf $(DESTDIR)$(PREFIX)/share/doc/cog-fcgi/apache/
	-install -m 0644 systemd/* $(DESTDIR)$(PREFIX)/share/doc/cog-fcgi/systemd/

uninstall:
	rm -f $(DESTDIR)$(PREFIX)/bin/cog-fcgi $(DESTDIR)$(PREFIX)/share/man/man1/cog-fcgi.1
	rm -rf $(DESTDIR)$(PREFIX)/lib/cog-fcgi $(DESTDIR)$(PREFIX)/share/doc/cog-fcgi

clean:
	rm -rf build build-san

# The conformance kit travels with the repository (tests/conformance). When a newer kit sits
# beside the checkout (../shared/conformance), this copies it in; otherwise it says so.
CONFORMANCE_SRC ?= ../shared/conformance
conformance-refresh:
	@if [ -d "$(CONFORMANCE_SRC)/cases" ]; then \
	    rm -rf tests/conformance.new && cp -r "$(CONFORMANCE_SRC)" tests/conformance.new && \
	    rm -rf tests/conformance && mv tests/conformance.new tests/conformance && \
	    echo "tests/conformance refreshed from $(CONFORMANCE_SRC)"; \
	else echo "no kit at $(CONFORMANCE_SRC): tests/conformance kept"; fi

# libFuzzer targets (fuzz/): `make fuzz` runs each for a bounded time.
-include fuzz/fuzz.mk
