# fuzz.mk - libFuzzer targets (included by the top-level Makefile).
#
#   make fuzz                 build build-fuzz/fuzz_* and run each for FUZZ_SECONDS (default 60)
#   make fuzz-smoke           the same for 10 s each (tests/integration/fuzz.sh runs this)
#   make fuzz-build           only build them
#   make fuzz FUZZ_TARGETS=body FUZZ_SECONDS=600    one target, longer
#
# Each target links the few library sources it exercises, compiled again with clang's
# -fsanitize=fuzzer,address,undefined (UBSan made fatal): no libfcgi, no threads, no Python.
# Seeds are fuzz/corpus/<target>/ (read only); what libFuzzer finds goes to
# build-fuzz/corpus/<target>/, a crashing input to build-fuzz/crashes/ (fuzz/run.sh).

FUZZ_CC      ?= clang
FUZZ_SECONDS ?= 60
FUZZ_BUILD   := build-fuzz
FUZZ_TARGETS ?= body validate datauri cogyaml
# The project's flags (warnings, -I, pkg-config) with clang's sanitizers in place of any others.
FUZZ_CFLAGS   = $(filter-out -O% -fsanitize% -fno-sanitize%,$(CFLAGS)) -g -O1 \
                -fno-omit-frame-pointer -fsanitize=fuzzer,address,undefined \
                -fno-sanitize-recover=undefined -Ifuzz
FUZZ_LIBS     = $(DEP_LIBS)

FUZZ_SRC_body     := fcgi/body.c predictor/common/json_in.c predictor/common/error.c
FUZZ_SRC_validate := predictor/project/validate.c predictor/common/pyfloat.c predictor/project/request_fields.c predictor/project/datauri.c predictor/project/base64.c predictor/common/error.c
FUZZ_SRC_datauri  := predictor/project/datauri.c predictor/project/base64.c predictor/common/error.c
FUZZ_SRC_cogyaml  := predictor/project/cogyaml.c predictor/common/error.c

FUZZ_BIN := $(FUZZ_TARGETS:%=$(FUZZ_BUILD)/fuzz_%)

define cf_fuzz_rule
$(FUZZ_BUILD)/fuzz_$(1): fuzz/fuzz_$(1).c $(FUZZ_SRC_$(1)) $(wildcard predictor/*/*.h fcgi/*.h fuzz/*.h)
	@mkdir -p $(FUZZ_BUILD)
	$(FUZZ_CC) $(FUZZ_CFLAGS) -o $$@ fuzz/fuzz_$(1).c $(FUZZ_SRC_$(1)) $(FUZZ_LIBS)
endef
$(foreach t,$(FUZZ_TARGETS),$(eval $(call cf_fuzz_rule,$(t))))

.PHONY: fuzz fuzz-smoke fuzz-build fuzz-clean
fuzz-build: $(FUZZ_BIN)

fuzz: fuzz-build
	@sh fuzz/run.sh $(FUZZ_SECONDS) $(FUZZ_TARGETS)

fuzz-smoke: fuzz-build
	@sh fuzz/run.sh 10 $(FUZZ_TARGETS)

fuzz-clean:
	rm -rf $(FUZZ_BUILD)
