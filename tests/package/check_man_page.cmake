# cmake -P script run by the package_man_page test: the hand-written man page (MAN_PAGE) must
# document every subcommand and every option that the CLI's own help lists, so that it cannot
# silently fall behind `zmqrpc --help`; and groff (when GROFF is set) must render it without a
# warning.
cmake_minimum_required(VERSION 3.25)

function(help_of output)
    execute_process(COMMAND ${CLI} ${ARGN} --help RESULT_VARIABLE rc OUTPUT_VARIABLE out
        ERROR_VARIABLE err)
    if(NOT rc EQUAL 0)
        message(FATAL_ERROR "zmqrpc ${ARGN} --help failed (${rc}): ${err}")
    endif()
    set(${output} "${out}" PARENT_SCOPE)
endfunction()

# The options of one help text: the words starting with "--" (or a one-letter "-x") at the start
# of its option lines ("  -h,--help ...", "  --rep TEXT ...").
function(options_of help output)
    string(REPLACE ";" "," help "${help}")
    string(REPLACE "\n" ";" lines "${help}")
    set(options "")
    foreach(line IN LISTS lines)
        if(line MATCHES "^  (-[-a-zA-Z,]+)")
            string(REPLACE "," ";" names "${CMAKE_MATCH_1}")
            list(APPEND options ${names})
        endif()
    endforeach()
    set(${output} ${options} PARENT_SCOPE)
endfunction()

file(READ ${MAN_PAGE} page)
set(missing "")

help_of(top)
string(REGEX MATCH "Subcommands:\n(.*)" subcommand_block "${top}")
string(REPLACE "\n" ";" lines "${CMAKE_MATCH_1}")
set(subcommands "")
foreach(line IN LISTS lines)
    if(line MATCHES "^  ([a-z][-a-z0-9]*) ")
        list(APPEND subcommands ${CMAKE_MATCH_1})
    endif()
endforeach()
if(NOT subcommands)
    message(FATAL_ERROR "no subcommands found in zmqrpc --help:\n${top}")
endif()

options_of("${top}" top_options)
foreach(option IN LISTS top_options)
    string(REPLACE "-" "\\-" roff "${option}")
    string(FIND "${page}" "${roff}" at)
    if(at EQUAL -1)
        list(APPEND missing "zmqrpc ${option}")
    endif()
endforeach()

foreach(subcommand IN LISTS subcommands)
    # Its section: .SS "zmqrpc SUBCOMMAND"
    string(FIND "${page}" ".SS \"zmqrpc ${subcommand}\"" section)
    if(section EQUAL -1)
        list(APPEND missing "section .SS \"zmqrpc ${subcommand}\"")
        continue()
    endif()
    # Its options are looked for within its section: up to the next .SS or .SH.
    string(SUBSTRING "${page}" ${section} -1 body)
    string(SUBSTRING "${body}" 4 -1 after_heading)
    foreach(next "\n.SS " "\n.SH ")
        string(FIND "${after_heading}" "${next}" end)
        if(NOT end EQUAL -1)
            string(SUBSTRING "${after_heading}" 0 ${end} after_heading)
        endif()
    endforeach()
    set(body "${after_heading}")
    help_of(help ${subcommand})
    options_of("${help}" options)
    foreach(option IN LISTS options)
        if(option STREQUAL "-h" OR option STREQUAL "--help")
            continue()  # documented once, under GLOBAL OPTIONS
        endif()
        string(REPLACE "-" "\\-" roff "${option}")
        string(REPLACE "\\" "\\\\" pattern "${roff}")  # \- in a regex: \\-
        if(NOT body MATCHES "${pattern}([^a-z\\\\]|\\\\f|$)")
            list(APPEND missing "zmqrpc ${subcommand} ${option}")
        endif()
    endforeach()
endforeach()

if(missing)
    list(JOIN missing "\n  " text)
    message(FATAL_ERROR "${MAN_PAGE} does not document:\n  ${text}")
endif()
list(LENGTH subcommands n)
message(STATUS "man page documents all ${n} subcommands and their options: ${subcommands}")

if(GROFF)
    execute_process(COMMAND ${GROFF} -man -ww -z ${MAN_PAGE} RESULT_VARIABLE rc
        OUTPUT_VARIABLE out ERROR_VARIABLE err)
    if(NOT rc EQUAL 0 OR NOT "${out}${err}" STREQUAL "")
        message(FATAL_ERROR "groff -man -ww warns about ${MAN_PAGE} (${rc}):\n${out}${err}")
    endif()
    message(STATUS "groff -man -ww: no warnings")
endif()
