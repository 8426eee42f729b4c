# Shared-library and distribution hygiene: what a distribution maintainer
# checks before packaging libbcast, run by `make check`.
#
#   tests/check_version   version macros, bcast_version() and PACKAGE_VERSION agree
#   tests/check_dlopen    dlopen/use/dlclose the built libbcast.so 200 times:
#                         no fd, mapping or heap growth, the library unloads
#   check-local:
#     check-exports       exported symbols == src/libbcast.map == include/bcast.h,
#                         all at BCAST_1.0; the SONAME; libbcast.a defines
#                         only bcast_* globals
#     check-header        include/bcast.h under -std=c99/c11 -pedantic -Werror and C++11
#     check-pkgconfig     a client built only from `pkg-config bcast` against a
#                         staged `make install DESTDIR=...` works, dynamic,
#                         static (--static) and as C++
#     check-plugin-safety no constructors, destructors, TLS, writable data,
#                         threads or process-wide hooks in the library
#
# Not part of `make check`:
#   make abi-check        abidiff of the built library against abi/libbcast.abi
#                         (needs a -g build; fails on any ABI change)
#   make abi-dump         refresh abi/libbcast.abi after a deliberate ABI change
#   make check-dlopen-valgrind   tests/check_dlopen under memcheck

# The SONAME libtool builds from -version-info (CURRENT - AGE).  Bumping it
# means a new Debian package name too (packaging/debian: libbcast0).
BCAST_SONAME = libbcast.so.0
BCAST_BUILT_SO = $(abs_top_builddir)/src/.libs/$(BCAST_SONAME)

CHECK_SUITES += tests/check_version tests/check_dlopen

tests_check_version_CFLAGS = $(SUITECFLAGS)
tests_check_version_LDADD = $(SUITELIBS)
tests_check_version_LDFLAGS = $(SUITELDFLAGS)

# check_dlopen must not link libbcast: the library would never unload.
tests_check_dlopen_CPPFLAGS = $(AM_CPPFLAGS) \
	-DBCAST_DLOPEN_PATH='"$(BCAST_BUILT_SO)"'
tests_check_dlopen_CFLAGS = $(SUITECFLAGS)
tests_check_dlopen_LDADD = $(CHECK_LIBS) $(TEST_LIBS)
tests_check_dlopen_LDFLAGS = $(SUITELDFLAGS)
EXTRA_tests_check_dlopen_DEPENDENCIES = $(BCAST_LIB)

ABI_CHECKERS = \
	tests/check-exports.sh \
	tests/check-header.sh \
	tests/check-pkgconfig.sh \
	tests/check-plugin-safety.sh
EXTRA_DIST += $(ABI_CHECKERS) tests/pkgconfig-client.c

# NM and OBJDUMP come from libtool's configure checks, READELF from
# configure's (the host's tools in a cross build); each can be overridden.
# configure looks for no C++ compiler (the library has no C++), so the
# checks take CXX from the environment or use the first one found.
ABI_CHECK_ENV = CC="$(CC)" CFLAGS="$(CFLAGS)" LDFLAGS="$(LDFLAGS)" \
	NM="$(NM)" READELF="$(READELF)" OBJDUMP="$(OBJDUMP)" SAN_CFLAGS="$(SAN_CFLAGS)" \
	CXX="$${CXX:-$$(command -v g++ || command -v c++ || command -v clang++ || :)}"

check-local: check-exports check-header check-pkgconfig check-plugin-safety

check-exports: $(BCAST_LIB)
	$(AM_V_at)$(ABI_CHECK_ENV) $(SHELL) $(srcdir)/tests/check-exports.sh \
	    $(srcdir)/src/libbcast.map $(top_srcdir)/include $(top_builddir)/include \
	    src/.libs/$(BCAST_SONAME) src/.libs/libbcast.a $(BCAST_SONAME)

check-header:
	$(AM_V_at)$(ABI_CHECK_ENV) $(SHELL) $(srcdir)/tests/check-header.sh \
	    $(top_srcdir)/include $(top_builddir)/include

