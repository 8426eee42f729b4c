# the library
lib_LTLIBRARIES += src/libbcast.la

src_libbcast_la_SOURCES = \
	src/ring.h \
	src/protocol.h \
	src/arch/copy.h \
	src/channel.c \
	src/writer.c \
	src/reader.c \
	src/message.c \
	src/assemble.c \
	src/mmap.c \
	src/wait.c
# the ring core: the protocol (src/protocol.h) over one CPU's primitives
if ARCH_X86_64
src_libbcast_la_SOURCES += src/arch/x86_64/ring.c
endif
if ARCH_GENERIC
src_libbcast_la_SOURCES += src/arch/generic/ring.c
endif
src_libbcast_la_CPPFLAGS = $(AM_CPPFLAGS)
src_libbcast_la_CFLAGS = $(AM_CFLAGS) $(LIB_CFLAGS)
src_libbcast_la_LDFLAGS = \
	-version-info $(LT_VERSION_INFO) \
	-no-undefined $(LIB_LDFLAGS) \
	-Wl,--version-script=$(srcdir)/src/libbcast.map
EXTRA_src_libbcast_la_DEPENDENCIES = src/libbcast.map
EXTRA_DIST += src/libbcast.map
