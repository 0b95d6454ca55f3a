# Makefile - builds hutch, hutch-overlay, hutch-net and hutch-squashfs; runs
# the tests.
#
#   make                  build ./hutch (and the helpers) with the default flags
#   make test             install missing packages, build, run every suite
#   make asan             the same suite on an AddressSanitizer+UBSan build
#   make install          PREFIX=/usr/local DESTDIR= (binaries into $(PREFIX)/bin);
#                         PREFIX=$HOME/.local needs no root; make uninstall
#   make bundle           $(BUILD)/hutch-VERSION-ARCH.tar.gz: the three programs
#                         and their private libraries, runs unpacked anywhere
#                         (packaging/bundle.sh); SHA256SUMS beside it
#   make dist             $(BUILD)/hutch-VERSION.tar.gz, the source (git archive)
#   make format           clang-format the tree; format-check fails on a diff
#   make analyze          cppcheck over the sources
#   make demo             the README's main job
#   make fuzz             build the libFuzzer targets (tests/fuzz/) with clang
#   make fuzz-run         build them and run each for FUZZ_SECONDS (60)
#
# BUILD=dir puts objects elsewhere (helpers building in parallel use their
# own); WERROR=1 turns warnings into errors (CI sets it); SANITIZE=1 builds
# with ASan and UBSan; SANITIZE=fuzz adds libFuzzer's coverage (make fuzz,
# with clang, in out-fuzz).

VERSION    := 0.1.0
PREFIX     ?= /usr/local
BINDIR     ?= $(PREFIX)/bin
DESTDIR    ?=
BUILD      ?= out
CC         ?= cc
PKG_CONFIG ?= pkg-config

WARN := -Wall -Wextra -Wshadow -Wmissing-prototypes -Wstrict-prototypes \
	-Wformat=2 -Wno-format-nonliteral
ifeq ($(WERROR),1)
WARN += -Werror
endif

ifeq ($(SANITIZE),1)
OPT := -O1 -g -fsanitize=address,undefined -fno-sanitize-recover=all \
	-fno-omit-frame-pointer
LDSAN := -fsanitize=address,undefined
else ifeq ($(SANITIZE),fuzz)
# Coverage for libFuzzer in every object; its main() only in the targets.
OPT := -O1 -g -fsanitize=fuzzer-no-link,address,undefined \
	-fno-sanitize-recover=all -fno-omit-frame-pointer
LDSAN := -fsanitize=fuzzer,address,undefined
else
OPT := -O2 -g -D_FORTIFY_SOURCE=2
LDSAN :=
endif

BASE_CFLAGS := -std=gnu11 -D_GNU_SOURCE -fstack-protector-strong -MMD -MP \
	-I. $(OPT) $(WARN)
CFLAGS ?=
CPPFLAGS ?=
LDFLAGS ?=

# Libraries, always through pkg-config.
HUTCH_PKGS := libseccomp libcap jansson yaml-0.1 libcrypto libcurl libarchive
# The hutch binary loads these only when a command uses them
# (image/lazylib.c): every run, exec and monitor starts without them.
LAZY_PKGS  := libcurl libarchive libcrypto yaml-0.1
OVL_PKGS   := fuse3
# hutch-squashfs (squashfs/): libsquashfs writes and reads the images, in a
# helper of its own so that hutch never loads it (DESIGN.md, "Storage").
SQFS_PKGS  := libsquashfs1 libcrypto squashfuse_ll fuse3
NET_PKGS   := libnl-3.0 libnl-route-3.0 slirp

pkg_cflags = $(shell $(PKG_CONFIG) --cflags $(1))
pkg_libs   = $(shell $(PKG_CONFIG) --libs $(1))

