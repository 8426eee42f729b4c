# the library
lib_LTLIBRARIES += src/libbcast.la

src_libbcast_la_SOURCES = \
	src/ring.h \
	src/channel.c \
	src/writer.c \
	src/reader.c \
	src/message.c \
	src/mmap.c
# BCAST_ARCH_FAST_PATHS: the ring core defines the hot entry points (send,
# next, receive) itself; set with the core, so a build that compiles the
# sources with the other core (tests/fuzz) sets it to match
if ARCH_X86_64
src_libbcast_la_SOURCES += src/arch/x86_64/ring.c
ARCH_CPPFLAGS = -DBCAST_ARCH_FAST_PATHS=1
else
ARCH_CPPFLAGS =
endif
if ARCH_GENERIC
src_libbcast_la_SOURCES += src/arch/generic/ring.c
endif
src_libbcast_la_CPPFLAGS = $(AM_CPPFLAGS) $(ARCH_CPPFLAGS)
src_libbcast_la_CFLAGS = $(AM_CFLAGS) $(LIB_CFLAGS)
src_libbcast_la_LDFLAGS = \
	-version-info $(LT_VERSION_INFO) \
	-no-undefined $(LIB_LDFLAGS) \
	-Wl,--version-script=$(srcdir)/src/libbcast.map
EXTRA_src_libbcast_la_DEPENDENCIES = src/libbcast.map
EXTRA_DIST += src/libbcast.map
