# make cross-check ARCH=arm64: cross-build libbcast for a Debian architecture
# (arm64, armhf, i386, ppc64el, s390x, riscv64, ...) and run make check there
# under qemu-user.  tools/cross-check.sh installs what is missing (Debian
# packages), builds in _build/cross-ARCH and prints the counts;
# CROSS_CHECK_FLAGS=--no-install leaves the packages alone.
EXTRA_DIST += tools/cross-check.sh
cross-check:
	@test -n "$(ARCH)" || { \
	    echo "usage: make cross-check ARCH=arm64 (or armhf, i386, ppc64el, s390x, riscv64)" >&2; \
	    exit 2; }
	$(SHELL) $(srcdir)/tools/cross-check.sh $(CROSS_CHECK_FLAGS) $(ARCH) \
	    $(abs_top_builddir)/_build/cross-$(ARCH)
.PHONY: cross-check
