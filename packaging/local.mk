# Debian packaging: packaging/debian is a complete debian/ directory for the
# release tarball (libbcast0, libbcast-dev, bcast-tools).  `make deb` builds
# the tarball, then the source package (.dsc) and the binary packages from
# it into debs/ with packaging/build-deb.sh (dpkg-buildpackage -us -uc).
EXTRA_DIST += packaging/build-deb.sh packaging/debian

deb: dist-gzip
	$(SHELL) $(srcdir)/packaging/build-deb.sh $(abs_top_builddir)/debs \
	    $(abs_top_builddir)/$(distdir).tar.gz

# The autopkgtests of packaging/debian/tests against the packages in debs/
# (after make deb), on this machine: autopkgtest's null runner installs the
# packages here (and apt-get update), so use a disposable machine or
# container, and `dpkg -r bcast-tools libbcast-dev libbcast0` afterwards.
deb-test:
	autopkgtest $$(ls $(abs_top_builddir)/debs/*.deb | grep -v dbgsym) \
	    $(abs_top_builddir)/debs/*.dsc -- null

distclean-local: clean-debs
clean-debs:
	-rm -rf $(abs_top_builddir)/debs

.PHONY: deb deb-test clean-debs
