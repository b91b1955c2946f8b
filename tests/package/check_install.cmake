# cmake -P script run by the package_install test (tests/package/CMakeLists.txt passes the -D
# values). Installs the build into STAGING, checks the installed tree, then configures, builds and
# runs the downstream project against STAGING alone. Any failure is a FATAL_ERROR (test fails).
cmake_minimum_required(VERSION 3.25)

function(run what)
    cmake_parse_arguments(ARG "" "OUTPUT" "COMMAND" ${ARGN})
    execute_process(COMMAND ${ARG_COMMAND} RESULT_VARIABLE rc OUTPUT_VARIABLE out
        ERROR_VARIABLE out)
    if(NOT rc EQUAL 0)
        string(REPLACE ";" " " command "${ARG_COMMAND}")
        message(FATAL_ERROR "${what} failed (${rc}):\n  ${command}\n${out}")
    endif()
    if(ARG_OUTPUT)
        set(${ARG_OUTPUT} "${out}" PARENT_SCOPE)
    endif()
    message(STATUS "${what}: ok")
endfunction()

function(expect_file path)
    if(NOT EXISTS ${STAGING}/${path})
        message(FATAL_ERROR "not installed: ${STAGING}/${path}")
    endif()
endfunction()

# 1. Install into a fresh staging prefix.
file(REMOVE_RECURSE ${STAGING} ${DOWNSTREAM_BUILD})
set(config_args "")
if(CONFIG)
    set(config_args --config ${CONFIG})
endif()
run("cmake --install into ${STAGING}"
    COMMAND ${CMAKE_COMMAND} --install ${BUILD_DIR} --prefix ${STAGING} ${config_args})

# 2. The installed tree: library with its SONAME link, headers, CMake package, docs, man page, CLI.
foreach(path
        ${LIBDIR}/libzmqrpc.so
        ${LIBDIR}/libzmqrpc.so.${SOVERSION}
        ${LIBDIR}/libzmqrpc.so.${VERSION}
        ${INCLUDEDIR}/zmqrpc/zmqrpc.hpp
        ${LIBDIR}/cmake/zmqrpc/zmqrpcConfig.cmake
        ${LIBDIR}/cmake/zmqrpc/zmqrpcConfigVersion.cmake
        ${LIBDIR}/cmake/zmqrpc/zmqrpcTargets.cmake
        ${DOCDIR}/README.md
        ${DOCDIR}/copyright)
    expect_file(${path})
endforeach()
if(NOT EXISTS ${STAGING}/${MANDIR}/man1/zmqrpc.1.gz AND NOT EXISTS ${STAGING}/${MANDIR}/man1/zmqrpc.1)
    message(FATAL_ERROR "not installed: ${STAGING}/${MANDIR}/man1/zmqrpc.1[.gz]")
endif()
if(WITH_CLI)
    expect_file(${BINDIR}/zmqrpc)
    # No LD_LIBRARY_PATH: the installed program finds libzmqrpc through its RUNPATH
    # ($ORIGIN/../lib), i.e. in the staging prefix.
    run("installed zmqrpc --version" OUTPUT out
        COMMAND ${CMAKE_COMMAND} -E env --unset=LD_LIBRARY_PATH ${STAGING}/${BINDIR}/zmqrpc
            --version)
    if(NOT out MATCHES "zmqrpc ${VERSION}")
        message(FATAL_ERROR "installed zmqrpc --version printed: ${out}")
    endif()
    find_program(LDD ldd)
    if(LDD)
        run("ldd installed zmqrpc" OUTPUT out
            COMMAND ${CMAKE_COMMAND} -E env --unset=LD_LIBRARY_PATH ${LDD}
                ${STAGING}/${BINDIR}/zmqrpc)
        if(NOT out MATCHES "libzmqrpc\\.so\\.${SOVERSION} => ${STAGING}/")
            message(FATAL_ERROR "installed zmqrpc does not load libzmqrpc from ${STAGING}:\n${out}")
        endif()
    endif()
endif()

# 3. A downstream project: find_package(zmqrpc) with only the staging prefix to go on (no package
#    registry), built with the same compiler and generator.
set(configure_args -S ${DOWNSTREAM_SOURCE} -B ${DOWNSTREAM_BUILD} -G ${GENERATOR}
    -DCMAKE_PREFIX_PATH=${STAGING}
    -DCMAKE_CXX_COMPILER=${CXX_COMPILER}
    -DCMAKE_FIND_USE_PACKAGE_REGISTRY=OFF)
if(CONFIG)
    list(APPEND configure_args -DCMAKE_BUILD_TYPE=${CONFIG})
endif()
if(SANITIZE_FLAGS)  # the installed library is instrumented: so must the program be
    list(APPEND configure_args -DCMAKE_CXX_FLAGS=${SANITIZE_FLAGS}
        -DCMAKE_EXE_LINKER_FLAGS=${SANITIZE_FLAGS})
endif()
run("configure downstream" OUTPUT out COMMAND ${CMAKE_COMMAND} ${configure_args})
file(STRINGS ${DOWNSTREAM_BUILD}/CMakeCache.txt zmqrpc_dir REGEX "^zmqrpc_DIR:")
if(NOT zmqrpc_dir MATCHES "=${STAGING}/")
    message(FATAL_ERROR "downstream found zmqrpc outside the staging prefix: ${zmqrpc_dir}")
endif()
run("build downstream" COMMAND ${CMAKE_COMMAND} --build ${DOWNSTREAM_BUILD} ${config_args})

# 4. Run it with the staging library on the loader path.
set(program ${DOWNSTREAM_BUILD}/downstream)
if(NOT EXISTS ${program} AND CONFIG AND EXISTS ${DOWNSTREAM_BUILD}/${CONFIG}/downstream)
    set(program ${DOWNSTREAM_BUILD}/${CONFIG}/downstream)  # multi-config generators
endif()
run("run downstream" OUTPUT out
    COMMAND ${CMAKE_COMMAND} -E env LD_LIBRARY_PATH=${STAGING}/${LIBDIR} ${program})
if(NOT out MATCHES "answered \"Hello world\"")
    message(FATAL_ERROR "downstream printed: ${out}")
endif()
message(STATUS "${out}")
