# cmake -P script run by the package_deb test (tests/package/CMakeLists.txt passes the -D values):
# builds the Debian package of this build with `cpack -G DEB` into OUT, checks that it carries
# the copyright file and the changelog where Debian wants them, then runs lintian on it. Any
# lintian error ("E:" line) fails the test; the warnings ("W:") are printed.
cmake_minimum_required(VERSION 3.25)

if(NOT LINTIAN)
    message(FATAL_ERROR "lintian not found: scripts/install-deps.sh installs it")
endif()

# 1. The .deb, in a directory of its own so that the build dir's packages are not touched.
file(REMOVE_RECURSE ${OUT})
set(config_args "")
if(CONFIG)
    set(config_args -C ${CONFIG})
endif()
execute_process(COMMAND ${CPACK} -G DEB --config ${CPACK_CONFIG} -B ${OUT} ${config_args}
    RESULT_VARIABLE rc OUTPUT_VARIABLE out ERROR_VARIABLE out)
if(NOT rc EQUAL 0)
    message(FATAL_ERROR "cpack -G DEB failed (${rc}):\n${out}")
endif()
file(GLOB debs ${OUT}/*.deb)
list(LENGTH debs count)
if(NOT count EQUAL 1)
    message(FATAL_ERROR "cpack -G DEB made ${count} .deb files in ${OUT}, not one:\n${out}")
endif()
message(STATUS "cpack -G DEB: ${debs}")

# 2. Debian's two mandatory documentation files (lintian checks them too; this names them).
execute_process(COMMAND ${DPKG_DEB} --contents ${debs} RESULT_VARIABLE rc OUTPUT_VARIABLE contents
    ERROR_VARIABLE err)
if(NOT rc EQUAL 0)
    message(FATAL_ERROR "dpkg-deb --contents failed (${rc}): ${err}")
endif()
foreach(file copyright changelog.gz)
    if(NOT contents MATCHES " \\./usr/share/doc/zmqrpc/${file}\n")
        message(FATAL_ERROR "${debs} has no /usr/share/doc/zmqrpc/${file}:\n${contents}")
    endif()
endforeach()
# The systemd template unit of `zmqrpc run` (with the CLI only), where systemd looks for units.
if(WITH_CLI AND NOT contents MATCHES "-rw-r--r-- [^\n]* \\./usr/lib/systemd/system/zmqrpc-runner@\\.service\n")
    message(FATAL_ERROR "${debs} has no /usr/lib/systemd/system/zmqrpc-runner@.service (mode "
        "0644):\n${contents}")
endif()

# 3. lintian. Exit status 2 is "found an error" (--fail-on error), 1 is lintian itself failing.
execute_process(COMMAND ${LINTIAN} --fail-on error --tag-display-limit 0 ${debs}
    RESULT_VARIABLE rc OUTPUT_VARIABLE out ERROR_VARIABLE err)
string(REGEX MATCHALL "(^|\n)E: [^\n]*" errors "${out}")
string(REGEX MATCHALL "(^|\n)W: [^\n]*" warnings "${out}")
list(LENGTH errors nerrors)
list(LENGTH warnings nwarnings)
message(STATUS "lintian ${debs}: ${nerrors} errors, ${nwarnings} warnings\n${out}")
if(NOT rc EQUAL 0 AND NOT rc EQUAL 2)
    message(FATAL_ERROR "lintian failed (${rc}):\n${err}")
endif()
if(nerrors GREATER 0 OR NOT rc EQUAL 0)
    message(FATAL_ERROR "lintian reports errors on ${debs}")
endif()