# Installs into a private staging directory, removed afterwards.
ABI_STAGE = $(abs_top_builddir)/tests/stage.tmp
check-pkgconfig: $(BCAST_LIB)
	$(AM_V_at)rm -rf $(ABI_STAGE) && mkdir -p $(ABI_STAGE)
	$(AM_V_at)$(MAKE) $(AM_MAKEFLAGS) install DESTDIR=$(ABI_STAGE) \
	    >$(ABI_STAGE).log 2>&1 || { cat $(ABI_STAGE).log >&2; exit 1; }
	$(AM_V_at)$(ABI_CHECK_ENV) $(SHELL) $(srcdir)/tests/check-pkgconfig.sh \
	    $(ABI_STAGE) $(pkgconfigdir) $(libdir) \
	    $(srcdir)/tests/pkgconfig-client.c $(PACKAGE_VERSION) \
	    && rm -rf $(ABI_STAGE) $(ABI_STAGE).log

check-plugin-safety: $(BCAST_LIB)
	$(AM_V_at)$(ABI_CHECK_ENV) $(SHELL) $(srcdir)/tests/check-plugin-safety.sh \
	    src/.libs/$(BCAST_SONAME) src/.libs/libbcast.a

clean-local: clean-abi-stage
clean-abi-stage:
	-rm -rf $(ABI_STAGE) $(ABI_STAGE).log

if HAVE_VALGRIND
check-dlopen-valgrind: tests/check_dlopen $(BCAST_LIB)
	CK_FORK=no $(VALGRIND) --quiet --error-exitcode=1 --leak-check=full \
	    --errors-for-leak-kinds=definite,indirect tests/check_dlopen
else
check-dlopen-valgrind:
	@echo "check-dlopen-valgrind: valgrind was not found by configure" >&2; exit 1
endif

# libabigail baseline of the exported ABI.  abi-check fails on any change,
# compatible additions included: after a deliberate change (a new symbol in
# a new version node, say), review the report and run `make abi-dump` to
# refresh abi/libbcast.abi in the source tree, then commit it.  Both need a
# build with debug information (-g, in autoconf's default CFLAGS).
ABI_BASELINE = $(top_srcdir)/abi/libbcast.abi
ABI_BASELINE_CPU = x86_64
ABIDW = abidw
ABIDIFF = abidiff
ABI_FLAGS = --drop-private-types --no-show-locs
EXTRA_DIST += abi/libbcast.abi abi/README

abi-debug-info: $(BCAST_LIB)
	@$(READELF) -S src/.libs/$(BCAST_SONAME) | grep -q '\.debug_info' || { \
	    echo "abi: src/.libs/$(BCAST_SONAME) has no debug information; build with -g" >&2; \
	    exit 1; }

abi-dump: abi-debug-info
	$(ABIDW) $(ABI_FLAGS) --no-corpus-path --no-comp-dir-path \
	    --headers-dir $(top_srcdir)/include \
	    --out-file $(ABI_BASELINE) src/.libs/$(BCAST_SONAME)
	@echo "abi-dump: wrote $(ABI_BASELINE); review and commit it"

abi-check: abi-debug-info
	@if test "$(host_cpu)" != "$(ABI_BASELINE_CPU)"; then \
	    echo "abi-check: the baseline is for $(ABI_BASELINE_CPU), not $(host_cpu); skipped"; \
	    exit 0; \
	fi; \
	$(ABIDIFF) $(ABI_FLAGS) --headers-dir2 $(top_srcdir)/include \
	    $(ABI_BASELINE) src/.libs/$(BCAST_SONAME) && \
	echo "abi-check: src/.libs/$(BCAST_SONAME) matches $(ABI_BASELINE)"

.PHONY: check-exports check-header check-pkgconfig check-plugin-safety \
	clean-abi-stage check-dlopen-valgrind abi-debug-info abi-dump abi-check
