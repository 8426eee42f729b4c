# Debian packaging: packaging/debian is a complete debian/ directory for the
# release tarball (libbcast0, libbcast-dev, bcast-tools).  `make deb` builds
# the tarball, then the source package (.dsc) and the binary packages from
# it into debs/ with packaging/build-deb.sh (dpkg-buildpackage -us -uc).
EXTRA_DIST += packaging/build-deb.sh packaging/debian

deb: dist-gzip
	$(SHELL) $(srcdir)/packaging/build-deb.sh $(abs_top_builddir)/debs \
	    $(abs_top_builddir)/$(distdir).tar.gz

distclean-local: clean-debs
clean-debs:
	-rm -rf $(abs_top_builddir)/debs

.PHONY: deb clean-debs
