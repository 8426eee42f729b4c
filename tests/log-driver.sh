#!/bin/sh
# log-driver.sh AUXDIR DRIVER-OPTIONS... -- TEST-COMMAND...
#
# automake's LOG_DRIVER for the tests whose names have no extension.  The
# Check suites (tests/check_*) run with CK_TAP_LOG_FILE_NAME=-, so Check
# writes one TAP line per test case, and automake's TAP driver counts each
# case in the summary; every other program (the examples) runs under the
# plain test-driver and counts once.
#
# SPDX-License-Identifier: MIT
aux=$1
shift
name=
prev=
for arg; do
    [ "$prev" = --test-name ] && name=$arg
    [ "$arg" = -- ] && break
    prev=$arg
done
case ${name##*/} in
check_*)
    CK_TAP_LOG_FILE_NAME=-
    export CK_TAP_LOG_FILE_NAME
    exec ${SHELL:-/bin/sh} "$aux/tap-driver.sh" "$@"
    ;;
*)
    exec ${SHELL:-/bin/sh} "$aux/test-driver" "$@"
    ;;
esac
