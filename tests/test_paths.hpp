#pragma once
// Where the tests find the repository (data/mnist, docs/examples) and the built program. Every
// test file sees this header (tests/CMakeLists.txt force-includes it); the strings themselves are
// compiled once per build, in a file tests/CMakeLists.txt generates. Keeping absolute paths off
// the test files' command lines lets ccache serve a clone of the repository in another folder.
extern "C" const char aeqlab_test_source_dir[];
extern "C" const char aeqlab_test_binary[];
#define AEQLAB_SOURCE_DIR aeqlab_test_source_dir
#define AEQLAB_BINARY aeqlab_test_binary