# One folder per part (DESIGN.md). Each program's main lives in its own
# main.c; everything else of a part goes into a static library of its own,
# so that the unit tests link the same objects. hutch's parts are linked in
# their dependency order (HUTCH_PARTS, DESIGN.md's "Layout"): a part that
# calls into a part above it fails to link.
COMMON_SRCS := $(wildcard common/*.c)
HUTCH_PARTS := cli builder container image sandbox
part_srcs    = $(filter-out cli/main.c image/lazylib.c,$(wildcard $(1)/*.c))
HUTCH_SRCS  := $(foreach p,$(HUTCH_PARTS),$(call part_srcs,$(p))) net/portspec.c
HUTCH_LIBS  := $(foreach p,$(HUTCH_PARTS),$(BUILD)/lib$(p).a)
OVL_SRCS    := $(filter-out fuse-overlay/main.c,$(wildcard fuse-overlay/*.c))
NET_SRCS    := $(filter-out net/main.c,$(wildcard net/*.c))
SQFS_SRCS   := $(filter-out squashfs/main.c,$(wildcard squashfs/*.c))
UNIT_SRCS   := $(wildcard tests/unit/test_*.c)
FUZZ_SRCS   := $(wildcard tests/fuzz/fuzz_*.c)

obj = $(patsubst %.c,$(BUILD)/%.o,$(1))

PROGRAMS := $(BUILD)/hutch
ifneq ($(wildcard fuse-overlay/main.c),)
PROGRAMS += $(BUILD)/hutch-overlay
endif
ifneq ($(wildcard net/main.c),)
PROGRAMS += $(BUILD)/hutch-net
endif
ifneq ($(wildcard squashfs/main.c),)
PROGRAMS += $(BUILD)/hutch-squashfs
endif
UNIT_BINS := $(patsubst tests/unit/%.c,$(BUILD)/tests/%,$(UNIT_SRCS))
FUZZ_BINS := $(patsubst tests/fuzz/%.c,$(BUILD)/tests/%,$(FUZZ_SRCS))

# The relocatable bundle (make bundle): the three programs linked again
# from the same objects, with a run path of $ORIGIN/../lib, so that they and
# every library they load, dlopen()ed ones included (image/lazylib.c), find
# the bundle's private lib/ wherever it was unpacked. DT_RPATH, not
# DT_RUNPATH (--disable-new-dtags): the loader applies an executable's
# DT_RPATH to the whole tree of libraries it loads and to their dlopen()
# calls, a DT_RUNPATH only to the executable's own dependencies and calls;
# the bundled Debian libraries carry no run path of their own.
# packaging/bundle.sh copies the libraries and checks the result.
ARCH        := $(shell $(CC) -dumpmachine 2>/dev/null | cut -d- -f1)
BUNDLE_NAME := hutch-$(VERSION)-$(ARCH)
BUNDLE_DIR  := $(BUILD)/bundle/$(BUNDLE_NAME)
BUNDLE_TAR  := $(BUILD)/$(BUNDLE_NAME).tar.gz
BUNDLE_BINS := $(addprefix $(BUNDLE_DIR)/bin/,hutch hutch-overlay hutch-net hutch-squashfs)
$(BUNDLE_BINS): LINK_RPATH = -Wl,-rpath,'$$ORIGIN/../lib' -Wl,--disable-new-dtags
ifneq ($(filter bundle,$(MAKECMDGOALS)),)
ifneq ($(SANITIZE),)
$(error make bundle: SANITIZE=$(SANITIZE) programs need the sanitizers' runtimes; bundle a plain build)
endif
endif

GIT_COMMIT := $(shell git rev-parse --short=12 HEAD 2>/dev/null || echo unknown)

.PHONY: all unit test asan install uninstall bundle dist clean format \
	format-check analyze deps demo fuzz fuzz-targets fuzz-run
all: $(PROGRAMS)
ifeq ($(BUILD),out)
	@for p in $(notdir $(PROGRAMS)); do ln -sfn $(BUILD)/$$p $$p; done
endif

unit: $(UNIT_BINS) $(BUILD)/tests/sysprobe $(BUILD)/tests/nosyscall \
	$(BUILD)/tests/shmprobe

# A static helper the system tests copy into their root filesystems.
$(BUILD)/tests/sysprobe: tests/helpers/sysprobe.c
	@mkdir -p $(dir $@)
	$(CC) -static -O2 -std=gnu11 -Wall -Wextra $(if $(filter 1,$(WERROR)),-Werror) -o $@ $<

# A static helper that probes shared memory between containers.
$(BUILD)/tests/shmprobe: tests/helpers/shmprobe.c
	@mkdir -p $(dir $@)
	$(CC) -static -O2 -std=gnu11 -Wall -Wextra $(if $(filter 1,$(WERROR)),-Werror) -o $@ $<

# A test helper that hides system calls from hutch (an older kernel).
$(BUILD)/tests/nosyscall: tests/helpers/nosyscall.c
	@mkdir -p $(dir $@)
	$(CC) -O2 -std=gnu11 -Wall -Wextra $(if $(filter 1,$(WERROR)),-Werror) -o $@ $< $(shell pkg-config --libs libseccomp)

$(BUILD)/%.o: %.c
	@mkdir -p $(dir $@)
	$(CC) $(BASE_CFLAGS) $(EXTRA_CFLAGS) $(CPPFLAGS) $(CFLAGS) -c -o $@ $<

$(BUILD)/libcommon.a: $(call obj,$(COMMON_SRCS))
# run parses -p specs with hutch-net's own parser.
$(BUILD)/libcli.a: $(call obj,$(call part_srcs,cli) net/portspec.c)
$(BUILD)/libbuilder.a: $(call obj,$(call part_srcs,builder))
$(BUILD)/libcontainer.a: $(call obj,$(call part_srcs,container))
$(BUILD)/libimage.a: $(call obj,$(call part_srcs,image))
$(BUILD)/libsandbox.a: $(call obj,$(call part_srcs,sandbox))
$(BUILD)/libovl.a: $(call obj,$(OVL_SRCS))
$(BUILD)/libnet.a: $(call obj,$(NET_SRCS))
$(BUILD)/libsqfs.a: $(call obj,$(SQFS_SRCS))
$(BUILD)/%.a:
	@mkdir -p $(dir $@)
	@rm -f $@
	$(AR) rcs $@ $^

# Per-part compile flags for the libraries they use.
$(call obj,$(HUTCH_SRCS) cli/main.c image/lazylib.c): EXTRA_CFLAGS = $(call pkg_cflags,$(HUTCH_PKGS))
# common/json.c, the one member of libcommon.a that uses jansson: only
# hutch calls it, so only hutch links it in.
$(BUILD)/common/json.o: EXTRA_CFLAGS = $(call pkg_cflags,jansson)
$(call obj,$(OVL_SRCS) fuse-overlay/main.c): EXTRA_CFLAGS = $(call pkg_cflags,$(OVL_PKGS))
$(call obj,$(NET_SRCS) net/main.c): EXTRA_CFLAGS = $(call pkg_cflags,$(NET_PKGS))
$(call obj,$(SQFS_SRCS) squashfs/main.c): EXTRA_CFLAGS = $(call pkg_cflags,libsquashfs1 libcrypto)
# libsquashfuse's headers (a config.h, util.h, ... of their own) for the
# one file that serves the mount.
$(BUILD)/squashfs/mount.o: EXTRA_CFLAGS = $(call pkg_cflags,squashfuse_ll fuse3)
# One version string for the three programs (common/version.c), compiled
# again whenever the commit changes: hutch info compares the helpers' with
# hutch's, and a stale one would tell a false story.
$(BUILD)/common/version.o: EXTRA_CFLAGS += -DHUTCH_VERSION='"$(VERSION)"' -DHUTCH_COMMIT='"$(GIT_COMMIT)"'
$(BUILD)/common/version.o: $(BUILD)/version-stamp
$(BUILD)/version-stamp: FORCE
	@mkdir -p $(dir $@)
	@echo '$(VERSION) $(GIT_COMMIT)' | cmp -s - $@ || echo '$(VERSION) $(GIT_COMMIT)' >$@
FORCE:

$(BUILD)/hutch $(BUNDLE_DIR)/bin/hutch: $(BUILD)/cli/main.o $(BUILD)/image/lazylib.o $(HUTCH_LIBS) $(BUILD)/libcommon.a
	@mkdir -p $(dir $@)
	$(CC) $(LDSAN) $(LDFLAGS) $(LINK_RPATH) -o $@ $^ $(call pkg_libs,$(filter-out $(LAZY_PKGS),$(HUTCH_PKGS))) -ldl

$(BUILD)/hutch-overlay $(BUNDLE_DIR)/bin/hutch-overlay: $(BUILD)/fuse-overlay/main.o $(BUILD)/libovl.a $(BUILD)/libcommon.a
	@mkdir -p $(dir $@)
	$(CC) $(LDSAN) $(LDFLAGS) $(LINK_RPATH) -o $@ $^ $(call pkg_libs,$(OVL_PKGS)) -lpthread

$(BUILD)/hutch-squashfs $(BUNDLE_DIR)/bin/hutch-squashfs: $(BUILD)/squashfs/main.o $(BUILD)/libsqfs.a $(BUILD)/libcommon.a
	@mkdir -p $(dir $@)
	$(CC) $(LDSAN) $(LDFLAGS) $(LINK_RPATH) -o $@ $^ $(call pkg_libs,$(SQFS_PKGS))

$(BUILD)/hutch-net $(BUNDLE_DIR)/bin/hutch-net: $(BUILD)/net/main.o $(BUILD)/libnet.a $(BUILD)/libcommon.a
	@mkdir -p $(dir $@)
	$(CC) $(LDSAN) $(LDFLAGS) $(LINK_RPATH) -o $@ $^ $(call pkg_libs,$(NET_PKGS))

# Unit tests link the library of the part they test: test_ovl_*.c the
# overlay's, test_net_*.c the network helper's, every other test_*.c
# hutch's. A half-built part then never breaks another part's tests. Each
# also links tests/unit/filter.c, which runs only the tests named by
# HUTCH_TEST_FILTER (tests/run -f), in place of cmocka's runner.
UNIT_HUTCH := $(filter-out $(BUILD)/tests/test_ovl_% $(BUILD)/tests/test_net_%,$(UNIT_BINS))
UNIT_FILTER := $(BUILD)/tests/unit/filter.o
UNIT_LD := -Wl,--wrap=_cmocka_run_group_tests
$(UNIT_HUTCH): $(BUILD)/tests/%: $(BUILD)/tests/unit/%.o $(UNIT_FILTER) $(HUTCH_LIBS) $(BUILD)/libcommon.a
	$(CC) $(LDSAN) $(LDFLAGS) $(UNIT_LD) -o $@ $^ $(call pkg_libs,$(HUTCH_PKGS) cmocka)
$(BUILD)/tests/test_ovl_%: $(BUILD)/tests/unit/test_ovl_%.o $(UNIT_FILTER) $(BUILD)/libovl.a $(BUILD)/libcommon.a
	$(CC) $(LDSAN) $(LDFLAGS) $(UNIT_LD) -o $@ $^ $(call pkg_libs,$(OVL_PKGS) cmocka) -lpthread
# test_ovl_path makes malloc fail on demand in libovl's own calls.
$(BUILD)/tests/test_ovl_path: UNIT_LD += -Wl,--wrap=malloc
$(BUILD)/tests/test_net_%: $(BUILD)/tests/unit/test_net_%.o $(UNIT_FILTER) $(BUILD)/libnet.a $(BUILD)/libcommon.a
	$(CC) $(LDSAN) $(LDFLAGS) $(UNIT_LD) -o $@ $^ $(call pkg_libs,$(NET_PKGS) cmocka)
$(UNIT_FILTER): EXTRA_CFLAGS = $(call pkg_cflags,cmocka)
$(call obj,$(filter tests/unit/test_ovl_%,$(UNIT_SRCS))): EXTRA_CFLAGS = $(call pkg_cflags,$(OVL_PKGS) cmocka)
$(call obj,$(filter tests/unit/test_net_%,$(UNIT_SRCS))): EXTRA_CFLAGS = $(call pkg_cflags,$(NET_PKGS) cmocka)
$(call obj,$(filter-out tests/unit/test_ovl_% tests/unit/test_net_%,$(UNIT_SRCS))): EXTRA_CFLAGS = $(call pkg_cflags,$(HUTCH_PKGS) cmocka)

deps:
	@tests/deps.sh

test: deps
	@$(MAKE) --no-print-directory all unit
	@tests/run --build $(BUILD)

# Under the sanitizers every suite but demo and packaging (the same C as
# the other suites, through a bigger image) and mpi (an Open MPI image's
# apt-get; its joined groups and launcher wiring run under the sanitizers
# in sandbox/sharing.bats and slurm/env.bats).
asan: deps
	@$(MAKE) --no-print-directory BUILD=out-asan SANITIZE=1 all unit
	@HUTCH_TEST_SANITIZED=1 HUTCH_TEST_DRIVER_PASSES= HUTCH_TEST_SLURM_PASSES= \
	 HUTCH_TEST_BOTH_MODES=" sandbox " \
	 tests/run --build out-asan --skip demo --skip packaging --skip mpi

# The fuzz targets (tests/fuzz/README.md): clang and libFuzzer, their own
# build directory. Each target links the libraries of the parts it names in
# FUZZ_PARTS_<target> (in HUTCH_PARTS order; common always), so that only
# those parts are compiled again with clang; a target not listed gets all.
FUZZ_BUILD   ?= out-fuzz
FUZZ_CC      ?= clang
FUZZ_SECONDS ?= 60
FUZZ_PARTS_fuzz_dockerfile := builder
FUZZ_PARTS_fuzz_unpack     := image
FUZZ_PARTS_fuzz_image      := image sandbox
FUZZ_PARTS_fuzz_cdi        := sandbox
# hutch-squashfs's reader: none of hutch's parts, its own library.
FUZZ_PARTS_fuzz_squashfs   := none
FUZZ_LIBS_fuzz_squashfs    := $(BUILD)/libsqfs.a
FUZZ_PKGS_fuzz_squashfs    := $(SQFS_PKGS)
fuzz_parts = $(filter $(or $(FUZZ_PARTS_$(1)),$(HUTCH_PARTS)),$(HUTCH_PARTS))

fuzz:
	@$(MAKE) --no-print-directory BUILD=$(FUZZ_BUILD) CC=$(FUZZ_CC) \
		SANITIZE=fuzz fuzz-targets

fuzz-targets: $(FUZZ_BINS)

# (Secondary expansion: the part list depends on the target's stem.)
.SECONDEXPANSION:
$(FUZZ_BINS): $(BUILD)/tests/%: $(BUILD)/tests/fuzz/%.o \
		$$(foreach p,$$(call fuzz_parts,$$*),$(BUILD)/lib$$(p).a) \
		$$(FUZZ_LIBS_$$*) $(BUILD)/libcommon.a
	$(CC) $(LDSAN) $(LDFLAGS) -o $@ $^ $(call pkg_libs,$(HUTCH_PKGS) $(FUZZ_PKGS_$*))
$(call obj,$(FUZZ_SRCS)): EXTRA_CFLAGS = $(call pkg_cflags,$(HUTCH_PKGS) $(SQFS_PKGS))

fuzz-run: deps
	@$(MAKE) --no-print-directory fuzz
	@tests/fuzz/run.sh --build $(FUZZ_BUILD) --seconds $(FUZZ_SECONDS)

demo: deps
	@$(MAKE) --no-print-directory all
	@examples/demo.sh

# The three programs side by side: hutch finds its helpers beside itself.
install: all
	install -d $(DESTDIR)$(BINDIR)
	install -m 0755 $(PROGRAMS) $(DESTDIR)$(BINDIR)/

uninstall:
	rm -f $(addprefix $(DESTDIR)$(BINDIR)/,$(notdir $(PROGRAMS)))

bundle: $(BUNDLE_TAR)

$(BUNDLE_TAR): $(BUNDLE_BINS) packaging/bundle.sh packaging/bundle/README.in \
		packaging/modules/hutch.lua packaging/modules/hutch \
		packaging/apparmor/hutch image/lazylib.c LICENSE
	VERSION=$(VERSION) CC="$(CC)" packaging/bundle.sh $(BUNDLE_DIR) $@

# The source as a release tarball (rpm's Source0, Spack's url): what git
# tracks at HEAD.
dist:
	@git rev-parse --git-dir >/dev/null 2>&1 || { echo "make dist: not a git checkout; run it in a clone of hutch" >&2; exit 1; }
	@mkdir -p $(BUILD)
	git archive --format=tar.gz --prefix=hutch-$(VERSION)/ -o $(BUILD)/hutch-$(VERSION).tar.gz HEAD

clean:
	rm -rf out out-* hutch hutch-overlay hutch-net hutch-squashfs

FORMAT_FILES = $(shell git ls-files '*.c' '*.h' 2>/dev/null)
format:
	clang-format -i $(FORMAT_FILES)

format-check:
	@clang-format --dry-run --Werror $(FORMAT_FILES)

# cppcheck cannot see __attribute__((cleanup)), so its leak checks and its
# cross-function uninitialised-argument check (recvmsg buffers) only
# produce noise here, as do a few flow-analysis misreadings (out-parameters
# set on every path, a typed option table), each suppressed for its file
# only; everything else it finds is an error.
analyze:
	cppcheck --quiet --error-exitcode=1 --enable=warning,portability \
		--inline-suppr --std=c11 -D_GNU_SOURCE -I. \
		--suppress=missingIncludeSystem --suppress=memleak \
		--suppress=resourceLeak --suppress=ctuuninitvar \
		--suppress=ctunullpointer \
		--suppress=uninitvar:fuse-overlay/ops_file.c \
		--suppress=invalidPointerCast:fuse-overlay/options.c \
		--suppress=uninitdata:image/registry-auth.c $(COMMON_SRCS) $(HUTCH_SRCS) image/lazylib.c \
		$(OVL_SRCS) $(NET_SRCS) $(SQFS_SRCS) cli/main.c \
		$(wildcard fuse-overlay/main.c net/main.c squashfs/main.c)

-include $(shell find $(BUILD) -name '*.d' 2>/dev/null)
